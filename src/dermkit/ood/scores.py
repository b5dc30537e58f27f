"""Out-of-distribution scores on a classifier's features (higher = more unusual), numpy only at scoring.

* :class:`KNNCosine` (Sun et al. 2022, "Out-of-distribution detection with deep nearest
  neighbors", ICML): the cosine distance ``1 - cos`` from an image's L2-normalised features to
  its ``k``-th nearest neighbour in a stored bank of L2-normalised training features. No
  distributional assumption; the normalisation is what makes it work (the paper's ablation): it
  scores where a feature vector points, not how long it is or where it falls in the leading
  principal directions (on a 1-epoch HAM10000 run it separates non-dermoscopic photographs, AUROC
  0.93, where Mahalanobis is below chance; on a 3-epoch run only 0.63: ``benchmarks/RESULTS.md``).
* :class:`Mahalanobis` (Lee et al. 2018): the features projected on their first ``<= 64``
  principal components, scored by the smallest Mahalanobis distance to a class mean with one
  covariance shared by all classes (within-class scatter, Ledoit-Wolf shrunk).
* :func:`energy_score` (Liu et al. 2020): ``-logsumexp(logits)``.

Fitting the Mahalanobis score uses scikit-learn (imported only there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Neighbour whose distance is the k-NN score. Fixed from the paper, not tuned on any OOD set: Sun et
#: al. use k=10 with a 1 % sample (~12.8k images) of ImageNet's training set as the bank; the banks
#: here are at most 2000 images of 7 classes.
KNN_K = 10
#: Most training images in the k-NN bank (a seeded sample when more are given).
MAX_BANK = 2000
#: How the bank is stored (half precision: cosines change by ~1e-3 at most; thresholds are set on the stored bank).
BANK_DTYPE = np.float16
#: Most principal components the Mahalanobis score keeps (fewer when the features or the images are fewer).
MAX_COMPONENTS = 64
#: Relative singular value below which a principal direction is dropped (no variance there).
RANK_TOLERANCE = 1e-6
#: Norm below which a feature vector counts as zero (it is left at zero: cosine 0 to every bank row).
ZERO_NORM = 1e-12
#: Queries scored against the bank at once (bounds the (queries, bank) similarity matrix).
CHUNK = 1024


def energy_score(logits: np.ndarray) -> np.ndarray:
    """(N,) ``-logsumexp`` of (N, C) logits: higher = lower total evidence = more unusual."""
    z = np.asarray(logits, dtype=np.float64)
    m = z.max(1, keepdims=True)
    return -(m[:, 0] + np.log(np.exp(z - m).sum(1)))


def l2_normalised(features: np.ndarray) -> np.ndarray:
    """(N, D) rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(features, dtype=np.float64)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norm, ZERO_NORM)


def _checked_features(features: np.ndarray, dim: int) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"expected features of shape (N, {dim}); got {x.shape}")
    return x


@dataclass(frozen=True, eq=False)
class KNNCosine:
    """k-th nearest-neighbour cosine distance to a bank of training features (module doc).

    Attributes:
        bank: (n, D) L2-normalised training features, rounded to :data:`BANK_DTYPE` (held as float64).
        k: the neighbour whose distance is the score (1 <= k <= n).
    """

    bank: np.ndarray
    k: int
    _unit: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.bank.ndim != 2 or not 1 <= self.k <= len(self.bank):
            raise ValueError(f"k-NN bank of shape {self.bank.shape} with k={self.k}: needs 1 <= k <= bank rows")
        object.__setattr__(self, "_unit", l2_normalised(self.bank))  # the stored rows, exactly unit length

    @property
    def feature_dim(self) -> int:
        return int(self.bank.shape[1])

    def score(self, features: np.ndarray) -> np.ndarray:
        """(N,) ``1 - cos`` to the ``k``-th most similar bank row (the rows' stored, rounded values)."""
        q = l2_normalised(_checked_features(features, self.feature_dim))
        out = np.empty(len(q))
        for start in range(0, len(q), CHUNK):
            sims = q[start : start + CHUNK] @ self._unit.T  # (chunk, n)
            kth = -np.partition(-sims, self.k - 1, axis=1)[:, self.k - 1]  # k-th largest similarity
            out[start : start + CHUNK] = 1.0 - kth
        return out


def fit_knn(train_features: np.ndarray, k: int = KNN_K, max_bank: int = MAX_BANK, seed: int = 0) -> KNNCosine:
    """The bank from (N, D) training features: all of them, or a seeded ``max_bank`` (sorted rows);
    ``k`` is capped at the bank's size."""
    if k < 1 or max_bank < 1:
        raise ValueError(f"fit_knn: k ({k}) and max_bank ({max_bank}) must be at least 1")
    x = np.asarray(train_features, dtype=np.float64)
    if len(x) > max_bank:
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), max_bank, replace=False))]
    bank = l2_normalised(x).astype(BANK_DTYPE).astype(np.float64)
    return KNNCosine(bank=bank, k=min(int(k), len(bank)))


@dataclass(frozen=True, eq=False)
class Mahalanobis:
    """Mahalanobis distance to the nearest class mean on principal components (module doc).

    Attributes:
        mean: (D,) training feature mean.
        components: (c, D) principal directions (rows, orthonormal).
        class_means: (K, c) class means in the projected space (classes with training images).
        precision: (c, c) inverse of the shrunk shared covariance.
        shrinkage: Ledoit-Wolf shrinkage of the covariance.
        explained_variance: share of the training features' variance the components keep.
    """

    mean: np.ndarray
    components: np.ndarray
    class_means: np.ndarray
    precision: np.ndarray
    shrinkage: float
    explained_variance: float

    @property
    def feature_dim(self) -> int:
        return int(self.mean.shape[0])

    def project(self, features: np.ndarray) -> np.ndarray:
        """(N, c) principal-component coordinates of (N, D) features."""
        return (_checked_features(features, self.feature_dim) - self.mean) @ self.components.T

    def distances(self, features: np.ndarray) -> np.ndarray:
        """(N, K) Mahalanobis distance of each image to each class mean."""
        diff = self.project(features)[:, None, :] - self.class_means[None]  # (N, K, c)
        d2 = np.einsum("nki,ij,nkj->nk", diff, self.precision, diff)
        return np.sqrt(np.maximum(d2, 0.0))

    def score(self, features: np.ndarray) -> np.ndarray:
        """(N,) the distance to the nearest class mean."""
        return self.distances(features).min(1)


def fit_pca(features: np.ndarray, max_components: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean (D,), components (c, D), explained share) of the training features."""
    mean = features.mean(0)
    _, s, vt = np.linalg.svd(features - mean, full_matrices=False)
    rank = int((s > RANK_TOLERANCE * max(s[0], 1e-300)).sum()) if len(s) else 0
    c = max(1, min(max_components, rank))
    var = s**2
    explained = float(var[:c].sum() / var.sum()) if var.sum() > 0 else 1.0
    return mean, vt[:c], explained


def fit_mahalanobis(
    train_features: np.ndarray, train_labels: np.ndarray, max_components: int = MAX_COMPONENTS
) -> tuple[Mahalanobis, np.ndarray]:
    """The score fitted on (N, D) features and (N,) class indices, and the class indices it has means of."""
    from sklearn.covariance import LedoitWolf  # fitting only: scoring stays numpy

    x, y = np.asarray(train_features, dtype=np.float64), np.asarray(train_labels).astype(int)
    mean, components, explained = fit_pca(x, max_components)
    z = (x - mean) @ components.T
    present = np.unique(y)
    class_means = np.stack([z[y == c].mean(0) for c in present])
    residuals = z - class_means[np.searchsorted(present, y)]
    lw = LedoitWolf(assume_centered=True).fit(residuals)
    score = Mahalanobis(
        mean=mean,
        components=components,
        class_means=class_means,
        precision=np.asarray(lw.precision_, dtype=np.float64),
        shrinkage=float(lw.shrinkage_),
        explained_variance=explained,
    )
    return score, present
