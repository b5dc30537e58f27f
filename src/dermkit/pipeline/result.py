"""The analysis of one image as one typed, frozen object, and its published JSON Schema.

:class:`AnalysisResult` is what :meth:`dermkit.pipeline.Analyzer.analyze` returns and what
``dermkit predict`` writes as ``<id>.json``. Its layout is versioned (``schema_version``); the
schema of each version ships as ``dermkit/schemas/analysis-v<N>.json`` (``dermkit schema`` prints
it; a test keeps the file equal to what these models generate). Regenerate the file with
``dermkit schema > src/dermkit/schemas/analysis-v1.json`` whenever a model here changes, and bump
the version when a field changes meaning.

The lesion mask is stored as COCO-style *uncompressed* run-length encoding: ``size`` is
``[height, width]`` and ``counts`` are the lengths of alternating runs of 0 and 1 over the mask
read in column-major (Fortran) order, starting with a run of zeros (of length 0 when the first
pixel is lesion). ``pycocotools.mask.frPyObjects`` reads it as it is.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dermkit.ood.operating_point import MALIGNANT_CLASSES

__all__ = ["MALIGNANT_CLASSES", "SCHEMA_VERSION", "AnalysisResult", "decode_rle", "encode_rle", "schema_text"]

SCHEMA_VERSION = "2"
#: The schema file of :data:`SCHEMA_VERSION` inside the package.
SCHEMA_FILE = f"analysis-v{SCHEMA_VERSION}.json"

#: The malignant flag's threshold for a run without a validation-fitted operating point.
DEFAULT_MALIGNANT_THRESHOLD = 0.5
DEFAULT_OPERATING_POINT = "default 0.5: not fitted on validation (no sensitivity or specificity is claimed)"

#: What a dermkit analysis is for, and what it is not (every report and model card carries it).
INTENDED_USE = (
    "Research and decision support for trained clinicians reading dermoscopic images of a single skin lesion. "
    "Not a diagnosis: it does not replace a clinician's examination, histopathology or follow-up, and it was not "
    "validated as a medical device. Its figures hold only for images like its training data (dermoscopy, the "
    "classes listed); read the quality flags first."
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ImageInfo(_Frozen):
    """The analysed image: its id (file stem) and size in pixels."""

    id: str
    width: int = Field(ge=1)
    height: int = Field(ge=1)


class PatientInfo(_Frozen):
    """The metadata the classifier was given (None fields: not given)."""

    age: float | None = Field(default=None, ge=0, le=120)
    sex: str = "unknown"
    site: str = "unknown"


class Decision(_Frozen):
    """The class the run's decision rule picked, the rule, and the calibrated probability of that class."""

    class_: str = Field(alias="class")
    rule: Literal["prior", "thresholds", "argmax"]
    confidence: float = Field(ge=0, le=1)


class OperatingPointInfo(_Frozen):
    """How the malignant threshold was chosen on the validation side, and what it achieved there."""

    rule: str = Field(description="how the threshold was chosen, e.g. 'sensitivity >= 0.90 on validation'")
    sensitivity: float = Field(ge=0, le=1)
    specificity: float = Field(ge=0, le=1)
    sensitivity_ci: tuple[float, float] | None = Field(default=None, description="95% interval")
    specificity_ci: tuple[float, float] | None = Field(default=None, description="95% interval")
    malignant_images: int = Field(ge=0, description="validation images of a malignant class")
    benign_images: int = Field(ge=0, description="validation images of a benign class")


class Malignant(_Frozen):
    """Malignant vs benign: the summed probability of the malignant classes the classifier has.

    ``operating_point`` says where ``threshold`` comes from; ``validation`` gives its validation
    sensitivity and specificity, and is None for the documented default threshold (nothing claimed).
    """

    probability: float = Field(ge=0, le=1)
    flag: bool
    threshold: float = Field(ge=0, le=1)
    operating_point: str
    validation: OperatingPointInfo | None = None
    classes: list[str] = Field(description="the malignant classes present in the classifier, summed")


class RLE(_Frozen):
    """COCO-style uncompressed run-length encoding (column-major, runs of 0 first)."""

    size: tuple[int, int] = Field(description="[height, width]")
    counts: list[int]


class Lesion(_Frozen):
    """The predicted lesion: mask, area and bounding box (``[x, y, width, height]``, None when empty)."""

    mask: RLE
    area_px: int = Field(ge=0)
    bbox: tuple[int, int, int, int] | None


class HeatMap(_Frozen):
    """What drove the decision, averaged onto a small grid over the whole image (values 0..1).

    ``method``: ``attention`` (the model's own attention map), ``gradcam``, ``gradcam++`` or
    ``occlusion`` (probability drop when a patch is hidden; the ONNX Runtime path of models without
    attention, which has no gradients).
    """

    method: str
    target_class: str = Field(description="the class whose evidence the map shows")
    size: tuple[int, int] = Field(description="[rows, columns] of the grid")
    values: list[list[float]]


class OutOfDistribution(_Frozen):
    """How unlike the training images this image is, on the classifier's features."""

    method: str = Field(description="e.g. 'knn-cosine (k=10) on the classifier's features'")
    score: float = Field(description="higher is more unusual")
    threshold: float = Field(description="chosen on the validation side; above it the image is flagged")
    flag: bool


class TrainingData(_Frozen):
    """What a model was trained on."""

    dataset: str = Field(description="the data set folder's name, or 'synthetic'")
    images: int | None = Field(default=None, ge=0, description="images on the training side")
    classes: list[str] = Field(default_factory=list)


class ModelInfo(_Frozen):
    """Which trained model produced a part of the result, what it learnt from and how well it did."""

    name: str
    run: str = Field(description="the run folder, or the model package's file")
    recipe: str
    checksum: str = Field(description="sha256 of the checkpoint file (or of the package's graph)")
    version: str = Field(description="the dermkit version that trained it")
    training_data: TrainingData
    validated_metrics: dict[str, float] = Field(
        default_factory=dict, description="validation and test figures of the run ('val_bma', 'test_dice', ...)"
    )


class Models(_Frozen):
    seg: ModelInfo
    cls: ModelInfo
    backend: Literal["torch", "onnxruntime"] = "torch"


class AnalysisResult(_Frozen):
    """One image analysed: classification, decision, malignancy call, lesion, heat map, ABCD, quality."""

    schema_version: Literal["2"] = SCHEMA_VERSION
    image: ImageInfo
    patient: PatientInfo | None
    classes: list[str]
    probabilities: dict[str, float]
    decision: Decision
    malignant: Malignant | None = Field(description="None when the classifier has none of mel, bcc, akiec")
    lesion: Lesion
    heatmap: HeatMap | None = Field(description="None when no explanation was asked for")
    ood: OutOfDistribution | None = Field(description="None when the run has no fitted detector")
    measurements: dict[str, Any] = Field(description="dermkit.measure.LesionMeasurements.to_json()")
    quality: dict[str, Any] = Field(description="dermkit.quality.QualityReport.to_json()")
    models: Models
    intended_use: str = INTENDED_USE

    def to_json(self) -> str:
        """The JSON text ``dermkit predict`` writes (field aliases such as ``class``)."""
        return self.model_dump_json(by_alias=True, indent=2)


def schema_text() -> str:
    """The JSON Schema of :class:`AnalysisResult` as published (sorted keys, two-space indent)."""
    return json.dumps(AnalysisResult.model_json_schema(by_alias=True), indent=2, sort_keys=True) + "\n"


def published_schema() -> str:
    """The schema file shipped with the package for :data:`SCHEMA_VERSION`."""
    return resources.files("dermkit.schemas").joinpath(SCHEMA_FILE).read_text()


def encode_rle(mask: np.ndarray) -> RLE:
    """(H, W) {0, 1} mask -> COCO uncompressed RLE (column-major, starting with a run of zeros)."""
    flat = (np.asarray(mask) > 0).ravel(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0] == 1:
        counts = [0, *counts]
    return RLE(size=(int(mask.shape[0]), int(mask.shape[1])), counts=[int(c) for c in counts])


def decode_rle(rle: RLE) -> np.ndarray:
    """COCO uncompressed RLE -> (H, W) uint8 {0, 1} mask (the inverse of :func:`encode_rle`)."""
    h, w = rle.size
    values = np.arange(len(rle.counts)) % 2
    flat = np.repeat(values.astype(np.uint8), rle.counts)
    return flat.reshape((h, w), order="F")


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """``[x, y, width, height]`` of the mask's pixels (COCO order), None for an empty mask."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)
