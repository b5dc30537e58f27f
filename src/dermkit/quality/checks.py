"""The quality rules: one small function per stable code, registered with its severity and definition.

Each rule compares measures (:mod:`dermkit.quality.measures`) with a threshold and returns a
:class:`Breach` (the value, the threshold and a message saying what to do) or None. The registry
:data:`CODES` is the single list of codes: :func:`dermkit.quality.check_quality` runs its rules in
registration order, and its ``info`` holds each code's ``severity``, ``scope`` ("image" or
"mask") and one-line ``definition``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dermkit.errors import DermkitError
from dermkit.quality.measures import ImageMeasures, MaskMeasures
from dermkit.quality.thresholds import BLUR_WORKING_SIDE, BRIGHT_LEVEL, DARK_LEVEL, QualityThresholds
from dermkit.registry import Registry


@dataclass(frozen=True)
class Breach:
    """A threshold crossed: the measured value, the threshold and the message for the reader."""

    value: float
    threshold: float
    message: str


ImageRule = Callable[[ImageMeasures, QualityThresholds], Breach | None]
MaskRule = Callable[[MaskMeasures, QualityThresholds], Breach | None]

#: Code -> rule; info: severity ("warning" | "error"), scope ("image" | "mask"), definition.
CODES: Registry[ImageRule | MaskRule] = Registry("quality code", error=DermkitError)


@CODES.register(
    "too_small",
    severity="error",
    scope="image",
    definition="the image's shorter side is below min_side_px: dermoscopic structures need detail",
)
def too_small(m: ImageMeasures, t: QualityThresholds) -> Breach | None:
    if m.short_side_px >= t.min_side_px:
        return None
    return Breach(
        m.short_side_px,
        t.min_side_px,
        f"the image's shorter side is {m.short_side_px} px, below {t.min_side_px} px: too little detail to "
        "analyse; use the original, full-resolution image",
    )


@CODES.register(
    "blurry",
    severity="error",
    scope="image",
    definition=(
        f"variance of the Laplacian of the grey image, resized to a {BLUR_WORKING_SIDE}-px shorter side "
        "(frame excluded), is below min_laplacian_variance: out of focus or moved"
    ),
)
def blurry(m: ImageMeasures, t: QualityThresholds) -> Breach | None:
    if m.laplacian_variance >= t.min_laplacian_variance:
        return None
    return Breach(
        m.laplacian_variance,
        t.min_laplacian_variance,
        f"the image looks out of focus: Laplacian variance {m.laplacian_variance:.1f} at a {BLUR_WORKING_SIDE}-px "
        f"working size is below {t.min_laplacian_variance:g}; retake it in focus and without moving",
    )


@CODES.register(
    "underexposed",
    severity="error",
    scope="image",
    definition=(
        f"more than max_dark_fraction of the field of view has luminance <= {DARK_LEVEL}, "
        "or its mean luminance is below min_mean_luminance"
    ),
)
def underexposed(m: ImageMeasures, t: QualityThresholds) -> Breach | None:
    if m.dark_fraction > t.max_dark_fraction:
        return Breach(
            m.dark_fraction,
            t.max_dark_fraction,
            f"the image is too dark: {m.dark_fraction:.0%} of the field of view is black (luminance <= "
            f"{DARK_LEVEL}), more than {t.max_dark_fraction:.0%}; retake it with more light",
        )
    if m.mean_luminance < t.min_mean_luminance:
        return Breach(
            m.mean_luminance,
            t.min_mean_luminance,
            f"the image is too dark: mean luminance {m.mean_luminance:.0f} is below {t.min_mean_luminance:g}; "
            "retake it with more light",
        )
    return None


@CODES.register(
    "overexposed",
    severity="error",
    scope="image",
    definition=(
        f"more than max_bright_fraction of the field of view has luminance >= {BRIGHT_LEVEL}, "
        "or its mean luminance is above max_mean_luminance"
    ),
)
def overexposed(m: ImageMeasures, t: QualityThresholds) -> Breach | None:
    if m.bright_fraction > t.max_bright_fraction:
        return Breach(
            m.bright_fraction,
            t.max_bright_fraction,
            f"the image is washed out: {m.bright_fraction:.0%} of the field of view is clipped white (luminance >= "
            f"{BRIGHT_LEVEL}), more than {t.max_bright_fraction:.0%}; retake it with less light or glare",
        )
    if m.mean_luminance > t.max_mean_luminance:
        return Breach(
            m.mean_luminance,
            t.max_mean_luminance,
            f"the image is washed out: mean luminance {m.mean_luminance:.0f} is above {t.max_mean_luminance:g}; "
            "retake it with less light or glare",
        )
    return None


@CODES.register(
    "low_contrast",
    severity="warning",
    scope="image",
    definition="the standard deviation of the field of view's luminance is below min_luminance_std",
)
def low_contrast(m: ImageMeasures, t: QualityThresholds) -> Breach | None:
    if m.luminance_std >= t.min_luminance_std:
        return None
    return Breach(
        m.luminance_std,
        t.min_luminance_std,
        f"the image is nearly flat: luminance standard deviation {m.luminance_std:.1f} is below "
        f"{t.min_luminance_std:g}; check that the lesion is in the picture and the exposure is right",
    )


@CODES.register(
    "not_dermoscopy_like",
    severity="warning",
    scope="image",
    definition=(
        "heuristic: the share of field-of-view pixels with a skin-like hue (0-60 or above 240 degrees) or "
        "a near-neutral colour is below min_skin_fraction. It looks at colour only; the detector on the "
        "classifier's features (out of distribution) comes with the prediction pipeline"
    ),
)
def not_dermoscopy_like(m: ImageMeasures, t: QualityThresholds) -> Breach | None:
    if m.skin_fraction >= t.min_skin_fraction:
        return None
    return Breach(
        m.skin_fraction,
        t.min_skin_fraction,
        f"the colours do not look like skin: {m.skin_fraction:.0%} of the field of view has a skin-like hue, "
        f"below {t.min_skin_fraction:.0%} (a colour heuristic); check that this is a dermoscopic image",
    )


@CODES.register(
    "no_lesion",
    severity="error",
    scope="mask",
    definition="the lesion mask is empty: nothing to measure or to focus on",
)
def no_lesion(m: MaskMeasures, t: QualityThresholds) -> Breach | None:
    if m.lesion_px > 0:
        return None
    return Breach(
        0,
        1,
        "the lesion mask is empty: no lesion was found; check that the lesion is in the picture, or outline it",
    )


@CODES.register(
    "lesion_too_small",
    severity="warning",
    scope="mask",
    definition=(
        "the lesion has fewer than min_lesion_px pixels or covers less than min_lesion_fraction of the field of view"
    ),
)
def lesion_too_small(m: MaskMeasures, t: QualityThresholds) -> Breach | None:
    if m.lesion_px == 0:  # no_lesion says it
        return None
    if m.lesion_px < t.min_lesion_px:
        return Breach(
            m.lesion_px,
            t.min_lesion_px,
            f"the lesion is {m.lesion_px} px, below {t.min_lesion_px} px: too small to measure; "
            "take a closer image of it",
        )
    if m.lesion_fraction < t.min_lesion_fraction:
        return Breach(
            m.lesion_fraction,
            t.min_lesion_fraction,
            f"the lesion covers {m.lesion_fraction:.2%} of the field of view, below {t.min_lesion_fraction:.2%}: "
            "too small to measure reliably; take a closer image of it",
        )
    return None


@CODES.register(
    "lesion_touches_border",
    severity="warning",
    scope="mask",
    definition=(
        "the lesion covers more than max_border_contact of the field of view's edge ring: the pixels within "
        "0.5 % of the shorter side (at least 1 px) of the image's edge or of a detected black frame's inner edge"
    ),
)
def lesion_touches_border(m: MaskMeasures, t: QualityThresholds) -> Breach | None:
    if m.lesion_px == 0 or m.border_contact <= t.max_border_contact:
        return None
    return Breach(
        m.border_contact,
        t.max_border_contact,
        f"the lesion reaches the edge of the field of view ({m.border_contact:.1%} of its edge): it may go on "
        "beyond it, so its size and shape are lower bounds; centre the lesion in a new image",
    )


@CODES.register(
    "lesion_fills_image",
    severity="warning",
    scope="mask",
    definition="the lesion covers more than max_lesion_fraction of the field of view: it likely extends past it",
)
def lesion_fills_image(m: MaskMeasures, t: QualityThresholds) -> Breach | None:
    if m.lesion_fraction <= t.max_lesion_fraction:
        return None
    return Breach(
        m.lesion_fraction,
        t.max_lesion_fraction,
        f"the lesion covers {m.lesion_fraction:.0%} of the field of view, more than {t.max_lesion_fraction:.0%}: "
        "it likely extends past the image; take a wider image",
    )
