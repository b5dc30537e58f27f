"""Lesion measurements from the mask: the dermoscopic ABCD rule (Stolz et al. 1994).

Small pure functions over an (H, W, 3) uint8 RGB image and its (H, W) {0, 1} lesion mask:

- :mod:`.geometry`: centroid, principal axes, maximum Feret diameter, border contact;
- :mod:`.asymmetry`: A, the shape (and colour) folded about both principal axes, 0..2;
- :mod:`.border`: B, compactness and the eight sectors with an abrupt cut-off, 0..8;
- :mod:`.colours`: C, the colours of the six-colour palette present, 1..6;
- :mod:`.tds`: the total dermoscopy score and its bands (D, differential structures, is an input);
- :mod:`.lesion`: :func:`measure_lesion`, all of it as one typed, JSON-able result.

These are descriptive measurements of what the outline and the pixels show, not a diagnosis.
"""

from __future__ import annotations

from dermkit.measure.asymmetry import Asymmetry, AxisAsymmetry, measure_asymmetry
from dermkit.measure.border import Border, SectorCutoff, compactness, measure_border
from dermkit.measure.colours import COLOURS, Colours, measure_colours
from dermkit.measure.geometry import PrincipalAxes, feret_diameter, principal_axes
from dermkit.measure.lesion import LesionMeasurements, measure_lesion
from dermkit.measure.tds import TotalDermoscopyScore, tds_band, total_dermoscopy_score

__all__ = [
    "COLOURS",
    "Asymmetry",
    "AxisAsymmetry",
    "Border",
    "Colours",
    "LesionMeasurements",
    "PrincipalAxes",
    "SectorCutoff",
    "TotalDermoscopyScore",
    "compactness",
    "feret_diameter",
    "measure_asymmetry",
    "measure_border",
    "measure_colours",
    "measure_lesion",
    "principal_axes",
    "tds_band",
    "total_dermoscopy_score",
]
