"""``check_table``: one test per way a file or record can be bad, on the ``clean_table`` fixture."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dermkit.data.check import CheckReport, Problem, check_table, plot_class_distribution
from dermkit.data.records import LesionTable


def _path(table: LesionTable, image_id: str, column: str = "image_path") -> Path:
    return Path(table.records.set_index("image_id").loc[image_id, column])


def _only(report: CheckReport, kind: str) -> Problem:
    found = [p for p in report.problems if p.kind == kind]
    assert len(found) == 1, report.problems
    assert len(report.problems) == 1, f"unexpected extra problems: {report.problems}"
    return found[0]


def test_clean_table_has_no_problems(clean_table: LesionTable) -> None:
    report = check_table(clean_table, progress=True)
    assert report.problems == [] and report.ok
    assert (report.n_images, report.n_lesions, report.n_masks) == (6, 5, 6)
    assert report.class_counts["nv"] == 2 and report.lesion_counts["nv"] == 1
    assert report.image_sizes == {"96x72": 6}
    assert report.bad_image_ids() == []


def test_truncated_jpeg(clean_table: LesionTable) -> None:
    path = _path(clean_table, "IMG2")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    problem = _only(check_table(clean_table), "truncated_image")
    assert (problem.severity, problem.image_id, problem.path) == ("error", "IMG2", str(path))
    assert str(path) in problem.message


def test_zero_byte_file(clean_table: LesionTable) -> None:
    path = _path(clean_table, "IMG3")
    path.write_bytes(b"")
    problem = _only(check_table(clean_table), "empty_file")
    assert problem.image_id == "IMG3" and str(path) in problem.message


def test_text_file_named_jpg(clean_table: LesionTable) -> None:
    path = _path(clean_table, "IMG4")
    path.write_text("lesion_id,image_id\nthis is a CSV, not a JPEG\n")
    problem = _only(check_table(clean_table), "not_an_image")
    assert problem.image_id == "IMG4" and str(path) in problem.message


def test_missing_image(clean_table: LesionTable) -> None:
    path = _path(clean_table, "IMG5")
    path.unlink()
    report = check_table(clean_table)
    problem = _only(report, "missing_file")
    assert problem.image_id == "IMG5" and str(path) in problem.message
    assert report.bad_image_ids() == ["IMG5"]


def test_mask_of_wrong_size(clean_table: LesionTable) -> None:
    mask = _path(clean_table, "IMG1", "mask_path")
    Image.open(mask).resize((30, 20), Image.Resampling.NEAREST).save(mask)
    problem = _only(check_table(clean_table), "mask_size_mismatch")
    assert (problem.severity, problem.image_id, problem.path) == ("error", "IMG1", str(mask))
    assert str(mask) in problem.message and "30x20" in problem.message and "96x72" in problem.message


def test_non_binary_mask_is_a_warning(clean_table: LesionTable) -> None:
    mask = _path(clean_table, "IMG0", "mask_path")
    grey = np.asarray(Image.open(mask)).copy()
    grey[grey == 255] = 200  # anti-aliased or JPEG-like grey levels
    grey[0, :5] = 60
    Image.fromarray(grey, "L").save(mask)
    report = check_table(clean_table)
    problem = _only(report, "non_binary_mask")
    assert problem.severity == "warning" and str(mask) in problem.message and "200" in problem.message
    assert report.ok and report.bad_image_ids() == [] and report.bad_image_ids(include_warnings=True) == ["IMG0"]


def test_zero_one_masks_are_read_as_binary_and_reported_once(clean_table: LesionTable) -> None:
    # Old code: every {0,1} mask binarised to EMPTY at > 128 (and trained to Dice 0).
    for image_id in ("IMG0", "IMG1"):
        mask = _path(clean_table, image_id, "mask_path")
        Image.fromarray((np.asarray(Image.open(mask)) > 0).astype(np.uint8), "L").save(mask)
    report = check_table(clean_table)
    problem = _only(report, "zero_one_masks")
    assert (problem.severity, problem.image_id) == ("warning", "")
    assert problem.message.startswith("2 masks use values {0,1}") and "read as binary" in problem.message
    assert report.n_zero_one_masks == 2 and report.n_empty_masks == 0 and report.ok
    assert "2 stored as {0,1} and read as binary" in report.to_markdown()


def test_grey_mask_below_threshold_is_non_binary_and_empty(clean_table: LesionTable) -> None:
    mask = _path(clean_table, "IMG0", "mask_path")
    Image.fromarray((np.asarray(Image.open(mask)) > 0).astype(np.uint8) * 100, "L").save(mask)
    report = check_table(clean_table)
    assert sorted(report.counts_by_kind()) == ["empty_mask", "non_binary_mask"]
    assert "EMPTY" in next(p.message for p in report.problems if p.kind == "non_binary_mask")
    assert report.empty_mask_ids == ["IMG0"]


def test_palette_mask_is_fine(clean_table: LesionTable) -> None:
    mask = _path(clean_table, "IMG0", "mask_path")
    index = (np.asarray(Image.open(mask)) > 0).astype(np.uint8)
    palette = Image.fromarray(index, "P")
    palette.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    palette.save(mask)
    assert Image.open(mask).mode == "P"
    assert check_table(clean_table).problems == []


def test_empty_mask(clean_table: LesionTable) -> None:
    mask = _path(clean_table, "IMG3", "mask_path")
    Image.new("L", (96, 72), 0).save(mask)
    report = check_table(clean_table)
    problem = _only(report, "empty_mask")
    assert problem.severity == "warning" and str(mask) in problem.message
    assert report.n_empty_masks == 1 and report.empty_mask_ids == ["IMG3"]
    assert report.to_dict()["n_empty_masks"] == 1 and "6 with masks (1 empty)" in report.to_markdown()


def test_duplicate_image_id(clean_table: LesionTable) -> None:
    rec = clean_table.records.copy()
    rec.loc[3, "image_id"] = "IMG2"
    report = check_table(LesionTable(rec, clean_table.classes, clean_table.root, "test"))
    problem = _only(report, "duplicate_image_id")
    assert problem.severity == "error" and problem.image_id == "IMG2"
    assert str(_path(clean_table, "IMG2")) in problem.message and str(_path(clean_table, "IMG3")) in problem.message


def test_lesion_under_two_labels(clean_table: LesionTable) -> None:
    rec = clean_table.records.copy()
    rec.loc[1, "label"] = "mel"  # IMG1 shares lesion L0 with IMG0 (nv)
    report = check_table(LesionTable(rec, clean_table.classes, clean_table.root, "test"))
    conflicts = [p for p in report.problems if p.kind == "lesion_label_conflict"]
    assert len(report.problems) == len(conflicts) == 2
    assert {p.image_id for p in conflicts} == {"IMG0", "IMG1"} and all(p.severity == "error" for p in conflicts)
    assert all("L0" in p.message and "nv" in p.message and "mel" in p.message for p in conflicts)
    assert str(_path(clean_table, "IMG1")) in conflicts[1].message
    assert report.bad_image_ids() == ["IMG0", "IMG1"]


def test_near_duplicate_under_another_lesion(clean_table: LesionTable) -> None:
    # IMG5 (lesion L4) becomes a re-encoded, slightly resized copy of IMG2 (lesion L1)
    original = Image.open(_path(clean_table, "IMG2"))
    buffer = io.BytesIO()
    original.resize((192, 144)).resize((96, 72)).save(buffer, "JPEG", quality=70)
    target = _path(clean_table, "IMG5")
    target.write_bytes(buffer.getvalue())
    problem = _only(check_table(clean_table), "near_duplicate")
    assert (problem.severity, problem.image_id) == ("warning", "IMG5")
    assert str(target) in problem.message and str(_path(clean_table, "IMG2")) in problem.message
    assert "L1" in problem.message and "L4" in problem.message


def test_exact_duplicate_under_another_lesion(clean_table: LesionTable) -> None:
    shutil.copy(_path(clean_table, "IMG3"), _path(clean_table, "IMG4"))
    problem = _only(check_table(clean_table), "duplicate_file")
    assert problem.image_id == "IMG4" and str(_path(clean_table, "IMG4")) in problem.message


def test_duplicates_within_one_lesion_are_expected(clean_table: LesionTable) -> None:
    shutil.copy(_path(clean_table, "IMG0"), _path(clean_table, "IMG1"))  # both lesion L0
    assert check_table(clean_table).problems == []


def test_hashes_off_skips_duplicate_search(clean_table: LesionTable) -> None:
    shutil.copy(_path(clean_table, "IMG3"), _path(clean_table, "IMG4"))
    assert check_table(clean_table, hashes=False).problems == []


def test_reader_problems_come_first(clean_table: LesionTable) -> None:
    reader_problem = Problem("missing_file", "error", "IMG9", "/x/IMG9.jpg", "/x/IMG9.jpg: gone")
    clean_table.problems.append(reader_problem)
    _path(clean_table, "IMG0").write_bytes(b"")
    report = check_table(clean_table)
    assert report.problems[0] == reader_problem and [p.kind for p in report.problems] == ["missing_file", "empty_file"]
    assert report.bad_image_ids() == ["IMG0", "IMG9"]


def test_problem_rejects_unknown_severity() -> None:
    with pytest.raises(ValueError, match="severity"):
        Problem("x", "fatal", "id", "p", "m")


def test_write_outputs(clean_table: LesionTable, tmp_path: Path) -> None:
    _path(clean_table, "IMG3").write_bytes(b"")
    report = check_table(clean_table)
    paths = report.write(tmp_path / "out")
    data = json.loads(paths["json"].read_text())
    assert data["n_errors"] == 1 and data["counts_by_kind"] == {"empty_file": 1}
    assert data["bad_image_ids"] == ["IMG3"] and data["problems"][0]["kind"] == "empty_file"
    text = paths["markdown"].read_text()
    assert text.startswith("# Data check: ERRORS") and "| nv | 2 | 1 |" in text and "empty_file" in text
    with Image.open(paths["plot"]) as png:
        assert png.format == "PNG" and png.size[0] > 100


def test_plot_from_table_and_unlabelled(clean_table: LesionTable, tmp_path: Path) -> None:
    assert plot_class_distribution(clean_table, tmp_path / "a.png").stat().st_size > 0
    unlabelled = LesionTable(clean_table.records.assign(label=None), (), clean_table.root, "test")
    assert plot_class_distribution(check_table(unlabelled, hashes=False), tmp_path / "b.png").stat().st_size > 0


def test_too_large_image_is_reported_and_the_check_goes_on(clean_table: LesionTable, monkeypatch) -> None:
    # Old code: PIL's DecompressionBombError escaped and aborted the whole check.
    from dermkit import imageio

    big = _path(clean_table, "IMG2")
    Image.new("RGB", (200, 150), (90, 60, 40)).save(big, "JPEG")
    monkeypatch.setattr(imageio, "MAX_PIXELS", 96 * 72)  # the other images are exactly at the limit
    report = check_table(clean_table)
    problem = _only(report, "too_large")
    assert (problem.severity, problem.image_id) == ("error", "IMG2")
    assert "200x150" in problem.message and "DERMKIT_MAX_PIXELS" in problem.message
    assert report.image_sizes == {"96x72": 5} and report.bad_image_ids() == ["IMG2"]


def test_sixteen_bit_image_decodes_to_its_grey_levels(clean_table: LesionTable) -> None:
    # Old code: convert("RGB") clipped 16-bit grey to all-white and the check said OK.
    path = _path(clean_table, "IMG4").with_suffix(".png")
    ramp = np.tile(np.linspace(0, 65535, 96), (72, 1)).astype(np.uint16)
    Image.fromarray(ramp).save(path)
    rec = clean_table.records.copy()
    rec.loc[rec["image_id"] == "IMG4", "image_path"] = str(path)
    report = check_table(LesionTable(rec, clean_table.classes, clean_table.root, "test"))
    assert report.problems == [] and report.image_sizes == {"96x72": 6}


@pytest.mark.parametrize("n_empty, refused", [(2, False), (3, True)])
def test_segmentation_training_refuses_mostly_empty_masks(
    ham_root: Path, tmp_path: Path, n_empty: int, refused: bool
) -> None:
    # Old code trained on them (to Dice 0) with exit code 0 and only a warning in the log.
    from dermkit.config import DataConfig
    from dermkit.engine.data import load_checked_table
    from dermkit.errors import DataError

    masks = sorted((ham_root / "HAM10000_segmentations_lesion_tschandl").glob("*.png"))  # 4 masks
    for mask in masks[:n_empty]:
        Image.new("L", (96, 72), 0).save(mask)
    cfg = DataConfig(path=str(ham_root), cache_dir=None)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    if refused:
        with pytest.raises(DataError, match="3 of 4 masks are empty") as info:
            load_checked_table(cfg, run_dir, need_masks=True, need_labels=False)
        assert "ISIC_0000001" in str(info.value)
    else:
        load_checked_table(cfg, run_dir, need_masks=True, need_labels=False)  # half empty is not "most"
    load_checked_table(cfg, run_dir, need_masks=False, need_labels=True)  # classification does not need masks
