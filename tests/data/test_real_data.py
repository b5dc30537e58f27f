"""Readers and ``check_table`` on the real shared data (../shared/data; see its README).

Skipped cleanly when the folder is absent (a fresh clone has no ../shared). Nothing from it is
copied into the repository; expected numbers come from the data's own metadata files.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from dermkit.data.check import CheckReport, check_table
from dermkit.data.readers import load_table
from dermkit.imageio import image_size, read_image, read_mask

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

pytestmark = pytest.mark.shared_data


def _root(name: str) -> Path:
    root = SHARED / name
    if not root.is_dir():
        pytest.skip(f"shared data folder {root} is absent (it lives outside the repository)")
    return root


@pytest.fixture(scope="module")
def ham_report() -> tuple[CheckReport, float]:
    root = _root("HAM10000")
    start = time.perf_counter()
    report = check_table(load_table(root))
    return report, time.perf_counter() - start


@pytest.mark.slow
def test_ham10000_check(ham_report: tuple[CheckReport, float]) -> None:
    report, seconds = ham_report
    meta = pd.read_csv(SHARED / "HAM10000" / "HAM10000_metadata.csv")
    assert report.layout == "ham10000"
    assert report.n_images == 8522 and report.n_lesions == 6357 and report.n_masks == 8522
    assert report.class_counts == {dx: int(n) for dx, n in meta["dx"].value_counts().items()} | {
        c: 0 for c in report.classes if c not in set(meta["dx"])
    }
    assert report.lesion_counts == {dx: int(n) for dx, n in meta.groupby("dx")["lesion_id"].nunique().items()}
    assert report.image_sizes == {"200x150": 8522}
    assert report.errors == [], report.to_markdown()
    assert seconds < 60, f"HAM10000 check took {seconds:.1f} s"


def test_ham10000_fullres() -> None:
    report = check_table(load_table(_root("HAM10000_fullres")))
    assert (report.n_images, report.n_masks) == (225, 155)
    assert report.image_sizes == {"600x450": 225}
    assert report.errors == [], report.to_markdown()


def test_ph2() -> None:
    table = load_table(_root("PH2Dataset"))
    assert table.layout == "ph2" and len(table) == 20 and table.problems == []
    assert table.records["label"].notna().all() and table.records["mask_path"].notna().all()
    for image_path, mask_path in zip(table.records["image_path"], table.records["mask_path"], strict=True):
        width, height = image_size(image_path)
        mask = read_mask(mask_path, expected_hw=(height, width))  # decodes and matches the image size
        assert 0 < mask.mean() < 1
    assert read_image(table.records["image_path"][0]).ndim == 3
    # the xlsx and the simplified txt agree
    txt = pd.read_csv(SHARED / "PH2Dataset" / "PH2_dataset.txt", sep="\t", dtype=str).dropna()
    txt = txt[txt["Name"].str.match(r"^IMD\d+$")]
    codes = dict(zip(txt["Name"], txt["Clinical Diagnosis"].astype(int), strict=True))
    assert {
        i: table.classes.index(lab) for i, lab in zip(table.records["image_id"], table.records["label"], strict=True)
    } == codes
    report = check_table(table)
    assert report.errors == [], report.to_markdown()


def test_isic2017_sample() -> None:
    root = _root("ISIC2017_sample")
    table = load_table(root)
    gt = pd.read_csv(root / "ISIC-2017_Training_Part3_GroundTruth.csv")
    assert table.layout == "isic2017" and table.classes == ("other", "melanoma") and len(table) == 40
    assert table.class_counts()["melanoma"] == int((gt["melanoma"] == 1).sum())
    assert table.records["sex"].isin(["male", "female", "unknown"]).all()
    report = check_table(table)
    assert report.errors == [] and report.image_sizes == {"256x256": 40}


@pytest.mark.slow
def test_ham10000_split_has_no_lesion_on_two_sides() -> None:
    from dermkit.data.splits import kfold_table, split_table, verify_split

    table = load_table(_root("HAM10000"))
    split = split_table(table, val=0.15, test=0.15, seed=0)
    sides = {s: set(split.loc[split["split"] == s, "lesion_id"]) for s in ("train", "val", "test")}
    assert (
        not (sides["train"] & sides["val"])
        and not (sides["train"] & sides["test"])
        and not (sides["val"] & sides["test"])
    )
    assert sum(len(v) for v in sides.values()) == table.records["lesion_id"].nunique()
    report = verify_split(table, split, hashes=True, progress=False)
    assert report.ok, (report.shared_lesions[:5], report.cross_side_duplicates[:5])
    # every class is on every side, in roughly its overall share
    share = split.groupby("split")["label"].value_counts(normalize=True).unstack().fillna(0)
    overall = split["label"].value_counts(normalize=True)
    assert (share > 0).all().all()
    assert (share.sub(overall, axis=1).abs() < 0.03).all().all()
    folds = kfold_table(table, k=5, seed=0)
    assert folds.groupby("lesion_id")["split"].nunique().max() == 1
