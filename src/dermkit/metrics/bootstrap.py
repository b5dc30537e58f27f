"""Bootstrap confidence intervals that resample lesions, not images (the real unit of independence)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray


def bootstrap_ci(
    y_true: ArrayLike,
    proba: ArrayLike,
    groups: ArrayLike | None,
    metric_fn: Callable[[NDArray, NDArray], float],
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric_fn(y_true, proba)``, resampling **groups**.

    Images of one lesion (HAM10000 has 10,015 images of 7,470 lesions) are near-duplicates,
    not independent samples. Resampling images treats them as independent and gives intervals
    that are too narrow; resampling lesions (all images of a drawn lesion, repeated as often as
    it is drawn) keeps the data's real unit of independence.

    Args:
        y_true: ``(N,)`` labels (any per-image array ``metric_fn`` accepts).
        proba: ``(N, ...)`` predictions (``(N, C)`` probabilities or ``(N,)`` labels).
        groups: ``(N,)`` group ids (e.g. ``lesion_id``); None treats every image as its own.
        metric_fn: ``metric_fn(y_true_sample, proba_sample) -> float``; NaN results (e.g. a
            class missing from a sample) are dropped.
        n_boot: Number of resamples. Default 1000.
        seed: Seed of ``np.random.default_rng``; the same seed gives the same interval.
        alpha: ``1 - confidence``. Default 0.05 (a 95% interval).

    Returns:
        ``(low, high)``, the ``alpha/2`` and ``1 - alpha/2`` quantiles; ``(nan, nan)`` if every
        resample was NaN.
    """
    t = np.asarray(y_true)
    p = np.asarray(proba)
    if p.shape[0] != t.shape[0]:
        raise ValueError(f"y_true and proba must have the same length; got {t.shape[0]} and {p.shape[0]}")
    if t.shape[0] == 0:
        raise ValueError("no images to resample")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1; got {n_boot}")
    g = np.arange(t.shape[0]) if groups is None else np.asarray(groups)
    if g.shape != (t.shape[0],):
        raise ValueError(f"groups must have shape ({t.shape[0]},); got {g.shape}")
    _, group_index = np.unique(g, return_inverse=True)
    order = np.argsort(group_index, kind="stable")
    counts = np.bincount(group_index)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    members = [order[s : s + n] for s, n in zip(starts, counts, strict=True)]  # image indices per group
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    for b in range(n_boot):
        drawn = rng.integers(0, len(members), size=len(members))
        idx = np.concatenate([members[k] for k in drawn])
        stats[b] = metric_fn(t[idx], p[idx])
    stats = stats[~np.isnan(stats)]
    if stats.size == 0:
        return float("nan"), float("nan")  # the metric was undefined on every resample
    low, high = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
