"""A run's calibration and decision rule: fitted once on validation, frozen, applied everywhere.

:class:`Calibration` turns a classifier's logits into calibrated probabilities
(``softmax(logits / T + b + w * log p_meta)``: bias-corrected temperature scaling, Alexandari et
al. 2020, with an optional metadata expert as a weighted product of experts) and probabilities
into decisions with :meth:`Calibration.decide`, the one decision rule of dermkit: training's final
metrics, ``evaluate cls``, diagnosis and the benchmarks all call it. It also carries the
malignant-vs-benign operating point fitted on the same calibrated validation probabilities
(:mod:`dermkit.ood.operating_point`). It is stored as ``RUN/calibration.json`` and never changed
in place (``dataclasses.replace`` makes variants).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy.special import softmax

from dermkit.data.metadata import metadata_matrix
from dermkit.data.metadata_prior import fit_metadata_prior, metadata_log_proba
from dermkit.errors import DermkitError
from dermkit.files import write_json
from dermkit.metrics.calibration import fit_logit_fusion
from dermkit.metrics.decision import fit_thresholds_for_bma, predict_with_thresholds
from dermkit.ood.operating_point import OperatingPoint, fit_operating_point

if TYPE_CHECKING:  # typing only: applying a calibration (the ONNX package's runtime) needs no torch
    from dermkit.config import RunConfig
    from dermkit.data.records import LesionTable

log = logging.getLogger("dermkit.calibration")

CALIBRATION_FILE = "calibration.json"

#: Validation images every class needs before a per-class calibration bias is fitted.
MIN_IMAGES_FOR_BIAS = 10

Decision = Literal["prior", "thresholds", "argmax"]


@dataclass(frozen=True)
class Calibration:
    """Validation-fitted temperature, class bias, metadata expert and decision divisors.

    Attributes:
        temperature: logits are divided by it.
        bias: (C,) added to the scaled logits, or None.
        metadata_prior: a fitted metadata expert
            (:func:`~dermkit.data.metadata_prior.fit_metadata_prior`), or None.
        metadata_weight: weight of the expert's log-probabilities.
        decision: the ``inference.decision`` rule the divisors implement.
        divisors: (C,) the diagnosis is ``argmax proba / divisors`` (None: plain argmax). Stored
            as ``thresholds`` in ``calibration.json``.
        method: what was fitted ("bias_corrected", "temperature", or "identity").
        classes: class names in logit order.
        images: validation images it was fitted on.
        tta: whether those validation logits were made with test-time augmentation.
        malignant: the malignant operating point fitted on the calibrated validation
            probabilities (with the metadata expert when there is one), or None (no malignant
            class, or files written before it was fitted). ``malignant_operating_point`` in the file.
    """

    temperature: float = 1.0
    bias: tuple[float, ...] | None = None
    metadata_prior: dict[str, Any] | None = None
    metadata_weight: float = 0.0
    decision: Decision = "argmax"
    divisors: tuple[float, ...] | None = None
    method: str = "identity"
    classes: tuple[str, ...] = ()
    images: int = 0
    tta: bool = False
    malignant: OperatingPoint | None = None

    @property
    def uses_metadata(self) -> bool:
        return self.metadata_prior is not None

    def without_metadata(self) -> Calibration:
        """The same calibration with the metadata expert left out (no age, sex or site known)."""
        return replace(self, metadata_prior=None, metadata_weight=0.0)

    def proba(self, logits: Any, meta: np.ndarray | None = None) -> np.ndarray:
        """(N, C) calibrated probabilities of (N, C) logits (numpy or torch).

        A calibration with a metadata expert needs the images' encoded ``meta`` (N, METADATA_DIM).
        """
        z = np.asarray(_numpy(logits), dtype=np.float64) / self.temperature
        if self.bias is not None:
            z = z + np.asarray(self.bias, dtype=np.float64)
        if self.metadata_prior is not None:
            if meta is None:
                raise ValueError("this run's calibration fuses a metadata expert: pass the images' metadata")
            if len(meta) != len(z):
                raise ValueError(f"metadata has {len(meta)} rows for {len(z)} images; pass one row per image")
            z = z + self.metadata_weight * metadata_log_proba(self.metadata_prior, np.asarray(meta))
        return softmax(z, axis=1)

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """(N,) class indices: ``argmax proba / divisors`` (``argmax proba`` without divisors)."""
        return predict_with_thresholds(np.asarray(proba), None if self.divisors is None else list(self.divisors))

    def to_json(self) -> dict[str, Any]:
        """The ``calibration.json`` payload."""
        d = asdict(self)
        d["thresholds"] = None if self.divisors is None else list(self.divisors)
        del d["divisors"]
        d["bias"] = None if self.bias is None else list(self.bias)
        d["classes"] = list(self.classes)
        d["fitted_on"] = "val" if self.images else None
        d["malignant_operating_point"] = None if self.malignant is None else self.malignant.to_json()
        del d["malignant"]
        return d

    @classmethod
    def from_json(cls, payload: dict[str, Any], source: str = "calibration") -> Calibration:
        """Read a ``calibration.json`` payload (files written before ``tta`` was recorded were
        fitted without test-time augmentation, those written before the malignant operating point
        have none)."""
        try:
            divisors = payload.get("thresholds")
            bias = payload.get("bias")
            malignant = payload.get("malignant_operating_point")
            return cls(
                temperature=float(payload.get("temperature", 1.0)),
                bias=None if bias is None else tuple(float(b) for b in bias),
                metadata_prior=payload.get("metadata_prior"),
                metadata_weight=float(payload.get("metadata_weight") or 0.0),
                decision=payload.get("decision", "thresholds" if divisors is not None else "argmax"),
                divisors=None if divisors is None else tuple(float(t) for t in divisors),
                method=str(payload.get("method", "identity")),
                classes=tuple(payload.get("classes", ())),
                images=int(payload.get("images") or 0),
                tta=bool(payload.get("tta", False)),
                malignant=None if malignant is None else OperatingPoint.from_json(malignant),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise DermkitError(
                f"{source}: not a valid calibration ({exc}); refit it with "
                "dermkit.evaluation.classification.refit_calibration"
            ) from None

    def save(self, run_dir: Path) -> Path:
        path = Path(run_dir) / CALIBRATION_FILE
        write_json(path, self.to_json())
        return path


IDENTITY = Calibration()


def load_calibration(run_dir: Path, tta: bool | None = None) -> Calibration:
    """``RUN/calibration.json`` (identity when absent). With ``tta``, warns when the calibration
    was fitted on validation logits made the other way."""
    path = Path(run_dir) / CALIBRATION_FILE
    if not path.exists():
        return IDENTITY
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DermkitError(f"{path}: cannot read the calibration ({exc}); refit it or delete the file") from None
    calibration = Calibration.from_json(payload, str(path))
    if tta is not None and calibration.tta != tta:
        log.warning(
            "%s: calibration fitted on validation logits %s test-time augmentation, applied to logits %s "
            "it; evaluate with the run's own setting (inference.tta), or refit it with "
            "dermkit.evaluation.classification.refit_calibration(..., tta=...)",
            path,
            "with" if calibration.tta else "without",
            "with" if tta else "without",
        )
    return calibration


def decision_divisors(decision: str, labels: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """(C,) per-class divisors of an ``inference.decision`` rule, from calibrated validation
    probabilities and labels: ``prior`` their mean (so the decision is ``argmax p(y|x) / pi(y)``,
    the Bayes decision for balanced accuracy), ``thresholds`` fitted for validation BMA, ``argmax`` ones."""
    if decision == "prior":
        return proba.mean(0)
    if decision == "thresholds":
        return fit_thresholds_for_bma(labels, proba)
    if decision == "argmax":
        return np.ones(proba.shape[1])
    raise ValueError(f"unknown decision rule {decision!r}; use 'prior', 'thresholds' or 'argmax'")


def fit_calibration(
    logits: np.ndarray,
    labels: np.ndarray,
    classes: list[str] | tuple[str, ...],
    method: str,
    metadata_prior: dict | None = None,
    meta: np.ndarray | None = None,
    decision: str = "prior",
    tta: bool = False,
    min_images_for_bias: int = MIN_IMAGES_FOR_BIAS,
) -> Calibration:
    """A run's calibration fitted on validation logits.

    ``method`` is ``inference.calibration``: plain temperature scaling, or bias-corrected
    temperature scaling (class-weighted training shifts the class priors). The bias needs
    ``min_images_for_bias`` validation images of every class, else the temperature alone is
    fitted (and ``method`` says so). With a ``metadata_prior`` and the validation images'
    encoded ``meta``, its log-probabilities join the fit with a weight chosen by the same
    validation NLL. ``decision`` sets the divisors (:func:`decision_divisors`); ``tta`` records
    how the logits were made. The malignant operating point is fitted on the calibrated
    probabilities (:func:`~dermkit.ood.operating_point.fit_operating_point`).
    """
    counts = np.bincount(labels, minlength=len(classes))
    if method == "bias_corrected" and counts.min() < min_images_for_bias:
        # A class with (almost) no validation images would get an unbounded bias: never predicted.
        log.warning(
            "calibration: class %s has %d validation images (< %d); fitting the temperature only",
            classes[int(counts.argmin())],
            int(counts.min()),
            min_images_for_bias,
        )
        method = "temperature"
    prior_log_proba = None
    if metadata_prior is not None:
        if meta is None:
            raise ValueError("fit_calibration: a metadata_prior needs the validation images' meta")
        prior_log_proba = metadata_log_proba(metadata_prior, meta)
    temperature, bias, weight = fit_logit_fusion(logits, labels, prior_log_proba, bias=method == "bias_corrected")
    fitted = Calibration(
        temperature=float(temperature),
        bias=None if bias is None else tuple(float(b) for b in bias),
        metadata_prior=metadata_prior,
        metadata_weight=float(weight) if metadata_prior is not None else 0.0,
        method=method,
        classes=tuple(classes),
        images=len(labels),
        tta=bool(tta),
    )
    proba = fitted.proba(logits, meta)
    divisors = decision_divisors(decision, labels, proba)
    malignant = fit_operating_point(classes, labels, proba)
    return replace(fitted, decision=decision, divisors=tuple(float(t) for t in divisors), malignant=malignant)


def fit_run_calibration(
    cfg: RunConfig,
    table: LesionTable,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    logits: np.ndarray,
    classes: list[str] | tuple[str, ...],
    tta: bool,
    min_images_for_bias: int = MIN_IMAGES_FOR_BIAS,
) -> Calibration:
    """:func:`fit_calibration` as a run's config asks for it: validation ``logits`` of the rows
    ``val_rows`` (made with test-time augmentation when ``tta``), and with
    ``inference.metadata_prior`` a metadata expert fitted on ``train_rows``."""
    labels = table.label_indices()
    prior = None
    if cfg.inference.metadata_prior:
        prior = fit_metadata_prior(metadata_matrix(table, train_rows), labels[train_rows], len(classes))
    return fit_calibration(
        logits,
        labels[val_rows],
        classes,
        cfg.inference.calibration,
        prior,
        metadata_matrix(table, val_rows),
        cfg.inference.decision,
        tta,
        min_images_for_bias,
    )


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)
