"""The quality gate of decision support: flag, never silently alter, images and masks unfit for analysis.

``check_quality(image, mask=None, thresholds=QualityThresholds())`` reads an (H, W, 3) uint8 RGB
image and optionally its (H, W) {0, 1} lesion mask and returns a frozen :class:`QualityReport`:
the :class:`QualityFlag` s raised (code, severity, message, value, threshold), every measure read
and the thresholds applied, with ``to_json()``. Nothing is changed, cropped or corrected.

Stable codes (definitions in :data:`CODES`' info, default thresholds and why in
:mod:`.thresholds`); image statistics are over the field of view, the image minus a detected
black lens frame:

=======================  ========  ==============================================================
code                     severity  raised when
=======================  ========  ==============================================================
too_small                error     shorter side < 64 px
blurry                   error     Laplacian variance at a 256-px shorter side < 20
underexposed             error     > 50 % of pixels with luminance <= 15, or mean luminance < 40
overexposed              error     > 50 % of pixels with luminance >= 240, or mean luminance > 235
low_contrast             warning   luminance standard deviation < 5
not_dermoscopy_like      warning   < 70 % of pixels skin-like in hue or near-neutral (a colour
                                   heuristic; the out-of-distribution detector on classifier
                                   features comes with the prediction pipeline)
no_lesion                error     the mask is empty
lesion_too_small         warning   lesion < 50 px or < 0.5 % of the field of view
lesion_touches_border    warning   lesion in the field of view's edge ring (0.5 % of the shorter
                                   side from the image edge or the black frame's inner edge)
lesion_fills_image       warning   lesion > 90 % of the field of view
=======================  ========  ==============================================================

"error" means a result computed from the image (or mask) should not be trusted as it is;
``QualityReport.ok`` is True when no flag is an error.

Modules: :mod:`.thresholds` (defaults, :class:`QualityThresholds`), :mod:`.measures` (what is
read), :mod:`.checks` (one rule per code, the :data:`CODES` registry), :mod:`.report` (flag and
report types), :mod:`.gate` (:func:`check_quality`).
"""

from __future__ import annotations

from dermkit.quality.checks import CODES
from dermkit.quality.gate import check_quality
from dermkit.quality.measures import ImageMeasures, MaskMeasures
from dermkit.quality.report import SEVERITIES, QualityFlag, QualityReport, Severity
from dermkit.quality.thresholds import QualityThresholds

__all__ = [
    "CODES",
    "SEVERITIES",
    "ImageMeasures",
    "MaskMeasures",
    "QualityFlag",
    "QualityReport",
    "QualityThresholds",
    "Severity",
    "check_quality",
]
