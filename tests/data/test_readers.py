"""Readers for every layout on tiny fixtures (tests/data/conftest.py), detection and errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from dermkit.data import readers
from dermkit.data.check import check_table
from dermkit.data.readers import READERS, detect_layout, load_table, register_reader
from dermkit.data.records import HAM10000_CLASSES, RECORD_COLUMNS
from dermkit.errors import DataError
from dermkit.imageio import read_image, read_mask


def _assert_absolute_existing(table) -> None:
    assert list(table.records.columns) == list(RECORD_COLUMNS)
    for p in table.records["image_path"]:
        assert Path(p).is_absolute() and Path(p).is_file()
    for p in table.records["mask_path"].dropna():
        assert Path(p).is_absolute() and Path(p).is_file()


# ---------------------------------------------------------------------------- HAM10000


def test_ham10000_split_parts_and_extensionless_metadata(ham_root: Path) -> None:
    table = load_table(ham_root, layout="ham10000")
    _assert_absolute_existing(table)
    rec = table.records.set_index("image_id")
    assert table.layout == "ham10000" and table.classes == HAM10000_CLASSES
    assert len(table) == 5 and table.problems == []
    assert {Path(p).parent.name for p in rec["image_path"]} == {"HAM10000_images_part_1", "HAM10000_images_part_2"}
    assert rec.loc["ISIC_0000001", "lesion_id"] == rec.loc["ISIC_0000002", "lesion_id"] == "HAM_0000001"
    assert rec.loc["ISIC_0000003", ["label", "sex", "site", "age"]].tolist() == ["mel", "female", "face", 70.0]
    assert np.isnan(rec.loc["ISIC_0000004", "age"]) and rec.loc["ISIC_0000004", "sex"] == "unknown"
    assert rec["mask_path"].notna().sum() == 4 and rec.loc["ISIC_0000005", "mask_path"] is None
    assert table.class_counts()["nv"] == 2 and table.lesion_counts()["nv"] == 1


def test_ham10000_palette_mask_reads_as_lesion(ham_root: Path) -> None:
    table = load_table(ham_root)
    row = table.records.set_index("image_id").loc["ISIC_0000001"]
    mask = read_mask(row["mask_path"], expected_hw=read_image(row["image_path"]).shape[:2])
    assert mask.max() == 1 and 0 < mask.mean() < 1
    assert check_table(table).problems == []  # palette mask converts to {0, 255}: not "non-binary"


def test_ham10000_metadata_one_level_down_and_csv(ham_root: Path, tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    shutil.move(str(ham_root), str(outer / "HAM10000"))
    (outer / "HAM10000" / "HAM10000_metadata").rename(outer / "HAM10000" / "HAM10000_metadata.csv")
    table = load_table(outer)
    assert table.layout == "ham10000" and len(table) == 5


def test_ham10000_missing_image_is_a_problem_not_a_silent_drop(ham_root: Path) -> None:
    (ham_root / "HAM10000_images_part_2" / "ISIC_0000004.jpg").unlink()
    table = load_table(ham_root)
    assert len(table) == 4 and "ISIC_0000004" not in set(table.records["image_id"])
    [problem] = table.problems
    assert (problem.kind, problem.severity, problem.image_id) == ("missing_file", "error", "ISIC_0000004")
    assert "ISIC_0000004.jpg" in problem.message
    report = check_table(table)
    assert report.bad_image_ids() == ["ISIC_0000004"]


def test_ham10000_unknown_dx(ham_root: Path) -> None:
    meta = ham_root / "HAM10000_metadata"
    meta.write_text(meta.read_text().replace("ISIC_0000005,vasc", "ISIC_0000005,scc"))
    table = load_table(ham_root)
    [problem] = table.problems
    assert (problem.kind, problem.image_id) == ("unknown_label", "ISIC_0000005")
    assert "'scc'" in problem.message and len(table) == 4


def test_ham10000_unknown_dx_suggests_the_closest_class(ham_root: Path) -> None:
    meta = ham_root / "HAM10000_metadata"
    meta.write_text(meta.read_text().replace("ISIC_0000003,mel", "ISIC_0000003,mell"))
    [problem] = load_table(ham_root).problems
    assert (problem.kind, problem.image_id) == ("unknown_label", "ISIC_0000003")
    assert "'mell' (did you mean 'mel'?)" in problem.message


def test_ham10000_empty_dx_says_so(ham_root: Path) -> None:
    meta = ham_root / "HAM10000_metadata"
    meta.write_text(meta.read_text().replace("ISIC_0000003,mel", "ISIC_0000003,"))
    [problem] = load_table(ham_root).problems
    assert problem.kind == "unknown_label" and "ISIC_0000003 has no dx" in problem.message


def test_ham10000_empty_lesion_id_is_an_error_naming_the_lines(ham_root: Path) -> None:
    # Old code: both rows were merged into one lesion called "nan" (a silent split leak / wrong grouping).
    meta = ham_root / "HAM10000_metadata"
    lines = meta.read_text().splitlines()
    lines[3] = lines[3].replace("HAM_0000002", "")  # ISIC_0000003 on line 4
    lines[5] = lines[5].replace("HAM_0000004", " ")  # ISIC_0000005 on line 6
    meta.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"2 rows have an empty lesion_id \(lines 4, 6\)") as info:
        load_table(ham_root)
    assert str(meta) in str(info.value) and "Fill in the lesion" in str(info.value)


def test_ham10000_same_image_in_two_folders_is_a_warning(ham_root: Path) -> None:
    dup = ham_root / "HAM10000_images" / "ISIC_0000001.jpg"
    dup.parent.mkdir()
    shutil.copy(ham_root / "HAM10000_images_part_1" / "ISIC_0000001.jpg", dup)
    table = load_table(ham_root)
    assert len(table) == 5
    [problem] = table.problems
    assert (problem.kind, problem.severity) == ("duplicate_image_file", "warning")
    assert str(dup) in problem.message
    # the official part folder wins, deterministically
    assert "HAM10000_images_part_1" in table.records.set_index("image_id").loc["ISIC_0000001", "image_path"]


def test_ham10000_stray_images_reported_once(ham_root: Path, write_image) -> None:
    write_image(ham_root / "extra" / "ISIC_9999999.jpg", seed=1)
    write_image(ham_root / "extra" / "ISIC_9999998.jpg", seed=2)
    table = load_table(ham_root)
    [problem] = table.problems
    assert problem.kind == "unlisted_images" and problem.message.startswith("2 image files")


def test_ham10000_missing_columns(ham_root: Path) -> None:
    (ham_root / "HAM10000_metadata").write_text("image,diagnosis\nISIC_0000001,nv\n")
    with pytest.raises(DataError, match="lacks columns"):
        load_table(ham_root)


def test_macos_zip_debris_ignored(ham_root: Path) -> None:
    junk = ham_root / "__MACOSX" / "HAM10000_images_part_1" / "._ISIC_0000001.jpg"
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (ham_root / "HAM10000_images_part_1" / "._ISIC_0000002.jpg").write_bytes(b"\x00junk")
    table = load_table(ham_root)
    assert table.problems == [] and not any("__MACOSX" in p or "._" in p for p in table.records["image_path"])


# ---------------------------------------------------------------------------- PH2


@pytest.mark.parametrize("fixture", ["ph2_xlsx_root", "ph2_txt_root"])
def test_ph2(fixture: str, request: pytest.FixtureRequest) -> None:
    root = request.getfixturevalue(fixture)
    table = load_table(root)
    _assert_absolute_existing(table)
    assert table.layout == "ph2" and table.classes == ("common_nevus", "atypical_nevus", "melanoma")
    assert dict(zip(table.records["image_id"], table.records["label"], strict=True)) == {
        "IMD003": "common_nevus",
        "IMD030": "atypical_nevus",
        "IMD058": "melanoma",
    }
    assert (table.records["lesion_id"] == table.records["image_id"]).all()
    assert table.records["mask_path"].notna().all() and table.problems == []
    report = check_table(table)
    assert report.problems == [] and report.image_sizes == {"60x45": 3}


def test_ph2_prefers_xlsx_and_reports_unmarked_rows(ph2_xlsx_root: Path) -> None:
    import openpyxl

    path = ph2_xlsx_root / "PH2_dataset.xlsx"
    book = openpyxl.load_workbook(path)
    book.active.cell(row=15, column=4).value = None  # IMD030 loses its X
    book.save(path)
    # a txt copy that disagrees: the original sheet wins
    (ph2_xlsx_root / "PH2_dataset.txt").write_text("Name\tClinical Diagnosis\tAsymmetry\nIMD058\t0\t0\n")
    table = load_table(ph2_xlsx_root)
    assert table.records.set_index("image_id").loc["IMD058", "label"] == "melanoma"
    [problem] = table.problems  # IMD030 is reported once, not also as an unlabelled folder
    assert (problem.kind, problem.image_id) == ("bad_label", "IMD030") and "0 diagnosis columns" in problem.message
    assert len(table) == 2


def test_ph2_missing_mask_is_a_warning(ph2_txt_root: Path) -> None:
    mask = ph2_txt_root / "PH2 Dataset images" / "IMD058" / "IMD058_lesion" / "IMD058_lesion.bmp"
    mask.unlink()
    table = load_table(ph2_txt_root)
    [problem] = table.problems
    assert (problem.kind, problem.severity, problem.path) == ("missing_mask", "warning", str(mask))
    assert len(table) == 3 and table.records["mask_path"].isna().sum() == 1


# ---------------------------------------------------------------------------- ISIC


def test_isic2018_task1(isic_task1_root: Path) -> None:
    table = load_table(isic_task1_root)
    _assert_absolute_existing(table)
    assert table.layout == "isic2018_task1" and table.classes == () and not table.has_labels
    assert len(table) == 4  # the superpixels file is not an image record
    assert table.records["mask_path"].notna().sum() == 3
    assert check_table(table).problems == []


def test_isic2018_task1_masks_in_the_image_folder(tmp_path: Path, write_image, write_mask) -> None:
    for k in range(2):
        write_image(tmp_path / f"ISIC_000000{k}.jpg", seed=k)
        write_mask(tmp_path / f"ISIC_000000{k}_segmentation.png")
    write_mask(tmp_path / "ISIC_0000009_segmentation.png")
    table = load_table(tmp_path)
    assert table.layout == "isic2018_task1" and table.records["mask_path"].notna().all()
    assert [p.kind for p in table.problems] == ["orphan_masks"]


def test_isic2018_task3(isic_task3_root: Path) -> None:
    table = load_table(isic_task3_root)
    _assert_absolute_existing(table)
    rec = table.records.set_index("image_id")
    assert table.layout == "isic2018_task3" and table.classes == HAM10000_CLASSES
    assert rec["label"].to_dict() == {
        "ISIC_0024306": "nv",
        "ISIC_0024307": "nv",
        "ISIC_0024308": "mel",
        "ISIC_0024309": "bcc",
        "ISIC_0024310": "akiec",
    }
    assert rec.loc["ISIC_0024306", "lesion_id"] == rec.loc["ISIC_0024307", "lesion_id"] == "HAM_0000550"
    assert table.problems == []


def test_isic2018_task3_without_groupings_warns_and_flags_bad_one_hot(isic_task3_root: Path) -> None:
    (isic_task3_root / "ISIC2018_Task3_Training_LesionGroupings.csv").unlink()
    gt = isic_task3_root / "ISIC2018_Task3_Training_GroundTruth" / "ISIC2018_Task3_Training_GroundTruth.csv"
    gt.write_text(gt.read_text().replace("ISIC_0024310,0.0,0.0,0.0,1.0", "ISIC_0024310,1.0,0.0,0.0,1.0"))
    table = load_table(isic_task3_root)
    assert sorted(p.kind for p in table.problems) == ["bad_label", "no_lesion_ids"]
    assert (table.records["lesion_id"] == table.records["image_id"]).all() and len(table) == 4


def test_isic2017_melanoma_only(isic2017_root: Path) -> None:
    table = load_table(isic2017_root)
    _assert_absolute_existing(table)
    rec = table.records.set_index("image_id")
    assert table.layout == "isic2017" and table.classes == ("other", "melanoma")
    assert rec["label"].tolist() == ["other", "melanoma", "other", "other"]
    assert rec.loc["ISIC_0000000", ["age", "sex"]].tolist() == [55.0, "female"]
    assert np.isnan(rec.loc["ISIC_0000001", "age"]) and rec.loc["ISIC_0000001", "sex"] == "unknown"


def test_isic2017_with_seborrheic_keratosis(isic2017_sk_root: Path) -> None:
    table = load_table(isic2017_sk_root)
    assert table.classes == ("nevus", "melanoma", "seborrheic_keratosis")
    assert table.records["label"].tolist() == ["nevus", "melanoma", "seborrheic_keratosis", "nevus"]


def test_isic2017_missing_image(isic2017_root: Path) -> None:
    (isic2017_root / "ISIC-2017_Training_Data" / "ISIC_0000002.jpg").unlink()
    table = load_table(isic2017_root)
    [problem] = table.problems
    assert (problem.kind, problem.image_id) == ("missing_file", "ISIC_0000002")
    assert "ISIC_0000002.jpg" in problem.message


# ---------------------------------------------------------------------------- folder per class


def test_folder_per_class(folder_root: Path) -> None:
    table = load_table(folder_root)
    _assert_absolute_existing(table)
    assert table.layout == "folder" and table.classes == ("keratosis", "melanoma", "nevus")
    assert dict(zip(table.records["image_id"], table.records["label"], strict=True)) == {
        "d": "keratosis",
        "c": "melanoma",
        "a": "nevus",
        "b": "nevus",
    }


def test_folder_same_file_in_two_classes_is_caught_by_check(folder_root: Path) -> None:
    shutil.copy(folder_root / "nevus" / "a.jpg", folder_root / "melanoma" / "a.jpg")
    report = check_table(load_table(folder_root, layout="folder"))
    assert {"duplicate_image_id", "lesion_label_conflict"} <= set(report.counts_by_kind())
    assert "a" in report.bad_image_ids()


# ---------------------------------------------------------------------------- detection and errors


@pytest.mark.parametrize(
    "fixture, layout",
    [
        ("ham_root", "ham10000"),
        ("ph2_xlsx_root", "ph2"),
        ("ph2_txt_root", "ph2"),
        ("isic_task1_root", "isic2018_task1"),
        ("isic_task3_root", "isic2018_task3"),
        ("isic2017_root", "isic2017"),
        ("isic2017_sk_root", "isic2017"),
        ("folder_root", "folder"),
    ],
)
def test_detect_layout(fixture: str, layout: str, request: pytest.FixtureRequest) -> None:
    root = request.getfixturevalue(fixture)
    assert detect_layout(root) == layout
    assert load_table(root).layout == layout


def test_no_layout_fits_lists_expectations(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(DataError) as info:
        detect_layout(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    for name in ("ham10000", "ph2", "isic2018_task1", "isic2018_task3", "isic2017", "folder"):
        assert f"- {name}:" in message
    assert "HAM10000_metadata.csv" in message and "PH2_dataset.xlsx" in message


def test_unknown_layout_suggests(ham_root: Path) -> None:
    with pytest.raises(DataError, match=r"unknown data-set layout 'ham1000'\. Did you mean 'ham10000'\?") as info:
        load_table(ham_root, layout="ham1000")
    assert "Known: folder, ham10000, " in str(info.value) and "'auto'" in str(info.value)


def test_missing_root_names_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match="does not exist") as info:
        load_table(missing)
    assert str(missing) in str(info.value)


def test_duplicate_reader_name_raises() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_reader("ham10000", detect=lambda root: False)(lambda root: None)
    assert READERS.get("ham10000").__name__ == "read_ham10000"


def test_registry_order_covers_every_reader() -> None:
    assert readers.available_layouts()[:6] == list(readers.DETECTION_ORDER)
    assert set(READERS) >= set(readers.DETECTION_ORDER)
