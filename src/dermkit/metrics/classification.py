"""Multiclass classification metrics that agree with the official ISIC scorer.

Decision rules (per-class thresholds) live in ``decision.py``, the report combining both in
``report.py``, bootstrap intervals in ``bootstrap.py``, the ISIC submission CSV in ``isic_csv.py``
and plots in ``plots.py``.

Follows ``isic_challenge_scoring`` 5.6 (``classification.py``, ``metrics.py``) where it defines
a quantity, and says so where dermkit adds one:

* **Balanced multiclass accuracy** (BMA, the ISIC 2018 Task 3 ranking metric): the mean over
  classes of per-class recall ``TP_c / support_c``, from the argmax labels. A class absent
  from ``y_true`` has an undefined recall (0 / 0): the scorer's pandas mean skips that NaN,
  and so do we. BMA is therefore the mean over classes *present in y_true*, which is also
  ``sklearn.metrics.balanced_accuracy_score``.
* **AUC**: one-vs-rest per class, ``P(score of a positive > score of a negative)`` with ties
  counted 1/2 (the trapezoidal ROC area of ``sklearn.metrics.roc_auc_score``, which the scorer
  calls). A class with no positive or no negative image has no AUC: NaN, skipped by the macro
  mean (the scorer gets NaN from sklearn and skips it in the same way).
* **Average precision**: ``sum_n (R_n - R_{n-1}) P_n`` over decreasing thresholds, as
  ``sklearn.metrics.average_precision_score`` (the scorer's ``ap``).
* Labels come from probabilities by argmax. The scorer turns a tie for the maximum into the
  label "undecided" (always wrong); ``np.argmax`` takes the first class instead. Ties have
  probability zero with continuous scores, so this only matters for hand-made inputs.
* Per-class counts come from the **multiclass** confusion matrix (argmax), as S4 reports them.
  The scorer's per-category table instead thresholds each class column at 0.5 on its own;
  its sensitivity/specificity therefore differ from ours, its AUC and AP do not.
* Degenerate per-class values (the scorer's conventions, each an explicit value):

  - precision, TP + FP = 0 (class never predicted): 1.0 (``binary_ppv``);
  - F1 (Dice of counts), TP + FP + FN = 0: 1.0 (``binary_dice``); otherwise
    ``2TP / (2TP + FP + FN)``, so a present class that is never predicted scores 0;
  - specificity, TN + FP = 0 (every image is of this class): 1.0 (``binary_specificity``);
  - recall, support = 0: NaN, excluded from BMA and from the macro mean, so the table's
    macro recall *is* BMA (the scorer's ``binary_sensitivity`` would say 1.0, but its BMA
    skips the class);
  - AUC, class absent or present in every image: NaN, excluded from macro AUC.

Arrays: ``y_true``/``y_pred`` ``(N,)`` int class indices in ``[0, C)``; ``proba`` ``(N, C)``
scores (softmax probabilities; any monotone score works for AUC).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

from dermkit.metrics._inputs import as_binary, as_labels, as_proba

TABLE_COLUMNS = (
    "TP", "FP", "FN", "TN", "support",
    "precision", "recall", "specificity", "F1", "AUC",
)  # fmt: skip

AVERAGE_ROWS = ("macro avg", "weighted avg")


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> NDArray[np.int64]:
    """``(C, C)`` counts, rows = true class, columns = predicted class (sklearn's layout).

    Args:
        y_true: ``(N,)`` true class indices.
        y_pred: ``(N,)`` predicted class indices.
        num_classes: ``C``.
    """
    t = as_labels(y_true, "y_true", num_classes)
    p = as_labels(y_pred, "y_pred", num_classes)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length; got {t.size} and {p.size}")
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(num_classes, num_classes)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of images whose predicted class is the true one; NaN for no images."""
    t, p = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length; got {t.size} and {p.size}")
    if t.size == 0:
        return float("nan")  # nothing to score
    return float(np.mean(t == p))


def per_class_recall(cm: NDArray[np.int64]) -> NDArray[np.float64]:
    """``(C,)`` recall from a confusion matrix; NaN for a class absent from the truth."""
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        # 0 / 0: no image of the class, so its recall is undefined (NaN, as in the scorer)
        return np.where(support > 0, np.diag(cm) / support, np.nan)


def balanced_accuracy(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None) -> float:
    """Balanced multiclass accuracy: mean per-class recall over classes present in ``y_true``.

    A class with no true image has no recall (0 / 0). Counting it as 0 would punish a model
    for a class the data never asked about; counting it as 1 would reward it; the ISIC scorer
    skips it (pandas ``mean`` ignores the NaN), and so do we.

    Args:
        y_true: ``(N,)`` true class indices.
        y_pred: ``(N,)`` predicted class indices.
        num_classes: ``C``; default ``max(y_true, y_pred) + 1`` (the value does not change
            the result, only the validation).

    Returns:
        BMA in ``[0, 1]``; NaN when there are no images.
    """
    t, p = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    if t.size == 0:
        return float("nan")  # no class present: nothing to average
    c = num_classes if num_classes is not None else int(max(t.max(), p.max())) + 1
    return float(np.nanmean(per_class_recall(confusion_matrix(t, p, c))))


def binary_auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """ROC AUC of one binary problem (Mann-Whitney U with mid-ranks for ties).

    Equals ``sklearn.metrics.roc_auc_score`` (trapezoidal area, ties count 1/2) without its
    cost, which matters inside :func:`bootstrap_ci`.

    Returns:
        AUC in ``[0, 1]``; NaN when ``y_true`` has no positive or no negative (undefined).
    """
    y = as_binary(y_true, "y_true")
    s = np.asarray(score, dtype=np.float64)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")  # one class only: no positive/negative pair to rank
    ranks = rankdata(s)  # mid-ranks: a tied pair contributes 1/2
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_points(y_true: ArrayLike, score: ArrayLike) -> pd.DataFrame:
    """Every ROC operating point of one binary problem.

    Returns:
        DataFrame with columns ``threshold, fpr, tpr`` (one row per distinct score, highest
        first, plus a first row at ``threshold = inf`` with ``fpr = tpr = 0``); predicting
        positive for ``score >= threshold`` gives that point. Rates are NaN when the truth has
        no positive (``tpr``) or no negative (``fpr``).
    """
    y = as_binary(y_true, "y_true")
    s = np.asarray(score, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]  # distinct scores
    tps = np.cumsum(y_sorted)[last_of_run]
    fps = (last_of_run + 1) - tps
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.r_[0, tps] / n_pos if n_pos else np.full(tps.size + 1, np.nan)
        fpr = np.r_[0, fps] / n_neg if n_neg else np.full(fps.size + 1, np.nan)
    return pd.DataFrame({"threshold": np.r_[np.inf, s_sorted[last_of_run]], "fpr": fpr, "tpr": tpr})


def average_precision(y_true: ArrayLike, score: ArrayLike) -> float:
    """Average precision ``sum_n (R_n - R_{n-1}) P_n`` (sklearn's and the scorer's ``ap``).

    Returns:
        AP in ``[0, 1]``; NaN when ``y_true`` has no positive (recall undefined).
    """
    y = as_binary(y_true, "y_true")
    s = np.asarray(score, dtype=np.float64)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")  # no positive: recall is 0 / 0
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
    tps = np.cumsum(y_sorted)[last_of_run]
    precision = tps / (last_of_run + 1)
    recall = tps / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def sensitivity_at_specificity(y_true: ArrayLike, score: ArrayLike, specificity: float) -> float:
    """Highest sensitivity among ROC operating points with specificity ``>= specificity``.

    The straightforward rule, not an interpolation: the value is reached by a real threshold
    on ``score``, so a clinic can set it. (The ISIC scorer's ``auc_above_sensitivity``
    interpolates the ROC to build a partial area, a different quantity.)

    Returns:
        Sensitivity in ``[0, 1]``; NaN without positives or negatives.
    """
    if not 0.0 <= specificity <= 1.0:
        raise ValueError(f"specificity must be in [0, 1]; got {specificity}")
    roc = roc_points(y_true, score)
    if roc["tpr"].isna().any() or roc["fpr"].isna().any():
        return float("nan")  # one class only: no ROC curve
    ok = roc["fpr"].to_numpy() <= (1.0 - specificity) + 1e-12  # rounding of 1 - 0.8 etc.
    return float(roc["tpr"].to_numpy()[ok].max())  # the first point (0, 0) is always ok


def per_class_auc(y_true: ArrayLike, proba: ArrayLike) -> NDArray[np.float64]:
    """``(C,)`` one-vs-rest AUC of each class column; NaN where undefined."""
    p = as_proba(proba)
    t = as_labels(y_true, "y_true", p.shape[1])
    if t.size != p.shape[0]:
        raise ValueError(f"proba must have one row per image ({t.size}); got {p.shape[0]}")
    return np.array([binary_auc(t == c, p[:, c]) for c in range(p.shape[1])])


def macro_auc(y_true: ArrayLike, proba: ArrayLike) -> float:
    """Mean one-vs-rest AUC over classes with a defined AUC (the scorer's macro ``auc``).

    Returns:
        Macro AUC; NaN when no class has both positives and negatives (e.g. one class only).
    """
    aucs = per_class_auc(y_true, proba)
    if np.all(np.isnan(aucs)):
        return float("nan")  # single-class input: no AUC anywhere
    return float(np.nanmean(aucs))


def per_class_table(
    y_true: ArrayLike, y_pred: ArrayLike, proba: ArrayLike | None, classes: Sequence[str]
) -> pd.DataFrame:
    """One row per class plus ``"macro avg"`` and ``"weighted avg"`` (S4's per-class metrics).

    Args:
        y_true: ``(N,)`` true class indices.
        y_pred: ``(N,)`` predicted class indices.
        proba: ``(N, C)`` scores for the AUC column, or None (AUC NaN).
        classes: ``C`` class names (row labels), in index order.

    Returns:
        DataFrame indexed by class name with :data:`TABLE_COLUMNS`. Degenerate values follow
        the module docstring. Averages skip NaN: the macro row is the plain mean over classes
        (its recall is BMA), the weighted row weights each class by its support (its recall
        is accuracy). In both average rows the count columns hold totals over classes and
        ``support`` is ``N``.
    """
    c = len(classes)
    cm = confusion_matrix(y_true, y_pred, c)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    fp, fn = predicted - tp, support - tp
    tn = cm.sum() - tp - fp - fn
    with np.errstate(invalid="ignore", divide="ignore"):
        # never predicted: the scorer's binary_ppv calls that perfect (1.0)
        precision = np.where(predicted > 0, tp / predicted, 1.0)
        # every image of this class: specificity 0 / 0, the scorer's freebie 1.0
        specificity = np.where(tn + fp > 0, tn / (tn + fp), 1.0)
        # absent from the truth and never predicted: a perfect answer (binary_dice)
        f1 = np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 1.0)
    recall = per_class_recall(cm)  # NaN for absent classes (undefined, skipped by BMA)
    if proba is None:
        auc = np.full(c, np.nan)
    else:
        p = as_proba(proba, len(as_labels(y_true, "y_true")))
        if p.shape[1] != c:
            raise ValueError(f"proba must have {c} columns (one per class); got {p.shape[1]}")
        auc = per_class_auc(y_true, p)
    table = pd.DataFrame(
        {
            "TP": tp,
            "FP": fp,
            "FN": fn,
            "TN": tn,
            "support": support,
            "precision": precision,
            "recall": recall,
            "specificity": specificity,
            "F1": f1,
            "AUC": auc,
        },  # fmt: skip
        index=pd.Index(list(classes), name="class"),
    )
    rates = list(TABLE_COLUMNS[5:])
    totals = table[["TP", "FP", "FN", "TN", "support"]].sum()
    macro = table[rates].mean(axis="index", skipna=True)
    weighted = pd.Series({name: _weighted_mean(table[name].to_numpy(), support) for name in rates})
    averages = pd.DataFrame([pd.concat([totals, macro]), pd.concat([totals, weighted])])
    averages.index = pd.Index(list(AVERAGE_ROWS), name="class")
    result = pd.concat([table, averages[list(TABLE_COLUMNS)]])
    counts = ["TP", "FP", "FN", "TN", "support"]
    result[counts] = result[counts].astype(np.int64)  # totals are counts too
    return result


def _weighted_mean(values: NDArray[np.float64], weights: NDArray[np.int64]) -> float:
    ok = ~np.isnan(values) & (weights > 0)
    if not ok.any():
        return float("nan")  # nothing defined to average
    return float(np.sum(values[ok] * weights[ok]) / np.sum(weights[ok]))


def melanoma_view(y_true_is_mel: ArrayLike, p_mel: ArrayLike) -> dict[str, float]:
    """Melanoma-vs-rest metrics, for data sets that only label melanoma (ISIC 2017, PH2).

    Args:
        y_true_is_mel: ``(N,)`` bool or 0/1, melanoma or not.
        p_mel: ``(N,)`` melanoma probability (any monotone score).

    Returns:
        ``{"auc", "sensitivity_at_80_specificity", "sensitivity_at_90_specificity",
        "average_precision", "n_melanoma", "n_other"}``. Sensitivities are the best reachable
        by a real threshold (:func:`sensitivity_at_specificity`). Rates are NaN when a side is
        empty.
    """
    y = as_binary(y_true_is_mel, "y_true_is_mel")
    s = np.asarray(p_mel, dtype=np.float64)
    if s.shape != y.shape:
        raise ValueError(f"p_mel must have shape {y.shape}; got {s.shape}")
    return {
        "auc": binary_auc(y, s),
        "sensitivity_at_80_specificity": sensitivity_at_specificity(y, s, 0.8),
        "sensitivity_at_90_specificity": sensitivity_at_specificity(y, s, 0.9),
        "average_precision": average_precision(y, s),
        "n_melanoma": float(y.sum()),
        "n_other": float((~y).sum()),
    }
