"""A metadata-only expert: ``p(class | age, sex, site)`` for late fusion with any image classifier.

A network that fuses metadata inside (:class:`~dermkit.models.classification.metadata.MetadataFusionHead`)
learns its metadata weights from the same training images it can memorise: once the image path
fits the training side, the metadata branch stops receiving a signal, and look-alike lesions
(pixels pointing at the wrong class) stay wrong. The metadata expert is fitted apart from the
images, on the training side's metadata only (a multinomial logistic regression, scikit-learn,
L2, class-balanced like the image models' losses so that it adds evidence and not the training
side's class prior, which the calibration's bias owns; deterministic), and
:func:`dermkit.calibration.fit_calibration` weighs its log-probabilities against the image model's
logits on the validation side (:func:`dermkit.metrics.calibration.fit_logit_fusion`).

Features: age in 10-year bins (one-hot; none when unknown) plus age/100, the age-missing flag,
sex one-hot and site one-hot (:func:`dermkit.data.metadata.encode_metadata`). The fitted expert is
a JSON-able dict, stored in ``RUN/calibration.json``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax

from dermkit.data.metadata import AGE_SCALE, METADATA_DIM

#: Width of the age bins, in years; the last bin takes every age from AGE_BINS * AGE_BIN_YEARS on.
AGE_BIN_YEARS = 10
AGE_BINS = 9


def metadata_features(meta: np.ndarray) -> np.ndarray:
    """(N, METADATA_DIM) encoded metadata -> (N, AGE_BINS + 1 + METADATA_DIM) expert features."""
    meta = np.asarray(meta, dtype=np.float64)
    if meta.ndim != 2 or meta.shape[1] != METADATA_DIM:
        raise ValueError(f"metadata must be (N, {METADATA_DIM}) encoded vectors; got shape {meta.shape}")
    known = meta[:, 1] == 0
    years = np.floor(meta[:, 0] * AGE_SCALE + 1e-3)  # age/100 is float32: 0.7 * 100 = 69.99...
    bins = np.minimum(years.astype(int) // AGE_BIN_YEARS, AGE_BINS)
    onehot = np.zeros((len(meta), AGE_BINS + 1))
    onehot[np.flatnonzero(known), bins[known]] = 1.0
    return np.concatenate([onehot, meta], axis=1)


def fit_metadata_prior(meta: np.ndarray, labels: np.ndarray, num_classes: int, c: float = 1.0) -> dict:
    """Fit the expert on the training side: ``{"coef": (C, F), "intercept": (C,)}`` as lists.

    A class without training images gets zero weights and an intercept 10 below the lowest
    (almost never predicted by the metadata alone). Raises ``ValueError`` with fewer than two
    classes present, where a logistic regression has nothing to learn.
    """
    from sklearn.linear_model import LogisticRegression

    x, y = metadata_features(meta), np.asarray(labels)
    present = np.unique(y)
    if len(present) < 2:
        raise ValueError(f"the metadata expert needs at least two classes on the training side; got {present.tolist()}")
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(x, y)
    coef = np.zeros((num_classes, x.shape[1]))
    intercept = np.zeros(num_classes)
    if len(present) == 2:  # sklearn fits one logit for the second class against the first
        coef[present[1]], intercept[present[1]] = lr.coef_[0], lr.intercept_[0]  # the first stays at 0
    else:
        coef[lr.classes_], intercept[lr.classes_] = lr.coef_, lr.intercept_
    absent = np.setdiff1d(np.arange(num_classes), present)
    intercept[absent] = intercept[present].min() - 10.0
    return {
        "model": "logistic_regression",
        "age_bin_years": AGE_BIN_YEARS,
        "age_bins": AGE_BINS,
        "coef": coef.tolist(),
        "intercept": intercept.tolist(),
    }


def metadata_log_proba(prior: dict, meta: np.ndarray) -> np.ndarray:
    """(N, C) log-probabilities of the fitted expert ``prior`` for encoded metadata ``meta``."""
    if (prior.get("age_bin_years"), prior.get("age_bins")) != (AGE_BIN_YEARS, AGE_BINS):
        raise ValueError(
            "this metadata expert was fitted with other age bins; refit the run's calibration "
            "(dermkit.evaluation.classification.refit_calibration)"
        )
    return log_softmax(metadata_features(meta) @ np.asarray(prior["coef"]).T + np.asarray(prior["intercept"]), axis=1)
