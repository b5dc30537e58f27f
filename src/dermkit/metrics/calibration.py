"""Calibration of class probabilities: top-label ECE and its bins, temperature scaling, fusion.

The reliability diagram of these bins is drawn by :func:`dermkit.metrics.plots.reliability_diagram`.

Following Guo et al. 2017 ("On calibration of modern neural networks"):

* **ECE** (top label): each image's confidence is its highest probability and it is correct
  when that class is the true one; images go into ``n_bins`` equal-width bins over ``[0, 1]``,
  bin ``m`` holding confidences in ``((m - 1)/M, m/M]`` (the first bin also takes 0), and
  ``ECE = sum_m |B_m| / N * |acc(B_m) - conf(B_m)|``. Empty bins contribute nothing.
* **Temperature scaling**: ``softmax(logits / T)`` with one scalar ``T > 0`` fitted by
  minimising the validation negative log-likelihood. NLL is convex in ``1 / T`` (a
  log-sum-exp minus a linear term), so a bounded scalar search finds the global minimum,
  deterministically. ``T > 1`` softens an over-confident model; argmax (and so accuracy,
  BMA and AUC) never changes.
* **Bias-corrected temperature scaling** (BCTS; Alexandari et al. 2020, "Maximum likelihood with
  bias-corrected calibration is hard-to-beat at label shift adaptation"): ``softmax(logits / T + b)``
  with ``T`` and a per-class bias ``b`` fitted jointly by minimising the validation NLL (convex in
  ``(1/T, b)``; L-BFGS with the exact gradient). Class-weighted or over-sampled training moves the
  model's class priors away from the data's; one temperature cannot undo that, the bias can.
* **Fusion with a second expert** (:func:`fit_logit_fusion`): BCTS plus ``w`` times another
  model's log-probabilities (a product of experts, e.g. a metadata-only model); the validation
  NLL decides how much the second model adds to the image model.

Arrays: ``proba``/``logits`` ``(N, C)`` (numpy or torch), ``y_true`` ``(N,)`` int classes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize, minimize_scalar
from scipy.special import logsumexp

TEMPERATURE_BOUNDS = (0.01, 100.0)


def _as_numpy(x: ArrayLike) -> NDArray[np.float64]:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()  # type: ignore[union-attr]
    return np.asarray(x, dtype=np.float64)


def _check(scores: ArrayLike, y_true: ArrayLike, role: str) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    s = _as_numpy(scores)
    y = _as_numpy(y_true)
    if s.ndim != 2:
        raise ValueError(f"{role} must have shape (N, C); got {s.shape}")
    if y.shape != (s.shape[0],):
        raise ValueError(f"y_true must have shape ({s.shape[0]},); got {y.shape}")
    if s.shape[0] == 0:
        raise ValueError("no images")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{role} contains NaN or infinite values")
    if np.any(y != np.round(y)) or y.min() < 0 or y.max() >= s.shape[1]:
        raise ValueError(f"y_true must hold class indices in [0, {s.shape[1]})")
    return s, y.astype(np.int64)


def calibration_bins(proba: ArrayLike, y_true: ArrayLike, n_bins: int = 15) -> pd.DataFrame:
    """Per-bin statistics behind :func:`expected_calibration_error`.

    Returns:
        DataFrame with one row per bin: ``lower, upper, count, confidence`` (mean top
        probability), ``accuracy`` (fraction correct); the last two are NaN in empty bins.
    """
    p, y = _check(proba, y_true, "proba")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1; got {n_bins}")
    confidence = p.max(axis=1)
    correct = p.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin m holds (edges[m], edges[m+1]]; confidence 0 (impossible for a top label) joins bin 0
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(index, weights=confidence, minlength=n_bins) / count
        acc = np.bincount(index, weights=correct.astype(float), minlength=n_bins) / count
    return pd.DataFrame(
        {
            "lower": edges[:-1],
            "upper": edges[1:],
            "count": count,
            "confidence": conf,
            "accuracy": acc,
        }  # fmt: skip
    )


def expected_calibration_error(proba: ArrayLike, y_true: ArrayLike, n_bins: int = 15) -> float:
    """Top-label expected calibration error with equal-width bins (Guo et al. 2017).

    Args:
        proba: ``(N, C)`` probabilities.
        y_true: ``(N,)`` class indices.
        n_bins: Number of bins over ``[0, 1]``. Default 15 (Guo et al.).

    Returns:
        ECE in ``[0, 1]``; 0 for a perfectly calibrated model.
    """
    bins = calibration_bins(proba, y_true, n_bins)
    filled = bins[bins["count"] > 0]  # empty bins have no gap to measure
    gap = (filled["accuracy"] - filled["confidence"]).abs()
    return float((filled["count"] * gap).sum() / bins["count"].sum())


def negative_log_likelihood(logits: ArrayLike, y_true: ArrayLike) -> float:
    """Mean ``-log softmax(logits)[y]`` (natural log), computed stably."""
    z, y = _check(logits, y_true, "logits")
    return float(np.mean(logsumexp(z, axis=1) - z[np.arange(z.shape[0]), y]))


def apply_temperature(logits, temperature: float):
    """``logits / temperature``, same type as the input (numpy array or torch tensor).

    Take the softmax of the result to get calibrated probabilities.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature}")
    if hasattr(logits, "detach"):
        return logits / temperature
    return np.asarray(logits, dtype=np.float64) / temperature


def fit_temperature(logits: ArrayLike, y_true: ArrayLike) -> float:
    """Temperature ``T`` minimising the NLL of ``softmax(logits / T)`` (Guo et al. 2017).

    Bounded Brent search over ``beta = 1 / T`` in ``[1/100, 1/0.01]``; NLL is convex in beta,
    so the search is global and deterministic. Fit on validation logits, never on test.

    Args:
        logits: ``(N, C)`` raw scores (numpy or torch).
        y_true: ``(N,)`` class indices.

    Returns:
        ``T`` in :data:`TEMPERATURE_BOUNDS`; a value at a bound means the optimum lies beyond
        it (e.g. all-correct, separable logits push ``T -> 0``).
    """
    z, y = _check(logits, y_true, "logits")
    z_true = z[np.arange(z.shape[0]), y]

    def nll(beta: float) -> float:
        return float(np.mean(logsumexp(beta * z, axis=1) - beta * z_true))

    low, high = TEMPERATURE_BOUNDS
    result = minimize_scalar(nll, bounds=(1 / high, 1 / low), method="bounded", options={"xatol": 1e-9})
    return float(1.0 / result.x)


def fit_bias_corrected_temperature(logits: ArrayLike, y_true: ArrayLike) -> tuple[float, NDArray[np.float64]]:
    """``(T, b)`` minimising the NLL of ``softmax(logits / T + b)`` (BCTS); ``b`` sums to 0.

    Starts from plain temperature scaling, so its NLL is never worse than :func:`fit_temperature`'s
    on the data it is fitted on. Fit on validation logits, never on test.
    """
    temperature, bias, _ = fit_logit_fusion(logits, y_true)
    assert bias is not None
    return temperature, bias


#: Bounds of the weight of a second expert's log-probabilities in :func:`fit_logit_fusion`.
PRIOR_WEIGHT_BOUNDS = (0.0, 10.0)


def fit_logit_fusion(
    logits: ArrayLike,
    y_true: ArrayLike,
    prior_log_proba: ArrayLike | None = None,
    bias: bool = True,
) -> tuple[float, NDArray[np.float64] | None, float | None]:
    """``(T, b, w)`` minimising the NLL of ``softmax(logits / T + w * prior_log_proba + b)``.

    BCTS (``prior_log_proba=None``) or BCTS with a second expert fused as a weighted product of
    experts: ``prior_log_proba`` ``(N, C)`` are another model's log-probabilities for the same
    images (e.g. a metadata-only model), ``w`` in :data:`PRIOR_WEIGHT_BOUNDS` says how much to
    trust it next to the image model. The NLL stays convex in ``(1/T, w, b)``; L-BFGS with the
    exact gradient from plain temperature scaling (``w = 0``, ``b = 0``), so the fit is never worse
    than :func:`fit_temperature` on the data it is fitted on. ``bias=False`` fixes ``b = 0``
    (returned as None); ``w`` is None without a prior. ``b`` sums to 0. Fit on validation only.
    """
    z, y = _check(logits, y_true, "logits")
    n, c = z.shape
    m = None
    if prior_log_proba is not None:
        m = np.asarray(prior_log_proba, dtype=np.float64)
        if m.shape != z.shape or not np.all(np.isfinite(m)):
            raise ValueError(f"prior_log_proba must be finite with the logits' shape {z.shape}; got {m.shape}")
    onehot = np.zeros_like(z)
    onehot[np.arange(n), y] = 1.0
    low, high = TEMPERATURE_BOUNDS
    n_scale = 1 if m is None else 2  # beta, then w when there is a prior

    def nll_and_grad(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        s = theta[0] * z + (theta[1] * m if m is not None else 0.0)
        if bias:
            s = s + theta[n_scale:]
        lse = logsumexp(s, axis=1)
        diff = (np.exp(s - lse[:, None]) - onehot) / n  # d NLL / d s
        grad = [np.sum(diff * z)] + ([np.sum(diff * m)] if m is not None else [])
        grad_b = diff.sum(0) if bias else np.zeros(0)
        return float(np.mean(lse - s[np.arange(n), y])), np.concatenate([grad, grad_b])

    start = np.concatenate([[1.0 / fit_temperature(z, y)], [0.0] * (n_scale - 1), np.zeros(c if bias else 0)])
    bounds = [(1 / high, 1 / low)] + [PRIOR_WEIGHT_BOUNDS] * (n_scale - 1) + [(None, None)] * (c if bias else 0)
    result = minimize(nll_and_grad, start, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 500})
    theta = result.x if result.fun <= nll_and_grad(start)[0] else start
    b = theta[n_scale:] - theta[n_scale:].mean() if bias else None
    return float(1.0 / theta[0]), b, (float(theta[1]) if m is not None else None)
