""":func:`check_quality`: every image (and mask) rule of :data:`~dermkit.quality.checks.CODES`, one typed report."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from dermkit.errors import DataError
from dermkit.preprocess._checks import check_image, check_mask
from dermkit.quality.checks import CODES
from dermkit.quality.measures import field_of_view, measure_image, measure_mask
from dermkit.quality.report import QualityFlag, QualityReport
from dermkit.quality.thresholds import QualityThresholds

DEFAULT_THRESHOLDS = QualityThresholds()


def _flags(scope: str, measures: object, thresholds: QualityThresholds) -> list[QualityFlag]:
    """Run the rules of one scope ("image" or "mask") in registration order."""
    flags = []
    for code in CODES.names(scope=scope):
        entry = CODES.entry(code)
        breach = entry.obj(measures, thresholds)
        if breach is not None:
            flags.append(
                QualityFlag(code, entry.info["severity"], breach.message, float(breach.value), float(breach.threshold))
            )
    return flags


def check_quality(
    image: np.ndarray, mask: np.ndarray | None = None, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> QualityReport:
    """Flag what makes an image (and its lesion mask) unfit for analysis; never alter either.

    Args:
        image: (H, W, 3) uint8 RGB (as :func:`dermkit.imageio.read_image` gives).
        mask: optional (H, W) bool or integer {0, 1} lesion mask of that image (ground truth or
            predicted); adds the mask rules (no lesion, too small, on the border, filling the image).
        thresholds: overrides of the defaults in :mod:`dermkit.quality.thresholds`.

    Returns:
        QualityReport with the flags raised, every measure read and the thresholds applied.

    Raises:
        DataError: the image or mask has the wrong type, shape, dtype or values (the message says
            what was expected and what was given), or ``thresholds`` is not a QualityThresholds.
    """
    image = check_image(image)
    if mask is not None:
        mask = check_mask(mask, shape=image.shape[:2])
    if not isinstance(thresholds, QualityThresholds):
        raise DataError(
            f"thresholds must be a dermkit.quality.QualityThresholds, got {type(thresholds).__name__}; "
            "build one with QualityThresholds(min_side_px=..., ...)"
        )
    fov = field_of_view(image)
    image_measures = measure_image(image, fov)
    flags = _flags("image", image_measures, thresholds)
    measures: dict[str, float | None] = dict(asdict(image_measures))
    if mask is None:
        measures.update(lesion_px=None, lesion_fraction=None, border_contact=None)
    else:
        mask_measures = measure_mask(mask, fov)
        flags += _flags("mask", mask_measures, thresholds)
        measures.update(asdict(mask_measures))
    return QualityReport(tuple(flags), measures, dict(asdict(thresholds)))
