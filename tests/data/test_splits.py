"""Lesion-grouped splits: no lesion on two sides, stratified, deterministic, round-trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dermkit.data.records import HAM10000_CLASSES, LesionTable, make_records
from dermkit.data.splits import (
    find_leaks,
    fold_as_split,
    kfold_table,
    load_split,
    n_test_folds,
    save_split,
    side_indices,
    split_summary,
    split_table,
)
from dermkit.errors import DataError


def make_table(n_lesions: int = 300, seed: int = 0) -> LesionTable:
    """Lesions with 1-3 images each, classes imbalanced like HAM10000."""
    rng = np.random.default_rng(seed)
    probs = np.array([327, 514, 1099, 115, 1113, 6705, 142], dtype=float)
    rows = []
    for les in range(n_lesions):
        label = HAM10000_CLASSES[rng.choice(7, p=probs / probs.sum())]
        for k in range(rng.integers(1, 4)):
            rows.append(
                {
                    "image_id": f"img{les}_{k}",
                    "image_path": f"/x/img{les}_{k}.jpg",
                    "lesion_id": f"les{les}",
                    "label": label,
                }
            )
    return LesionTable(make_records(rows), HAM10000_CLASSES, root=__import__("pathlib").Path("/x"), layout="test")


def test_split_groups_lesions_and_covers_everything():
    table = make_table()
    split = split_table(table, val=0.15, test=0.2, seed=3)
    assert len(split) == len(table)
    assert set(split["split"]) == {"train", "val", "test"}
    assert split.groupby("lesion_id")["split"].nunique().max() == 1
    frac = split["split"].value_counts(normalize=True)
    assert abs(frac["test"] - 0.2) < 0.06 and abs(frac["val"] - 0.15) < 0.06
    assert find_leaks(split).ok


def test_split_is_stratified():
    table = make_table(600)
    split = split_table(table, val=0.15, test=0.15, seed=0)
    overall = split["label"].value_counts(normalize=True)
    test = split[split["split"] == "test"]["label"].value_counts(normalize=True)
    assert abs(test["nv"] - overall["nv"]) < 0.08
    assert (test.reindex(HAM10000_CLASSES).fillna(0) > 0).sum() >= 6  # rare classes still present


def test_split_deterministic_by_seed():
    table = make_table()
    a = split_table(table, seed=1)
    b = split_table(table, seed=1)
    c = split_table(table, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a["split"].equals(c["split"])


def test_test_folds_are_disjoint_and_fold_zero_is_the_default():
    table = make_table(600)
    k = n_test_folds(0.2)
    splits = [split_table(table, val=0.15, test=0.2, seed=4, test_fold=f) for f in range(k)]
    pd.testing.assert_frame_equal(splits[0], split_table(table, val=0.15, test=0.2, seed=4))
    tests = [set(s.loc[s["split"] == "test", "image_id"]) for s in splits]
    assert set().union(*tests) == set(table.records["image_id"])  # every image is tested exactly once
    assert sum(len(t) for t in tests) == len(table)
    for s in splits:
        assert find_leaks(s).ok
        assert abs((s["split"] == "val").mean() - 0.15) < 0.06
    with pytest.raises(DataError, match="test_fold=5 does not exist: test=0.2 gives test folds 0 ... 4"):
        split_table(table, test=0.2, test_fold=k)
    with pytest.raises(DataError, match="needs a test side"):
        split_table(table, test=0.0, test_fold=1)


def test_kfold_partitions_lesions():
    table = make_table()
    folds = kfold_table(table, k=5, seed=0)
    assert sorted(folds["split"].unique()) == [f"fold{i}" for i in range(5)]
    assert folds.groupby("lesion_id")["split"].nunique().max() == 1
    tv = fold_as_split(folds, 2)
    assert set(tv["split"]) == {"train", "val"}
    assert (tv["split"] == "val").sum() == (folds["split"] == "fold2").sum()


def test_find_leaks_detects_shared_lesion_and_near_duplicates():
    split = pd.DataFrame(
        {
            "image_id": ["a", "b", "c"],
            "lesion_id": ["L1", "L1", "L2"],
            "label": ["nv"] * 3,
            "split": ["train", "test", "test"],
        }
    )
    report = find_leaks(split, near_pairs=[("a", "c", 2), ("b", "c", 1)])
    assert report.shared_lesions == ["L1"]
    assert report.cross_side_duplicates == [("a", "c", 2)]
    assert not report.ok


def test_save_load_roundtrip_and_unknown_ids(tmp_path):
    table = make_table(50)
    split = split_table(table, seed=0)
    path = save_split(split, tmp_path / "split.csv")
    back = load_split(path, table)
    assert back["split"].tolist() == split["split"].tolist()
    other = make_table(50, seed=9).records.assign(image_id=lambda f: "z" + f["image_id"])
    other_table = LesionTable(other, table.classes, table.root, "test")
    with pytest.raises(DataError, match="not in the data set"):
        load_split(path, other_table)
    with pytest.raises(DataError, match="not found"):
        load_split(tmp_path / "missing.csv")


def test_side_indices_and_summary():
    table = make_table(100)
    split = split_table(table, seed=0)
    idx = {s: side_indices(table, split, s) for s in ("train", "val", "test")}
    assert sum(len(v) for v in idx.values()) == len(table)
    summary = split_summary(split, table.classes)
    assert summary.loc["total", "train/images"] == len(idx["train"])
    assert summary.loc["total"].filter(like="/images").sum() == len(table)


def test_bad_fractions_raise():
    table = make_table(50)
    with pytest.raises(DataError, match="sum below 1"):
        split_table(table, val=0.6, test=0.5)
    with pytest.raises(DataError, match="k >= 2"):
        kfold_table(table, k=1)
