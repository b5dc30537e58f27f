"""C: lesion pixels classified into the six-colour dermoscopic palette in CIELAB."""

from __future__ import annotations

import numpy as np
import pytest
from abcd_shapes import SKIN, disc, paint

from dermkit.measure import COLOURS, measure_colours
from dermkit.measure.colours import PALETTE_RGB, colours_present, skin_colour
from dermkit.measure.lab import rgb_to_lab


@pytest.mark.parametrize(
    ("first", "second"),
    [("light_brown", "black"), ("dark_brown", "blue_grey"), ("red", "white"), ("light_brown", "dark_brown")],
)
def test_two_palette_colours_are_exactly_those_two(first: str, second: str) -> None:
    mask = disc(96, 30)
    image = paint(mask, lesion=PALETTE_RGB[first])
    image[(mask > 0) & (np.arange(96)[None, :] >= 48)] = PALETTE_RGB[second]
    c = measure_colours(image, mask)
    assert set(c.present) == {first, second}
    assert c.score == 2
    assert c.fractions[first] == pytest.approx(0.5, abs=0.05)
    assert c.fractions[second] == pytest.approx(0.5, abs=0.05)


def test_every_palette_colour_is_found_alone() -> None:
    mask = disc(64, 20)
    for name in COLOURS:
        assert measure_colours(paint(mask, lesion=PALETTE_RGB[name]), mask).present == (name,)


def test_colours_are_judged_against_the_skin() -> None:
    # The same scene under a bluish light: every channel scaled; skin and lesion shift together.
    mask = disc(96, 30)
    image = paint(mask, lesion=PALETTE_RGB["light_brown"])
    image[(mask > 0) & (np.arange(96)[None, :] >= 48)] = PALETTE_RGB["black"]
    cast = np.clip(image * np.array([0.85, 0.95, 1.1]), 0, 255).astype(np.uint8)
    assert set(measure_colours(cast, mask).present) == {"light_brown", "black"}


def test_skin_inside_the_outline_is_not_a_lesion_colour() -> None:
    mask = disc(96, 30)
    image = paint(mask)
    image[(mask > 0) & (np.arange(96)[None, :] >= 60)] = SKIN  # outline drawn too wide on one side
    c = measure_colours(image, mask)
    assert c.present == ("dark_brown",)
    assert 0.1 < c.skin_fraction < 0.4


def test_no_skin_when_the_lesion_fills_the_image_or_the_ring_is_dark() -> None:
    full = np.ones((32, 32), np.uint8)
    lab = rgb_to_lab(paint(full))
    assert skin_colour(lab, full) is None
    mask = disc(64, 20)
    dark_surround = paint(mask, lesion=PALETTE_RGB["light_brown"], skin=(60, 40, 30))
    assert skin_colour(rgb_to_lab(dark_surround), mask) is None
    assert measure_colours(paint(full, lesion=PALETTE_RGB["red"]), full).present == ("red",)


def test_a_colour_needs_more_than_the_minimum_fraction() -> None:
    fractions = dict.fromkeys(COLOURS, 0.0) | {"dark_brown": 0.9, "black": 0.02, "red": 0.004}
    assert colours_present(fractions, min_fraction=0.01) == ("dark_brown", "black")
    assert colours_present(fractions, min_fraction=0.05) == ("dark_brown",)
    # None above the fraction: the most frequent counts (C is at least 1) ...
    assert colours_present(dict.fromkeys(COLOURS, 0.0) | {"black": 0.003}, min_fraction=0.01) == ("black",)
    # ... and when every pixel looked like skin, the fallback does.
    assert colours_present(dict.fromkeys(COLOURS, 0.0), fallback="light_brown") == ("light_brown",)
