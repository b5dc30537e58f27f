"""Principal axes, maximum Feret diameter and border contact on hand-computable shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from abcd_shapes import disc, ellipse, paint

from dermkit.measure import feret_diameter, measure_lesion, principal_axes
from dermkit.measure.geometry import component_count, touches_border


@pytest.mark.parametrize("radius", [5, 12, 30])
def test_disc_diameter_is_twice_the_radius(radius: int) -> None:
    mask = disc(2 * radius + 21, radius)
    # Extreme pixel centres are 2r apart; each end pixel adds half its width: 2r + 1.
    assert abs(feret_diameter(mask) - 2 * radius) <= 1


def test_diameter_in_mm_scales_with_pixel_spacing() -> None:
    mask = disc(96, 20)
    image = paint(mask)
    fine = measure_lesion(image, mask, pixel_spacing_mm=0.01)
    coarse = measure_lesion(image, mask, pixel_spacing_mm=0.05)
    assert fine.diameter_px == coarse.diameter_px
    assert fine.diameter_mm == pytest.approx(fine.diameter_px * 0.01)
    assert coarse.diameter_mm == pytest.approx(5 * fine.diameter_mm)
    assert measure_lesion(image, mask).diameter_mm is None


def test_feret_diameter_of_a_bar_and_a_single_pixel() -> None:
    bar = np.zeros((20, 40), np.uint8)
    bar[10, 5:35] = 1  # 30 pixels in a row
    assert feret_diameter(bar) == pytest.approx(30.0)
    dot = np.zeros((5, 5), np.uint8)
    dot[2, 2] = 1
    assert feret_diameter(dot) == pytest.approx(1.0)
    assert feret_diameter(np.zeros((5, 5), np.uint8)) == 0.0


@pytest.mark.parametrize("angle", [0, 30, 60, 120])
def test_principal_axes_follow_a_turned_ellipse(angle: int) -> None:
    axes = principal_axes(ellipse(128, (40, 16), angle))
    assert (axes.cx, axes.cy) == pytest.approx((64, 64), abs=0.2)
    # Undirected lines: compare angles modulo pi.
    diff = (axes.angle - math.radians(angle)) % math.pi
    assert min(diff, math.pi - diff) < math.radians(1.5)
    assert axes.major_length == pytest.approx(80, rel=0.03)
    assert axes.minor_length == pytest.approx(32, rel=0.05)


def test_border_contact_and_components() -> None:
    mask = disc(64, 10, centre=(5, 32))  # runs off the left edge
    assert touches_border(mask)
    assert not touches_border(disc(64, 10))
    two = disc(64, 6, centre=(15, 15)) | disc(64, 6, centre=(45, 45))
    assert component_count(two) == 2
    assert component_count(np.zeros((8, 8), np.uint8)) == 0
