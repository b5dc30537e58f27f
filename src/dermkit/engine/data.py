"""From a run config to checked, split data: the steps every training run takes first.

1. Find the data (``data.path``, or the synthetic default, generated once and cached).
2. Check every file; fail with the report, or exclude the listed files when the config says so,
   recording them in the run folder (bad data is never silently dropped).
3. Split by lesion (or read the given split file) and verify that no lesion crosses sides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dermkit.config import DataConfig, SyntheticConfig, stable_hash
from dermkit.data.records import LesionTable
from dermkit.data.splits import find_leaks, load_split, save_split, side_indices, split_table
from dermkit.errors import DataError

log = logging.getLogger("dermkit.engine")


@dataclass
class PreparedData:
    table: LesionTable
    split: pd.DataFrame

    def indices(self, side: str):
        return side_indices(self.table, self.split, side)


def synthetic_root(cfg: SyntheticConfig, cache_dir: str | Path | None, run_dir: Path) -> Path:
    """Folder of the synthetic data set for ``cfg``, generated on first use.

    With a cache dir the data set is shared by every run with the same generator settings.
    """
    from dermkit.data.synthetic import write_synthetic_dataset
    key = stable_hash(cfg.model_dump(mode="json"))
    root = (Path(cache_dir) / "synthetic" / key) if cache_dir else run_dir / "synthetic_data"
    marker = root / ".complete"
    if not marker.exists():
        log.info("generating synthetic data set (%d images) in %s", cfg.n, root)
        write_synthetic_dataset(
            root, n=cfg.n, seed=cfg.seed, size=tuple(cfg.size), balance=cfg.balance,
            hair_prob=cfg.hair_prob, frame_prob=cfg.frame_prob, progress=True,
        )
        marker.touch()
    return root


def load_checked_table(cfg: DataConfig, run_dir: Path, need_masks: bool, need_labels: bool) -> LesionTable:
    """Load the data set named by ``cfg``, check it, and apply the bad-file policy."""
    from dermkit.data.check import check_table
    from dermkit.data.readers import load_table

    root = Path(cfg.path) if cfg.path else synthetic_root(cfg.synthetic, cfg.cache_dir, run_dir)
    table = load_table(root, layout=cfg.layout)
    report = check_table(table, hashes=False, progress=True)
    report.write(run_dir)
    bad = set(report.bad_image_ids())
    if report.errors and cfg.on_bad_files == "fail":
        shown = "\n".join(f"  - {p.message}" for p in report.errors[:10])
        more = f"\n  ... and {len(report.errors) - 10} more" if len(report.errors) > 10 else ""
        raise DataError(
            f"{root}: the data check found {_plural(len(report.errors), 'problem')}:\n{shown}{more}\n"
            f"Full report: {run_dir / 'data_check.md'}. Fix the files, or rerun with "
            "data.on_bad_files=exclude to leave them out (they are then listed in excluded.csv)."
        )
    if need_masks and report.n_masks and 2 * report.n_empty_masks > report.n_masks:
        raise DataError(  # training on mostly empty masks learns "no lesion" and reports success
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
    if bad:
        keep = ~records["image_id"].isin(bad)
        if not keep.any():
            raise DataError(f"{root}: no usable images remain after excluding {len(bad)} (see {run_dir / 'excluded.csv'})")
        excluded = pd.DataFrame({"image_id": sorted(bad), "reason": [reasons.get(i, "") for i in sorted(bad)]})
        excluded.to_csv(run_dir / "excluded.csv", index=False)
        log.warning("excluded %d of %d images; they are listed in %s", len(bad), len(records), run_dir / "excluded.csv")
        table = table.subset(keep.to_numpy())
    return table


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def prepare_data(cfg: DataConfig, run_dir: Path, need_masks: bool, need_labels: bool) -> PreparedData:
    """Checked table + lesion-grouped split (saved as RUN/split.csv)."""
    table = load_checked_table(cfg, run_dir, need_masks, need_labels)
    if cfg.split.file:
        split = load_split(cfg.split.file)
        split = split[split["image_id"].isin(set(table.records["image_id"]))]
    else:
        split = split_table(table, val=cfg.split.val, test=cfg.split.test, seed=cfg.split.seed,
                            test_fold=cfg.split.test_fold)
    leaks = find_leaks(split)
    if not leaks.ok:
        raise DataError(
            f"split puts {len(leaks.shared_lesions)} lesions on two sides (e.g. {leaks.shared_lesions[:5]}); "
            "make a lesion-grouped split with `dermkit data split`"
        )
    save_split(split, run_dir / "split.csv")
    return PreparedData(table, split)
