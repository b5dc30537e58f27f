"""Patient metadata of synthetic lesions: age, sex and site drawn from the true class.

Ages and sites follow HAM10000 roughly (see ``classes.STYLES``); about 2% of each field is
unknown. :func:`log_metadata_likelihood` is the exact likelihood of :func:`sample_metadata`,
which ``limits.bayes_limits`` uses to bound what metadata can add.
"""

from __future__ import annotations

import math

import numpy as np

from dermkit.data.synthetic.classes import STYLES

_AGE_SD = 14.0  # years, every class

_MISSING_PROB = 0.02  # fraction of unknown sex / unknown site / missing age, each


def sample_metadata(rng: np.random.Generator, label: str) -> tuple[float, str, str]:
    """(age, sex, site) drawn from the class's distributions; ~2% of each unknown/missing."""
    style = STYLES[label]
    age = float(np.clip(np.round(rng.normal(style.age_mean, _AGE_SD) / 5) * 5, 5, 85))
    sex = "male" if rng.random() < style.male_prob else "female"
    names = list(style.sites)
    p = np.array([style.sites[k] for k in names], np.float64)
    site = names[int(rng.choice(len(names), p=p / p.sum()))]
    missing = rng.random(3) < _MISSING_PROB
    return (math.nan if missing[0] else age), ("unknown" if missing[1] else sex), ("unknown" if missing[2] else site)


def log_metadata_likelihood(label: str, age: float, sex: str, site: str) -> float:
    """log P(age, sex, site | label) under :func:`sample_metadata` (unknown fields ignored)."""
    style = STYLES[label]
    out = 0.0
    if not math.isnan(age):
        out -= (age - style.age_mean) ** 2 / (2 * _AGE_SD**2)
    if sex != "unknown":
        out += math.log(style.male_prob if sex == "male" else 1 - style.male_prob)
    if site != "unknown":
        out += math.log(max(style.sites.get(site, 0.0) / sum(style.sites.values()), 1e-9))
    return out
