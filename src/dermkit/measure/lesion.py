"""One lesion's measurements from its mask and image: geometry, A, B, C and the TDS, as one typed result.

:func:`measure_lesion` checks its inputs, then measures. Degenerate masks get explicit values and
flags instead of an exception:

- empty mask: area 0, diameter 0, no axes and no A/B/C/TDS, flag ``empty_mask``;
- fewer than :data:`MIN_AREA_PX` pixels: area and diameter only, flag ``too_small``;
- lesion on the image's edge: everything measured, flag ``touches_border`` (the lesion may go on
  beyond the image: the diameter is then a lower bound, the asymmetry and the sectors there are
  read from the visible part, and sectors whose window leaves the image are not counted in B);
- more than one component: measured as one lesion, flag ``several_components``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import numpy as np

from dermkit.errors import DataError
from dermkit.measure.asymmetry import Asymmetry, measure_asymmetry
from dermkit.measure.border import Border, measure_border
from dermkit.measure.colours import Colours, measure_colours
from dermkit.measure.geometry import PrincipalAxes, component_count, feret_diameter, principal_axes, touches_border
from dermkit.measure.tds import TotalDermoscopyScore, check_criterion, total_dermoscopy_score
from dermkit.preprocess._checks import check_image, check_mask

#: Smallest lesion (pixels) whose asymmetry, border and colours are measured: a 50-pixel lesion is
#: about 8 px across, where one pixel more or less on the outline moves A and B.
MIN_AREA_PX = 50

#: Version of the :meth:`LesionMeasurements.to_json` layout; bumped when a key changes meaning.
JSON_VERSION = 1

EMPTY_MASK = "empty_mask"
TOO_SMALL = "too_small"
TOUCHES_BORDER = "touches_border"
SEVERAL_COMPONENTS = "several_components"


@dataclass(frozen=True)
class LesionMeasurements:
    """What :func:`measure_lesion` measured.

    Attributes:
        area_px: lesion pixels.
        diameter_px: maximum Feret diameter in pixels (0.0 for an empty mask).
        diameter_mm: the same in millimetres, or None without a pixel spacing.
        pixel_spacing_mm: the spacing used (mm per pixel), or None.
        axes: centroid and principal axes, None for an empty mask.
        asymmetry, border, colours: A, B and C with their evidence; None when not measurable
            (see ``flags``).
        tds: the total dermoscopy score (a range when D was not given), None when A, B or C is.
        flags: degenerate-case flags (see the module docstring), empty for an ordinary lesion.
    """

    area_px: int
    diameter_px: float
    diameter_mm: float | None
    pixel_spacing_mm: float | None
    axes: PrincipalAxes | None
    asymmetry: Asymmetry | None
    border: Border | None
    colours: Colours | None
    tds: TotalDermoscopyScore | None
    flags: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """A dict of JSON types (``json.dumps`` takes it), derived values included (TDS value and band)."""
        out = {"version": JSON_VERSION, **_plain(self)}
        if self.tds is not None:
            out["tds"].update(value=self.tds.value, band=self.tds.band)
        if self.border is not None:
            out["border"]["measurable_sectors"] = self.border.measurable_sectors
        return out


def _plain(value: Any) -> Any:
    """Dataclasses, mappings and tuples -> dicts and lists of JSON types."""
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def check_pixel_spacing(pixel_spacing_mm: float | None) -> float | None:
    """Return the spacing as a float if it is None or a positive finite number, else raise DataError."""
    if pixel_spacing_mm is None:
        return None
    if isinstance(pixel_spacing_mm, bool) or not isinstance(pixel_spacing_mm, numbers.Real):
        raise DataError(f"pixel_spacing_mm must be a number of millimetres per pixel, got {pixel_spacing_mm!r}")
    spacing = float(pixel_spacing_mm)
    if not math.isfinite(spacing) or spacing <= 0:
        raise DataError(
            f"pixel_spacing_mm must be positive and finite (mm per pixel, e.g. 0.01 for 100 px/mm), got {spacing}"
        )
    return spacing


def measure_lesion(
    image: np.ndarray, mask: np.ndarray, pixel_spacing_mm: float | None = None, d: int | None = None
) -> LesionMeasurements:
    """Measure a lesion: diameter, asymmetry (A), border (B), colours (C) and the TDS.

    Args:
        image: (H, W, 3) uint8 RGB dermoscopic image (as :func:`dermkit.imageio.read_image` gives).
        mask: (H, W) bool or integer {0, 1} lesion mask of that image.
        pixel_spacing_mm: millimetres per pixel, for the diameter in mm (None: pixels only).
        d: the differential-structures score D (1..5) if a reader or another model gave it; None
            reports the TDS as its range over D = 1..5.

    Raises:
        DataError: the image or mask has the wrong type, shape, dtype or values, the mask does not
            match the image, or the spacing or D is invalid (the message says what was expected).
    """
    image = check_image(image)
    mask = check_mask(mask, shape=image.shape[:2])
    spacing = check_pixel_spacing(pixel_spacing_mm)
    if d is not None:
        d = check_criterion("D", d)

    area = int(mask.sum())
    diameter = feret_diameter(mask)
    diameter_mm = diameter * spacing if spacing is not None else None
    if area == 0:
        return LesionMeasurements(0, 0.0, diameter_mm, spacing, None, None, None, None, None, (EMPTY_MASK,))

    flags = []
    if touches_border(mask):
        flags.append(TOUCHES_BORDER)
    if component_count(mask) > 1:
        flags.append(SEVERAL_COMPONENTS)
    axes = principal_axes(mask)
    if area < MIN_AREA_PX:
        flags.insert(0, TOO_SMALL)
        return LesionMeasurements(area, diameter, diameter_mm, spacing, axes, None, None, None, None, tuple(flags))

    a = measure_asymmetry(image, mask, axes)
    b = measure_border(image, mask, axes)
    c = measure_colours(image, mask)
    tds = total_dermoscopy_score(a.score, b.score, c.score, d)
    return LesionMeasurements(area, diameter, diameter_mm, spacing, axes, a, b, c, tds, tuple(flags))
