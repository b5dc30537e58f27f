"""Multiclass classification metrics that agree with the official ISIC scorer.

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

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

#: ISIC 2018 Task 3 CSV columns (after ``image``), in the challenge's order, -> dermkit class
#: names (HAM10000 order is alphabetical: akiec, bcc, bkl, df, mel, nv, vasc).
ISIC_TASK3_COLUMNS: dict[str, str] = {
    "MEL": "mel", "NV": "nv", "BCC": "bcc", "AKIEC": "akiec",
    "BKL": "bkl", "DF": "df", "VASC": "vasc",
}  # fmt: skip

TABLE_COLUMNS = (
    "TP", "FP", "FN", "TN", "support",
    "precision", "recall", "specificity", "F1", "AUC",
)  # fmt: skip
AVERAGE_ROWS = ("macro avg", "weighted avg")


# --- validation ---------------------------------------------------------------------------


def _labels(y: ArrayLike, role: str, num_classes: int | None = None) -> NDArray[np.int64]:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{role} must have shape (N,); got {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{role} must hold integer class indices; got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if num_classes is not None and arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(
            f"{role} must be in [0, {num_classes}); got range [{arr.min()}, {arr.max()}]"
        )
    return arr


def _proba(proba: ArrayLike, n: int | None = None) -> NDArray[np.float64]:
    arr = np.asarray(proba, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"proba must have shape (N, C); got {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"proba must have one row per image ({n}); got {arr.shape[0]} rows")
    if not np.all(np.isfinite(arr)):
        raise ValueError("proba contains NaN or infinite values")
    return arr


def _binary(y: ArrayLike, role: str) -> NDArray[np.bool_]:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{role} must have shape (N,); got {arr.shape}")
    if arr.dtype != np.bool_:
        if not np.all(np.isin(arr, (0, 1))):
            raise ValueError(f"{role} must be boolean or 0/1; got values {np.unique(arr)[:5]}")
        arr = arr.astype(bool)
    return arr


# --- counts and label metrics -------------------------------------------------------------


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> NDArray[np.int64]:
    """``(C, C)`` counts, rows = true class, columns = predicted class (sklearn's layout).

    Args:
        y_true: ``(N,)`` true class indices.
        y_pred: ``(N,)`` predicted class indices.
        num_classes: ``C``.
    """
    t = _labels(y_true, "y_true", num_classes)
    p = _labels(y_pred, "y_pred", num_classes)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length; got {t.size} and {p.size}")
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of images whose predicted class is the true one; NaN for no images."""
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
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


def balanced_accuracy(
    y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None
) -> float:
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
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.size == 0:
        return float("nan")  # no class present: nothing to average
    c = num_classes if num_classes is not None else int(max(t.max(), p.max())) + 1
    return float(np.nanmean(per_class_recall(confusion_matrix(t, p, c))))


# --- score metrics (binary, one-vs-rest) ----------------------------------------------------


def binary_auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """ROC AUC of one binary problem (Mann-Whitney U with mid-ranks for ties).

    Equals ``sklearn.metrics.roc_auc_score`` (trapezoidal area, ties count 1/2) without its
    cost, which matters inside :func:`bootstrap_ci`.

    Returns:
        AUC in ``[0, 1]``; NaN when ``y_true`` has no positive or no negative (undefined).
    """
    y = _binary(y_true, "y_true")
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
    y = _binary(y_true, "y_true")
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
    y = _binary(y_true, "y_true")
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
    p = _proba(proba)
    t = _labels(y_true, "y_true", p.shape[1])
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


# --- tables and reports -----------------------------------------------------------------


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
        p = _proba(proba, len(_labels(y_true, "y_true")))
        if p.shape[1] != c:
            raise ValueError(f"proba must have {c} columns (one per class); got {p.shape[1]}")
        auc = per_class_auc(y_true, p)
    table = pd.DataFrame(
        {
            "TP": tp, "FP": fp, "FN": fn, "TN": tn, "support": support,
            "precision": precision, "recall": recall, "specificity": specificity,
            "F1": f1, "AUC": auc,
        },  # fmt: skip
        index=pd.Index(list(classes), name="class"),
    )
    rates = list(TABLE_COLUMNS[5:])
    totals = table[["TP", "FP", "FN", "TN", "support"]].sum()
    macro = table[rates].mean(axis="index", skipna=True)
    weighted = pd.Series(
        {name: _weighted_mean(table[name].to_numpy(), support) for name in rates}
    )
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


def predict_with_thresholds(
    proba: ArrayLike, thresholds: ArrayLike | None = None
) -> NDArray[np.int64]:
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
    p = _proba(proba)
    if thresholds is None:
        return p.argmax(axis=1)
    t = np.asarray(thresholds, dtype=np.float64)
    if t.shape != (p.shape[1],):
        raise ValueError(f"thresholds must have shape ({p.shape[1]},); got {t.shape}")
    if not np.all(t > 0):
        raise ValueError(f"thresholds must be positive; got {t.tolist()}")
    return (p / t).argmax(axis=1)


DEFAULT_THRESHOLD_GRID: NDArray[np.float64] = np.geomspace(1 / 16, 16, 33)  # ratios 2^(k/4)


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
    p = _proba(proba)
    t = _labels(y_true, "y_true", p.shape[1])
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
    p = _proba(proba)
    if p.shape[1] != len(classes):
        raise ValueError(f"proba has {p.shape[1]} columns but {len(classes)} classes were named")
    t = _labels(y_true, "y_true", len(classes))
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
    y = _binary(y_true_is_mel, "y_true_is_mel")
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
        raise ValueError(
            f"y_true and proba must have the same length; got {t.shape[0]} and {p.shape[0]}"
        )
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
    members = [order[s : s + n] for s, n in zip(starts, counts)]  # image indices per group
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


def roc_curves(
    y_true: ArrayLike, proba: ArrayLike, classes: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """One-vs-rest ROC points per class, for plotting.

    Returns:
        ``{class: DataFrame(threshold, fpr, tpr)}`` (:func:`roc_points`) for every class with a
        defined AUC; classes absent from ``y_true`` (or present in every image) are left out.
    """
    p = _proba(proba)
    if p.shape[1] != len(classes):
        raise ValueError(f"proba has {p.shape[1]} columns but {len(classes)} classes were named")
    t = _labels(y_true, "y_true", len(classes))
    curves = {}
    for k, name in enumerate(classes):
        positives = t == k
        if 0 < positives.sum() < t.size:
            curves[name] = roc_points(positives, p[:, k])
    return curves


# --- ISIC submission files ----------------------------------------------------------------


def write_isic_task3_csv(
    path: str | Path, image_ids: Sequence[str], proba: ArrayLike, classes: Sequence[str]
) -> Path:
    """Write an ISIC 2018 Task 3 submission: ``image, MEL, NV, BCC, AKIEC, BKL, DF, VASC``.

    Args:
        path: Output CSV path.
        image_ids: ``N`` ids such as ``ISIC_0034321`` (a ``.jpg`` suffix is dropped).
        proba: ``(N, 7)`` probabilities in ``[0, 1]``, columns in ``classes`` order.
        classes: The 7 dermkit class names of ``proba``'s columns (any order, e.g. HAM10000's
            alphabetical one); they are mapped to the ISIC columns by name.

    Returns:
        ``path``.
    """
    p = _proba(proba, len(image_ids))
    names = list(classes)
    expected = sorted(ISIC_TASK3_COLUMNS.values())
    if sorted(names) != expected or p.shape[1] != len(names):
        raise ValueError(
            f"classes must be the 7 Task 3 classes {expected} (any order); got {names}"
        )
    if np.any((p < 0) | (p > 1)):
        raise ValueError("probabilities must be in [0, 1] (the scorer rejects others)")
    ids = [str(i).removesuffix(".jpg") for i in image_ids]
    if len(set(ids)) != len(ids):
        raise ValueError("image ids must be unique")
    frame = pd.DataFrame({"image": ids})
    for column, name in ISIC_TASK3_COLUMNS.items():
        frame[column] = p[:, names.index(name)]
    path = Path(path)
    frame.to_csv(path, index=False)
    return path


# --- plots (matplotlib Figure objects: no pyplot, no global backend change) ---------------


def plot_confusion_matrix(
    cm: ArrayLike, classes: Sequence[str], path: str | Path, normalize: bool = True
) -> Path:
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
