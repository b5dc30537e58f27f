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

SCHEMA_VERSION = "1"
#: The schema file of :data:`SCHEMA_VERSION` inside the package.
SCHEMA_FILE = f"analysis-v{SCHEMA_VERSION}.json"

#: Classes whose probabilities add up to the malignant-vs-benign call (HAM10000 names).
MALIGNANT_CLASSES: tuple[str, ...] = ("mel", "bcc", "akiec")
#: The malignant flag's threshold until one is fitted on validation data (issue 11).
DEFAULT_MALIGNANT_THRESHOLD = 0.5
DEFAULT_OPERATING_POINT = "default 0.5: not yet fitted on validation"


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


class Malignant(_Frozen):
    """Malignant vs benign: the summed probability of the malignant classes the classifier has.

    ``operating_point`` says where ``threshold`` comes from; today a documented default, not a
    validated operating point (no sensitivity/specificity is claimed for it).
    """

    probability: float = Field(ge=0, le=1)
    flag: bool
    threshold: float = Field(ge=0, le=1)
    operating_point: str
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


class AttentionMap(_Frozen):
    """The classifier's own attention, averaged onto a small grid over the whole image (values 0..1)."""

    size: tuple[int, int] = Field(description="[rows, columns] of the grid")
    values: list[list[float]]


class ModelInfo(_Frozen):
    """Which trained run produced a part of the result."""

    name: str
    run: str = Field(description="the run folder")
    recipe: str
    checksum: str = Field(description="sha256 of the checkpoint file")


class Models(_Frozen):
    seg: ModelInfo
    cls: ModelInfo


class AnalysisResult(_Frozen):
    """One image analysed: classification, decision, malignancy call, lesion, attention, ABCD, quality."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    image: ImageInfo
    patient: PatientInfo | None
    classes: list[str]
    probabilities: dict[str, float]
    decision: Decision
    malignant: Malignant | None = Field(description="None when the classifier has none of mel, bcc, akiec")
    lesion: Lesion
    attention: AttentionMap | None = Field(description="None when the classifier has no attention map")
    measurements: dict[str, Any] = Field(description="dermkit.measure.LesionMeasurements.to_json()")
    quality: dict[str, Any] = Field(description="dermkit.quality.QualityReport.to_json()")
    models: Models

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
