"""A run's OOD detector on disk: ``RUN/ood.npz`` (arrays) + ``RUN/ood.json`` (numbers and checks).

Format ``dermkit-ood-2``. ``ood.npz`` (``np.savez``, plain arrays, no objects) holds the k-NN
``bank`` (n, D) of L2-normalised training features in float16 (about ``n * D * 2`` bytes: 5.1 MB
for 2000 images of 1280 features) and the Mahalanobis score's ``mean`` (D,), ``components``
(c, D), ``class_means`` (K, c) and ``precision`` (c, c) in float64. ``ood.json`` holds
:meth:`~dermkit.ood.detector.OODDetector.summary` (k, thresholds, the validation quantile and
rule, classes, counts) plus ``format`` and the sha256 of ``ood.npz``. Loading reads the arrays
with ``allow_pickle=False``, checks the checksum, the shapes, that every value is finite and that
the bank's rows are unit vectors: a missing, truncated, tampered or inconsistent file is a
:class:`~dermkit.errors.DermkitError` naming the file, never a traceback.

A ``dermkit-ood-1`` detector (Mahalanobis as its only distance score, which misses
non-dermoscopic photographs) is refused with what to do: refit it, or delete the two files.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from dermkit.errors import DermkitError
from dermkit.files import write_json
from dermkit.ood.detector import OODDetector
from dermkit.ood.scores import BANK_DTYPE, KNNCosine, Mahalanobis

OOD_ARRAYS = "ood.npz"
OOD_JSON = "ood.json"
FORMAT = "dermkit-ood-2"
#: Formats that once existed and are refused with :data:`_REFIT` (not read).
OLD_FORMATS = {"dermkit-ood-1": "Mahalanobis as its only distance score, which misses non-dermoscopic photographs"}
MAHALANOBIS_ARRAYS = ("mean", "components", "class_means", "precision")
ARRAY_NAMES = ("bank", *MAHALANOBIS_ARRAYS)
#: How far from 1 a stored bank row's length may be (float16 rounding moves it by ~1e-3 at most).
UNIT_TOLERANCE = 1e-2
_REFIT = (
    "refit it with dermkit.evaluation.classification.refit_ood (or refit_calibration), "
    "or delete ood.npz and ood.json (a model package: export the refitted run again)"
)


def save_ood(detector: OODDetector, run_dir: Path) -> Path:
    """Write ``RUN/ood.npz`` then ``RUN/ood.json`` (each atomically); returns the npz path."""
    run_dir = Path(run_dir)
    buffer = io.BytesIO()
    m = detector.mahalanobis
    arrays = {name: np.asarray(getattr(m, name), dtype=np.float64) for name in MAHALANOBIS_ARRAYS}
    np.savez(buffer, bank=np.asarray(detector.knn.bank, dtype=BANK_DTYPE), **arrays)
    data = buffer.getvalue()
    path = run_dir / OOD_ARRAYS
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    write_json(
        run_dir / OOD_JSON, {"format": FORMAT, "npz_sha256": hashlib.sha256(data).hexdigest(), **detector.summary()}
    )
    return path


def load_ood(run_dir: Path) -> OODDetector | None:
    """The run's detector, or None when the run has none (trained before detectors were fitted).

    Raises:
        DermkitError: one of the two files is missing, unreadable, tampered with or inconsistent.
    """
    run_dir = Path(run_dir)
    npz_path, json_path = run_dir / OOD_ARRAYS, run_dir / OOD_JSON
    if not npz_path.exists() and not json_path.exists():
        return None
    for path in (npz_path, json_path):
        if not path.is_file():
            raise DermkitError(f"{path}: missing (the OOD detector needs both {OOD_ARRAYS} and {OOD_JSON}); {_REFIT}")
    try:
        data, text = npz_path.read_bytes(), json_path.read_bytes()
    except OSError as exc:
        raise DermkitError(f"{npz_path}: cannot read the OOD detector ({exc}); {_REFIT}") from None
    return ood_from_bytes(data, text, npz_path, json_path)


def ood_from_bytes(data: bytes, text: bytes, npz_path: Path, json_path: Path) -> OODDetector:
    """The detector from the two files' contents (a run folder's, or a model package's members);
    the paths name them in messages.

    Raises:
        DermkitError: unreadable, tampered with (checksum) or inconsistent.
    """
    info = _parse_json(json_path, text)
    if hashlib.sha256(data).hexdigest() != info.get("npz_sha256"):
        raise DermkitError(
            f"{npz_path}: its checksum differs from the one in {json_path} (changed or partly written); {_REFIT}"
        )
    arrays = _read_arrays(npz_path, data)
    try:
        return _detector(arrays, info)
    except (KeyError, TypeError, ValueError) as exc:
        raise DermkitError(f"{json_path}: not a valid OOD detector ({exc}); {_REFIT}") from None


def _parse_json(path: Path, text: bytes) -> dict[str, Any]:
    try:
        info = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DermkitError(f"{path}: cannot read the OOD detector's numbers ({exc}); {_REFIT}") from None
    got = info.get("format") if isinstance(info, dict) else type(info).__name__
    if isinstance(got, str) and got in OLD_FORMATS:
        raise DermkitError(
            f"{path}: an OOD detector of the old format {got!r} ({OLD_FORMATS[got]}); this dermkit reads "
            f"{FORMAT!r}: {_REFIT}"
        )
    if not isinstance(info, dict) or got != FORMAT:
        raise DermkitError(f"{path}: not a dermkit OOD detector (format {got!r}, expected {FORMAT!r}); {_REFIT}")
    return info


def _read_arrays(path: Path, data: bytes) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            missing = [name for name in ARRAY_NAMES if name not in npz.files]
            if missing:
                raise DermkitError(f"{path}: lacks the arrays {missing}; {_REFIT}")
            arrays = {name: npz[name] for name in ARRAY_NAMES}
    except DermkitError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DermkitError(f"{path}: cannot read the OOD detector's arrays ({exc}); {_REFIT}") from None
    for name, value in arrays.items():
        if value.dtype.kind != "f" or not np.isfinite(value).all():
            raise DermkitError(f"{path}: array {name!r} is not finite floating point; {_REFIT}")
    return arrays


def _detector(arrays: dict[str, np.ndarray], info: dict[str, Any]) -> OODDetector:
    bank, mean, comps, means, precision = (arrays[n].astype(np.float64) for n in ARRAY_NAMES)
    d, c = mean.shape[0] if mean.ndim == 1 else -1, comps.shape[0] if comps.ndim == 2 else -1
    classes = tuple(str(name) for name in info["classes"])
    shapes_ok = (
        mean.ndim == 1
        and bank.ndim == 2
        and bank.shape[1] == d
        and len(bank) == int(info["bank_images"]) >= 1
        and comps.shape == (c, d)
        and means.shape == (len(classes), c)
        and precision.shape == (c, c)
        and c >= 1
        and len(classes) >= 1
        and int(info["feature_dim"]) == d
    )
    if not shapes_ok:
        raise ValueError(
            f"array shapes disagree: bank {bank.shape} ({info['bank_images']} images), mean {mean.shape}, "
            f"components {comps.shape}, class_means {means.shape}, precision {precision.shape}, "
            f"{len(classes)} classes, feature_dim {info['feature_dim']}"
        )
    if np.abs(np.linalg.norm(bank, axis=1) - 1.0).max() > UNIT_TOLERANCE:
        raise ValueError("the k-NN bank's rows are not unit vectors")
    k = info["k"]
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= len(bank):
        raise ValueError(f"k {k!r} is not a whole number in [1, {len(bank)}] (the bank's images)")
    maha = info["mahalanobis"]
    energy = info["energy_threshold"]
    energy_flagged = info["val_energy_flagged"]
    quantile = float(info["quantile"])
    if not 0.5 <= quantile < 1.0:
        raise ValueError(f"quantile {quantile} outside [0.5, 1)")
    return OODDetector(
        knn=KNNCosine(bank=bank, k=k),
        mahalanobis=Mahalanobis(
            mean=mean,
            components=comps,
            class_means=means,
            precision=precision,
            shrinkage=float(maha["shrinkage"]),
            explained_variance=float(maha["explained_variance"]),
        ),
        classes=classes,
        threshold=_finite(info["threshold"], "threshold"),
        mahalanobis_threshold=_finite(maha["threshold"], "mahalanobis threshold"),
        energy_threshold=None if energy is None else _finite(energy, "energy_threshold"),
        quantile=quantile,
        train_images=int(info["train_images"]),
        val_images=int(info["val_images"]),
        val_flagged=float(info["val_flagged"]),
        val_mahalanobis_flagged=float(maha["val_flagged"]),
        val_energy_flagged=None if energy_flagged is None else float(energy_flagged),
    )


def _finite(value: Any, name: str) -> float:
    x = float(value)
    if not np.isfinite(x):
        raise ValueError(f"{name} is not finite")
    return x
