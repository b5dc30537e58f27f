"""A: folding the shape (and colour) about the principal axes; hand-checkable shapes."""

from __future__ import annotations

import numpy as np
import pytest
from abcd_shapes import disc, ellipse, lopsided_l, paint

from dermkit.measure import measure_asymmetry, principal_axes
from dermkit.measure.asymmetry import SHAPE_THRESHOLD, downscale, score_asymmetry, shape_non_overlap
from dermkit.measure.colours import PALETTE_RGB


def _score(mask: np.ndarray, image: np.ndarray | None = None, use_colour: bool = True):
    image = paint(mask) if image is None else image
    return measure_asymmetry(image, mask, principal_axes(mask), use_colour=use_colour)


def test_disc_is_symmetric() -> None:
    a = _score(disc(96, 30))
    assert a.score == 0
    assert a.major.shape < 0.02 and a.minor.shape < 0.02
    assert a.major.colour == pytest.approx(0.0, abs=0.5)


@pytest.mark.parametrize("angle", range(0, 180, 20))
def test_ellipse_is_symmetric_at_any_angle(angle: int) -> None:
    a = _score(ellipse(128, (45, 22), angle))
    assert a.score == 0
    # Digitisation alone leaves well under the threshold.
    assert max(a.major.shape, a.minor.shape) < SHAPE_THRESHOLD / 4


def test_half_disc_is_symmetric_about_one_axis_only() -> None:
    half = disc(128, 35)
    half[:, 64:] = 0  # flat side vertical: mirror-symmetric about the horizontal line only
    a = _score(half)
    assert a.score == 1
    assert a.major.asymmetric and not a.minor.asymmetric
    assert a.minor.shape < 0.01
    # Folding a half-disc about the axis parallel to its flat side leaves about a fifth uncovered.
    assert 0.15 < a.major.shape < 0.25


@pytest.mark.parametrize("angle", [0, 35, 90, 160, 250])
def test_lopsided_l_is_asymmetric_about_both_axes_at_any_angle(angle: int) -> None:
    a = _score(lopsided_l(angle_deg=angle))
    assert a.score == 2
    assert min(a.major.shape, a.minor.shape) > 2 * SHAPE_THRESHOLD


def test_two_coloured_disc_is_asymmetric_in_colour_not_shape() -> None:
    mask = disc(96, 30)
    image = paint(mask, lesion=PALETTE_RGB["light_brown"])
    image[(mask > 0) & (np.arange(96)[None, :] >= 48)] = PALETTE_RGB["black"]  # right half black
    with_colour = _score(mask, image)
    assert with_colour.score == 1  # the left/right fold differs; top/bottom does not
    assert max(with_colour.major.colour, with_colour.minor.colour) > 30
    shape_only = _score(mask, image, use_colour=False)
    assert shape_only.score == 0
    assert shape_only.major.colour is None


def test_mirror_outside_the_image_counts_as_uncovered() -> None:
    mask = np.zeros((20, 20), np.uint8)
    mask[5:15, 0:3] = 1
    mask[9:11, 3:12] = 1  # a T lying on the edge
    axes = principal_axes(mask)
    assert 0.0 <= shape_non_overlap(mask, axes, axes.minor) <= 1.0


def test_score_rule_counts_axes_over_either_threshold() -> None:
    assert score_asymmetry((0.05, 2.0), (0.05, None), 0.1, 10.0).score == 0
    assert score_asymmetry((0.2, 2.0), (0.05, None), 0.1, 10.0).score == 1
    assert score_asymmetry((0.05, 12.0), (0.3, None), 0.1, 10.0).score == 2


def test_large_lesion_is_compared_in_colour_on_a_smaller_copy() -> None:
    mask = disc(600, 250)  # major axis 500 px: colours are compared at half size
    image = paint(mask, lesion=PALETTE_RGB["light_brown"])
    image[(mask > 0) & (np.arange(600)[None, :] >= 300)] = PALETTE_RGB["black"]
    a = _score(mask, image)
    assert a.score == 1
    assert max(a.major.colour, a.minor.colour) > 30 and min(a.major.colour, a.minor.colour) < 1
    small_image, small_mask, small_axes = downscale(image, mask, principal_axes(mask), 256)
    assert small_mask.shape == (307, 307) and small_image.shape == (307, 307, 3)
    assert small_axes.major_length == pytest.approx(256)
    own = principal_axes(small_mask)
    assert (small_axes.cx, small_axes.cy) == pytest.approx((own.cx, own.cy), abs=0.5)


def test_hair_thin_lesion_has_no_colour_comparison_and_no_crash() -> None:
    mask = np.zeros((40, 2000), np.uint8)
    mask[20, 100:1900] = 1  # one pixel wide: nothing of it is left at the colour working size
    a = _score(mask)
    assert a.score == 0 and a.major.colour is None and a.minor.colour is None
