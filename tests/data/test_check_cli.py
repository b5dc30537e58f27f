"""``dermkit data check`` never writes into the data folder, reports bad files and goes on, and
exits 1 when it finds errors."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from dermkit import imageio
from dermkit.cli import app
from dermkit.errors import DermkitError

runner = CliRunner()


def _tree(root: Path) -> dict[str, int]:
    """Every file and folder under ``root`` with its size (folders: -1)."""
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1) for p in sorted(root.rglob("*"))}


def _check(*args: str):
    return runner.invoke(app, ["data", "check", *args])


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current folder (the default report folder is relative to it)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_read_only_data_folder_is_left_untouched(ham_root: Path, workdir: Path) -> None:
    # Old code wrote PATH/dermkit_check (and crashed on a read-only mount after printing the report).
    before = _tree(ham_root)
    modes = {p: p.stat().st_mode for p in [ham_root, *ham_root.rglob("*")] if p.is_dir()}
    for folder in modes:
        folder.chmod(0o555)  # tests run as root, so this alone would not stop a write: compare the trees
    try:
        result = _check(str(ham_root), "--no-hashes")
    finally:
        for folder, mode in modes.items():
            folder.chmod(mode)
    assert result.exit_code == 0, result.output
    assert _tree(ham_root) == before
    report = workdir / "runs" / "data-check-ham" / "data_check.json"
    assert json.loads(report.read_text())["n_images"] == 5
    assert "runs/data-check-ham" in result.output


def test_folder_per_class_checked_twice_finds_the_same_classes(folder_root: Path, workdir: Path) -> None:
    # Old code: the second check found a new class "dermkit_check" (the first check's report folder).
    classes = []
    for _ in range(2):
        result = _check(str(folder_root), "--no-hashes")
        assert result.exit_code == 0, result.output
        classes.append(json.loads((workdir / "runs" / "data-check-folders" / "data_check.json").read_text())["classes"])
    assert classes[0] == classes[1] == ["keratosis", "melanoma", "nevus"]
    assert sorted(os.listdir(folder_root)) == ["keratosis", "melanoma", "nevus", "notes.txt"]


@pytest.mark.parametrize("where", [".", "reports", "nevus/reports"])
def test_out_inside_the_data_folder_is_refused(folder_root: Path, workdir: Path, where: str) -> None:
    before = _tree(folder_root)
    result = _check(str(folder_root), "--out", str(folder_root / where), "--no-hashes")
    assert result.exit_code != 0 and isinstance(result.exception, DermkitError)
    assert "--out" in str(result.exception) and "input folder" in str(result.exception)
    assert _tree(folder_root) == before


def test_default_report_folder_inside_the_data_is_refused(folder_root: Path, monkeypatch) -> None:
    monkeypatch.chdir(folder_root)  # `dermkit data check .` from inside the data set
    before = _tree(folder_root)
    result = _check(".", "--no-hashes")
    assert isinstance(result.exception, DermkitError) and "outside" in str(result.exception)
    assert _tree(folder_root) == before


def test_bad_files_are_reported_the_rest_checked_and_exit_code_is_1(
    flat_ham_root: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = flat_ham_root / "HAM10000_images"
    Image.new("RGB", (200, 150), (90, 60, 40)).save(images / "ISIC_0000002.jpg")  # above the limit below
    (images / "ISIC_0000003.jpg").write_bytes(b"")
    monkeypatch.setattr(imageio, "MAX_PIXELS", 96 * 72)
    result = _check(str(flat_ham_root), "--no-hashes", "--out", str(workdir / "chk"))
    assert result.exit_code == 1, result.output
    data = json.loads((workdir / "chk" / "data_check.json").read_text())
    assert data["counts_by_kind"] == {"too_large": 1, "empty_file": 1}
    assert data["bad_image_ids"] == ["ISIC_0000002", "ISIC_0000003"]
    assert data["image_sizes"] == {"96x72": 3}  # the other three images were decoded


@pytest.fixture
def flat_ham_root(ham_root: Path) -> Path:
    """The HAM10000 fixture with every image in one folder (ISIC_0000001 ... ISIC_0000005)."""
    flat = ham_root / "HAM10000_images"
    flat.mkdir()
    for part in ("HAM10000_images_part_1", "HAM10000_images_part_2"):
        for image in (ham_root / part).iterdir():
            shutil.move(str(image), flat / image.name)
        (ham_root / part).rmdir()
    return ham_root
