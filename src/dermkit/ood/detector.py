"""A run's out-of-distribution detector: scores fitted on the training side, thresholds on validation.

The **primary** score (what :meth:`OODDetector.score`, :meth:`~OODDetector.flag` and
:attr:`~OODDetector.threshold` use, and what the pipeline reports) is the k-NN cosine distance of
:class:`~dermkit.ood.scores.KNNCosine` on the classifier's features (the input of its last linear
layer, :func:`dermkit.models.features.logits_and_features`). The Mahalanobis and energy scores
(:mod:`dermkit.ood.scores`) stay as secondary scores with their own thresholds. On short HAM10000
runs the Mahalanobis score ranks non-dermoscopic photographs as unusual at or below chance and energy
is near chance; the k-NN score does better, though not reliably (``benchmarks/RESULTS.md``).

Threshold rule, the same for every score: the ``quantile`` (default 0.95) of the *validation*
scores, taken as the smallest validation score with at least that share of validation scores at
or below it (``np.quantile(..., method="inverted_cdf")``); an image is flagged out of distribution
when its score is strictly above. So at most 5 % of validation images are flagged.

Fitting uses scikit-learn (imported only there); scoring a fitted detector is numpy only, for the
torch-free runtime. Stored by :mod:`dermkit.ood.storage`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dermkit.errors import DataError
from dermkit.ood.scores import (
    BANK_DTYPE,
    KNN_K,
    MAX_BANK,
    MAX_COMPONENTS,
    KNNCosine,
    Mahalanobis,
    energy_score,
    fit_knn,
    fit_mahalanobis,
)

#: Share of validation images kept in distribution by the thresholds.
VAL_QUANTILE = 0.95


def validation_threshold(val_scores: np.ndarray, quantile: float) -> float:
    """The smallest validation score with at least ``quantile`` of the scores at or below it."""
    return float(np.quantile(np.asarray(val_scores, dtype=np.float64), quantile, method="inverted_cdf"))


@dataclass(frozen=True, eq=False)
class OODDetector:
    """The k-NN cosine score (primary) with the Mahalanobis and energy scores (secondary), each thresholded.

    Attributes:
        knn: the primary score (bank of training features, k).
        mahalanobis: the secondary Mahalanobis score.
        classes: names of ``mahalanobis.class_means`` rows (classes with training images).
        threshold: k-NN threshold (flag when above).
        mahalanobis_threshold: Mahalanobis threshold.
        energy_threshold: energy threshold, or None when no validation logits were given.
        quantile: share of validation images kept in distribution by the thresholds.
        train_images / val_images: images fitted on / thresholded on.
        val_flagged / val_mahalanobis_flagged / val_energy_flagged: validation shares above each threshold.
    """

    knn: KNNCosine
    mahalanobis: Mahalanobis
    classes: tuple[str, ...]
    threshold: float
    mahalanobis_threshold: float
    energy_threshold: float | None
    quantile: float
    train_images: int
    val_images: int
    val_flagged: float
    val_mahalanobis_flagged: float
    val_energy_flagged: float | None

    @property
    def feature_dim(self) -> int:
        return self.knn.feature_dim

    @property
    def method(self) -> str:
        """What the primary score is, in words (the pipeline's result names it)."""
        return f"knn-cosine (k={self.knn.k}) on the classifier's features"

    def score(self, features: np.ndarray) -> np.ndarray:
        """(N,) primary score of (N, D) features: k-NN cosine distance (higher = more unusual)."""
        return self.knn.score(features)

    def flag(self, score: np.ndarray) -> np.ndarray:
        """(N,) bool: primary scores above the validation threshold (out of distribution)."""
        return np.asarray(score) > self.threshold

    def mahalanobis_score(self, features: np.ndarray) -> np.ndarray:
        """(N,) secondary Mahalanobis score of (N, D) features."""
        return self.mahalanobis.score(features)

    def flag_mahalanobis(self, score: np.ndarray) -> np.ndarray:
        """(N,) bool: Mahalanobis scores above their validation threshold."""
        return np.asarray(score) > self.mahalanobis_threshold

    def energy(self, logits: np.ndarray) -> np.ndarray:
        """(N,) energy score of (N, C) logits (:func:`~dermkit.ood.scores.energy_score`)."""
        return energy_score(logits)

    def flag_energy(self, energy: np.ndarray) -> np.ndarray:
        """(N,) bool: energy scores above the validation energy threshold."""
        if self.energy_threshold is None:
            raise ValueError("this detector was fitted without validation logits: it has no energy threshold")
        return np.asarray(energy) > self.energy_threshold

    def summary(self) -> dict[str, Any]:
        """The detector's numbers (what ``ood.json`` holds besides the file checks)."""
        m = self.mahalanobis
        return {
            "method": self.method,
            "score": "knn_cosine",
            "k": self.knn.k,
            "bank_images": int(self.knn.bank.shape[0]),
            "bank_dtype": np.dtype(BANK_DTYPE).name,
            "classes": list(self.classes),
            "feature_dim": self.feature_dim,
            "quantile": self.quantile,
            "rule": f"flag when the score is above the {self.quantile:g} quantile of the validation scores "
            "(inverted CDF: the smallest validation score with that share at or below it)",
            "threshold": self.threshold,
            "val_flagged": self.val_flagged,
            "mahalanobis": {
                "method": "mahalanobis_pca_ledoit_wolf",
                "components": int(m.components.shape[0]),
                "explained_variance": m.explained_variance,
                "shrinkage": m.shrinkage,
                "threshold": self.mahalanobis_threshold,
                "val_flagged": self.val_mahalanobis_flagged,
            },
            "energy_threshold": self.energy_threshold,
            "val_energy_flagged": self.val_energy_flagged,
            "train_images": self.train_images,
            "val_images": self.val_images,
        }


def _checked(name: str, x: np.ndarray, ndim: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != ndim:
        raise ValueError(f"fit_ood: {name} must be {ndim}-D; got shape {x.shape}")
    if not np.isfinite(x).all():
        raise DataError(f"fit_ood: {name} has non-finite values (a diverged model?); retrain or check the run")
    return x


def fit_ood(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    val_features: np.ndarray,
    val_logits: np.ndarray | None = None,
    classes: tuple[str, ...] | list[str] = (),
    quantile: float = VAL_QUANTILE,
    max_components: int = MAX_COMPONENTS,
    k: int = KNN_K,
    max_bank: int = MAX_BANK,
    seed: int = 0,
) -> OODDetector:
    """Fit the scores on training features/labels; thresholds from validation features (and logits).

    Args:
        train_features: (N, D) training-side features (eval mode, no augmentation).
        train_labels: (N,) their class indices.
        val_features: (M, D) validation-side features.
        val_logits: (M, C) validation logits for the energy threshold (None: no energy threshold).
        classes: class names by index (default ``"0"``, ``"1"``, ...).
        quantile: share of validation images kept in distribution.
        max_components: most principal components of the Mahalanobis score.
        k: the k-NN score's neighbour (capped at the bank's size).
        max_bank: most training images in the k-NN bank (a ``seed``-ed sample of them when more).
        seed: seed of that sample.

    Raises:
        DataError: fewer than 2 training images or no validation image, or non-finite features.
    """
    if not 0.5 <= quantile < 1.0:
        raise ValueError(f"fit_ood: quantile {quantile} must be in [0.5, 1)")
    x = _checked("train_features", train_features, 2)
    v = _checked("val_features", val_features, 2)
    y = np.asarray(train_labels).astype(int)
    if len(x) < 2 or len(v) < 1:
        raise DataError(
            f"fit_ood: needs at least 2 training and 1 validation image; got {len(x)} and {len(v)} "
            "(use a larger data set or split)"
        )
    if y.shape != (len(x),) or v.shape[1] != x.shape[1]:
        raise ValueError(f"fit_ood: shapes disagree: train {x.shape}, labels {y.shape}, val {v.shape}")
    mahalanobis, present = fit_mahalanobis(x, y, max_components)
    names = tuple(classes) if len(classes) else tuple(str(i) for i in range(int(present.max()) + 1))
    detector = OODDetector(
        knn=fit_knn(x, k=k, max_bank=max_bank, seed=seed),
        mahalanobis=mahalanobis,
        classes=tuple(names[int(c)] for c in present),
        threshold=0.0,
        mahalanobis_threshold=0.0,
        energy_threshold=None,
        quantile=float(quantile),
        train_images=len(x),
        val_images=len(v),
        val_flagged=0.0,
        val_mahalanobis_flagged=0.0,
        val_energy_flagged=None,
    )
    return with_thresholds(detector, v, val_logits)


def with_thresholds(detector: OODDetector, val_features: np.ndarray, val_logits: np.ndarray | None) -> OODDetector:
    """``detector`` with its thresholds (and validation flagged shares) set from validation data."""
    q = detector.quantile
    scores = detector.score(val_features)
    maha = detector.mahalanobis_score(val_features)
    threshold, maha_threshold = validation_threshold(scores, q), validation_threshold(maha, q)
    energy_threshold = energy_flagged = None
    if val_logits is not None:
        energy = energy_score(_checked("val_logits", val_logits, 2))
        if len(energy) != len(scores):
            raise ValueError(f"fit_ood: {len(energy)} validation logits for {len(scores)} validation features")
        energy_threshold = validation_threshold(energy, q)
        energy_flagged = float((energy > energy_threshold).mean())
    return replace(
        detector,
        threshold=threshold,
        mahalanobis_threshold=maha_threshold,
        energy_threshold=energy_threshold,
        val_images=len(scores),
        val_flagged=float((scores > threshold).mean()),
        val_mahalanobis_flagged=float((maha > maha_threshold).mean()),
        val_energy_flagged=energy_flagged,
    )
