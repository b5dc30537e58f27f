"""Output guards: never write into or over a user's inputs, never overwrite silently, no name clashes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dermkit.errors import DermkitError
from dermkit.files import (
    check_no_overwrite,
    check_output_dir,
    check_output_file,
    check_output_location,
    input_folders,
    prepare_output_dir,
    unique_output_names,
    write_json,
)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "data" / "images").mkdir(parents=True)
    (tmp_path / "data" / "images" / "x.jpg").write_bytes(b"jpg")
    return tmp_path / "data"


@pytest.mark.parametrize(
    ("out", "relation"),
    [
        ("data", "is the input folder"),
        ("data/masks", "lies inside the input folder"),
        ("data/images/deeper/still", "lies inside the input folder"),
        (".", "contains the input folder"),
    ],
)
def test_output_overlapping_an_input_folder_is_refused(data, out, relation):
    with pytest.raises(DermkitError, match=relation):
        prepare_output_dir(data.parent / out, [data])
    assert not (data / "masks").exists()  # refused before anything is created


def test_a_file_input_guards_its_own_folder(data):
    image = data / "images" / "x.jpg"
    with pytest.raises(DermkitError, match="is the input folder"):
        check_output_location(data / "images", [image])
    with pytest.raises(DermkitError, match="lies inside"):
        check_output_location(data / "images" / "masks", [image])
    assert prepare_output_dir(data.parent / "masks", [image]).is_dir()  # a sibling folder is fine


def test_symlinks_are_resolved(data, tmp_path):
    (tmp_path / "link").symlink_to(data, target_is_directory=True)
    with pytest.raises(DermkitError, match="is the input folder"):
        check_output_location(tmp_path / "link", [data])
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "y.jpg").symlink_to(data / "images" / "x.jpg")
    # A linked image guards the link's folder and its target's folder.
    assert input_folders([tmp_path / "elsewhere" / "y.jpg"]) == [
        (tmp_path / "elsewhere").resolve(),
        (data / "images").resolve(),
    ]
    with pytest.raises(DermkitError, match="is the input folder"):
        check_output_location(data / "images", [tmp_path / "elsewhere" / "y.jpg"])


def test_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f.txt").write_text("keep me")
    with pytest.raises(DermkitError, match="is an existing file, not a folder"):
        prepare_output_dir(tmp_path / "f.txt")
    assert (tmp_path / "f.txt").read_text() == "keep me"


def test_out_that_cannot_be_created_or_written_is_a_clean_error(tmp_path):
    (tmp_path / "f.txt").write_text("")
    with pytest.raises(DermkitError, match="cannot write there"):
        prepare_output_dir(tmp_path / "f.txt" / "sub")  # a file where a folder should be
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permission bits
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(DermkitError, match="cannot write there.*permissions"):
            prepare_output_dir(locked)
    finally:
        locked.chmod(0o700)


def test_prepare_creates_the_folder_and_leaves_no_probe_file(tmp_path):
    out = prepare_output_dir(tmp_path / "a" / "b")
    assert out.is_dir() and list(out.iterdir()) == []


def test_check_output_dir_proves_writability_and_leaves_nothing_behind(tmp_path):
    assert check_output_dir(tmp_path / "runs" / "a" / "b") == tmp_path / "runs" / "a" / "b"
    assert list(tmp_path.iterdir()) == []  # the trainer or the evaluation creates it later
    (tmp_path / "kept").mkdir()
    check_output_dir(tmp_path / "kept")
    assert (tmp_path / "kept").is_dir() and list((tmp_path / "kept").iterdir()) == []
    (tmp_path / "f.txt").write_text("")
    with pytest.raises(DermkitError, match="cannot write there"):
        check_output_dir(tmp_path / "f.txt" / "run")


def test_colliding_output_names_are_listed():
    sources = [Path("a/x.jpg"), Path("a/x.png"), Path("b/x.jpg"), Path("b/y.jpg")]
    targets = [Path("out") / f"{s.stem}_segmentation.png" for s in sources]
    with pytest.raises(DermkitError, match=r"1 output files .*a/x\.jpg \+ a/x\.png \+ b/x\.jpg -> x_segmentation"):
        unique_output_names(sources, targets)
    unique_output_names(sources[2:], targets[2:])  # distinct names pass


def test_existing_outputs_are_kept_without_overwrite(tmp_path):
    paths = [tmp_path / f"m{i}.png" for i in range(6)]
    for p in paths[:5]:
        p.write_bytes(b"ground truth")
    with pytest.raises(DermkitError, match=r"5 of the 6 output files already exist \(.*m0\.png.* and 2 more\)"):
        check_no_overwrite(paths, overwrite=False)
    check_no_overwrite(paths, overwrite=True)
    check_no_overwrite(paths[5:], overwrite=False)


def test_write_json_is_atomic(tmp_path):
    write_json(tmp_path / "m.json", {"a": Path("x"), "b": 1})
    assert (tmp_path / "m.json").read_text().startswith("{") and not (tmp_path / "m.json.tmp").exists()


def test_a_missing_input_guards_nothing_instead_of_its_parent(tmp_path, monkeypatch):
    # A mistyped data folder used to count as a file, so its parent (the current folder) became an
    # input and every --out under it "lay inside the input folder".
    monkeypatch.chdir(tmp_path)
    assert input_folders(["nonexist", tmp_path / "gone" / "x.jpg"]) == []
    assert check_output_location(Path("runs") / "r1", ["nonexist"]) == (tmp_path / "runs" / "r1").resolve()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert input_folders([tmp_path / "dangling"]) == [tmp_path.resolve()]  # a link that exists still counts


@pytest.mark.parametrize("out", ["data/split.csv", "data/HAM10000_metadata.csv", "data/images/deeper/s.csv"])
def test_an_output_file_among_the_inputs_is_refused(data, out):
    (data / "HAM10000_metadata.csv").write_text("keep me")
    with pytest.raises(DermkitError, match="lies inside the input folder"):
        check_output_file(data.parent / out, [data], overwrite=True)
    assert (data / "HAM10000_metadata.csv").read_text() == "keep me" and not (data / "images" / "deeper").exists()


def test_an_output_file_beside_the_data_is_fine_but_never_silently_replaced(data, tmp_path):
    assert check_output_file(tmp_path / "split.csv", [data]) == tmp_path / "split.csv"  # the folder contains data
    assert check_output_file(tmp_path / "new" / "deep" / "split.csv", [data]) and not (tmp_path / "new").exists()
    (tmp_path / "split.csv").write_text("old split")
    with pytest.raises(DermkitError, match="already exists; pass --overwrite"):
        check_output_file(tmp_path / "split.csv", [data])
    check_output_file(tmp_path / "split.csv", [data], overwrite=True)
    (tmp_path / "link.csv").symlink_to(data / "images" / "x.jpg")  # a link into the data
    with pytest.raises(DermkitError, match="lies inside the input folder"):
        check_output_file(tmp_path / "link.csv", [data], overwrite=True)


def test_an_output_file_that_is_a_folder_or_unwritable_is_refused(data, tmp_path):
    (tmp_path / "splits").mkdir()
    with pytest.raises(DermkitError, match="is an existing folder, not a file"):
        check_output_file(tmp_path / "splits", [data])
    (tmp_path / "f.txt").write_text("")
    with pytest.raises(DermkitError, match="the folder of --out .*f.txt: is an existing file, not a folder"):
        check_output_file(tmp_path / "f.txt" / "split.csv")
    with pytest.raises(DermkitError, match="the folder of --out .*f.txt/deeper: cannot write there"):
        check_output_file(tmp_path / "f.txt" / "deeper" / "split.csv")
