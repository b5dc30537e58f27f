"""The quality gate's default thresholds, each with why it has that value, and :class:`QualityThresholds`.

The values were chosen on synthetic images (sharp vs Gaussian-blurred copies) and checked on the
shared real dermoscopy (20 PH2 BMPs, 225 full-resolution HAM10000 JPEGs, 8,522 HAM10000 images at
200x150, 40 ISIC 2017 images) so that ordinary clinical images raise no error; the figures quoted
below are from those sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from dermkit.errors import ConfigError
from dermkit.measure.lesion import MIN_AREA_PX

#: Shorter side (px) below which an image is ``too_small``: dermoscopic structures (network,
#: dots, streaks) are a few pixels wide at 64 px across a lesion; the smallest shared real images
#: are 150 px.
MIN_SIDE_PX = 64

#: Shorter side (px) of the grey copy the Laplacian is taken on, so that sharpness does not depend
#: on the resolution (a sharp 4,000-px photo and its 600-px copy read alike).
BLUR_WORKING_SIDE = 256
#: Variance of the Laplacian (3x3 kernel, at the working size) below which an image is ``blurry``.
#: Sharp synthetic lesions read 41-8,500 and copies blurred with sigma = side / 64 read 7-12; real
#: images read 1,800-20,000 (PH2), 91-9,500 (HAM10000 600x450) and 17-2,300 (HAM10000 200x150,
#: enlarged to the working size: 2 % of them are below 23).
MIN_LAPLACIAN_VARIANCE = 20.0

#: Luminance (BT.601 Y, 0..255) at or below which a pixel counts as black, at or above which as
#: clipped white: within 15 levels of the ends, where JPEG noise keeps "pure" black or white.
DARK_LEVEL = 15
BRIGHT_LEVEL = 240
#: Share of the field of view that may be black (``underexposed``) or clipped white
#: (``overexposed``): real images have under 0.5 % black and at most 29 % white (a bright PH2 image).
MAX_DARK_FRACTION = 0.5
MAX_BRIGHT_FRACTION = 0.5
#: Mean luminance range of the field of view; real images read 81-226.
MIN_MEAN_LUMINANCE = 40.0
MAX_MEAN_LUMINANCE = 235.0

#: Standard deviation of the luminance (field of view) below which an image is ``low_contrast``:
#: a flat image reads 0, the faintest real lesions 5.8-9.
MIN_LUMINANCE_STD = 5.0

#: Hue ranges (degrees) counted as skin-like: red through yellow (0-60) and, above pure blue,
#: violet through magenta (240-360: the purple cast of polarised dermoscopy), plus near-neutral
#: pixels (white, grey, black structures) whose saturation is below :data:`NEUTRAL_SATURATION`.
#: Saturated green, cyan and blue (60-240 degrees) are not skin-like.
SKIN_HUE_MAX_DEG = 60.0
SKIN_HUE_MIN_DEG = 240.0
NEUTRAL_SATURATION = 0.1
#: Share of skin-like pixels below which an image is ``not_dermoscopy_like``: uniform colour noise
#: reads 0.50, pure green or blue 0; real images read 0.83-1.0 (HAM10000 200x150: 4 of 8,522 below
#: 0.7, all deep-blue lesions).
MIN_SKIN_FRACTION = 0.7

#: A detected black frame covering more than this share of the image is not a lens border but a
#: dark image: it is then not excluded (a round lens leaves at most ~45 % of a 4:3 image dark).
MAX_FRAME_FRACTION = 0.6

#: Shorter side (px) of the copy the black frame is searched on, for images larger than that.
FRAME_WORKING_SIDE = 512

#: Smallest lesion (px) worth measuring: the ABCD rule's own limit (:mod:`dermkit.measure.lesion`).
MIN_LESION_PX = MIN_AREA_PX
#: Smallest lesion share of the field of view: 0.5 % of a 600x450 image is a lesion ~40 px across;
#: real expert masks cover 1.8-94 %.
MIN_LESION_FRACTION = 0.005
#: Lesion share of the field of view above which it ``fills`` the image and likely extends beyond it.
MAX_LESION_FRACTION = 0.9
#: Width of the field of view's edge ring, as a share of the shorter side (at least 1 px): a
#: lesion reaching into it touches the border (the edge of the image or of the black frame).
BORDER_MARGIN_FRACTION = 0.005
#: Share of that ring the lesion may cover before ``lesion_touches_border`` (0: any contact).
MAX_BORDER_CONTACT = 0.0


@dataclass(frozen=True)
class QualityThresholds:
    """Thresholds of :func:`dermkit.quality.check_quality` (defaults: the module constants).

    Fractions are shares in [0, 1] of the field of view (the image minus a detected black frame);
    luminance values are BT.601 Y levels in [0, 255].

    Raises:
        ConfigError: a value is not a finite number, a fraction is outside [0, 1], or a range is
            reversed (the message names the field).
    """

    min_side_px: int = MIN_SIDE_PX
    min_laplacian_variance: float = MIN_LAPLACIAN_VARIANCE
    max_dark_fraction: float = MAX_DARK_FRACTION
    max_bright_fraction: float = MAX_BRIGHT_FRACTION
    min_mean_luminance: float = MIN_MEAN_LUMINANCE
    max_mean_luminance: float = MAX_MEAN_LUMINANCE
    min_luminance_std: float = MIN_LUMINANCE_STD
    min_skin_fraction: float = MIN_SKIN_FRACTION
    min_lesion_px: int = MIN_LESION_PX
    min_lesion_fraction: float = MIN_LESION_FRACTION
    max_lesion_fraction: float = MAX_LESION_FRACTION
    max_border_contact: float = MAX_BORDER_CONTACT

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"quality threshold {f.name} must be a finite number, got {value!r}")
            if value < 0:
                raise ConfigError(f"quality threshold {f.name} must be >= 0, got {value}")
            if f.name.endswith("_fraction") or f.name == "max_border_contact":
                if value > 1:
                    raise ConfigError(f"quality threshold {f.name} is a share of the image in [0, 1], got {value}")
        if self.min_mean_luminance > self.max_mean_luminance:
            raise ConfigError(
                f"quality thresholds min_mean_luminance ({self.min_mean_luminance}) must not exceed "
                f"max_mean_luminance ({self.max_mean_luminance})"
            )
