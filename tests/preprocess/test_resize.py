"""Resizing with pad / crop / stretch, mask alignment and the inverse mapping."""

from __future__ import annotations

import numpy as np
import pytest

from dermkit.preprocess import ImageFormatError, invert_resize, resize
from dermkit.preprocess.resize import plan_resize


def _image_and_mask(h: int = 60, w: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """A bright square on black; the mask marks exactly the square."""
    image = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), np.uint8)
    image[20:40, 40:70] = 255
    mask[20:40, 40:70] = 1
    return image, mask


@pytest.mark.parametrize("fit", ["pad", "crop", "stretch"])
@pytest.mark.parametrize("size", [(32, 32), (64, 48), (120, 200)])
def test_output_size_and_alignment(fit: str, size: tuple[int, int]) -> None:
    image, mask = _image_and_mask()
    out = resize(image, size, fit=fit, mask=mask)  # type: ignore[arg-type]
    assert out.image.shape == (*size, 3) and out.image.dtype == np.uint8
    assert out.mask is not None and out.mask.shape == size and out.mask.dtype == np.uint8
    assert set(np.unique(out.mask)) <= {0, 1}
    bright = out.image[..., 0] > 127
    agreement = (bright == out.mask.astype(bool)).mean()
    assert agreement > 0.98, f"image/mask misaligned ({agreement:.3f})"


def test_pad_keeps_aspect_and_pads_with_zero() -> None:
    image = np.full((50, 100, 3), 200, np.uint8)
    out = resize(image, (100, 100), fit="pad")
    assert out.transform.content_box == (25, 75, 0, 100)
    assert (out.image[:25] == 0).all() and (out.image[75:] == 0).all() and (out.image[25:75] == 200).all()


def test_crop_is_centred() -> None:
    image = np.zeros((50, 100, 3), np.uint8)
    image[:, 25:75] = 255
    out = resize(image, (50, 50), fit="crop")
    assert out.transform.source_box == (0, 50, 25, 75)
    assert (out.image == 255).all()


@pytest.mark.parametrize("fit", ["pad", "crop", "stretch"])
def test_inverse_round_trip(fit: str) -> None:
    image, mask = _image_and_mask(61, 103)
    out = resize(image, (64, 64), fit=fit, mask=mask)  # type: ignore[arg-type]
    back = invert_resize(out.mask, out.transform)
    assert back.shape == mask.shape and back.dtype == mask.dtype
    iou = (back & mask).sum() / (back | mask).sum()
    assert iou > 0.9, f"round-trip IoU {iou:.3f}"


def test_inverse_of_probability_map_is_bilinear_float() -> None:
    t = plan_resize((30, 40), (16, 16), "stretch")
    prob = np.linspace(0, 1, 256, dtype=np.float32).reshape(16, 16)
    back = invert_resize(prob, t)
    assert back.dtype == np.float32 and back.shape == (30, 40)
    assert 0.0 <= back.min() and back.max() <= 1.0


def test_crop_inverse_marks_outside_as_background() -> None:
    t = plan_resize((50, 100), (50, 50), "crop")
    back = invert_resize(np.ones((50, 50), np.uint8), t)
    assert back[:, :25].sum() == 0 and back[:, 75:].sum() == 0 and back[:, 25:75].all()


def test_errors() -> None:
    image, mask = _image_and_mask()
    with pytest.raises(ValueError, match="fit"):
        resize(image, (32, 32), fit="squash")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="size"):
        resize(image, (0, 32))
    with pytest.raises(ImageFormatError, match="match their image"):
        resize(image, (32, 32), mask=mask[:-1])
    with pytest.raises(ValueError, match="model size"):
        invert_resize(np.zeros((10, 10), np.uint8), plan_resize((60, 100), (32, 32), "pad"))
