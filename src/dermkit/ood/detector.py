"""Out-of-distribution scores on classifier features, fitted on the training side, thresholded on validation.

Two scores, higher = more unusual:

* **Mahalanobis** (Lee et al. 2018): features (the input of the classifier's last linear layer,
  :func:`dermkit.models.features.logits_and_features`) are projected on their first
  ``<= 64`` principal components (fitted on training features, so the stored detector is
  small), then scored by the smallest Mahalanobis distance to a class mean, with one covariance
  shared by all classes (within-class scatter, Ledoit-Wolf shrunk: stable with few images).
* **Energy** (Liu et al. 2020): ``-logsumexp(logits)``.

Threshold rule, the same for both: the ``quantile`` (default 0.95) of the *validation* scores,
taken as the smallest validation score with at least that share of validation scores at or
below it (``np.quantile(..., method="inverted_cdf")``); an image is flagged out of distribution
when its score is strictly above. So at most 5 % of validation images are flagged.

Fitting uses scikit-learn (imported only there); scoring a fitted detector is numpy only, for the
torch-free runtime. Stored by :mod:`dermkit.ood.storage`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from dermkit.errors import DataError

#: Most principal components kept (fewer when the features or the training images are fewer).
MAX_COMPONENTS = 64
#: Share of validation images kept in distribution by the thresholds.
VAL_QUANTILE = 0.95
#: Relative singular value below which a principal direction is dropped (no variance there).
RANK_TOLERANCE = 1e-6


def energy_score(logits: np.ndarray) -> np.ndarray:
    """(N,) ``-logsumexp`` of (N, C) logits: higher = lower total evidence = more unusual."""
    z = np.asarray(logits, dtype=np.float64)
    m = z.max(1, keepdims=True)
    return -(m[:, 0] + np.log(np.exp(z - m).sum(1)))


def validation_threshold(val_scores: np.ndarray, quantile: float) -> float:
    """The smallest validation score with at least ``quantile`` of the scores at or below it."""
    return float(np.quantile(np.asarray(val_scores, dtype=np.float64), quantile, method="inverted_cdf"))


@dataclass(frozen=True, eq=False)
class OODDetector:
    """A frozen Mahalanobis-on-PCA detector plus the energy threshold (module doc).

    Attributes:
        mean: (D,) training feature mean.
        components: (k, D) principal directions (rows, orthonormal).
        class_means: (K, k) class means in the projected space (classes with training images).
        precision: (k, k) inverse of the shrunk shared covariance.
        classes: names of the ``class_means`` rows.
        threshold: Mahalanobis threshold (flag when above).
        energy_threshold: energy threshold, or None when no validation logits were given.
        quantile: share of validation images kept in distribution by the thresholds.
        shrinkage: Ledoit-Wolf shrinkage of the covariance.
        explained_variance: share of the training features' variance the components keep.
        train_images / val_images: images fitted on / thresholded on.
        val_flagged / val_energy_flagged: share of validation images above each threshold.
    """

    mean: np.ndarray
    components: np.ndarray
    class_means: np.ndarray
    precision: np.ndarray
    classes: tuple[str, ...]
    threshold: float
    energy_threshold: float | None
    quantile: float
    shrinkage: float
    explained_variance: float
    train_images: int
    val_images: int
    val_flagged: float
    val_energy_flagged: float | None

    @property
    def feature_dim(self) -> int:
        return int(self.mean.shape[0])

    def project(self, features: np.ndarray) -> np.ndarray:
        """(N, k) principal-component coordinates of (N, D) features."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.feature_dim:
            raise ValueError(f"expected features of shape (N, {self.feature_dim}); got {x.shape}")
        return (x - self.mean) @ self.components.T

    def distances(self, features: np.ndarray) -> np.ndarray:
        """(N, K) Mahalanobis distance of each image to each class mean."""
        diff = self.project(features)[:, None, :] - self.class_means[None]  # (N, K, k)
        d2 = np.einsum("nki,ij,nkj->nk", diff, self.precision, diff)
        return np.sqrt(np.maximum(d2, 0.0))

    def score(self, features: np.ndarray) -> np.ndarray:
        """(N,) Mahalanobis score: the distance to the nearest class mean (higher = more unusual)."""
        return self.distances(features).min(1)

    def flag(self, score: np.ndarray) -> np.ndarray:
        """(N,) bool: Mahalanobis scores above the validation threshold (out of distribution)."""
        return np.asarray(score) > self.threshold

    def energy(self, logits: np.ndarray) -> np.ndarray:
        """(N,) energy score of (N, C) logits (:func:`energy_score`)."""
        return energy_score(logits)

    def flag_energy(self, energy: np.ndarray) -> np.ndarray:
        """(N,) bool: energy scores above the validation energy threshold."""
        if self.energy_threshold is None:
            raise ValueError("this detector was fitted without validation logits: it has no energy threshold")
        return np.asarray(energy) > self.energy_threshold

    def save(self, run_dir: Path) -> Path:
        """Write ``RUN/ood.npz`` and ``RUN/ood.json`` (:func:`dermkit.ood.storage.save_ood`)."""
        from dermkit.ood.storage import save_ood  # storage builds detectors: imported here, not at the top

        return save_ood(self, run_dir)

    def summary(self) -> dict[str, Any]:
        """The detector's numbers (what ``ood.json`` holds besides the file checks)."""
        return {
            "method": "mahalanobis_pca_ledoit_wolf",
            "classes": list(self.classes),
            "feature_dim": self.feature_dim,
            "components": int(self.components.shape[0]),
            "explained_variance": self.explained_variance,
            "shrinkage": self.shrinkage,
            "quantile": self.quantile,
            "rule": f"flag when the score is above the {self.quantile:g} quantile of the validation scores "
            "(inverted CDF: the smallest validation score with that share at or below it)",
            "threshold": self.threshold,
            "energy_threshold": self.energy_threshold,
            "train_images": self.train_images,
            "val_images": self.val_images,
            "val_flagged": self.val_flagged,
            "val_energy_flagged": self.val_energy_flagged,
        }


def _checked(name: str, x: np.ndarray, ndim: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != ndim:
        raise ValueError(f"fit_ood: {name} must be {ndim}-D; got shape {x.shape}")
    if not np.isfinite(x).all():
        raise DataError(f"fit_ood: {name} has non-finite values (a diverged model?); retrain or check the run")
    return x


def fit_pca(features: np.ndarray, max_components: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean (D,), components (k, D), explained share) of the training features."""
    mean = features.mean(0)
    _, s, vt = np.linalg.svd(features - mean, full_matrices=False)
    rank = int((s > RANK_TOLERANCE * max(s[0], 1e-300)).sum()) if len(s) else 0
    k = max(1, min(max_components, rank))
    var = s**2
    explained = float(var[:k].sum() / var.sum()) if var.sum() > 0 else 1.0
    return mean, vt[:k], explained


def fit_ood(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    val_features: np.ndarray,
    val_logits: np.ndarray | None = None,
    classes: tuple[str, ...] | list[str] = (),
    quantile: float = VAL_QUANTILE,
    max_components: int = MAX_COMPONENTS,
) -> OODDetector:
    """Fit the detector on training features/labels; thresholds from validation features (and logits).

    Args:
        train_features: (N, D) training-side features (eval mode, no augmentation).
        train_labels: (N,) their class indices.
        val_features: (M, D) validation-side features.
        val_logits: (M, C) validation logits for the energy threshold (None: no energy threshold).
        classes: class names by index (default ``"0"``, ``"1"``, ...).
        quantile: share of validation images kept in distribution.
        max_components: most principal components kept.

    Raises:
        DataError: fewer than 2 training images or no validation image, or non-finite features.
    """
    from sklearn.covariance import LedoitWolf  # fitting only: scoring stays numpy

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
    mean, components, explained = fit_pca(x, max_components)
    z = (x - mean) @ components.T
    present = np.unique(y)
    class_means = np.stack([z[y == c].mean(0) for c in present])
    residuals = z - class_means[np.searchsorted(present, y)]
    lw = LedoitWolf(assume_centered=True).fit(residuals)
    names = tuple(classes) if len(classes) else tuple(str(i) for i in range(int(present.max()) + 1))
    detector = OODDetector(
        mean=mean,
        components=components,
        class_means=class_means,
        precision=np.asarray(lw.precision_, dtype=np.float64),
        classes=tuple(names[int(c)] for c in present),
        threshold=0.0,
        energy_threshold=None,
        quantile=float(quantile),
        shrinkage=float(lw.shrinkage_),
        explained_variance=explained,
        train_images=len(x),
        val_images=len(v),
        val_flagged=0.0,
        val_energy_flagged=None,
    )
    return with_thresholds(detector, v, val_logits)


def with_thresholds(detector: OODDetector, val_features: np.ndarray, val_logits: np.ndarray | None) -> OODDetector:
    """``detector`` with its thresholds (and validation flagged shares) set from validation data."""
    scores = detector.score(val_features)
    threshold = validation_threshold(scores, detector.quantile)
    energy_threshold = energy_flagged = None
    if val_logits is not None:
        energy = energy_score(_checked("val_logits", val_logits, 2))
        if len(energy) != len(scores):
            raise ValueError(f"fit_ood: {len(energy)} validation logits for {len(scores)} validation features")
        energy_threshold = validation_threshold(energy, detector.quantile)
        energy_flagged = float((energy > energy_threshold).mean())
    return replace(
        detector,
        threshold=threshold,
        energy_threshold=energy_threshold,
        val_images=len(scores),
        val_flagged=float((scores > threshold).mean()),
        val_energy_flagged=energy_flagged,
    )
