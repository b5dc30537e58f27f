"""The metadata-only expert: features, fitting on the training side, log-probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dermkit.data.metadata import METADATA_DIM, encode_metadata
from dermkit.data.metadata_prior import (
    AGE_BINS,
    fit_metadata_prior,
    metadata_features,
    metadata_log_proba,
)
from dermkit.data.records import SITES, Metadata


def encoded(ages, sites):
    return np.stack(
        [
            encode_metadata(Metadata(image_id="i", lesion_id="l", age=a, sex="female", site=s))
            for a, s in zip(ages, sites, strict=True)
        ]
    )


def test_features_bin_known_ages_only():
    x = metadata_features(encoded([5.0, 45.0, 120.0, None], [SITES[0]] * 4))
    assert x.shape == (4, AGE_BINS + 1 + METADATA_DIM)
    assert x[0, 0] == 1 and x[1, 4] == 1 and x[2, AGE_BINS] == 1  # 120 years: the last bin
    assert x[3, : AGE_BINS + 1].sum() == 0  # unknown age: no bin, the missing flag instead


def test_fitted_expert_learns_a_non_monotone_age_and_site_signal():
    rng = np.random.default_rng(0)
    n = 900
    labels = rng.integers(0, 3, n)
    ages = np.where(
        labels == 0, rng.uniform(20, 35, n), np.where(labels == 1, rng.uniform(60, 80, n), rng.uniform(40, 55, n))
    )
    sites = [SITES[1] if y == 2 else SITES[2] for y in labels]
    prior = json.loads(json.dumps(fit_metadata_prior(encoded(ages, sites), labels, 3)))  # JSON round trip
    logp = metadata_log_proba(prior, encoded(ages, sites))
    np.testing.assert_allclose(np.exp(logp).sum(1), 1.0, rtol=1e-9)
    assert (logp.argmax(1) == labels).mean() > 0.95  # age 40-55 sits between the others: not a line


def test_absent_class_gets_almost_no_probability_and_two_classes_work():
    meta = encoded([20.0, 30.0, 70.0, 80.0] * 10, [SITES[0]] * 40)
    labels = np.array([0, 0, 2, 2] * 10)
    logp = metadata_log_proba(fit_metadata_prior(meta, labels, 3), meta)
    assert np.exp(logp[:, 1]).max() < 1e-3
    assert (logp.argmax(1) == labels).all()


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="at least two classes"):
        fit_metadata_prior(encoded([20.0, 30.0], [SITES[0]] * 2), np.array([1, 1]), 3)
    with pytest.raises(ValueError, match="encoded vectors"):
        metadata_features(np.zeros((2, 3)))


def test_decade_ages_fall_in_their_own_bin():
    ages = [float(a) for a in range(0, 100, 10)]
    x = metadata_features(encoded(ages, [SITES[0]] * len(ages)))
    assert x[:, : AGE_BINS + 1].argmax(1).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # 70 is not in the 60s


def test_absent_class_stays_below_present_ones_with_two_classes():
    meta = encoded([20.0] * 30 + [80.0] * 3, [SITES[0]] * 33)  # a large intercept for the common class
    logp = metadata_log_proba(fit_metadata_prior(meta, np.array([2] * 30 + [0] * 3), 3), meta)
    assert (logp[:, 1] < logp[:, [0, 2]].min(1) - 5).all()
