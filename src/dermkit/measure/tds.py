"""The total dermoscopy score TDS = 1.3 A + 0.1 B + 0.5 C + 0.5 D and its bands (Stolz et al. 1994).

A asymmetry 0..2, B border segments with an abrupt cut-off 0..8, C colours 1..6, D differential
structures 1..5 (pigment network, structureless areas, dots, globules, branched streaks: one point
each). TDS below 4.75 suggests a benign lesion, 4.75 to 5.45 a suspicious one, above 5.45 a
melanoma.

D cannot be read from a mask, so it is an input. Without it the score is a range: the lowest and
highest TDS over D = 1..5 (a spread of 2.0), with the band of each end; the band is known when
both ends fall in the same band (a lesion whose A, B and C already exceed 5.45 - 0.5 is in the
melanoma band whatever D is, one below 4.75 - 2.5 is benign).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from dermkit.errors import DataError

WEIGHTS = {"A": 1.3, "B": 0.1, "C": 0.5, "D": 0.5}

#: Allowed values of each criterion (inclusive).
RANGES = {"A": (0, 2), "B": (0, 8), "C": (1, 6), "D": (1, 5)}

#: (band, upper bound, bound included): the first band whose bound the score stays under wins.
#: 4.75 itself is suspicious and 5.45 itself still suspicious, as in Stolz et al.
BANDS: tuple[tuple[str, float, bool], ...] = (
    ("benign", 4.75, False),
    ("suspicious", 5.45, True),
    ("melanoma", float("inf"), True),
)


@dataclass(frozen=True)
class TotalDermoscopyScore:
    """TDS, exact when D was given, otherwise the range over D = 1..5.

    Attributes:
        low, high: the lowest and highest TDS (equal when D was given), rounded to 2 decimals
            (every term is a multiple of 0.05, so rounding only removes float noise).
        band_low, band_high: the band of each end.
        d: the D used, or None.
    """

    low: float
    high: float
    band_low: str
    band_high: str
    d: int | None

    @property
    def value(self) -> float | None:
        """The TDS when it is exact (D given), else None."""
        return self.low if self.d is not None else None

    @property
    def band(self) -> str | None:
        """The band when both ends of the range agree, else None (D decides)."""
        return self.band_low if self.band_low == self.band_high else None


def tds_band(score: float) -> str:
    """The band ("benign", "suspicious", "melanoma") of a TDS value."""
    for name, bound, inclusive in BANDS:
        if score < bound or (inclusive and score == bound):
            return name
    raise AssertionError("unreachable: the last band is unbounded")


def check_criterion(name: str, value: int) -> int:
    """Return ``value`` as an int if it is an integer in criterion ``name``'s range, else raise.

    Raises:
        DataError: naming the criterion, its range and the value received.
    """
    low, high = RANGES[name]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise DataError(f"ABCD criterion {name} must be an integer in {low}..{high}, got {value!r}")
    return int(value)


def total_dermoscopy_score(a: int, b: int, c: int, d: int | None = None) -> TotalDermoscopyScore:
    """TDS from the four criteria; ``d=None`` gives the range over D = 1..5.

    Raises:
        DataError: a criterion is not an integer in its range (see :data:`RANGES`).
    """
    given = {"A": a, "B": b, "C": c}
    partial = sum(WEIGHTS[name] * check_criterion(name, value) for name, value in given.items())
    d_low, d_high = (check_criterion("D", d),) * 2 if d is not None else RANGES["D"]
    low = round(partial + WEIGHTS["D"] * d_low, 2)
    high = round(partial + WEIGHTS["D"] * d_high, 2)
    return TotalDermoscopyScore(low, high, tds_band(low), tds_band(high), d)
