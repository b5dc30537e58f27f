"""The malignant-vs-benign operating point: a threshold on p(mel) + p(bcc) + p(akiec), fitted on validation.

The malignant probability is the sum of the *calibrated* probabilities of :data:`MALIGNANT_CLASSES`
present in the classifier. :func:`fit_operating_point` chooses the threshold on the validation
side and records what it achieved there, so a flag can state its validated sensitivity and
specificity instead of an unvalidated 0.5:

* ``sensitivity_target`` (default): the **largest** threshold whose validation sensitivity is at
  least ``target`` (0.90): the ``ceil(target * P)``-th largest malignant score of the P malignant
  validation images. Used when P >= :data:`MIN_MALIGNANT_FOR_TARGET` (with fewer, one image moves
  the sensitivity by more than 5 points and the target is not a meaningful constraint).
* ``youden``: with fewer malignant images, the threshold maximising Youden's J = sensitivity +
  specificity - 1 over the validation scores (the largest such threshold on ties).

An image is flagged malignant when its probability is ``>= threshold``. The 95 % intervals are
Wilson score intervals of the validation counts. Numpy only: applied in the torch-free runtime.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

#: Classes whose calibrated probabilities add up to the malignant probability (HAM10000 names).
MALIGNANT_CLASSES: tuple[str, ...] = ("mel", "bcc", "akiec")
#: The default validation sensitivity the threshold must reach.
TARGET_SENSITIVITY = 0.90
#: Malignant validation images needed for the sensitivity-target rule; below it, Youden's J.
MIN_MALIGNANT_FOR_TARGET = 20
#: z of a two-sided 95 % interval.
Z95 = 1.959963984540054

Rule = Literal["sensitivity_target", "youden"]


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / trials`` ((0, 1) when ``trials`` is 0)."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)  # exact ends (no 1e-17 rounding)
    hi = 1.0 if successes >= trials else min(1.0, centre + half)
    return lo, hi


def malignant_classes_of(classes: Sequence[str]) -> tuple[str, ...]:
    """The :data:`MALIGNANT_CLASSES` a classifier with ``classes`` has, in that order."""
    return tuple(c for c in MALIGNANT_CLASSES if c in classes)


def malignant_probability(classes: Sequence[str], proba: np.ndarray) -> np.ndarray | None:
    """(N,) summed probability of the malignant classes of (N, C) ``proba`` (clipped to 1); None without any."""
    present = malignant_classes_of(classes)
    if not present:
        return None
    columns = [list(classes).index(c) for c in present]
    return np.minimum(1.0, np.asarray(proba, dtype=np.float64)[:, columns].sum(1))


@dataclass(frozen=True)
class OperatingPoint:
    """A validation-fitted malignant threshold and what it achieved on validation.

    Attributes:
        threshold: flagged malignant when the malignant probability is ``>=`` it.
        rule: ``sensitivity_target`` or ``youden`` (module doc).
        target_sensitivity: the target of ``sensitivity_target`` (None for ``youden``).
        classes: the malignant classes summed.
        true_positives / positives: malignant validation images flagged / all of them.
        true_negatives / negatives: benign validation images not flagged / all of them.
    """

    threshold: float
    rule: Rule
    target_sensitivity: float | None
    classes: tuple[str, ...]
    true_positives: int
    positives: int
    true_negatives: int
    negatives: int

    def __post_init__(self) -> None:
        if self.rule not in ("sensitivity_target", "youden"):
            raise ValueError(f"unknown operating-point rule {self.rule!r}")
        if not (0 <= self.true_positives <= self.positives and 0 <= self.true_negatives <= self.negatives):
            raise ValueError("operating-point counts out of range")
        if min(self.positives, self.negatives) < 1 or not math.isfinite(self.threshold):
            raise ValueError("operating point without malignant or benign validation images, or a bad threshold")

    @property
    def sensitivity(self) -> float:
        return self.true_positives / self.positives

    @property
    def specificity(self) -> float:
        return self.true_negatives / self.negatives

    @property
    def sensitivity_ci95(self) -> tuple[float, float]:
        return wilson_interval(self.true_positives, self.positives)

    @property
    def specificity_ci95(self) -> tuple[float, float]:
        return wilson_interval(self.true_negatives, self.negatives)

    def flag(self, probability: np.ndarray | float) -> np.ndarray:
        """Malignant flags (bool) of malignant probabilities."""
        return np.asarray(probability) >= self.threshold

    def describe(self) -> str:
        """One line for a result or report, e.g. ``validation sensitivity 0.91 [0.80, 0.96] (...)``."""
        rule = (
            f"largest threshold with validation sensitivity >= {self.target_sensitivity:.2f}"
            if self.rule == "sensitivity_target"
            else "Youden's J on validation (too few malignant images for a sensitivity target)"
        )
        (sl, sh), (pl, ph) = self.sensitivity_ci95, self.specificity_ci95
        return (
            f"{rule}: threshold {self.threshold:.4f}, validation sensitivity {self.sensitivity:.3f} "
            f"[{sl:.3f}, {sh:.3f}] ({self.true_positives}/{self.positives}), specificity "
            f"{self.specificity:.3f} [{pl:.3f}, {ph:.3f}] ({self.true_negatives}/{self.negatives})"
        )

    def to_json(self) -> dict[str, Any]:
        """JSON payload (the counts, and the rates and Wilson intervals derived from them)."""
        return {
            "threshold": self.threshold,
            "rule": self.rule,
            "target_sensitivity": self.target_sensitivity,
            "classes": list(self.classes),
            "true_positives": self.true_positives,
            "positives": self.positives,
            "true_negatives": self.true_negatives,
            "negatives": self.negatives,
            "sensitivity": self.sensitivity,
            "sensitivity_ci95": list(self.sensitivity_ci95),
            "specificity": self.specificity,
            "specificity_ci95": list(self.specificity_ci95),
            "fitted_on": "val",
        }

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> OperatingPoint:
        """Read :meth:`to_json`'s payload (derived rates are recomputed from the counts; checked on construction).

        Raises:
            ValueError: a missing or inconsistent field.
        """
        if not isinstance(payload, dict):
            raise ValueError(f"the malignant operating point must be an object, got {type(payload).__name__}")
        try:
            target = payload["target_sensitivity"]
            return cls(
                threshold=float(payload["threshold"]),
                rule=str(payload["rule"]),  # type: ignore[arg-type]
                target_sensitivity=None if target is None else float(target),
                classes=tuple(str(c) for c in payload["classes"]),
                true_positives=int(payload["true_positives"]),
                positives=int(payload["positives"]),
                true_negatives=int(payload["true_negatives"]),
                negatives=int(payload["negatives"]),
            )
        except KeyError as exc:
            raise ValueError(f"the malignant operating point lacks {exc}") from None


def threshold_for_sensitivity(positive_scores: np.ndarray, target: float) -> float:
    """The largest threshold t with ``mean(positive_scores >= t) >= target``."""
    scores = np.sort(np.asarray(positive_scores, dtype=np.float64))[::-1]
    k = max(1, math.ceil(target * len(scores) - 1e-9))  # images that must be flagged
    return float(scores[k - 1])


def youden_threshold(positive_scores: np.ndarray, negative_scores: np.ndarray) -> float:
    """The threshold (one of the scores) maximising sensitivity + specificity - 1; the largest on ties."""
    pos = np.sort(np.asarray(positive_scores, dtype=np.float64))
    neg = np.sort(np.asarray(negative_scores, dtype=np.float64))
    candidates = np.unique(np.r_[pos, neg])
    sensitivity = 1.0 - np.searchsorted(pos, candidates, side="left") / len(pos)  # share >= t
    specificity = np.searchsorted(neg, candidates, side="left") / len(neg)  # share < t
    j = sensitivity + specificity
    return float(candidates[np.flatnonzero(j >= j.max() - 1e-12)[-1]])


def fit_operating_point(
    classes: Sequence[str],
    labels: np.ndarray,
    proba: np.ndarray,
    target: float = TARGET_SENSITIVITY,
    min_malignant: int = MIN_MALIGNANT_FOR_TARGET,
) -> OperatingPoint | None:
    """The malignant operating point of calibrated validation ``proba`` (N, C) and ``labels`` (N,).

    None when the classifier has no malignant class or the validation side lacks malignant or
    benign images (nothing can be validated then).
    """
    if not 0.0 < target <= 1.0:
        raise ValueError(f"target sensitivity {target} must be in (0, 1]")
    score = malignant_probability(classes, proba)
    if score is None:
        return None
    present = malignant_classes_of(classes)
    malignant = np.isin(np.asarray(labels), [list(classes).index(c) for c in present])
    pos, neg = score[malignant], score[~malignant]
    if len(pos) == 0 or len(neg) == 0:
        return None
    if len(pos) >= min_malignant:
        rule: Rule = "sensitivity_target"
        threshold = threshold_for_sensitivity(pos, target)
    else:
        rule, threshold = "youden", youden_threshold(pos, neg)
    return OperatingPoint(
        threshold=threshold,
        rule=rule,
        target_sensitivity=float(target) if rule == "sensitivity_target" else None,
        classes=present,
        true_positives=int((pos >= threshold).sum()),
        positives=len(pos),
        true_negatives=int((neg < threshold).sum()),
        negatives=len(neg),
    )
