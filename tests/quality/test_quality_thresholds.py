"""QualityThresholds: defaults are the documented constants; impossible values are refused."""

from __future__ import annotations

import math

import pytest

from dermkit.errors import ConfigError
from dermkit.quality import QualityThresholds
from dermkit.quality import thresholds as defaults


def test_defaults_are_the_module_constants() -> None:
    t = QualityThresholds()
    assert t.min_side_px == defaults.MIN_SIDE_PX == 64
    assert t.min_laplacian_variance == defaults.MIN_LAPLACIAN_VARIANCE
    assert t.min_skin_fraction == defaults.MIN_SKIN_FRACTION
    assert t.max_border_contact == defaults.MAX_BORDER_CONTACT


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"min_side_px": -1}, "min_side_px must be >= 0"),
        ({"min_laplacian_variance": math.nan}, "finite number"),
        ({"max_dark_fraction": 1.5}, "max_dark_fraction is a share"),
        ({"min_skin_fraction": "0.7"}, "finite number"),
        ({"max_border_contact": True}, "finite number"),
        ({"min_mean_luminance": 200, "max_mean_luminance": 100}, "must not exceed"),
    ],
)
def test_impossible_thresholds_are_refused(kwargs: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        QualityThresholds(**kwargs)
