"""Lesion-grouped splits: no lesion on two sides, stratified, deterministic, round-trip."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dermkit.data.records import HAM10000_CLASSES, LesionTable, make_records
from dermkit.data.splits import (
    LeakReport,
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
from dermkit.data.synthetic.plan import plan_lesions
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


def table_from_lesions(labels_and_sizes: list[tuple[str, int]]) -> LesionTable:
    """One lesion per (label, number of images) pair."""
    rows = [
        {"image_id": f"img{les}_{k}", "image_path": f"/x/img{les}_{k}.jpg", "lesion_id": f"les{les}", "label": label}
        for les, (label, n_images) in enumerate(labels_and_sizes)
        for k in range(n_images)
    ]
    return LesionTable(make_records(rows), HAM10000_CLASSES, root=Path("/x"), layout="test")


def synthetic_table(n: int) -> LesionTable:
    """The lesions and labels `dermkit data synth --n n` writes (its plan; no pixels)."""
    plan = plan_lesions(n, seed=0, balance="ham10000", images_per_lesion=1.35)
    return table_from_lesions([(lesion.label, lesion.n_images) for lesion in plan])


@pytest.mark.parametrize("n", [8, 12, 16])
def test_small_data_sets_split_grouped_with_a_warning(n, caplog):
    # 16 images: every class has fewer than the 7 images StratifiedGroupKFold needs for a 15% side,
    # which raised sklearn's "n_splits=7 cannot be greater than the number of members in each class".
    table = synthetic_table(n)
    with caplog.at_level(logging.WARNING, logger="dermkit.data.splits"):
        split = split_table(table, val=0.15, test=0.15, seed=0)
    assert len(split) == n and set(split["split"]) == {"train", "val", "test"}
    assert find_leaks(split).ok
    assert split_table(table, val=0.15, test=0.15, seed=0).equals(split)  # still deterministic
    if n in (8, 16):
        assert "grouped by lesion (none on two sides) but not stratified by class" in caplog.text


def test_too_few_lesions_say_how_many_and_what_to_do():
    table = table_from_lesions([("nv", 2), ("mel", 1), ("nv", 1), ("bcc", 1), ("nv", 1)])  # 5 lesions
    with pytest.raises(
        DataError,
        match=r"15% of the images by lesion for the test side.*at least 7 lesions, and there are 5; add images",
    ):
        split_table(table, val=0.15, test=0.15)
    left = r"19% of the images left after the test side by lesion for the val side.*at least 5 lesions, and there are 4"
    with pytest.raises(DataError, match=left):
        split_table(table, val=0.15, test=0.2)
    split = split_table(table, val=0.25, test=0.25)  # larger fractions need fewer lesions
    assert set(split["split"]) == {"train", "val", "test"}
    with pytest.raises(DataError, match="cannot make 6 lesion-grouped folds from 5 lesions.*--kfold 5 or fewer"):
        kfold_table(table, k=6)


def test_kfold_of_a_small_data_set_leaves_no_fold_empty(caplog):
    # Stratified, scikit-learn's folds leave one of these five lesions' folds empty (seed 0).
    table = table_from_lesions([("bcc", 3), ("akiec", 1), ("bcc", 3), ("df", 1), ("mel", 1)])
    with caplog.at_level(logging.WARNING, logger="dermkit.data.splits"):
        folds = kfold_table(table, k=5, seed=0)
    assert sorted(folds["split"].unique()) == [f"fold{i}" for i in range(5)]
    assert folds.groupby("lesion_id")["split"].nunique().max() == 1
    assert "one fold would be empty" in caplog.text
    assert len(set(kfold_table(synthetic_table(16), k=5, seed=0)["split"])) == 5  # no class has 5 images


def test_leak_report_reads_as_counts_ids_and_a_remedy():
    report = LeakReport(["L1"], [(f"a{i}", f"b{i}", 1) for i in range(5)])
    text = report.describe()
    assert text.startswith("1 lesion on two sides (L1); 5 near-duplicate image pairs on different sides")
    assert "a0 ~ b0, a1 ~ b1, a2 ~ b2 and 2 more" in text
    assert "one lesion_id" in text and "split again" in text
    assert "[" not in text and "'" not in text  # no Python list or tuple
    assert LeakReport([], []).describe().startswith("no lesion")


def test_save_split_leaves_no_temporary_file(tmp_path):
    path = save_split(split_table(make_table(30), seed=0), tmp_path / "s" / "split.csv")
    assert path.is_file() and [p.name for p in path.parent.iterdir()] == ["split.csv"]
