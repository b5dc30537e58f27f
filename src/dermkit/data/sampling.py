"""Class imbalance: class weights, per-class over-sampling and sampler weights.

Everything here is computed from the training side only (callers pass training labels): weights
or copies computed over the whole data set would let the test distribution shape training.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from dermkit.errors import ConfigError

#: S2's per-class duplication factors (nv untouched), a published recipe.
S2_OVERSAMPLING: dict[str, int] = {"mel": 4, "bkl": 4, "bcc": 11, "akiec": 17, "vasc": 45, "df": 52, "nv": 1}

WEIGHT_SCHEMES = ("balanced", "inverse", "none")


def class_counts(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(C,) images per class from (N,) integer labels."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}), got range [{labels.min()}, {labels.max()}]")
    return np.bincount(labels, minlength=num_classes).astype(np.int64)


def class_weights(labels: np.ndarray, num_classes: int, scheme: str = "balanced") -> np.ndarray:
    """Per-class loss weights from training labels.

    Schemes:
        ``balanced``: S4's W_c = N / (C * N_c) (scikit-learn's "balanced"; mean weight per sample is 1).
        ``inverse``: W_c = 1 / N_c, normalised to sum to 1 over classes (plain inverse frequency).
        ``none``: all ones.
    A class absent from training gets weight 0 (there is nothing to weigh).
    """
    counts = class_counts(labels, num_classes).astype(float)
    present = counts > 0
    weights = np.zeros(num_classes)
    if scheme == "balanced":
        weights[present] = counts.sum() / (num_classes * counts[present])
    elif scheme == "inverse":
        weights[present] = 1.0 / counts[present]
        weights /= weights.sum()
    elif scheme == "none":
        weights[:] = 1.0
    else:
        raise ConfigError(f"unknown class-weight scheme {scheme!r}; choose one of {WEIGHT_SCHEMES}")
    return weights


def oversample_indices(
    labels: np.ndarray, classes: tuple[str, ...], factors: Mapping[str, int], seed: int = 0
) -> np.ndarray:
    """Training indices with every image of class c repeated ``factors[c]`` times (S1/S2).

    Classes missing from ``factors`` keep factor 1. The result is shuffled deterministically.
    """
    unknown = sorted(set(factors) - set(classes))
    if unknown:
        raise ConfigError(f"over-sampling factors name unknown classes {unknown}; classes are {list(classes)}")
    bad = {c: f for c, f in factors.items() if int(f) != f or f < 1}
    if bad:
        raise ConfigError(f"over-sampling factors must be whole numbers >= 1, got {bad}")
    labels = np.asarray(labels)
    reps = np.array([int(factors.get(classes[lab], 1)) for lab in labels], dtype=np.int64)
    out = np.repeat(np.arange(len(labels)), reps)
    np.random.default_rng(seed).shuffle(out)
    return out


def balancing_factors(labels: np.ndarray, classes: tuple[str, ...], target: str = "max") -> dict[str, int]:
    """Whole-number factors bringing every class near the largest class count ("random over-sampling")."""
    counts = class_counts(labels, len(classes))
    top = counts.max() if target == "max" else int(np.median(counts[counts > 0]))
    return {c: max(1, int(round(top / n))) for c, n in zip(classes, counts, strict=True) if n > 0}


def sampler_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-sample weights for a WeightedRandomSampler that draws classes equally often."""
    w = class_weights(labels, num_classes, "balanced")
    return w[np.asarray(labels)]
