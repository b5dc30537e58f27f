"""From the steps' outputs to one :class:`~dermkit.pipeline.result.AnalysisResult` (torch-free).

Both back ends, PyTorch (:class:`dermkit.pipeline.Analyzer`) and ONNX Runtime
(:mod:`dermkit.package`), produce a lesion mask and a :class:`Classification`; everything after
that, the malignant call, the heat-map grid, measurements, quality flags, is done here, once.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dermkit.data.records import Metadata
from dermkit.errors import DataError
from dermkit.measure import measure_lesion
from dermkit.ood import OODDetector, OperatingPoint
from dermkit.pipeline.result import (
    DEFAULT_MALIGNANT_THRESHOLD,
    DEFAULT_OPERATING_POINT,
    MALIGNANT_CLASSES,
    AnalysisResult,
    Decision,
    HeatMap,
    ImageInfo,
    Lesion,
    Malignant,
    Models,
    OperatingPointInfo,
    OutOfDistribution,
    PatientInfo,
    bounding_box,
    encode_rle,
)
from dermkit.quality import check_quality

#: Side of the heat-map grid stored in the result (the overlay and report use the full-size map).
HEATMAP_GRID = 32
#: Shorter side below which an image cannot be segmented or measured at all (the quality gate's
#: ``too_small`` flag, at 64 px, already warns about images below a useful size).
MIN_ANALYSABLE_SIDE_PX = 8


class ImageTooSmall(DataError):
    """An image too small to segment or measure (e.g. 1 x 1 px)."""


@dataclass(frozen=True)
class Classification:
    """One image's classification, whichever back end made it.

    Attributes:
        classes: class names.
        probabilities: (C,) calibrated probabilities.
        predicted: the class the decision rule picked; ``confidence`` its probability.
        rule: the decision rule ("prior", "thresholds" or "argmax").
        heatmap: (H, W) in [0, 1] at the image's size, or None; ``heatmap_method`` names it.
        ood: the out-of-distribution score of the image, or None without a fitted detector.
    """

    classes: list[str]
    probabilities: np.ndarray
    predicted: str
    confidence: float
    rule: str
    heatmap: np.ndarray | None = None
    heatmap_method: str | None = None
    ood: OutOfDistribution | None = None


def check_rgb_image(image: object, image_id: str) -> None:
    """Refuse anything but an (H, W, 3) uint8 array, and images too small to analyse."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = getattr(image, "shape", type(image).__name__)
        raise DataError(f"{image_id}: expected an (H, W, 3) uint8 RGB image, got {got}; read it with read_image")
    h, w = image.shape[:2]
    if min(h, w) < MIN_ANALYSABLE_SIDE_PX:
        raise ImageTooSmall(
            f"{image_id}: the image is {w} x {h} px, too small to segment or measure (at least "
            f"{MIN_ANALYSABLE_SIDE_PX} px a side, 64 px for a reliable result); use the original, full-resolution image"
        )


def read_only(image: np.ndarray) -> np.ndarray:
    """A read-only view of ``image``: no step may change the user's pixels."""
    view = image.view()
    view.flags.writeable = False
    return view


def operating_rule(point: OperatingPoint) -> str:
    """How the threshold was chosen, without the figures (``describe()`` is "<rule>: <figures>")."""
    return point.describe().split(":", 1)[0]


def operating_point_info(point: OperatingPoint) -> OperatingPointInfo:
    """The validation figures of a fitted operating point, as the result reports them."""
    return OperatingPointInfo(
        rule=operating_rule(point),
        sensitivity=point.sensitivity,
        specificity=point.specificity,
        sensitivity_ci=point.sensitivity_ci95,
        specificity_ci=point.specificity_ci95,
        malignant_images=point.positives,
        benign_images=point.negatives,
    )


def malignant_call(classes: list[str], proba: np.ndarray, point: OperatingPoint | None = None) -> Malignant | None:
    """p(mel) + p(bcc) + p(akiec) over the classes present, flagged at the run's validation-fitted
    operating point (the documented default 0.5 when it has none); None without any malignant class."""
    present = [c for c in MALIGNANT_CLASSES if c in classes]
    if not present:
        return None
    p = float(min(1.0, sum(float(proba[classes.index(c)]) for c in present)))
    threshold = DEFAULT_MALIGNANT_THRESHOLD if point is None else float(point.threshold)
    return Malignant(
        probability=p,
        flag=p >= threshold,
        threshold=min(1.0, max(0.0, threshold)),
        operating_point=DEFAULT_OPERATING_POINT if point is None else operating_rule(point),
        validation=None if point is None else operating_point_info(point),
        classes=present,
    )


def ood_call(detector: OODDetector | None, features: np.ndarray | None) -> OutOfDistribution | None:
    """The image's primary OOD score on the run's detector (None without a detector or features)."""
    if detector is None or features is None or features.shape[-1] != detector.feature_dim:
        return None
    score = float(detector.score(np.asarray(features, np.float64).reshape(1, -1))[0])
    return OutOfDistribution(
        method=f"{detector.method} (threshold: {detector.quantile:g} quantile of validation)",
        score=score,
        threshold=float(detector.threshold),
        flag=bool(detector.flag(np.array([score]))[0]),
    )


def heatmap_grid(
    values: np.ndarray | None, method: str | None, target: str, side: int = HEATMAP_GRID
) -> HeatMap | None:
    """The (H, W) heat map averaged onto a ``side`` x ``side`` grid (None stays None)."""
    if values is None or method is None:
        return None
    small = cv2.resize(values.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA)
    grid = np.clip(small, 0.0, 1.0).round(4).tolist()
    return HeatMap(method=method, target_class=target, size=(side, side), values=grid)


def build_result(
    image: np.ndarray,
    image_id: str,
    meta: Metadata | None,
    mask: np.ndarray,
    cls: Classification,
    models: Models,
    point: OperatingPoint | None = None,
) -> AnalysisResult:
    """Assemble the typed result from the steps' outputs (measurements and quality computed here)."""
    h, w = image.shape[:2]
    proba = np.asarray(cls.probabilities, np.float64)
    patient = None if meta is None else PatientInfo(age=meta.age, sex=meta.sex, site=meta.site)
    return AnalysisResult(
        image=ImageInfo(id=image_id, width=w, height=h),
        patient=patient,
        classes=list(cls.classes),
        probabilities={c: float(p) for c, p in zip(cls.classes, proba, strict=True)},
        decision=Decision(class_=cls.predicted, rule=cls.rule, confidence=cls.confidence),
        malignant=malignant_call(list(cls.classes), proba, point),
        lesion=Lesion(mask=encode_rle(mask), area_px=int(mask.sum()), bbox=bounding_box(mask)),
        heatmap=heatmap_grid(cls.heatmap, cls.heatmap_method, cls.predicted),
        ood=cls.ood,
        measurements=measure_lesion(image, mask).to_json(),
        quality=check_quality(image, mask).to_json(),
        models=models,
    )
