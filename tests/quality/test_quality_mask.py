"""Mask rules of the quality gate: empty, tiny, on the border (or the lens frame) and filling the image."""

from __future__ import annotations

import numpy as np
import pytest
from quality_images import disc_mask, lesion

from dermkit.quality import QualityThresholds, check_quality
from dermkit.quality.measures import edge_ring

SIZE = (128, 160)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return lesion(SIZE, seed=11).image


def test_centred_lesion_raises_no_mask_flag(image: np.ndarray) -> None:
    assert check_quality(image, disc_mask(SIZE, (64, 80), 30)).codes == ()


def test_empty_mask_is_no_lesion_and_nothing_else(image: np.ndarray) -> None:
    report = check_quality(image, np.zeros(SIZE, np.uint8))
    assert report.codes == ("no_lesion",) and not report.ok


def test_tiny_lesion_is_too_small_by_pixels_and_by_fraction(image: np.ndarray) -> None:
    by_pixels = check_quality(image, disc_mask(SIZE, (64, 80), 3))  # 29 px
    assert by_pixels.codes == ("lesion_too_small",) and by_pixels.ok  # a warning
    assert (by_pixels.flags[0].value, by_pixels.flags[0].threshold) == (29.0, 50.0)
    # 69 px is over 50 px but 0.34 % of the image, under 0.5 %.
    by_fraction = check_quality(image, disc_mask(SIZE, (64, 80), 4.7))
    assert by_fraction.codes == ("lesion_too_small",)
    assert by_fraction.flags[0].value == pytest.approx(69 / (128 * 160))


def test_lesion_on_the_image_edge_touches_the_border(image: np.ndarray) -> None:
    report = check_quality(image, disc_mask(SIZE, (64, 10), 20))
    assert report.codes == ("lesion_touches_border",)
    assert 0 < report.flags[0].value < 0.2
    # On a 128-px image the ring is the outermost pixel (0.5 % of 128, at least 1 px).
    mask = np.zeros(SIZE, np.uint8)
    mask[40:80, 0:40] = 1
    assert check_quality(image, mask).flags[0].value == pytest.approx(40 / (2 * 128 + 2 * 160 - 4))
    mask[:, 0] = 0
    assert "lesion_touches_border" not in check_quality(image, mask).codes


def test_lesion_reaching_the_black_frame_touches_the_border() -> None:
    framed = lesion((256, 256), seed=2, frame=True)
    frame = framed.frame_mask.astype(bool)
    # The first skin pixel on the diagonal from the top-left corner: the lens edge, far from the image edge.
    k = int(np.argmin(frame.diagonal()))
    assert k > 20
    near = disc_mask((256, 256), (k + 15, k + 15), 22) & ~frame  # reaches the lens edge
    far = disc_mask((256, 256), (k + 30, k + 30), 22)  # stops 20 px short of it
    assert not (near[0].any() or near[:, 0].any())
    assert "lesion_touches_border" in check_quality(framed.image, near).codes
    assert "lesion_touches_border" not in check_quality(framed.image, far).codes
    assert edge_ring(~frame)[k, k]


def test_lesion_filling_the_image(image: np.ndarray) -> None:
    mask = np.ones(SIZE, np.uint8)
    report = check_quality(image, mask)
    assert report.codes == ("lesion_touches_border", "lesion_fills_image")
    assert report.flags[1].value == 1.0 and report.ok


def test_mask_thresholds_override(image: np.ndarray) -> None:
    mask = disc_mask(SIZE, (64, 10), 20)
    tolerant = QualityThresholds(max_border_contact=0.5, min_lesion_px=2000)
    assert check_quality(image, mask, thresholds=tolerant).codes == ("lesion_too_small",)


def test_bool_mask_is_accepted(image: np.ndarray) -> None:
    assert check_quality(image, disc_mask(SIZE, (64, 80), 30).astype(bool)).codes == ()
