"""Metric plots as PNG files: confusion matrix, one-vs-rest ROC curves, reliability diagram.

matplotlib is imported inside each function and used through ``Figure`` objects (no pyplot, no
global backend change), so importing dermkit.metrics never needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from dermkit.metrics._inputs import as_labels, as_proba
from dermkit.metrics.calibration import calibration_bins, expected_calibration_error
from dermkit.metrics.classification import per_class_auc, roc_points


def roc_curves(y_true: ArrayLike, proba: ArrayLike, classes: Sequence[str]) -> dict[str, pd.DataFrame]:
    """One-vs-rest ROC points per class, for plotting.

    Returns:
        ``{class: DataFrame(threshold, fpr, tpr)}`` (:func:`roc_points`) for every class with a
        defined AUC; classes absent from ``y_true`` (or present in every image) are left out.
    """
    p = as_proba(proba)
    if p.shape[1] != len(classes):
        raise ValueError(f"proba has {p.shape[1]} columns but {len(classes)} classes were named")
    t = as_labels(y_true, "y_true", len(classes))
    curves = {}
    for k, name in enumerate(classes):
        positives = t == k
        if 0 < positives.sum() < t.size:
            curves[name] = roc_points(positives, p[:, k])
    return curves


def plot_confusion_matrix(cm: ArrayLike, classes: Sequence[str], path: str | Path, normalize: bool = True) -> Path:
    """Save a confusion-matrix heat map (PNG); rows = truth, normalised per row by default."""
    from matplotlib.figure import Figure

    counts = np.asarray(cm, dtype=np.float64)
    c = len(classes)
    if counts.shape != (c, c):
        raise ValueError(f"cm must have shape ({c}, {c}); got {counts.shape}")
    if normalize:
        rows = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    else:
        values = counts
    fig = Figure(figsize=(1.0 + 0.7 * c, 0.8 + 0.7 * c), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else None)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set(xticks=range(c), yticks=range(c), xlabel="predicted", ylabel="true")
    ax.set_xticklabels(classes, rotation=45, ha="right")
    ax.set_yticklabels(classes)
    top = values.max(initial=0.0)
    for i in range(c):
        for j in range(c):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(counts[i, j])}"
            colour = "white" if top and values[i, j] > top / 2 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    path = Path(path)
    fig.savefig(path, dpi=120)
    return path


def plot_roc(y_true: ArrayLike, proba: ArrayLike, classes: Sequence[str], path: str | Path) -> Path:
    """Save one-vs-rest ROC curves of every class with a defined AUC (PNG)."""
    from matplotlib.figure import Figure

    curves = roc_curves(y_true, proba, classes)
    aucs = per_class_auc(y_true, proba)
    fig = Figure(figsize=(5.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    for k, name in enumerate(classes):
        if name in curves:
            ax.plot(curves[name]["fpr"], curves[name]["tpr"], label=f"{name} (AUC {aucs[k]:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="1 - specificity", ylabel="sensitivity")
    ax.legend(loc="lower right", fontsize=8)
    path = Path(path)
    fig.savefig(path, dpi=120)
    return path


def reliability_points(bins: pd.DataFrame) -> pd.DataFrame:
    """The points a reliability diagram draws: one per non-empty bin, at its mean confidence (x) and
    its accuracy (y), with the bin's share of the images."""
    kept = bins[bins["count"] > 0]
    return pd.DataFrame(
        {
            "confidence": kept["confidence"].to_numpy(float),
            "accuracy": kept["accuracy"].to_numpy(float),
            "share": (kept["count"] / bins["count"].sum()).to_numpy(float),
        }
    )


def reliability_diagram(proba: ArrayLike, y_true: ArrayLike, path: str | Path, n_bins: int = 15) -> Path:
    """Save a plain reliability diagram as PNG: accuracy against mean confidence per bin (one line
    and its points, the diagonal being perfect calibration), the share of images per bin beneath
    it, and the ECE in the title."""
    from matplotlib.figure import Figure

    bins = calibration_bins(proba, y_true, n_bins)
    ece = expected_calibration_error(proba, y_true, n_bins)
    points = reliability_points(bins)
    fig = Figure(figsize=(5.0, 5.6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(4, 1))
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    top.plot(points["confidence"], points["accuracy"], marker="o", color="tab:blue", label="this model")
    top.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy", title=f"Reliability (ECE {ece:.3f}, {n_bins} bins)")
    top.legend(loc="upper left")
    bottom.bar(points["confidence"], points["share"], width=0.8 / n_bins, color="grey")
    bottom.set(xlabel="confidence (top-class probability)", ylabel="share")
    path = Path(path)
    fig.savefig(path, dpi=120)
    return path
