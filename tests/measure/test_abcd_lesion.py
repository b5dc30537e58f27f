"""measure_lesion: input checks at the boundary, degenerate masks and the JSON result."""

from __future__ import annotations

import json

import numpy as np
import pytest
from abcd_shapes import disc, lopsided_l, paint

from dermkit.errors import DataError
from dermkit.measure import LesionMeasurements, measure_lesion
from dermkit.measure.lesion import EMPTY_MASK, MIN_AREA_PX, SEVERAL_COMPONENTS, TOO_SMALL, TOUCHES_BORDER


def test_ordinary_lesion_is_fully_measured() -> None:
    mask = disc(96, 25)
    result = measure_lesion(paint(mask), mask, pixel_spacing_mm=0.02)
    assert result.flags == ()
    assert result.area_px == int(mask.sum())
    assert (result.asymmetry.score, result.border.score, result.colours.score) == (0, 8, 1)
    # 0.8 (B) + 0.5 (C) = 1.3, plus 0.5..2.5 for the unknown D: benign either way.
    assert (result.tds.low, result.tds.high, result.tds.band) == (1.8, 3.8, "benign")
    assert measure_lesion(paint(mask), mask, d=3).tds.value == 2.8


def test_json_round_trip() -> None:
    mask = lopsided_l()
    data = measure_lesion(paint(mask), mask, pixel_spacing_mm=0.01, d=2).to_json()
    again = json.loads(json.dumps(data, allow_nan=False))
    assert again == data
    assert again["version"] == 1
    assert again["asymmetry"]["score"] == 2
    assert set(again["colours"]["fractions"]) == {"white", "red", "light_brown", "dark_brown", "blue_grey", "black"}
    # The L's inner corner lies next to its centroid: the sectors facing it hold no interior.
    assert len(again["border"]["sectors"]) == 8 and again["border"]["measurable_sectors"] == 6
    assert [s["abrupt"] for s in again["border"]["sectors"]].count(None) == 2
    assert again["tds"]["value"] == again["tds"]["low"] and again["tds"]["d"] == 2
    assert again["diameter_mm"] == pytest.approx(again["diameter_px"] * 0.01)


def test_empty_mask_gives_explicit_values() -> None:
    mask = np.zeros((32, 32), np.uint8)
    result = measure_lesion(paint(mask), mask, pixel_spacing_mm=0.1)
    assert result.flags == (EMPTY_MASK,)
    assert (result.area_px, result.diameter_px, result.diameter_mm) == (0, 0.0, 0.0)
    assert result.axes is result.asymmetry is result.border is result.colours is result.tds is None
    assert json.loads(json.dumps(result.to_json()))["flags"] == [EMPTY_MASK]


def test_a_few_pixels_are_too_small_for_abc() -> None:
    mask = np.zeros((32, 32), np.uint8)
    mask[10:13, 10:13] = 1  # 9 pixels
    result = measure_lesion(paint(mask), mask)
    assert 9 < MIN_AREA_PX and result.flags == (TOO_SMALL,)
    assert result.area_px == 9 and result.diameter_px == pytest.approx(2 * 2**0.5 + 1)
    assert result.axes is not None
    assert result.asymmetry is result.border is result.colours is result.tds is None


def test_lesion_on_the_image_edge_is_flagged_and_still_measured() -> None:
    mask = disc(96, 25, centre=(10, 48))
    result = measure_lesion(paint(mask), mask)
    assert result.flags == (TOUCHES_BORDER,)
    assert result.border.measurable_sectors < 8 and result.tds is not None
    full = np.ones((24, 24), np.uint8)  # the lesion fills the image: no skin, no border visible
    whole = measure_lesion(paint(full), full)
    assert TOUCHES_BORDER in whole.flags and whole.border.score == 0 and whole.colours.score == 1


def test_several_components_are_flagged() -> None:
    mask = disc(96, 12, centre=(25, 25)) | disc(96, 12, centre=(70, 70))
    assert SEVERAL_COMPONENTS in measure_lesion(paint(mask), mask).flags


def test_bool_masks_are_accepted() -> None:
    mask = disc(64, 15)
    assert isinstance(measure_lesion(paint(mask), mask.astype(bool)), LesionMeasurements)


@pytest.mark.parametrize(
    ("image", "mask", "message"),
    [
        (np.zeros((32, 32), np.uint8), np.zeros((32, 32), np.uint8), r"shape \(H, W, 3\)"),
        (np.zeros((32, 32, 3), np.float32), np.zeros((32, 32), np.uint8), "dtype uint8"),
        (
            np.zeros((32, 32, 3), np.uint8),
            np.zeros((32, 31), np.uint8),
            r"shape \(32, 31\) but its image is \(32, 32\)",
        ),
        (np.zeros((32, 32, 3), np.uint8), np.full((32, 32), 255, np.uint8), "got max 255"),
        (np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32), np.float64), "bool or integer"),
        (np.zeros((32, 32, 3), np.uint8), [[0, 1]], "numpy array"),
    ],
)
def test_bad_inputs_are_refused_with_what_was_expected(image, mask, message: str) -> None:
    with pytest.raises(DataError, match=message):
        measure_lesion(image, mask)


@pytest.mark.parametrize("spacing", [0, -0.01, float("nan"), float("inf"), "0.01", True])
def test_bad_pixel_spacing_is_refused(spacing) -> None:
    mask = disc(32, 8)
    with pytest.raises(DataError, match="pixel_spacing_mm must be"):
        measure_lesion(paint(mask), mask, pixel_spacing_mm=spacing)


@pytest.mark.parametrize("d", [0, 6, 2.5])
def test_bad_d_is_refused_even_for_an_empty_mask(d) -> None:
    mask = np.zeros((16, 16), np.uint8)
    with pytest.raises(DataError, match="criterion D must be an integer in 1..5"):
        measure_lesion(paint(mask), mask, d=d)
