"""B: compactness and the eight-sector abrupt cut-off on synthetic discs and stars."""

from __future__ import annotations

import numpy as np
import pytest
from abcd_shapes import disc, ellipse, paint, star

from dermkit.measure import compactness, measure_border, principal_axes
from dermkit.measure.border import ABRUPT_SHARPNESS, SECTORS, read_cutoff, signed_distance


def _border(mask: np.ndarray, image: np.ndarray):
    return measure_border(image, mask, principal_axes(mask))


@pytest.mark.parametrize("radius", [10, 30, 60])
def test_disc_is_compact(radius: int) -> None:
    assert compactness(disc(2 * radius + 20, radius)) == pytest.approx(1.0, abs=0.03)


def test_irregular_outlines_are_less_compact() -> None:
    ellipse_value = compactness(ellipse(128, (45, 22), 30))
    # A 2:1 ellipse: P^2 / (4 pi A) = 1.20 by Ramanujan's perimeter.
    assert ellipse_value == pytest.approx(1.20, abs=0.03)
    assert compactness(star()) > 3 * ellipse_value


def test_empty_outline_has_no_compactness() -> None:
    assert compactness(np.zeros((8, 8), np.uint8)) is None


def test_sharp_disc_on_flat_skin_has_eight_abrupt_sectors() -> None:
    mask = disc(128, 30)
    b = _border(mask, paint(mask))
    assert b.score == SECTORS == len(b.sectors)
    assert all(s.sharpness == pytest.approx(1.0, abs=0.05) for s in b.sectors)
    assert all(s.contrast > 20 for s in b.sectors)  # skin lighter than the dark-brown lesion


def test_blurred_disc_has_no_abrupt_sector() -> None:
    mask = disc(128, 30)
    b = _border(mask, paint(mask, blur=6.0))  # the edge fades over ~15 px, wider than the window
    assert b.score == 0
    assert all(s.abrupt is False and s.sharpness < ABRUPT_SHARPNESS for s in b.sectors)


def test_half_blurred_disc_counts_the_sharp_half() -> None:
    mask = disc(128, 30)
    sharp, soft = paint(mask), paint(mask, blur=6.0)
    image = sharp.copy()
    image[64:] = soft[64:]  # bottom half blurred: sectors 0-3 (angles 0..180 deg, y down)
    b = _border(mask, image)
    assert b.score == 4
    assert [s.abrupt for s in b.sectors] == [False] * 4 + [True] * 4


def test_lesion_as_light_as_the_skin_has_no_cut_off() -> None:
    mask = disc(96, 25)
    b = _border(mask, paint(mask, lesion=(205, 157, 138), skin=(210, 160, 140)))
    assert b.score == 0
    assert all(s.sharpness is None and s.abrupt is False for s in b.sectors)


def test_sectors_beyond_the_image_are_not_measurable() -> None:
    mask = disc(96, 25, centre=(10, 48))  # the left part of the disc is cut by the image edge
    b = _border(mask, paint(mask))
    assert b.measurable_sectors < SECTORS
    assert b.score == b.measurable_sectors  # the visible border is sharp
    assert any(s.abrupt is None and s.contrast is None for s in b.sectors)


def test_signed_distance_is_half_a_pixel_either_side_of_the_outline() -> None:
    mask = np.zeros((5, 9), np.uint8)
    mask[:, :4] = 1
    dist = signed_distance(mask)
    assert dist[2, 3] == -0.5 and dist[2, 4] == 0.5 and dist[2, 0] == -3.5


def test_step_and_ramp_profiles() -> None:
    counts = np.full(16, 10)
    step = read_cutoff(np.r_[np.full(8, 30.0), np.full(8, 70.0)], counts)
    ramp = read_cutoff(np.linspace(30.0, 70.0, 16), counts)
    assert step.abrupt and step.sharpness == pytest.approx(1.0)
    assert not ramp.abrupt and ramp.sharpness == pytest.approx(0.25)
    assert read_cutoff(np.full(16, 50.0), np.r_[np.full(15, 10), 0]).abrupt is None
