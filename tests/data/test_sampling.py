"""Class weights and over-sampling, with hand-computed expectations."""

from __future__ import annotations

import numpy as np
import pytest

from dermkit.data.sampling import (
    S2_OVERSAMPLING,
    balancing_factors,
    class_weights,
    oversample_indices,
    sampler_weights,
)
from dermkit.errors import ConfigError

LABELS = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2])  # counts 6, 2, 1


def test_balanced_weights_are_s4_formula():
    w = class_weights(LABELS, 3, "balanced")
    np.testing.assert_allclose(w, [9 / (3 * 6), 9 / (3 * 2), 9 / (3 * 1)])
    assert np.isclose((w[LABELS]).mean(), 1.0)  # mean per-sample weight is one


def test_inverse_and_none_weights():
    np.testing.assert_allclose(class_weights(LABELS, 3, "inverse"), np.array([1 / 6, 1 / 2, 1]) / (1 / 6 + 1 / 2 + 1))
    np.testing.assert_allclose(class_weights(LABELS, 3, "none"), [1, 1, 1])
    np.testing.assert_allclose(class_weights(LABELS, 4, "balanced")[3], 0.0)  # absent class
    with pytest.raises(ConfigError, match="unknown class-weight scheme"):
        class_weights(LABELS, 3, "median")
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        class_weights(LABELS, 2)


def test_oversample_repeats_by_factor_deterministically():
    classes = ("a", "b", "c")
    idx = oversample_indices(LABELS, classes, {"b": 3, "c": 5}, seed=0)
    counts = np.bincount(LABELS[idx], minlength=3)
    assert counts.tolist() == [6, 6, 5]
    assert np.array_equal(idx, oversample_indices(LABELS, classes, {"b": 3, "c": 5}, seed=0))
    with pytest.raises(ConfigError, match="unknown classes"):
        oversample_indices(LABELS, classes, {"zz": 2})
    with pytest.raises(ConfigError, match="whole numbers"):
        oversample_indices(LABELS, classes, {"a": 0})


def test_s2_factors_and_balancing():
    assert S2_OVERSAMPLING["df"] == 52 and S2_OVERSAMPLING["nv"] == 1
    assert balancing_factors(LABELS, ("a", "b", "c")) == {"a": 1, "b": 3, "c": 6}


def test_sampler_weights_equalise_classes():
    w = sampler_weights(LABELS, 3)
    per_class = np.array([w[LABELS == c].sum() for c in range(3)])
    np.testing.assert_allclose(per_class, per_class[0])
