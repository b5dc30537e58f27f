"""One evaluation's classification report: every metric of ``classification.py`` under one decision rule."""

from __future__ import annotations

from collections.abc import Sequence

from numpy.typing import ArrayLike

from dermkit.metrics._inputs import as_labels, as_proba
from dermkit.metrics.classification import (
    accuracy,
    balanced_accuracy,
    confusion_matrix,
    macro_auc,
    per_class_table,
)
from dermkit.metrics.decision import predict_with_thresholds


def classification_report(
    y_true: ArrayLike,
    proba: ArrayLike,
    classes: Sequence[str],
    thresholds: ArrayLike | None = None,
) -> dict:
    """Every multiclass metric of one evaluation, with a fixed set of keys.

    Args:
        y_true: ``(N,)`` true class indices.
        proba: ``(N, C)`` probabilities.
        classes: ``C`` class names.
        thresholds: Optional per-class divisors (:func:`predict_with_thresholds`).

    Returns:
        ``{"accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1",
        "weighted_precision", "weighted_recall", "weighted_f1", "macro_auc"}`` as floats,
        plus ``"per_class"`` (:func:`per_class_table`) and ``"confusion_matrix"`` (``(C, C)``
        int array, rows = truth).
    """
    p = as_proba(proba)
    if p.shape[1] != len(classes):
        raise ValueError(f"proba has {p.shape[1]} columns but {len(classes)} classes were named")
    t = as_labels(y_true, "y_true", len(classes))
    if t.size != p.shape[0]:
        raise ValueError(f"proba must have one row per image ({t.size}); got {p.shape[0]}")
    y_pred = predict_with_thresholds(p, thresholds)
    table = per_class_table(t, y_pred, p, classes)
    macro, weighted = table.loc["macro avg"], table.loc["weighted avg"]
    return {
        "accuracy": accuracy(t, y_pred),
        "balanced_accuracy": balanced_accuracy(t, y_pred, len(classes)),
        "macro_precision": float(macro["precision"]),
        "macro_recall": float(macro["recall"]),
        "macro_f1": float(macro["F1"]),
        "weighted_precision": float(weighted["precision"]),
        "weighted_recall": float(weighted["recall"]),
        "weighted_f1": float(weighted["F1"]),
        "macro_auc": macro_auc(t, p),
        "per_class": table,
        "confusion_matrix": confusion_matrix(t, y_pred, len(classes)),
    }
