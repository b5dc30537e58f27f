"""Commands never write into or over their inputs: guards run before any work, with clean errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def write_image(path, value=120, size=(24, 32)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), value, np.uint8)).save(path)


def write_mask(path, size=(24, 32)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, 255, np.uint8), mode="L").save(path)


def snapshot(folder):
    """Every file under ``folder`` with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def isic(tmp_path):
    """An ISIC-like folder: images in one folder, ground-truth masks in a sibling."""
    for i in range(3):
        write_image(tmp_path / "data" / "images" / f"ISIC_{i}.jpg", value=60 + 40 * i)
        write_mask(tmp_path / "data" / "truth" / f"ISIC_{i}_segmentation.png")
    return tmp_path / "data"


# --- preprocess ------------------------------------------------------------------------------------


def test_preprocess_src_onto_itself_is_refused_and_changes_nothing(run_cli, isic):
    before = snapshot(isic)
    res = run_cli("preprocess", isic, isic, "--size", "16x16")
    assert res.code == 2 and "is the input folder" in res.err  # overwrote the images and the masks before
    res = run_cli("preprocess", isic / "images", isic / "images" / "small")
    assert res.code == 2 and "lies inside the input folder" in res.err
    assert snapshot(isic) == before


def test_preprocess_leaves_masks_out_of_the_image_list(run_cli, isic, tmp_path):
    res = run_cli("preprocess", isic, tmp_path / "out", "--hair", "auto", "--save-masks")
    assert res.code == 0, res.err
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.png"))
    assert written == [f"images/ISIC_{i}{kind}.png" for i in range(3) for kind in ("", "_hair")]
    assert "wrote 3 images" in res.out
    # Its own outputs are not inputs of the next pass either.
    res = run_cli("preprocess", tmp_path / "out", tmp_path / "again")
    assert res.code == 0 and len(list((tmp_path / "again").rglob("*.png"))) == 3


def test_preprocess_names_that_collide_are_an_error_before_any_work(run_cli, tmp_path):
    write_image(tmp_path / "src" / "x.jpg")
    write_image(tmp_path / "src" / "x.png")  # both would become x.png
    res = run_cli("preprocess", tmp_path / "src", tmp_path / "out")
    assert res.code == 2 and "x.jpg + " in res.err and "x.png" in res.err
    assert not (tmp_path / "out").exists()


def test_preprocess_keeps_existing_outputs_unless_overwrite(run_cli, tmp_path):
    write_image(tmp_path / "src" / "x.jpg")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x.png").write_bytes(b"a user's file")
    res = run_cli("preprocess", tmp_path / "src", tmp_path / "out")
    assert res.code == 2 and "--overwrite" in res.err
    assert (tmp_path / "out" / "x.png").read_bytes() == b"a user's file"
    res = run_cli("preprocess", tmp_path / "src", tmp_path / "out", "--overwrite")
    assert res.code == 0 and Image.open(tmp_path / "out" / "x.png").size == (32, 24)


# --- segment ---------------------------------------------------------------------------------------


def test_segment_into_the_ground_truth_folder_is_refused(run_cli, isic, fake_segmenter):
    before = snapshot(isic)
    res = run_cli("segment", "RUN", isic / "images", "--out", isic / "truth")
    assert res.code == 2 and "3 of the 3 output files already exist" in res.err and "--overwrite" in res.err
    assert snapshot(isic) == before and fake_segmenter == []  # refused before the model was loaded
    res = run_cli("segment", "RUN", isic / "images", "--out", isic / "truth", "--overwrite")
    assert res.code == 0 and "wrote 3 masks" in res.out
    assert snapshot(isic) != before  # the user asked for it


@pytest.mark.parametrize("out", ["images", "images/masks", "."])
def test_segment_out_overlapping_the_images_is_refused(run_cli, isic, fake_segmenter, out):
    res = run_cli("segment", "RUN", isic / "images", "--out", isic / out)
    assert res.code == 2 and "input folder" in res.err and fake_segmenter == []


def test_segment_a_file_guards_its_folder(run_cli, isic, fake_segmenter):
    res = run_cli("segment", "RUN", isic / "images" / "ISIC_0.jpg", "--out", isic / "images" / "pred")
    assert res.code == 2 and "lies inside the input folder" in res.err


def test_segment_colliding_names_are_an_error_and_the_count_matches_the_files(run_cli, tmp_path, fake_segmenter):
    for rel in ("a/x.jpg", "a/x.png", "b/x.jpg", "b/y.jpg"):
        write_image(tmp_path / rel)
    res = run_cli("segment", "RUN", tmp_path / "a", tmp_path / "b", "--out", tmp_path / "masks")
    assert res.code == 2 and "x_segmentation.png" in res.err and "a/x.jpg" in res.err and "b/x.jpg" in res.err
    assert not (tmp_path / "masks").exists()  # reported "3 masks written" with 1 on disk before
    # The same file named twice (and inside a folder also named) is one input, not a collision.
    res = run_cli("segment", "RUN", tmp_path / "b", tmp_path / "b" / "y.jpg", "--out", tmp_path / "masks")
    assert res.code == 0 and "wrote 2 masks" in res.out and len(list((tmp_path / "masks").iterdir())) == 2


# --- --out that is a file or cannot be written, for every command with --out ------------------------


@pytest.fixture
def a_file(tmp_path):
    (tmp_path / "f.txt").write_text("keep")
    return tmp_path / "f.txt"


@pytest.mark.parametrize(
    "command",
    [
        ["preprocess", "{src}", "{out}"],
        ["segment", "RUN", "{src}", "--out", "{out}"],
        ["evaluate", "seg", "--run", "RUN", "--data", "{src}", "--out", "{out}"],
        ["evaluate", "cls", "--run", "RUN", "--data", "{src}", "--out", "{out}"],
        ["train", "seg", "-c", "seg_default", "--out", "{out}"],
        ["train", "cls", "-c", "cls_default", "--out", "{out}"],
        ["demo", "--out", "{out}"],
        ["reproduce", "leakage", "--out", "{out}"],
    ],
)
@pytest.mark.parametrize("kind", ["file", "unwritable"])
def test_out_that_is_a_file_or_unwritable_is_a_clean_error(run_cli, isic, a_file, fake_segmenter, command, kind):
    out = a_file if kind == "file" else a_file / "sub"  # a file where a folder should be: mkdir fails
    res = run_cli(*(part.format(src=isic / "images", out=out) for part in command))
    assert res.code == 2, res.out + res.err
    expected = "is an existing file, not a folder" if kind == "file" else "cannot write there"
    assert res.err.startswith("error:") and expected in res.err and "Traceback" not in res.err
    assert a_file.read_text() == "keep"


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", "seg", "--run", "RUN", "--data", "{data}", "--out", "{data}/eval"],
        ["evaluate", "cls", "--run", "RUN", "--data", "{data}", "--out", "{data}/images/eval"],
        ["train", "seg", "-c", "seg_default", "--data", "{data}", "--out", "{data}/run"],
        ["demo", "--data", "{data}", "--out", "{data}"],
        ["reproduce", "leakage", "--data", "{data}", "--out", "{data}/leak"],
    ],
)
def test_out_inside_the_data_folder_is_refused(run_cli, isic, command):
    before = snapshot(isic)
    res = run_cli(*(part.format(data=isic) for part in command))
    assert res.code == 2 and "input folder" in res.err, res.err  # never write into a user's data
    assert snapshot(isic) == before


def test_a_refused_training_leaves_no_run_folder(run_cli, tmp_path):
    res = run_cli("train", "seg", "-c", "seg_default", "--out", tmp_path / "runs" / "x", "model.name=no_such_model")
    assert res.code == 2 and "no_such_model" in res.err
    assert not (tmp_path / "runs").exists()  # the output check leaves nothing behind either
