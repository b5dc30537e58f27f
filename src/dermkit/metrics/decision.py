"""Decision rules: class labels from probabilities with per-class thresholds, and their fit.

A threshold is a per-class divisor (``argmax_c p_c / t_c``); :func:`fit_thresholds_for_bma` picks
them on validation data to maximise balanced multiclass accuracy. Kept apart from the metrics
(``classification.py``): a metric scores decisions, a rule makes them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dermkit.metrics._inputs import as_labels, as_proba
from dermkit.metrics.classification import balanced_accuracy

DEFAULT_THRESHOLD_GRID: NDArray[np.float64] = np.geomspace(1 / 16, 16, 33)  # ratios 2^(k/4)


def predict_with_thresholds(proba: ArrayLike, thresholds: ArrayLike | None = None) -> NDArray[np.int64]:
    """Class decisions ``argmax_c proba[:, c] / thresholds[c]``.

    A threshold is a per-class divisor: lowering ``thresholds[c]`` makes class ``c`` win more
    often (rare classes get ``< 1``). All-equal thresholds (or None) give the plain argmax;
    only ratios matter. Ties go to the lowest class index (``np.argmax``).

    Args:
        proba: ``(N, C)`` probabilities.
        thresholds: ``(C,)`` positive divisors, or None.

    Returns:
        ``(N,)`` int64 class indices.
    """
    p = as_proba(proba)
    if thresholds is None:
        return p.argmax(axis=1)
    t = np.asarray(thresholds, dtype=np.float64)
    if t.shape != (p.shape[1],):
        raise ValueError(f"thresholds must have shape ({p.shape[1]},); got {t.shape}")
    if not np.all(t > 0):
        raise ValueError(f"thresholds must be positive; got {t.tolist()}")
    return (p / t).argmax(axis=1)


def fit_thresholds_for_bma(
    y_true: ArrayLike,
    proba: ArrayLike,
    grid: ArrayLike = DEFAULT_THRESHOLD_GRID,
    max_rounds: int = 10,
) -> NDArray[np.float64]:
    """Per-class thresholds (for :func:`predict_with_thresholds`) maximising validation BMA.

    Coordinate ascent from all-ones: for each class in turn, try every ``grid`` value as its
    threshold and keep the best only when BMA strictly improves (first best on ties), until a
    round changes nothing or ``max_rounds`` is reached. Deterministic, and the fitted BMA on
    ``(y_true, proba)`` is never below the argmax BMA. Fit on validation data, never on test.

    Args:
        y_true: ``(N,)`` true class indices.
        proba: ``(N, C)`` validation probabilities.
        grid: Candidate threshold values (positive). Default 33 values from 1/16 to 16.
        max_rounds: Upper bound on passes over the classes. Default 10.

    Returns:
        ``(C,)`` thresholds.
    """
    p = as_proba(proba)
    t = as_labels(y_true, "y_true", p.shape[1])
    if t.size != p.shape[0]:
        raise ValueError(f"proba must have one row per image ({t.size}); got {p.shape[0]}")
    values = np.asarray(grid, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(values > 0):
        raise ValueError("grid must hold positive values")
    c = p.shape[1]
    thresholds = np.ones(c)
    best = balanced_accuracy(t, predict_with_thresholds(p, thresholds), c)
    for _ in range(max_rounds):
        improved = False
        for k in range(c):
            for value in values:
                trial = thresholds.copy()
                trial[k] = value
                score = balanced_accuracy(t, predict_with_thresholds(p, trial), c)
                if score > best + 1e-12:  # strict: ties keep the current value
                    best, thresholds, improved = score, trial, True
        if not improved:
            break
    return thresholds
