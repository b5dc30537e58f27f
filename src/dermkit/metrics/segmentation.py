"""Binary segmentation metrics that agree with the official ISIC scorer.

Follows ``isic_challenge_scoring`` 5.6 (``segmentation.py``, ``metrics.py``, ``confusion.py``):

* Masks: ``bool`` arrays are used as they are; ``uint8`` arrays are 0-255 images binarised
  with ``> 128`` (the scorer's rule for both truth and prediction).
* Every metric is computed **per image** from that image's confusion counts, then
  **macro-averaged** over images (no pooling of pixels across images).
* Degenerate cases, each returning an explicit value (the scorer's conventions):

  - Jaccard and Dice: empty truth *and* empty prediction (TP + FP + FN = 0) score 1.0,
    a perfect answer to an empty lesion; empty truth with a non-empty prediction scores 0.
  - Sensitivity: no positive pixels in the truth (TP + FN = 0) scores 1.0 (a freebie).
  - Specificity: no negative pixels in the truth (TN + FP = 0) scores 1.0.
  - Precision (the scorer's ``binary_ppv``): no predicted positives (TP + FP = 0) scores
    1.0, which does not punish a correct empty prediction.

* Thresholded Jaccard (ISIC 2018 Task 1 ranking metric): per-image Jaccard below 0.65
  counts as 0, then the mean.

``pred`` comes first in every signature (smp's ``get_stats(output, target)`` order); the
scorer itself takes ``truth`` first, so mind the order for the asymmetric metrics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

ISIC_BINARY_THRESHOLD = 128  # uint8 masks: value > 128 is lesion
ISIC_JACCARD_THRESHOLD = 0.65


class Confusion(NamedTuple):
    """Pixel counts of one image: true/false positives/negatives."""

    tp: int
    fp: int
    fn: int
    tn: int


def _binarize(mask: np.ndarray, role: str) -> NDArray[np.bool_]:
    mask = np.asarray(mask)
    if mask.dtype == np.bool_:
        return mask
    if mask.dtype != np.uint8:
        raise ValueError(
            f"{role} mask must be bool or uint8 (0-255); got dtype {mask.dtype}. "
            "Pass mask > 0.5 for probabilities or mask.astype(bool) for 0/1 labels."
        )
    if mask.max(initial=0) == 1:
        # A 0/1 uint8 mask would silently become empty under the > 128 rule.
        raise ValueError(
            f"{role} mask is uint8 with values in {{0, 1}}; expected 0-255 (binarised at > "
            f"{ISIC_BINARY_THRESHOLD}). Pass mask.astype(bool) or mask * 255."
        )
    return mask > ISIC_BINARY_THRESHOLD


def confusion(pred: ArrayLike, truth: ArrayLike) -> Confusion:
    """Per-image confusion counts.

    Args:
        pred: Predicted mask, ``(H, W)`` bool, or uint8 0-255 binarised at ``> 128``.
        truth: Ground-truth mask of the same shape and conventions.

    Returns:
        ``Confusion(tp, fp, fn, tn)``.

    Raises:
        ValueError: Shapes differ or a dtype is neither bool nor uint8.
    """
    p = _binarize(np.asarray(pred), "pred")
    t = _binarize(np.asarray(truth), "truth")
    if p.shape != t.shape:
        raise ValueError(f"pred and truth must have the same shape; got {p.shape} and {t.shape}")
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p & ~t))
    fn = int(np.count_nonzero(~p & t))
    return Confusion(tp, fp, fn, int(p.size) - tp - fp - fn)


# --- metrics from counts (the functional core) ------------------------------------------------


def jaccard_from_counts(c: Confusion) -> float:
    """TP / (TP + FP + FN); 1.0 when truth and prediction are both empty."""
    if c.tp + c.fp + c.fn == 0:
        return 1.0  # empty lesion predicted empty: a perfect answer
    return c.tp / (c.tp + c.fp + c.fn)


def dice_from_counts(c: Confusion) -> float:
    """2TP / (2TP + FP + FN); 1.0 when truth and prediction are both empty."""
    if c.tp + c.fp + c.fn == 0:
        return 1.0  # empty lesion predicted empty: a perfect answer
    return 2 * c.tp / (2 * c.tp + c.fp + c.fn)


def accuracy_from_counts(c: Confusion) -> float:
    """(TP + TN) / all pixels."""
    return (c.tp + c.tn) / (c.tp + c.fp + c.fn + c.tn)


def sensitivity_from_counts(c: Confusion) -> float:
    """TP / (TP + FN); 1.0 when the truth has no lesion pixel."""
    if c.tp + c.fn == 0:
        return 1.0  # undefined without positives; the scorer makes it a freebie
    return c.tp / (c.tp + c.fn)


def specificity_from_counts(c: Confusion) -> float:
    """TN / (TN + FP); 1.0 when the truth has no background pixel."""
    if c.tn + c.fp == 0:
        return 1.0  # undefined without negatives; the scorer makes it a freebie
    return c.tn / (c.tn + c.fp)


def precision_from_counts(c: Confusion) -> float:
    """TP / (TP + FP); 1.0 when nothing is predicted (the scorer's ``binary_ppv``)."""
    if c.tp + c.fp == 0:
        return 1.0  # no prediction: not punished (right for empty truths)
    return c.tp / (c.tp + c.fp)


# --- metrics on masks ---------------------------------------------------------------------


def jaccard(pred: ArrayLike, truth: ArrayLike) -> float:
    """Jaccard index (IoU) of one mask pair; see :func:`confusion` for mask conventions."""
    return jaccard_from_counts(confusion(pred, truth))


def dice(pred: ArrayLike, truth: ArrayLike) -> float:
    """Dice coefficient (F1) of one mask pair."""
    return dice_from_counts(confusion(pred, truth))


def pixel_accuracy(pred: ArrayLike, truth: ArrayLike) -> float:
    """Fraction of correctly labelled pixels of one mask pair."""
    return accuracy_from_counts(confusion(pred, truth))


def sensitivity(pred: ArrayLike, truth: ArrayLike) -> float:
    """Recall of lesion pixels of one mask pair."""
    return sensitivity_from_counts(confusion(pred, truth))


def specificity(pred: ArrayLike, truth: ArrayLike) -> float:
    """Recall of background pixels of one mask pair."""
    return specificity_from_counts(confusion(pred, truth))


def precision(pred: ArrayLike, truth: ArrayLike) -> float:
    """Positive predictive value of one mask pair."""
    return precision_from_counts(confusion(pred, truth))


def threshold_jaccard(values: ArrayLike, threshold: float = ISIC_JACCARD_THRESHOLD) -> NDArray[np.float64]:
    """ISIC 2018 thresholded Jaccard: per-image values below ``threshold`` become 0.

    Args:
        values: Per-image Jaccard indices, shape ``(N,)``.
        threshold: Values ``>= threshold`` are kept. Default 0.65.

    Returns:
        ``(N,)`` float64 array; its mean is the ISIC ranking score.
    """
    arr = np.asarray(values, dtype=np.float64)
    return np.where(arr >= threshold, arr, 0.0)


# --- scoring a set of images ---------------------------------------------------------------

METRIC_COLUMNS = (
    "jaccard",
    "threshold_jaccard",
    "dice",
    "accuracy",
    "sensitivity",
    "specificity",
    "precision",
)


@dataclass(frozen=True)
class SegmentationScores:
    """Per-image metrics and their macro averages.

    Attributes:
        per_image: One row per image id (index ``image_id``): ``tp, fp, fn, tn`` and the
            :data:`METRIC_COLUMNS`.
        jaccard, threshold_jaccard, dice, accuracy, sensitivity, specificity, precision:
            Means over images (``threshold_jaccard`` is the ISIC 2018 ranking score).
    """

    per_image: pd.DataFrame
    jaccard: float
    threshold_jaccard: float
    dice: float
    accuracy: float
    sensitivity: float
    specificity: float
    precision: float

    def means(self) -> dict[str, float]:
        """The macro averages as a plain dict, in :data:`METRIC_COLUMNS` order."""
        return {name: getattr(self, name) for name in METRIC_COLUMNS}


def score_masks(
    preds: Sequence[ArrayLike], truths: Sequence[ArrayLike], image_ids: Sequence[str]
) -> SegmentationScores:
    """Score predicted masks against ground truth the way the ISIC scorer does.

    Args:
        preds: ``N`` predicted masks ``(H_i, W_i)``, bool or uint8 0-255.
        truths: ``N`` ground-truth masks, each the shape of its prediction.
        image_ids: ``N`` unique image ids (row labels).

    Returns:
        :class:`SegmentationScores`.

    Raises:
        ValueError: Different lengths, no images, duplicate ids, or a mask pair whose
            shapes differ (the image id is named).
    """
    n = len(image_ids)
    if not (len(preds) == len(truths) == n):
        raise ValueError(
            f"preds, truths and image_ids must have the same length; got {len(preds)}, {len(truths)} and {n}"
        )
    if n == 0:
        raise ValueError("no images to score")
    duplicates = sorted(i for i, count in Counter(image_ids).items() if count > 1)
    if duplicates:
        raise ValueError(f"image ids must be unique; repeated: {', '.join(duplicates)}")
    rows = []
    for image_id, pred, truth in zip(image_ids, preds, truths, strict=True):
        p, t = np.asarray(pred), np.asarray(truth)
        if p.shape != t.shape:
            raise ValueError(f"{image_id}: prediction has shape {p.shape}; expected {t.shape}")
        c = confusion(p, t)
        j = jaccard_from_counts(c)
        rows.append(
            {
                "image_id": image_id,
                **c._asdict(),
                "jaccard": j,
                "threshold_jaccard": float(threshold_jaccard([j])[0]),
                "dice": dice_from_counts(c),
                "accuracy": accuracy_from_counts(c),
                "sensitivity": sensitivity_from_counts(c),
                "specificity": specificity_from_counts(c),
                "precision": precision_from_counts(c),
            }
        )
    per_image = pd.DataFrame(rows).set_index("image_id")
    means = per_image[list(METRIC_COLUMNS)].mean(axis="index")
    return SegmentationScores(per_image=per_image, **{k: float(means[k]) for k in METRIC_COLUMNS})
