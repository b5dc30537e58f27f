"""Splits that cannot leak: every image of a lesion lands on one side, classes stratified.

HAM10000 has several images of many lesions; a split by image puts the same lesion on both
sides and measures memorisation (SYSTEMS.md, "Known flaws"). Splits here are made over lesions
(scikit-learn's StratifiedGroupKFold), deterministic by seed, and saved as a CSV the trainer
reads back, so a run records exactly which images it saw.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from dermkit.data.records import LesionTable
from dermkit.errors import DataError

SPLIT_COLUMNS = ("image_id", "lesion_id", "label", "split")
SIDES = ("train", "val", "test")

logger = logging.getLogger(__name__)


def _lesion_labels(table: LesionTable) -> np.ndarray:
    """Stratification label per image: its lesion's most common label ("none" when unlabelled)."""
    labels = table.records["label"].fillna("none").astype(str)
    majority = labels.groupby(table.records["lesion_id"]).agg(lambda s: s.value_counts().index[0])
    return table.records["lesion_id"].map(majority).to_numpy()


def n_test_folds(fraction: float) -> int:
    """How many disjoint subsets of about ``fraction`` of the images a data set splits into."""
    return max(2, int(round(1.0 / fraction)))


def _folds(y: np.ndarray, groups: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """Held-out row positions of StratifiedGroupKFold's k folds (rare-class warnings silenced)."""
    sgkf = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # rare classes with fewer lesions than folds: expected, see _lesion_folds
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        return [held for _, held in sgkf.split(np.zeros(len(y)), y, groups)]


def _lesion_folds(y: np.ndarray, groups: np.ndarray, k: int, seed: int, what: str) -> list[np.ndarray]:
    """k lesion-grouped folds, stratified by ``y`` where the data allow it.

    Classes with fewer lesions than folds cannot be stratified exactly; they are still grouped.
    When no class has k images (a small data set) scikit-learn cannot stratify at all, and on
    rare layouts its stratified folds leave one empty: then the folds are grouped by lesion but
    not stratified, and a warning says so. Either way no lesion is on two sides.

    Args:
        y: stratification label per image.
        groups: lesion id per image.
        k: number of folds (at most the number of lesions).
        seed: shuffles the assignment reproducibly.
        what: the side being made ("test side", "5 folds"), for the warning.
    """
    if (np.unique(y, return_counts=True)[1] >= k).any():
        folds = _folds(y, groups, k, seed)
        if all(len(held) for held in folds):
            return folds
        reason = "stratified by class, one fold would be empty"
    else:
        reason = f"no class has the {k} images that stratifying by class takes"
    logger.warning(
        "the %s of %d images (%d lesions): %s; it is grouped by lesion (none on two sides) but not "
        "stratified by class. More images per class give a class-balanced split",
        what,
        len(y),
        len(np.unique(groups)),
        reason,
    )
    return _folds(np.zeros(len(y), dtype=int), groups, k, seed)


def _take_fraction(
    y: np.ndarray, groups: np.ndarray, fraction: float, seed: int, fold: int = 0, side: str = "test"
) -> np.ndarray:
    """Boolean mask of a lesion-grouped, stratified subset holding about ``fraction`` of images.

    k = round(1 / fraction) folds (:func:`_lesion_folds`); fold ``fold`` is the subset, so folds
    0 ... k-1 of one seed are disjoint (repeated held-out tests without reusing a test image).

    Raises:
        DataError: fewer lesions than folds: the fraction cannot be held out by lesion.
    """
    n_splits = n_test_folds(fraction)
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise DataError(
            f"cannot hold out {fraction:.0%} of the {'images left after the test side' if side == 'val' else 'images'}"
            f" by lesion for the {side} side: that takes {n_splits} folds, so at least {n_splits} lesions, and there "
            f"are {n_groups}; "
            f"add images of more lesions, or hold out a larger fraction (0.5 needs 2 lesions) or none "
            f"(`data split --{side} 0`, or the override data.split.{side}=0 for train)"
        )
    held = _lesion_folds(y, groups, n_splits, seed, f"{side} side")[fold]
    picked = np.zeros(len(y), dtype=bool)
    picked[held] = True
    return picked


def split_table(
    table: LesionTable, val: float = 0.15, test: float = 0.15, seed: int = 0, test_fold: int = 0
) -> pd.DataFrame:
    """Assign every image to train / val / test, grouped by lesion and stratified by diagnosis.

    Args:
        table: the data set.
        val: fraction of images for validation (0 for none).
        test: fraction of images for test (0 for none).
        seed: makes the split reproducible.
        test_fold: which of the ``n_test_folds(test)`` disjoint test sides of this seed to hold out;
            comparing recipes on several folds tests them on more images, none of them twice.

    Returns:
        DataFrame with :data:`SPLIT_COLUMNS`, one row per image, in table order.
    """
    if not 0 <= val < 1 or not 0 <= test < 1 or val + test >= 1:
        raise DataError(f"val={val} and test={test} must be in [0, 1) and sum below 1")
    if test_fold and not test:
        raise DataError(f"test_fold={test_fold} needs a test side: set test > 0")
    if test and not 0 <= test_fold < n_test_folds(test):
        raise DataError(
            f"test_fold={test_fold} does not exist: test={test} gives test folds 0 ... {n_test_folds(test) - 1}"
        )
    y = _lesion_labels(table)
    groups = table.records["lesion_id"].astype(str).to_numpy()
    side = np.full(len(table), "train", dtype=object)
    if test > 0:
        side[_take_fraction(y, groups, test, seed, fold=test_fold, side="test")] = "test"
    if val > 0:
        rest = side == "train"
        in_rest = _take_fraction(y[rest], groups[rest], val / (1 - test), seed + 1, side="val")
        side[np.flatnonzero(rest)[in_rest]] = "val"
    return _split_frame(table, side)


def kfold_table(table: LesionTable, k: int = 5, seed: int = 0) -> pd.DataFrame:
    """k lesion-grouped, stratified folds: column ``split`` holds "fold0" ... "fold{k-1}"."""
    if k < 2:
        raise DataError(f"k-fold needs k >= 2, got {k}")
    y = _lesion_labels(table)
    groups = table.records["lesion_id"].astype(str).to_numpy()
    n_groups = len(np.unique(groups))
    if n_groups < k:
        raise DataError(
            f"cannot make {k} lesion-grouped folds from {n_groups} lesions: every fold needs a lesion of its own; "
            f"use --kfold {n_groups} or fewer, or add images of more lesions"
        )
    side = np.empty(len(table), dtype=object)
    for fold, held in enumerate(_lesion_folds(y, groups, k, seed, f"{k} folds")):
        side[held] = f"fold{fold}"
    return _split_frame(table, side)


def _split_frame(table: LesionTable, side: np.ndarray) -> pd.DataFrame:
    frame = table.records.loc[:, ["image_id", "lesion_id", "label"]].copy()
    frame["split"] = side
    return frame.reset_index(drop=True)


def fold_as_split(folds: pd.DataFrame, val_fold: int) -> pd.DataFrame:
    """Turn a k-fold frame into train/val with fold ``val_fold`` held out."""
    frame = folds.copy()
    frame["split"] = np.where(frame["split"] == f"fold{val_fold}", "val", "train")
    return frame


@dataclass(frozen=True)
class LeakReport:
    """Lesions and near-duplicate image pairs found on more than one side of a split."""

    shared_lesions: list[str]
    cross_side_duplicates: list[tuple[str, str, int]]  # (image_id, image_id, Hamming distance)

    @property
    def ok(self) -> bool:
        return not self.shared_lesions and not self.cross_side_duplicates

    def describe(self, shown: int = 3) -> str:
        """One readable paragraph: what crosses sides (counts, a few ids as "A ~ B") and what to do."""
        if self.ok:
            return "no lesion and no near-duplicate image pair crosses sides."
        parts, remedies = [], []
        if self.shared_lesions:
            parts.append(f"{_count(self.shared_lesions, 'lesion')} on two sides ({_few(self.shared_lesions, shown)})")
            remedies.append("make the split again with `dermkit data split` (it keeps every lesion on one side)")
        if self.cross_side_duplicates:
            pairs = [f"{a} ~ {b}" for a, b, _ in self.cross_side_duplicates]
            parts.append(f"{_count(pairs, 'near-duplicate image pair')} on different sides ({_few(pairs, shown)})")
            remedies.append(
                "near-duplicates are usually the same lesion: give each pair one lesion_id in the metadata "
                "(or remove the copy) and split again; `dermkit data check` lists them all"
            )
        return "; ".join(parts) + ". To fix: " + "; ".join(remedies) + "."


def _count(items: list, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _few(items: list[str], shown: int) -> str:
    """'a, b, c and 7 more'."""
    return ", ".join(items[:shown]) + (f" and {len(items) - shown} more" if len(items) > shown else "")


def find_leaks(split: pd.DataFrame, near_pairs: list[tuple[str, str, int]] | None = None) -> LeakReport:
    """Check that no lesion, and no near-duplicate image pair, crosses sides.

    Args:
        split: a frame with ``image_id``, ``lesion_id``, ``split``.
        near_pairs: near-duplicate (image_id, image_id, distance) pairs, e.g. from
            :func:`dermkit.data.hashing.near_duplicate_pairs` mapped to ids.
    """
    sides_per_lesion = split.groupby("lesion_id")["split"].nunique()
    shared = sorted(sides_per_lesion[sides_per_lesion > 1].index.astype(str))
    side_of = dict(zip(split["image_id"], split["split"], strict=True))
    crossing = [(a, b, d) for a, b, d in (near_pairs or []) if side_of.get(a) != side_of.get(b)]
    return LeakReport(shared, crossing)


def split_summary(split: pd.DataFrame, classes: tuple[str, ...]) -> pd.DataFrame:
    """Images and lesions per class per side (rows: classes + "total"; columns: side/images, side/lesions)."""
    cols = {}
    for side in sorted(split["split"].unique(), key=lambda s: (SIDES.index(s) if s in SIDES else 9, s)):
        part = split[split["split"] == side]
        imgs = part["label"].value_counts()
        les = part.groupby("label")["lesion_id"].nunique()
        cols[(side, "images")] = [int(imgs.get(c, 0)) for c in classes] + [len(part)]
        cols[(side, "lesions")] = [int(les.get(c, 0)) for c in classes] + [part["lesion_id"].nunique()]
    frame = pd.DataFrame(cols, index=[*classes, "total"])
    frame.columns = [f"{a}/{b}" for a, b in frame.columns]
    return frame


def save_split(split: pd.DataFrame, path: str | Path) -> Path:
    """Write the split CSV atomically (temporary file, then rename): a crash never leaves half a split."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    split.loc[:, list(SPLIT_COLUMNS)].to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path


def load_split(path: str | Path, table: LesionTable | None = None) -> pd.DataFrame:
    """Read a split CSV; with ``table``, check that it covers the table's images and nothing else."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: split file not found; create one with `dermkit data split`")
    split = pd.read_csv(path, dtype={"image_id": str, "lesion_id": str, "label": object, "split": str})
    missing_cols = [c for c in SPLIT_COLUMNS if c not in split.columns]
    if missing_cols:
        raise DataError(f"{path}: split file lacks columns {missing_cols}; expected {list(SPLIT_COLUMNS)}")
    if table is not None:
        known = set(table.records["image_id"])
        unknown = sorted(set(split["image_id"]) - known)
        if unknown:
            raise DataError(
                f"{path}: {len(unknown)} image ids are not in the data set (first: {unknown[:5]}); "
                "the split was made for other data: re-create it with `dermkit data split`"
            )
    return split


def side_indices(table: LesionTable, split: pd.DataFrame, side: str) -> np.ndarray:
    """Row positions in ``table`` of the images on ``side``."""
    ids = set(split.loc[split["split"] == side, "image_id"])
    return np.flatnonzero(table.records["image_id"].isin(ids).to_numpy())


def verify_split(table: LesionTable, split: pd.DataFrame, hashes: bool = True, progress: bool = True) -> LeakReport:
    """:func:`find_leaks` with near-duplicate pairs computed from the table's images.

    Fingerprinting decodes every image once (about 2 ms per small image); near-duplicates are
    confirmed on colour thumbnails (see :data:`dermkit.data.hashing.NEAR_DUPLICATE_MAD`).
    """
    from dermkit.data.hashing import image_fingerprints, near_duplicate_pairs

    pairs: list[tuple[str, str, int]] = []
    if hashes:
        values, thumbs, valid = image_fingerprints(table.records["image_path"].tolist(), progress=progress)
        ids = table.records["image_id"].astype(str).tolist()
        pairs = [(ids[i], ids[j], d) for i, j, d in near_duplicate_pairs(values, valid, thumbs=thumbs)]
    return find_leaks(split, pairs)
