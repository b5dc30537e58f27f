"""`dermkit predict` on every kind of image a clinic may hand it: analysed correctly, or a specific per-file error."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from dermkit.imageio import read_image


def _lesion(h: int = 48, w: int = 64) -> np.ndarray:
    """A brown disc on pink skin, (h, w, 3) uint8."""
    yy, xx = np.mgrid[:h, :w]
    image = np.empty((h, w, 3), np.uint8)
    image[:] = (225, 180, 170)
    image[(yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 3) ** 2] = (120, 70, 50)
    return image


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """One file per kind, named after it."""
    folder = tmp_path_factory.mktemp("kinds")
    rgb = _lesion()
    Image.fromarray(rgb).save(folder / "plain.png")
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])).save(folder / "rgba.png")
    Image.fromarray(rgb).convert("L").save(folder / "grey.png")
    grey16 = (rgb[..., 0].astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(grey16).save(folder / "sixteen.png")  # mode I;16
    Image.fromarray(rgb).save(folder / "bitmap.bmp")
    rotated = Image.fromarray(np.ascontiguousarray(np.rot90(rgb, 1)))  # stored turned, EXIF says: turn back
    exif = Image.Exif()
    exif[274] = 8  # orientation: rotate 90 CW to display
    rotated.save(folder / "exif.jpg", exif=exif, quality=95)
    Image.fromarray(rgb).save(folder / "truncated.jpg", quality=95)
    data = (folder / "truncated.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.jpg").write_text("not an image")
    Image.new("RGB", (1, 1), (200, 150, 140)).save(folder / "tiny.png")
    Image.new("RGB", (400, 300), (200, 150, 140)).save(folder / "huge.png")  # above the limit set below
    return folder


GOOD = ("plain", "rgba", "grey", "sixteen", "bitmap", "exif")
BAD = {
    "truncated": "truncated",
    "empty": "empty",
    "text": "not a readable image",
    "tiny": "1 x 1 px, too small",
    "huge": "above the limit of 100,000",
}


def test_every_kind_is_analysed_or_gets_its_own_error(run_cli, seg_run, cls_run, inputs, tmp_path, monkeypatch):
    monkeypatch.setenv("DERMKIT_MAX_PIXELS", "100000")  # huge.png (120,000 px) is above it, the rest below
    out = tmp_path / "out"
    result = run_cli("predict", "--seg", seg_run, "--cls", cls_run, inputs, "--out", out, "--device", "cpu")
    assert result.code == 1  # some files failed
    rows = {r["id"]: r for r in csv.DictReader((out / "summary.csv").open())}
    for name in GOOD:
        assert rows[name]["error"] == "", (name, rows[name])
        analysis = json.loads((out / f"{name}.json").read_text())
        h, w = read_image(next(inputs.glob(f"{name}.*"))).shape[:2]
        assert (analysis["image"]["height"], analysis["image"]["width"]) == (h, w) == (48, 64), name
        assert abs(sum(analysis["probabilities"].values()) - 1) < 1e-6
    for name, reason in BAD.items():
        assert reason in rows[name]["error"] and not (out / f"{name}.json").exists(), (name, rows[name])
        assert name in result.out + result.err


def test_exif_orientation_is_applied_before_analysis(inputs):
    upright = read_image(inputs / "exif.jpg")
    assert upright.shape == (48, 64, 3)
    assert np.abs(upright.astype(int) - _lesion().astype(int)).mean() < 6  # JPEG noise only
