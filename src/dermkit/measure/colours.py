"""C of the ABCD rule: which of the six dermoscopic colours the lesion shows.

The palette is white, red, light brown, dark brown, blue-grey and black (Stolz et al. 1994;
C counts the colours present, 1..6, weight 0.5 in the total dermoscopy score).

Colours are judged against the patient's skin, as a dermatologist does: the median colour of a
ring of skin around the lesion is measured, and the image is shifted in CIELAB so that this skin
takes the colour :data:`REFERENCE_SKIN_RGB` (a crude white balance that removes the camera's and
the skin type's cast). Each lesion pixel, median-filtered, then takes the nearest reference
colour, or "skin" when the skin's colour is nearer (skin caught inside the outline is no lesion
colour). A colour is present when it covers more than :data:`MIN_FRACTION` of the lesion. A lesion
always has at least one colour: when none reaches the fraction, the most frequent one counts, so
C is 1..6. Without visible skin (the lesion fills the image) the colours are taken as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import cv2
import numpy as np
from scipy import ndimage

from dermkit.measure.lab import rgb_to_lab

#: Reference sRGB colour of each palette colour, in the order PH2's sheet lists them. Chosen as
#: the typical appearance under polarised dermoscopy: white (regression, scar), red (vessels,
#: inflammation), light and dark brown (melanin in the epidermis and at the junction), blue-grey
#: (melanin in the dermis, Tyndall effect) and black (melanin in the upper epidermis).
PALETTE_RGB: Mapping[str, tuple[int, int, int]] = MappingProxyType(
    {
        "white": (235, 225, 225),
        "red": (190, 60, 65),
        "light_brown": (180, 125, 85),
        "dark_brown": (100, 60, 40),
        "blue_grey": (105, 120, 140),
        "black": (35, 30, 30),
    }
)

COLOURS: tuple[str, ...] = tuple(PALETTE_RGB)

#: The skin colour the palette references are meant against: fair skin under a dermatoscope's
#: white light. Each image's own skin is shifted onto it before the lesion's pixels are classified.
REFERENCE_SKIN_RGB = (210, 160, 140)

#: Share of the lesion a colour must cover to be present. Dots and globules of black or blue-grey
#: cover a few per cent of a lesion and count for a dermatologist; below 1 % a colour is as likely
#: to be noise, a hair or a reflection.
MIN_FRACTION = 0.01

#: Median filter (pixels) before classifying: removes sensor noise and single-pixel specks without
#: inventing in-between colours where two colours meet (a Gaussian blur would turn the seam
#: between light brown and black into a band of dark brown).
MEDIAN_SIZE = 5

#: Width of the skin ring outside the lesion, as a fraction of the equivalent radius, whose median
#: colour stands for the skin (at least 3 px).
SKIN_RING_FRACTION = 0.15


@dataclass(frozen=True)
class Colours:
    """C: the share of the lesion taken by each palette colour (and by skin), the colours present, and C.

    Attributes:
        fractions: palette colour -> share of the lesion's pixels, in :data:`COLOURS` order.
        skin_fraction: share of lesion pixels nearer to the surrounding skin than to any palette
            colour (0.0 when no skin is visible around the lesion).
        present: palette colours present, in :data:`COLOURS` order.
        score: C = ``len(present)``, 1..6.
    """

    fractions: Mapping[str, float]
    skin_fraction: float
    present: tuple[str, ...]
    score: int


def palette_lab() -> np.ndarray:
    """(6, 3) float32 CIELAB of the reference colours, in :data:`COLOURS` order."""
    return rgb_to_lab(np.array([PALETTE_RGB[name] for name in COLOURS], dtype=np.uint8))


def skin_colour(lab: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Median CIELAB colour of a ring of skin around the lesion, or None when no skin is visible.

    Pixels at L* < 20 are left out (the dermatoscope's dark frame), and a ring darker than the
    lesion's median is taken for vignetted corners or shadow, not skin: a pigmented lesion is
    darker than the skin around it.
    """
    width = max(3, round(SKIN_RING_FRACTION * math.sqrt(mask.sum() / math.pi)))
    ring = ndimage.binary_dilation(mask > 0, iterations=width) & (mask == 0)
    pixels = lab[ring]
    pixels = pixels[pixels[:, 0] >= 20.0]
    if len(pixels) < 10:
        return None
    skin = np.median(pixels, axis=0).astype(np.float32)
    if skin[0] < np.median(lab[mask > 0][:, 0]):
        return None
    return skin


def palette_distances(lab_pixels: np.ndarray, references: np.ndarray) -> np.ndarray:
    """(N, 3) CIELAB pixels, (K, 3) references -> (N, K) Delta E 1976.

    One reference at a time, so a 40-megapixel lesion needs (N, K) floats, not (N, K, 3).
    """
    return np.stack([np.linalg.norm(lab_pixels - ref, axis=-1) for ref in references], axis=1)


def colours_present(
    fractions: Mapping[str, float], min_fraction: float = MIN_FRACTION, fallback: str | None = None
) -> tuple[str, ...]:
    """Palette colours covering more than ``min_fraction`` of the lesion, in :data:`COLOURS` order.

    When none does, the most frequent one counts, or ``fallback`` when every fraction is 0 (all
    pixels were nearer to the skin): a lesion has at least one colour.
    """
    present = tuple(name for name in COLOURS if fractions[name] > min_fraction)
    if present:
        return present
    if any(fractions.values()):
        return (max(COLOURS, key=lambda name: fractions[name]),)
    return (fallback,) if fallback is not None else ()


def measure_colours(image: np.ndarray, mask: np.ndarray) -> Colours:
    """Classify the lesion's pixels into the six-colour palette and score C.

    Args:
        image: (H, W, 3) uint8 RGB.
        mask: (H, W) uint8 {0, 1}, non-empty.
    """
    lab = rgb_to_lab(cv2.medianBlur(image, MEDIAN_SIZE))
    skin = skin_colour(lab, mask)
    pixels = lab[mask > 0]  # (N, 3)
    is_skin = np.zeros(len(pixels), dtype=bool)
    if skin is not None:
        reference_skin = rgb_to_lab(np.array(REFERENCE_SKIN_RGB, dtype=np.uint8))
        pixels = pixels + (reference_skin - skin)
    distances = palette_distances(pixels, palette_lab())  # (N, 6)
    nearest = distances.argmin(axis=1)
    if skin is not None:
        is_skin = np.linalg.norm(pixels - reference_skin, axis=-1) < distances.min(axis=1)
    shares = np.bincount(nearest[~is_skin], minlength=len(COLOURS)) / len(pixels)
    fractions = MappingProxyType({name: float(shares[k]) for k, name in enumerate(COLOURS)})
    # The palette colour nearest to most pixels, for a lesion whose every pixel looks like skin.
    fallback = COLOURS[int(np.bincount(nearest, minlength=len(COLOURS)).argmax())]
    present = colours_present(fractions, fallback=fallback)
    return Colours(fractions, float(is_skin.mean()), present, len(present))
