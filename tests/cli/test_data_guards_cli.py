"""`data split`, `data synth`, `preprocess` and overrides, tried as a careless user would: no data is
replaced or mixed, small data sets split, problems stop the command, and errors are clean (exit 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dermkit.data.synthetic import write_synthetic_dataset

META = "HAM10000_metadata.csv"


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    """16 synthetic images of 32x32 (15 lesions, no class with 7 images); read-only, copy to change it."""
    return write_synthetic_dataset(tmp_path_factory.mktemp("small") / "s16", n=16, seed=0, size=(32, 32))


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes, to show that nothing changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -------------------------------------------------------------------------------- data split


@pytest.mark.parametrize("inside", [META, "split.csv", "HAM10000_images/split.csv"])
def test_split_never_writes_into_the_data(run_cli, small_set, tmp_path, inside):
    data = shutil.copytree(small_set, tmp_path / "data")
    before = tree(data)
    res = run_cli("data", "split", data, "--out", data / inside, "--overwrite", "--no-hashes")
    assert res.code == 2, res.out + res.err  # exit 0, and the metadata replaced by the split, before
    assert "lies inside the input folder" in res.err and "split of" not in res.out
    assert tree(data) == before


def test_split_out_that_is_a_folder_is_refused_before_any_work(run_cli, small_set, tmp_path):
    (tmp_path / "splits").mkdir()
    res = run_cli("data", "split", small_set, "--out", tmp_path / "splits")
    assert res.code == 2 and "is an existing folder, not a file" in res.err  # IsADirectoryError traceback before
    assert "split of" not in res.out and "Traceback" not in res.err


def test_split_keeps_an_existing_file_without_overwrite(run_cli, small_set, tmp_path):
    out = tmp_path / "split.csv"
    out.write_text("my hand-made split\n")
    res = run_cli("data", "split", small_set, "--out", out, "--no-hashes")
    assert res.code == 2 and "already exists; pass --overwrite" in res.err
    assert out.read_text() == "my hand-made split\n"
    assert run_cli("data", "split", small_set, "--out", out, "--no-hashes", "--overwrite").code == 0
    assert len(pd.read_csv(out)) == 16


@pytest.mark.parametrize("n", [8, 12, 16])
def test_small_synthetic_sets_split(run_cli, tmp_path, n):
    # 8 and 16 images: sklearn's "n_splits=7 cannot be greater than the number of members in each class".
    assert run_cli("data", "synth", tmp_path / "s", "--n", n, "--size", "32x32").code == 0
    res = run_cli("data", "split", tmp_path / "s", "--out", tmp_path / "x.csv")
    assert res.code == 0, res.out + res.err
    split = pd.read_csv(tmp_path / "x.csv")
    assert len(split) == n and set(split["split"]) == {"train", "val", "test"}
    assert split.groupby("lesion_id")["split"].nunique().max() == 1


def test_split_with_unknown_labels_prints_them_and_writes_nothing(run_cli, small_set, tmp_path):
    data = shutil.copytree(small_set, tmp_path / "data")
    meta = pd.read_csv(data / META)
    meta.loc[3, "dx"] = "melanoma"
    meta.to_csv(data / META, index=False)
    res = run_cli("data", "split", data, "--out", tmp_path / "split.csv", "--no-hashes")
    assert res.code == 1, res.out + res.err  # exit 0 and one row fewer before
    assert f"{meta.loc[3, 'image_id']} has dx 'melanoma' (did you mean 'mel'?)" in res.out
    assert "1 row of" in res.out and "no split was written" in res.out and "data check" in res.out
    assert not (tmp_path / "split.csv").exists()


def test_a_leak_is_one_readable_line_with_the_remedy(run_cli, small_set, tmp_path):
    data = shutil.copytree(small_set, tmp_path / "data")
    images = sorted((data / "HAM10000_images").glob("*.jpg"))
    for path in images[1:]:  # every image a copy of the first: near-duplicates on every side
        shutil.copyfile(images[0], path)
    res = run_cli("data", "split", data, "--out", tmp_path / "split.csv")
    assert res.code == 1
    text = " ".join(res.out.split())
    assert "near-duplicate image pairs on different sides (SYN_0000001 ~ SYN_" in text
    assert "[" not in text.split("leak:")[1] and "To fix:" in text and "one lesion_id" in text
    assert not (tmp_path / "split.csv").exists()


# -------------------------------------------------------------------------------- data synth


def test_synth_onto_an_existing_set_is_refused_without_overwrite(run_cli, small_set, tmp_path):
    data = shutil.copytree(small_set, tmp_path / "data")
    before = tree(data)
    res = run_cli("data", "synth", data, "--n", 5, "--size", "32x32")
    assert res.code == 2 and "already holds a synthetic data set; pass --overwrite" in res.err  # exit 0 before
    assert tree(data) == before


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_synth_never_writes_into_a_folder_it_did_not_make(run_cli, tmp_path, overwrite):
    folder = tmp_path / "mine"
    (folder / "HAM10000_images").mkdir(parents=True)
    (folder / "notes.txt").write_text("keep me")
    (folder / "HAM10000_images" / "SYN_0000001.jpg").write_bytes(b"my own photo")
    before = tree(folder)
    res = run_cli("data", "synth", folder, "--n", 5, "--size", "32x32", *overwrite)
    assert res.code == 2 and "is not a synthetic data set" in res.err
    assert tree(folder) == before


def test_synth_onto_a_file_is_a_clean_error(run_cli, tmp_path):
    (tmp_path / "afile").write_text("keep me")
    res = run_cli("data", "synth", tmp_path / "afile", "--n", 5, "--size", "32x32")
    assert res.code == 2 and "is an existing file, not a folder" in res.err  # NotADirectoryError traceback before
    assert (tmp_path / "afile").read_text() == "keep me" and "Traceback" not in res.err
    assert run_cli("data", "synth", tmp_path / "new", "--n", 0).code == 2 and not (tmp_path / "new").exists()


def test_synth_overwrite_replaces_a_synthetic_set_without_mixing(run_cli, small_set, tmp_path):
    data = shutil.copytree(small_set, tmp_path / "data")
    (data / "my_notes.txt").write_text("keep me")
    assert run_cli("data", "synth", data, "--n", 0, "--size", "32x32", "--overwrite").code == 2  # a bad argument
    assert len(list((data / "HAM10000_images").glob("*.jpg"))) == 16  # ... leaves the old set whole
    res = run_cli("data", "synth", data, "--n", 5, "--size", "32x32", "--overwrite", "--seed", 3)
    assert res.code == 0, res.out + res.err
    assert len(list((data / "HAM10000_images").glob("*.jpg"))) == 5
    assert len(list((data / "synthetic_truth").glob("*_hair.png"))) == 5
    assert (data / "my_notes.txt").read_text() == "keep me"
    assert run_cli("data", "check", data, "--out", tmp_path / "chk", "--no-hashes").code == 0  # no orphan images


# -------------------------------------------------------------------------------- other commands


def test_a_mistyped_data_folder_says_it_does_not_exist(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the missing folder's parent is the current folder, where runs/ goes
    res = run_cli("train", "seg", "--config", "seg_s2_unet", "--data", "nonexist", "train.epochs=1")
    assert res.code == 2
    assert "does not exist" in res.err and "lies inside the input folder" not in res.err


@pytest.mark.parametrize(
    ("option", "allowed"),
    [
        ("--fit", "'pad', 'crop' or 'stretch'"),
        ("--hair", "'off', 'auto', 'sparse' or 'dense'"),
        ("--frame", "'inpaint'"),
    ],
)
def test_preprocess_bad_choice_is_a_usage_error_naming_the_option(run_cli, tmp_path, option, allowed):
    (tmp_path / "src").mkdir()
    Image.fromarray(np.full((16, 16, 3), 120, np.uint8)).save(tmp_path / "src" / "a.jpg")
    res = run_cli("preprocess", tmp_path / "src", tmp_path / "out", option, "nope")
    assert res.code == 2, res.err  # a pydantic ValidationError traceback before
    text = " ".join(res.err.replace("│", " ").split())
    assert f"Invalid value for {option}: 'nope' is not allowed; expected" in text and allowed in text
    assert "Traceback" not in res.err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("override", ["train.epochs=[1", "train.epochs=!!python/object/apply:os.system ['true']"])
def test_an_override_that_is_not_plain_yaml_exits_2(run_cli, small_set, override):
    res = run_cli("train", "seg", "--config", "seg_s2_unet", "--data", small_set, override)
    assert res.code == 2 and "is not plain YAML" in res.err and "Traceback" not in res.err
