"""Shades-of-grey colour constancy."""

from __future__ import annotations

import numpy as np
import pytest

from dermkit.preprocess import shades_of_grey
from dermkit.preprocess.color import estimate_illuminant


def _cast_grey_image(cast: tuple[float, float, float], seed: int = 0) -> np.ndarray:
    """Random grey-level texture seen under a coloured illuminant."""
    grey = np.random.default_rng(seed).uniform(40, 200, size=(64, 64, 1))
    return np.clip(grey * np.array(cast), 0, 255).round().astype(np.uint8)


@pytest.mark.parametrize("cast", [(1.2, 0.9, 0.7), (0.7, 0.8, 1.25), (1.0, 1.3, 0.9)])
@pytest.mark.parametrize("p", [1.0, 6.0, np.inf])
def test_colour_cast_becomes_neutral(cast: tuple[float, float, float], p: float) -> None:
    image = _cast_grey_image(cast)
    before = image.reshape(-1, 3).mean(axis=0)
    after = shades_of_grey(image, p=p).reshape(-1, 3).mean(axis=0)
    # Channel means of a grey scene must agree within 3 % after correction (they differ by 30-80 % before).
    assert (before.max() - before.min()) / before.mean() > 0.25
    assert (after.max() - after.min()) / after.mean() < 0.03, f"channel means {after}"


def test_gamma_option_also_neutralises() -> None:
    out = shades_of_grey(_cast_grey_image((1.2, 0.9, 0.7)), gamma=2.2)
    means = out.reshape(-1, 3).mean(axis=0)
    assert (means.max() - means.min()) / means.mean() < 0.05


def test_neutral_image_is_unchanged_and_black_frame_does_not_bias() -> None:
    image = _cast_grey_image((1.0, 1.0, 1.0))
    assert np.abs(shades_of_grey(image).astype(int) - image).max() <= 1
    cast = _cast_grey_image((1.2, 0.9, 0.7))
    framed = cast.copy()
    framed[:10] = 0
    # Black pixels scale every channel's p-mean by the same factor (54/64)^(1/6): same correction.
    ratio = estimate_illuminant(framed) / estimate_illuminant(cast[10:])
    assert np.allclose(ratio, (54 / 64) ** (1 / 6), rtol=1e-9)
    assert np.array_equal(shades_of_grey(framed)[10:], shades_of_grey(cast[10:]))


def test_black_image_returned_unchanged_and_bad_args() -> None:
    black = np.zeros((8, 8, 3), np.uint8)
    assert np.array_equal(shades_of_grey(black), black)
    with pytest.raises(ValueError, match="p must be"):
        shades_of_grey(black, p=0.5)
    with pytest.raises(ValueError, match="uint8"):
        shades_of_grey(black.astype(np.float32))
