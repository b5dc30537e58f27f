"""The one image reader: every PIL mode a data set ships comes out as upright (H, W, 3) uint8 RGB,
masks as {0, 1}, and a file above the pixel limit is a per-file ``too_large`` error.

Each case writes a tiny file with PIL into ``tmp_path``; each would fail on the old reader
(``convert("RGB")`` without EXIF orientation or a pixel limit).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dermkit import imageio
from dermkit.errors import ConfigError
from dermkit.imageio import ImageError, image_size, read_image, read_mask, read_mask_raw


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 64).round().astype(np.uint16), (4, 1))  # (4, 64)
    path = tmp_path / "g16.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode == "I;16"
    rgb = read_image(path)
    assert rgb.shape == (4, 64, 3) and rgb.dtype == np.uint8
    expected = np.rint(ramp[0] / 257.0).astype(np.uint8)  # 65535 / 255 = 257
    assert np.array_equal(rgb[0, :, 0], expected) and np.array_equal(rgb[..., 0], rgb[..., 2])
    assert rgb.min() == 0 and rgb.max() == 255 and 120 <= rgb[0, 32, 0] <= 135  # a ramp, not all white


@pytest.mark.parametrize(
    "values, mode",
    [
        (np.array([[0, 32768, 65535]], dtype=np.int32), "I"),  # 32-bit integer TIFF holding 16-bit data
        (np.array([[0.0, 0.5, 1.0]], dtype=np.float32), "F"),  # float TIFF in [0, 1]
    ],
)
def test_wide_grey_modes_are_scaled_by_depth(tmp_path: Path, values: np.ndarray, mode: str) -> None:
    path = tmp_path / f"{mode}.tif"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode == mode
    assert read_image(path)[0, :, 0].tolist() == [0, 128, 255]


def test_exif_rotated_jpeg_is_upright_and_its_mask_fits(tmp_path: Path) -> None:
    stored = np.zeros((20, 40, 3), np.uint8)  # as the camera stored it: 40 wide, 20 high
    stored[:, :10] = 255  # white band on the stored left edge
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[274] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif, quality=95)
    rgb = read_image(path)
    assert rgb.shape == (40, 20, 3)  # displayed: 20 wide, 40 high
    assert rgb[:8].mean() > 200 and rgb[-8:].mean() < 30  # the stored left edge is now the top
    assert image_size(path) == (20, 40)
    mask = tmp_path / "rotated_segmentation.png"  # drawn on the upright image, as annotators see it
    Image.new("L", (20, 40), 255).save(mask)
    assert read_mask(mask, expected_hw=rgb.shape[:2]).all()


def test_palette_png(tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    index = Image.fromarray(np.array([[0, 1], [2, 1]], np.uint8), "P")
    index.putpalette([10, 20, 30, 200, 100, 50, 0, 255, 0] + [0] * 759)
    index.save(path)
    assert read_image(path).tolist() == [[[10, 20, 30], [200, 100, 50]], [[0, 255, 0], [200, 100, 50]]]


def test_palette_with_transparency_is_composited_on_black(tmp_path: Path) -> None:
    path = tmp_path / "palette_t.png"
    index = Image.fromarray(np.array([[0, 1]], np.uint8), "P")
    index.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    index.save(path, transparency=0)  # red is the transparent entry
    assert read_image(path).tolist() == [[[0, 0, 0], [0, 255, 0]]]


@pytest.mark.parametrize(
    "mode, pixel, expected",
    [
        ("LA", (200, 255), [200, 200, 200]),
        ("LA", (200, 0), [0, 0, 0]),
        ("LA", (200, 128), [100, 100, 100]),
        ("RGBA", (250, 100, 50, 255), [250, 100, 50]),
        ("RGBA", (250, 100, 50, 0), [0, 0, 0]),
    ],
)
def test_alpha_is_composited_on_black(tmp_path: Path, mode: str, pixel: tuple, expected: list[int]) -> None:
    path = tmp_path / f"{mode}.png"
    Image.new(mode, (3, 2), pixel).save(path)
    rgb = read_image(path)
    assert rgb.shape == (2, 3, 3) and rgb[1, 2].tolist() == expected


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("RGB", (8, 8), (200, 60, 20)).convert("CMYK").save(path, quality=100)
    assert Image.open(path).mode == "CMYK"
    rgb = read_image(path)
    assert rgb.shape == (8, 8, 3) and np.abs(rgb.astype(int) - [200, 60, 20]).max() <= 6


def test_one_bit_bmp_image_and_mask(tmp_path: Path) -> None:
    path = tmp_path / "lesion.bmp"
    Image.fromarray(np.eye(4, dtype=np.uint8) * 255).convert("1").save(path)
    assert Image.open(path).mode == "1"
    assert read_image(path)[..., 0].tolist() == (np.eye(4) * 255).astype(int).tolist()
    assert read_mask(path).tolist() == np.eye(4, dtype=int).tolist()


def test_grey_image_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "grey.png"
    Image.fromarray(np.array([[0, 77, 255]], np.uint8), "L").save(path)
    assert read_image(path).tolist() == [[[0, 0, 0], [77, 77, 77], [255, 255, 255]]]


@pytest.mark.parametrize("values", [[0, 1], [0, 255]])
def test_zero_one_and_zero_255_masks_both_read_as_binary(tmp_path: Path, values: list[int]) -> None:
    grey = np.array([[values[0], values[1]], [values[1], values[0]]], np.uint8)
    path = tmp_path / "mask.png"
    Image.fromarray(grey, "L").save(path)
    assert read_mask(path).tolist() == [[0, 1], [1, 0]]  # old code: {0,1} -> all background


@pytest.mark.parametrize("top", [1, 255, 65535])
def test_sixteen_bit_masks(tmp_path: Path, top: int) -> None:
    path = tmp_path / "mask16.png"
    Image.fromarray(np.array([[0, top]], np.uint16)).save(path)
    assert read_mask(path).tolist() == [[0, 1]]


def test_soft_mask_keeps_the_isic_threshold(tmp_path: Path) -> None:
    path = tmp_path / "soft.png"
    Image.fromarray(np.array([[0, 2, 128, 129, 255]], np.uint8), "L").save(path)
    assert read_mask_raw(path).tolist() == [[0, 2, 128, 129, 255]]
    assert read_mask(path).tolist() == [[0, 0, 0, 1, 1]]


# ------------------------------------------------------------------------------------ pixel limit


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` RGB but holds one row of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4)) + chunk(b"IEND", b"")
    )
    return path


def test_header_above_the_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    # 60000 x 60000 = 3.6 Gpx: old code let PIL's DecompressionBombError escape as a traceback.
    path = _png_header_only(tmp_path / "bomb.png", 60_000, 60_000)
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert info.value.kind == "too_large" and info.value.path == str(path)
    assert "60000x60000" in str(info.value) and "DERMKIT_MAX_PIXELS" in str(info.value)
    with pytest.raises(ImageError, match="too_large|above the limit"):
        image_size(path)
    assert Image.MAX_IMAGE_PIXELS == imageio.max_pixels()  # PIL's own limit agrees with ours


def test_limit_from_the_module_constant_and_the_environment(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "small.png"
    Image.new("RGB", (10, 10)).save(path)
    monkeypatch.setattr(imageio, "MAX_PIXELS", 99)
    with pytest.raises(ImageError, match="10x10") as info:
        read_image(path)
    assert info.value.kind == "too_large"
    monkeypatch.setenv("DERMKIT_MAX_PIXELS", "100")
    assert read_image(path).shape == (10, 10, 3)
    monkeypatch.setenv("DERMKIT_MAX_PIXELS", "lots")
    with pytest.raises(ConfigError, match="DERMKIT_MAX_PIXELS"):
        read_image(path)


def test_undecodable_files_are_image_errors(tmp_path: Path) -> None:
    missing, empty, text = tmp_path / "missing.png", tmp_path / "empty.png", tmp_path / "text.jpg"
    empty.write_bytes(b"")
    text.write_text("not an image")
    kinds = []
    for path in (missing, empty, text):
        with pytest.raises(ImageError) as info:
            read_image(path)
        kinds.append(info.value.kind)
    assert kinds == ["missing_file", "empty_file", "not_an_image"]
