"""The synthetic classes: how each one looks and who has it, and which classes it resembles.

One :class:`ClassStyle` per HAM10000 class drives both the lesion's geometry (``scene``) and the
patient metadata (``metadata``), so changing a class here changes it everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from dermkit.data.records import HAM10000_CLASSES
from dermkit.errors import ConfigError


class SyntheticArgumentError(ConfigError, ValueError):
    """An invalid generator argument (a ValueError too, for plain-Python callers)."""


@dataclass(frozen=True)
class ClassStyle:
    """How one class looks and who has it. Ranges are (low, high) for uniform draws.

    ``radius`` is the mean lesion radius as a fraction of half the shorter image side,
    ``irregularity`` the total amplitude of the border's Fourier harmonics, ``softness`` the
    width of the border blend as a fraction of the radius (large = ill-defined border).
    """

    radius: tuple[float, float]
    irregularity: tuple[float, float]
    softness: tuple[float, float]
    aspect: tuple[float, float]
    age_mean: float
    male_prob: float
    sites: dict[str, float]


# Ages and sites from HAM10000 (mean age: akiec 67, bcc 66, bkl 65, mel 61, df 55, vasc 52, nv 46
# there; the spread below keeps every class overlapping every other, so metadata helps, not decides).
STYLES: dict[str, ClassStyle] = {
    "akiec": ClassStyle(
        (0.5, 0.85),
        (0.08, 0.18),
        (0.25, 0.45),
        (0.7, 1.0),
        67,
        0.62,
        {
            "face": 5,
            "upper extremity": 2.5,
            "neck": 1.2,
            "scalp": 1,
            "hand": 1,
            "back": 1,
            "chest": 0.6,
            "lower extremity": 0.8,
            "ear": 0.5,
            "trunk": 0.4,
        },
    ),
    "bcc": ClassStyle(
        (0.45, 0.8),
        (0.06, 0.16),
        (0.12, 0.25),
        (0.7, 1.0),
        66,
        0.6,
        {
            "face": 3,
            "back": 3,
            "neck": 1,
            "upper extremity": 1.5,
            "chest": 1.2,
            "trunk": 1,
            "lower extremity": 1,
            "scalp": 0.5,
            "ear": 0.4,
            "abdomen": 0.5,
        },
    ),
    "bkl": ClassStyle(
        (0.5, 0.85),
        (0.06, 0.16),
        (0.06, 0.14),
        (0.65, 1.0),
        64,
        0.53,
        {
            "face": 2.5,
            "back": 2.5,
            "trunk": 1.5,
            "upper extremity": 1.5,
            "lower extremity": 1.5,
            "chest": 1,
            "abdomen": 0.8,
            "neck": 0.6,
            "scalp": 0.5,
            "hand": 0.3,
        },
    ),
    "df": ClassStyle(
        (0.32, 0.55),
        (0.02, 0.07),
        (0.15, 0.28),
        (0.7, 1.0),
        52,
        0.45,
        {"lower extremity": 7, "upper extremity": 1.5, "trunk": 0.8, "back": 0.5, "abdomen": 0.3},
    ),
    "mel": ClassStyle(
        (0.6, 0.95),
        (0.1, 0.28),
        (0.06, 0.14),
        (0.6, 1.0),
        60,
        0.6,
        {
            "back": 3.5,
            "upper extremity": 2,
            "trunk": 1.5,
            "lower extremity": 2,
            "face": 1.5,
            "chest": 0.8,
            "abdomen": 0.8,
            "neck": 0.4,
            "scalp": 0.3,
            "foot": 0.3,
            "acral": 0.1,
        },
    ),
    "nv": ClassStyle(
        (0.38, 0.72),
        (0.02, 0.1),
        (0.08, 0.16),
        (0.65, 1.0),
        42,
        0.5,
        {
            "trunk": 2.5,
            "back": 3,
            "lower extremity": 3,
            "abdomen": 2,
            "upper extremity": 1.2,
            "chest": 0.6,
            "foot": 0.6,
            "face": 0.3,
            "genital": 0.1,
            "neck": 0.2,
            "hand": 0.1,
            "scalp": 0.1,
        },
    ),
    "vasc": ClassStyle(
        (0.3, 0.55),
        (0.02, 0.06),
        (0.03, 0.07),
        (0.7, 1.0),
        50,
        0.48,
        {
            "lower extremity": 2.5,
            "trunk": 2,
            "abdomen": 1.2,
            "upper extremity": 1.5,
            "back": 1,
            "face": 1,
            "genital": 0.4,
            "hand": 0.3,
        },
    ),
}

#: Fraction of lesions drawn like another class by default: the pixels alone then allow a balanced
#: accuracy of about 0.65 and pixels + metadata about 0.72 (see :func:`bayes_limits`).
DEFAULT_LOOKALIKE = 0.35

#: Classes a lesion of each class can be mistaken for (dermoscopic look-alikes, one drawn at random).
LOOKALIKES: dict[str, tuple[str, ...]] = {
    "akiec": ("bkl", "bcc"),
    "bcc": ("akiec", "bkl"),
    "bkl": ("mel", "akiec"),
    "df": ("nv",),
    "mel": ("nv", "bkl"),
    "nv": ("mel", "df"),
    "vasc": ("bcc",),
}


def check_label(label: str) -> None:
    """Refuse a label that is not a HAM10000 class (the generator only knows those styles)."""
    if label not in HAM10000_CLASSES:
        raise SyntheticArgumentError(f"unknown label {label!r}; expected one of {', '.join(HAM10000_CLASSES)}")
