"""`dermkit predict`: per-image JSON + overlay + summary.csv; bad files listed; guards before any work."""

from __future__ import annotations

import csv
import json
import shutil

import jsonschema
import numpy as np
import pytest
from PIL import Image

from dermkit.data.readers import load_table
from dermkit.pipeline import AnalysisResult, published_schema


@pytest.fixture(scope="module")
def images(synthetic_root, tmp_path_factory):
    """A folder of three synthetic images (and a mask beside one, which is skipped)."""
    folder = tmp_path_factory.mktemp("images")
    records = load_table(synthetic_root).records
    for path in records["image_path"].iloc[:3]:
        shutil.copy(path, folder)
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(folder / "ISIC_x_segmentation.png")
    return folder


def _summary(out):
    with open(out / "summary.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_folder_gives_json_and_overlay_per_image_and_a_summary(run_cli, seg_run, cls_run, images, tmp_path):
    out = tmp_path / "out"
    result = run_cli("predict", "--seg", seg_run, "--cls", cls_run, images, "--out", out, "--device", "cpu")
    assert result.code == 0, result.err
    stems = sorted(p.stem for p in images.glob("*.jpg"))
    assert sorted(p.stem for p in out.glob("*.json")) == stems
    validator = jsonschema.Draft202012Validator(json.loads(published_schema()))
    for stem in stems:
        text = (out / f"{stem}.json").read_text()
        validator.validate(json.loads(text))  # the published schema file itself, not only the pydantic model
        parsed = AnalysisResult.model_validate_json(text)
        assert parsed.image.id == stem and parsed.patient is None
        overlay = np.asarray(Image.open(out / f"{stem}_overlay.png"))
        assert overlay.shape == (parsed.image.height, parsed.image.width, 3)
    rows = _summary(out)
    assert [r["id"] for r in rows] == stems and all(r["decision"] and not r["error"] for r in rows)
    # existing outputs are refused without --overwrite, before any work, and kept
    before = (out / f"{stems[0]}.json").read_text()
    again = run_cli("predict", "--seg", seg_run, "--cls", cls_run, images, "--out", out, "--device", "cpu")
    assert again.code == 2 and "already exist" in again.err and "--overwrite" in again.err
    assert (out / f"{stems[0]}.json").read_text() == before
    again = run_cli("predict", "--seg", seg_run, "--cls", cls_run, images, "--out", out, "--overwrite")
    assert again.code == 0


def test_bad_files_are_listed_and_the_rest_written(run_cli, seg_run, cls_run, images, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(images, folder)
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("not an image")
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(folder / "dot.png")
    out = tmp_path / "out"
    result = run_cli("predict", "--seg", seg_run, "--cls", cls_run, folder, "--out", out)
    assert result.code == 1
    assert "3 images could not be analysed" in result.out
    for name in ("empty.png", "text.png", "dot.png"):
        assert name in result.out
    assert "too small to segment" in result.out
    assert len(list(out.glob("*.json"))) == 3 and len(list(out.glob("*_overlay.png"))) == 3
    errors = {r["id"]: r["error"] for r in _summary(out)}
    assert errors["empty"] and errors["text"] and errors["dot"] and len(errors) == 6


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--age", "abc", "is not a number"), ("--sex", "robot", "sex 'robot' is not known"), ("--site", "bak", "'back'")],
)
def test_bad_command_line_metadata_is_a_usage_error(
    run_cli, seg_run, cls_run, images, tmp_path, option, value, message
):
    out = tmp_path / "out"
    result = run_cli("predict", "--seg", seg_run, "--cls", cls_run, images, "--out", out, option, value)
    assert result.code == 2 and message in " ".join(result.err.split())
    assert not out.exists()


def test_a_csv_carries_metadata_per_image(run_cli, seg_run, cls_run, images, tmp_path):
    names = sorted(p.name for p in images.glob("*.jpg"))
    table = tmp_path / "cases" / "cases.csv"
    table.parent.mkdir()
    for name in names:
        shutil.copy(images / name, table.parent)
    lines = ["image,age,sex,site", f"{names[0]},40,female,back", f"{names[1]},abc,male,face", f"{names[2]},,,"]
    table.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    result = run_cli("predict", "--seg", seg_run, "--cls", cls_run, "--csv", table, "--out", out)
    assert result.code == 1 and "is not a number" in result.out
    first = AnalysisResult.model_validate_json((out / f"{names[0][:-4]}.json").read_text())
    assert first.patient.age == 40 and first.patient.sex == "female" and first.patient.site == "back"
    assert AnalysisResult.model_validate_json((out / f"{names[2][:-4]}.json").read_text()).patient is None
    assert not (out / f"{names[1][:-4]}.json").exists()


def test_out_inside_the_image_folder_is_refused(run_cli, seg_run, cls_run, images):
    result = run_cli("predict", "--seg", seg_run, "--cls", cls_run, images, "--out", images / "results")
    assert result.code == 2 and "lies inside the input folder" in " ".join(result.err.split())
    assert not (images / "results").exists()
