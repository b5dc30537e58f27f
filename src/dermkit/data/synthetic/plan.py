"""The plan of a synthetic data set, drawn before any pixel.

Images per class (:func:`class_image_counts`), lesions and their number of views, the class whose
style draws each lesion (look-alikes) and its patient metadata. Every lesion has its own seed
streams, so the plan and the images do not depend on the order lesions are rendered in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dermkit.data.records import HAM10000_CLASSES
from dermkit.data.synthetic.classes import LOOKALIKES, SyntheticArgumentError
from dermkit.data.synthetic.metadata import sample_metadata

#: Images per class in HAM10000 (10,015 images), the "ham10000" class mix.
HAM10000_COUNTS: dict[str, int] = {
    "akiec": 327,
    "bcc": 514,
    "bkl": 1099,
    "df": 115,
    "mel": 1113,
    "nv": 6705,
    "vasc": 142,
}

BALANCES: tuple[str, ...] = ("ham10000", "balanced")


@dataclass(frozen=True)
class PlannedLesion:
    """One lesion of the plan: its class, look, views and patient, before any pixel is drawn."""

    index: int  # 0-based, also the seed stream of the lesion
    label: str
    appearance: str  # the class whose style draws it: ``label`` unless it is a look-alike
    n_images: int
    first_image: int  # 1-based number of its first image
    age: float
    sex: str
    site: str

    @property
    def lesion_id(self) -> str:
        return f"SYNL_{self.index + 1:07d}"

    def image_ids(self) -> list[str]:
        return [f"SYN_{self.first_image + k:07d}" for k in range(self.n_images)]


def class_image_counts(n: int, balance: str) -> dict[str, int]:
    """Images per class for ``n`` images under ``balance`` ("ham10000" or "balanced").

    "balanced" splits ``n`` equally (counts differ by at most 1). "ham10000" follows the real
    prevalence (largest remainders), but every class gets at least 2 images when ``n >= 14``
    (taken from the largest class) so that every class can be split and evaluated.
    """
    if balance not in BALANCES:
        raise SyntheticArgumentError(f"unknown balance {balance!r}; expected one of {', '.join(BALANCES)}")
    k = len(HAM10000_CLASSES)
    if balance == "balanced":
        return {c: n // k + (1 if i < n % k else 0) for i, c in enumerate(HAM10000_CLASSES)}
    prior = np.array([HAM10000_COUNTS[c] for c in HAM10000_CLASSES], np.float64)
    exact = prior / prior.sum() * n
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    if n >= 2 * k:
        for i in range(k):
            short = 2 - counts[i]
            if short > 0:
                counts[i] += short
                counts[int(np.argmax(counts))] -= short
    return dict(zip(HAM10000_CLASSES, (int(c) for c in counts), strict=True))


def _appearance(rng: np.random.Generator, label: str, lookalike: float) -> str:
    """The class whose style draws a lesion of class ``label``: a look-alike with prob. ``lookalike``."""
    if rng.random() < lookalike:
        options = LOOKALIKES[label]
        return options[int(rng.integers(len(options)))]
    return label


def plan_lesions(
    n: int, seed: int, balance: str, images_per_lesion: float, lookalike: float = 0.0
) -> list[PlannedLesion]:
    """Classes, lesions, images per lesion, appearance and patient metadata for the whole data set."""
    rng = np.random.default_rng([seed, 0])
    groups: list[tuple[str, int]] = []
    for label, count in class_image_counts(n, balance).items():
        if count == 0:
            continue
        lesions = int(np.clip(round(count / images_per_lesion), min(count, 2), count))
        sizes = np.ones(lesions, int) + np.bincount(rng.integers(0, lesions, count - lesions), minlength=lesions)
        groups += [(label, int(s)) for s in sizes]
    order = rng.permutation(len(groups))
    plan, first = [], 1
    for index, g in enumerate(order):
        label, n_images = groups[g]
        age, sex, site = sample_metadata(np.random.default_rng([seed, 1, index]), label)
        looks = _appearance(np.random.default_rng([seed, 4, index]), label, lookalike)
        plan.append(PlannedLesion(index, label, looks, n_images, first, age, sex, site))
        first += n_images
    return plan
