"""From a run config to checked, split data: the steps every training run takes first.

1. Find the data (``data.path``, or the synthetic default, generated once and cached), and
   fingerprint it (file list and sizes), so that a resumed run can refuse other data.
2. Check every file; fail with the report, or exclude the listed files when the config says so,
   recording them in the run folder (bad data is never silently dropped).
3. Split by lesion (or read the given split file) and verify that no lesion crosses sides.

Nothing is written into the run folder until :meth:`PreparedData.write` (except the data check
report of a check that fails), so a refused resume leaves the run's record as it was.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dermkit.config import DataConfig, SyntheticConfig, resolve_cache_dir, stable_hash
from dermkit.data.check import CheckReport, check_table
from dermkit.data.readers import load_table
from dermkit.data.records import LesionTable
from dermkit.data.splits import find_leaks, load_split, save_split, side_indices, split_table
from dermkit.data.synthetic import write_synthetic_dataset
from dermkit.errors import DataError, DataProblems
from dermkit.files import write_json

log = logging.getLogger("dermkit.engine")


FINGERPRINT_FILE = "data_fingerprint.json"


@dataclass
class PreparedData:
    """A checked, split data set, and what the run folder records of it."""

    table: LesionTable
    split: pd.DataFrame
    report: CheckReport | None = None
    excluded: pd.DataFrame | None = None
    fingerprint: dict[str, Any] = field(default_factory=dict)

    def indices(self, side: str) -> np.ndarray:
        return side_indices(self.table, self.split, side)

    def write(self, run_dir: Path) -> None:
        """Record the data check, the excluded files, the split and the fingerprint in ``run_dir``."""
        if self.report is not None:
            self.report.write(run_dir)
        if self.excluded is not None:
            self.excluded.to_csv(run_dir / "excluded.csv", index=False)
        save_split(self.split, run_dir / "split.csv")
        write_json(run_dir / FINGERPRINT_FILE, self.fingerprint)


def data_fingerprint(table: LesionTable) -> dict[str, Any]:
    """The data set's identity: every image and mask file (relative to the root) with its size,
    label and lesion, and one hash over them all."""
    root = Path(table.root)
    files: dict[str, list] = {}
    for rec in table.records.itertuples():
        mask = rec.mask_path if isinstance(rec.mask_path, str) else None
        files[str(rec.image_id)] = [
            _relative(rec.image_path, root),
            _size(rec.image_path),
            None if mask is None else _relative(mask, root),
            None if mask is None else _size(mask),
            rec.label,
            str(rec.lesion_id),
        ]
    digest = stable_hash(files, length=40)
    return {"root": str(root), "layout": table.layout, "images": len(files), "sha1": digest, "files": files}


def fingerprint_differences(saved: dict[str, Any], now: dict[str, Any], limit: int = 5) -> list[str]:
    """Human-readable differences between two :func:`data_fingerprint` results (empty when equal)."""
    if saved.get("sha1") == now.get("sha1"):
        return []
    a, b = saved.get("files", {}), now.get("files", {})
    lines = []
    gone, new = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if gone:
        lines.append(f"{len(gone)} images are gone (e.g. {', '.join(gone[:limit])})")
    if new:
        lines.append(f"{len(new)} images are new (e.g. {', '.join(new[:limit])})")
    changed = sorted(k for k in set(a) & set(b) if list(a[k]) != list(b[k]))
    if changed:
        lines.append(f"{len(changed)} images changed file, size, label or lesion (e.g. {', '.join(changed[:limit])})")
    return lines or [f"the data set's layout or root changed ({saved.get('root')} -> {now.get('root')})"]


def check_same_data(run_dir: Path, table: LesionTable) -> None:
    """Scoring a run's own ``test``/``val`` side is only meaningful on the data it was split from:
    refuse data whose files differ from ``RUN/data_fingerprint.json`` (runs without one pass)."""
    path = Path(run_dir) / FINGERPRINT_FILE
    if not path.exists():
        return
    differences = fingerprint_differences(json.loads(path.read_text()), data_fingerprint(table))
    if differences:
        raise DataProblems(
            f"{table.root}: not the data {run_dir} was split from: "
            + "; ".join(differences)
            + ". Its test and validation sides name images of its own data; evaluate this data with --side all."
        )


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def synthetic_root(cfg: SyntheticConfig, cache_dir: str | Path | None, run_dir: Path) -> Path:
    """Folder of the synthetic data set for ``cfg``, generated on first use.

    With a cache dir the data set is shared by every run with the same generator settings.
    """
    key = stable_hash(cfg.model_dump(mode="json"))
    root = (Path(cache_dir) / "synthetic" / key) if cache_dir else run_dir / "synthetic_data"
    marker = root / ".complete"
    if not marker.exists():
        log.info("generating synthetic data set (%d images) in %s", cfg.n, root)
        write_synthetic_dataset(
            root,
            n=cfg.n,
            seed=cfg.seed,
            size=tuple(cfg.size),
            balance=cfg.balance,
            hair_prob=cfg.hair_prob,
            frame_prob=cfg.frame_prob,
            progress=True,
        )
        marker.touch()
    return root


def load_checked_table(
    cfg: DataConfig,
    run_dir: Path,
    need_masks: bool,
    need_labels: bool,
    expect_fingerprint: dict[str, Any] | None = None,
    hashes: bool = False,
) -> PreparedData:
    """Load the data set named by ``cfg``, check it, and apply the bad-file policy.

    Returns a :class:`PreparedData` without a split yet (``split`` empty). With
    ``expect_fingerprint`` (a resumed run's), data whose files differ is refused before anything
    is checked or written. ``hashes`` also looks for near-duplicate images (slower).
    """
    root = Path(cfg.path) if cfg.path else synthetic_root(cfg.synthetic, resolve_cache_dir(cfg.cache_dir), run_dir)
    table = load_table(root, layout=cfg.layout)
    fingerprint = data_fingerprint(table)
    if expect_fingerprint is not None:
        differences = fingerprint_differences(expect_fingerprint, fingerprint)
        if differences:
            raise DataError(
                f"{root}: not the data this run was trained on ({expect_fingerprint.get('root')}): "
                + "; ".join(differences)
                + ". Resume with the run's own data, or start a new run (another --out)."
            )
    report = check_table(table, hashes=hashes, progress=True)
    bad = set(report.bad_image_ids())
    if report.errors and cfg.on_bad_files == "fail":
        report.write(run_dir)
        shown = "\n".join(f"  - {p.message}" for p in report.errors[:10])
        more = f"\n  ... and {len(report.errors) - 10} more" if len(report.errors) > 10 else ""
        raise DataProblems(
            f"{root}: the data check found {_plural(len(report.errors), 'problem')}:\n{shown}{more}\n"
            f"Full report: {run_dir / 'data_check.md'}. Fix the files, or rerun with "
            "data.on_bad_files=exclude to leave them out (they are then listed in excluded.csv)."
        )
    if need_masks and report.n_masks and 2 * report.n_empty_masks > report.n_masks:
        raise DataProblems(  # training on mostly empty masks learns "no lesion" and reports success
            f"{root}: {report.n_empty_masks} of {report.n_masks} masks are empty (no lesion pixel; e.g. "
            f"{', '.join(report.empty_mask_ids[:5])}); segmentation cannot be trained on that. Check that the "
            "masks are lesion masks (0/255 or 0/1) of these images; `dermkit data check` lists every empty mask."
        )
    records = table.records
    reasons = {p.image_id: p.message for p in report.errors}
    if need_masks:
        for image_id in records.loc[records["mask_path"].isna(), "image_id"]:
            reasons.setdefault(image_id, "no lesion mask (needed for segmentation)")
            bad.add(image_id)
    if need_labels:
        for image_id in records.loc[records["label"].isna(), "image_id"]:
            reasons.setdefault(image_id, "no diagnosis label (needed for classification)")
            bad.add(image_id)
    excluded = None
    if bad:
        keep = ~records["image_id"].isin(bad)
        if not keep.any():
            raise DataProblems(
                f"{root}: no usable images remain after excluding {_plural(len(bad), 'image')}; "
                f"the data check report is in {run_dir / 'data_check.md'}"
            )
        excluded = pd.DataFrame({"image_id": sorted(bad), "reason": [reasons.get(i, "") for i in sorted(bad)]})
        log.warning("excluded %d of %d images; they are listed in %s", len(bad), len(records), run_dir / "excluded.csv")
        table = table.subset(keep.to_numpy())
    return PreparedData(table, pd.DataFrame(), report, excluded, fingerprint)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def prepare_data(
    cfg: DataConfig,
    run_dir: Path,
    need_masks: bool,
    need_labels: bool,
    expect_fingerprint: dict[str, Any] | None = None,
) -> PreparedData:
    """Checked table + lesion-grouped split; :meth:`PreparedData.write` records them in the run."""
    data = load_checked_table(cfg, run_dir, need_masks, need_labels, expect_fingerprint)
    table = data.table
    if cfg.split.file:
        split = load_split(cfg.split.file)
        split = split[split["image_id"].isin(set(table.records["image_id"]))]
    else:
        split = split_table(
            table, val=cfg.split.val, test=cfg.split.test, seed=cfg.split.seed, test_fold=cfg.split.test_fold
        )
    leaks = find_leaks(split)
    if not leaks.ok:
        raise DataProblems(
            f"split puts {len(leaks.shared_lesions)} lesions on two sides (e.g. {leaks.shared_lesions[:5]}); "
            "make a lesion-grouped split with `dermkit data split`"
        )
    data.split = split
    return data
