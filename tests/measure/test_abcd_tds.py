"""TDS = 1.3 A + 0.1 B + 0.5 C + 0.5 D, its bands and its range when D is unknown."""

from __future__ import annotations

import numpy as np
import pytest

from dermkit.errors import DataError
from dermkit.measure import tds_band, total_dermoscopy_score


@pytest.mark.parametrize(
    ("a", "b", "c", "d", "expected"),
    [
        (0, 0, 1, 1, 1.0),  # the lowest possible score
        (2, 8, 6, 5, 8.9),  # the highest: 2.6 + 0.8 + 3.0 + 2.5
        (1, 4, 3, 2, 4.2),  # 1.3 + 0.4 + 1.5 + 1.0
        (2, 3, 2, 2, 4.9),  # 2.6 + 0.3 + 1.0 + 1.0
    ],
)
def test_tds_arithmetic(a: int, b: int, c: int, d: int, expected: float) -> None:
    score = total_dermoscopy_score(a, b, c, d)
    assert score.value == expected
    assert score.low == score.high == expected


@pytest.mark.parametrize(
    ("value", "band"),
    [(4.7, "benign"), (4.75, "suspicious"), (5.0, "suspicious"), (5.45, "suspicious"), (5.5, "melanoma")],
)
def test_bands_and_their_edges(value: float, band: str) -> None:
    assert tds_band(value) == band


def test_sums_are_exact_at_two_decimals() -> None:
    # Every term is a multiple of 0.1, so a TDS is too (4.75 and 5.45 are never hit by integers):
    # 0.1 * 7 + 0.5 + 0.5 is 1.7000000000000002 in floating point, reported as 1.7.
    assert total_dermoscopy_score(0, 7, 1, 1).value == 1.7
    assert total_dermoscopy_score(1, 5, 4, 2).value == 4.8
    assert total_dermoscopy_score(1, 5, 4, 2).band == "suspicious"
    assert total_dermoscopy_score(1, 4, 4, 2).value == 4.7
    assert total_dermoscopy_score(1, 4, 4, 2).band == "benign"
    assert total_dermoscopy_score(0, 5, 5, 5).value == 5.5
    assert total_dermoscopy_score(0, 5, 5, 5).band == "melanoma"


def test_range_without_d() -> None:
    score = total_dermoscopy_score(1, 4, 3)  # 1.3 + 0.4 + 1.5 = 3.2, plus 0.5..2.5
    assert (score.low, score.high) == (3.7, 5.7)
    assert (score.band_low, score.band_high) == ("benign", "melanoma")
    assert score.value is None and score.band is None and score.d is None


def test_band_is_known_without_d_when_the_range_stays_in_one_band() -> None:
    assert total_dermoscopy_score(2, 8, 6).band == "melanoma"  # 6.4 .. 8.4
    assert total_dermoscopy_score(0, 2, 2).band == "benign"  # 1.7 .. 3.7


@pytest.mark.parametrize(
    ("args", "criterion"),
    [((3, 0, 1, 1), "A"), ((0, 9, 1, 1), "B"), ((0, 0, 0, 1), "C"), ((0, 0, 1, 6), "D"), ((0, 0, 1, 0), "D")],
)
def test_out_of_range_criteria_are_refused(args: tuple[int, ...], criterion: str) -> None:
    with pytest.raises(DataError, match=f"criterion {criterion} must be an integer"):
        total_dermoscopy_score(*args)


def test_numpy_integers_are_accepted_and_floats_and_bools_refused() -> None:
    assert total_dermoscopy_score(np.int64(1), np.int32(4), np.uint8(3), np.int64(2)).value == 4.2
    with pytest.raises(DataError, match="got 1.5"):
        total_dermoscopy_score(1.5, 0, 1, 1)
    with pytest.raises(DataError, match="got True"):
        total_dermoscopy_score(0, 0, 1, True)
