"""The pipeline: one image -> segment -> classify (with the run's focus) -> measure -> quality check.

:class:`Analyzer` loads a segmentation run and a classification run once; ``analyze`` applies them
exactly as evaluation does (each run's own preprocessing, TTA, post-processing, lesion focus and
calibration), so the CLI, the web app and the benchmarks all get the same answer. The user's image
is never altered: every step sees a read-only view of it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from dermkit.data.records import Metadata
from dermkit.errors import DataError
from dermkit.inference import Diagnosis, LoadedRun, diagnose, load_run, predict_mask
from dermkit.measure import measure_lesion
from dermkit.pipeline.result import (
    DEFAULT_MALIGNANT_THRESHOLD,
    DEFAULT_OPERATING_POINT,
    MALIGNANT_CLASSES,
    AnalysisResult,
    AttentionMap,
    Decision,
    ImageInfo,
    Lesion,
    Malignant,
    ModelInfo,
    Models,
    PatientInfo,
    bounding_box,
    encode_rle,
)
from dermkit.quality import check_quality

#: Side of the attention grid stored in the result (the overlay uses the full-size map).
ATTENTION_GRID = 32
#: Shorter side below which an image cannot be segmented or measured at all (the quality gate's
#: ``too_small`` flag, at 64 px, already warns about images below a useful size).
MIN_ANALYSABLE_SIDE_PX = 8


class ImageTooSmall(DataError):
    """An image too small to segment or measure (e.g. 1 x 1 px)."""


def checkpoint_sha256(run: LoadedRun, checkpoint: str = "best") -> str:
    """sha256 of the run's checkpoint file, so a result names the exact weights that made it."""
    digest = hashlib.sha256()
    with open(run.run_dir / "checkpoints" / f"{checkpoint}.pt", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_info(run: LoadedRun) -> ModelInfo:
    """Name, run folder, recipe and checkpoint checksum of a loaded run."""
    name = getattr(run.model, "model_name", run.cfg.model.name)
    return ModelInfo(name=name, run=str(run.run_dir), recipe=run.cfg.recipe, checksum=checkpoint_sha256(run))


def malignant_call(
    classes: list[str], proba: np.ndarray, threshold: float = DEFAULT_MALIGNANT_THRESHOLD
) -> Malignant | None:
    """p(mel) + p(bcc) + p(akiec) over the classes present, flagged at ``threshold``; None without any."""
    present = [c for c in MALIGNANT_CLASSES if c in classes]
    if not present:
        return None
    p = float(min(1.0, sum(float(proba[classes.index(c)]) for c in present)))
    return Malignant(
        probability=p,
        flag=p >= threshold,
        threshold=threshold,
        operating_point=DEFAULT_OPERATING_POINT,
        classes=present,
    )


def attention_grid(attention: np.ndarray | None, side: int = ATTENTION_GRID) -> AttentionMap | None:
    """The (H, W) attention map averaged onto a ``side`` x ``side`` grid (None stays None)."""
    if attention is None:
        return None
    small = cv2.resize(attention.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA)
    values = np.clip(small, 0.0, 1.0).round(4).tolist()
    return AttentionMap(size=(side, side), values=values)


def check_analysable(image: np.ndarray, image_id: str) -> None:
    """Refuse an image too small to segment or measure, with a message that says so."""
    h, w = image.shape[:2]
    if min(h, w) < MIN_ANALYSABLE_SIDE_PX:
        raise ImageTooSmall(
            f"{image_id}: the image is {w} x {h} px, too small to segment or measure (at least "
            f"{MIN_ANALYSABLE_SIDE_PX} px a side, 64 px for a reliable result); use the original, full-resolution image"
        )


def build_result(
    image: np.ndarray, image_id: str, meta: Metadata | None, mask: np.ndarray, diagnosis: Diagnosis, models: Models
) -> AnalysisResult:
    """Assemble the typed result from the steps' outputs (measurements and quality computed here)."""
    h, w = image.shape[:2]
    proba = np.asarray(diagnosis.probabilities, np.float64)
    patient = None if meta is None else PatientInfo(age=meta.age, sex=meta.sex, site=meta.site)
    return AnalysisResult(
        image=ImageInfo(id=image_id, width=w, height=h),
        patient=patient,
        classes=list(diagnosis.classes),
        probabilities={c: float(p) for c, p in zip(diagnosis.classes, proba, strict=True)},
        decision=Decision(class_=diagnosis.predicted, rule=diagnosis.decision, confidence=diagnosis.confidence),
        malignant=malignant_call(list(diagnosis.classes), proba),
        lesion=Lesion(mask=encode_rle(mask), area_px=int(mask.sum()), bbox=bounding_box(mask)),
        attention=attention_grid(diagnosis.attention),
        measurements=measure_lesion(image, mask).to_json(),
        quality=check_quality(image, mask).to_json(),
        models=models,
    )


class Analyzer:
    """A segmentation run and a classification run, loaded once, applied image after image.

    Args:
        seg_run_dir: a run folder of ``dermkit train seg``.
        cls_run_dir: a run folder of ``dermkit train cls``.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.
    """

    def __init__(self, seg_run_dir: str | Path, cls_run_dir: str | Path, device: str = "auto") -> None:
        self.seg = load_run(seg_run_dir, task="segmentation", device=device)
        self.cls = load_run(cls_run_dir, task="classification", device=device)
        self.models = Models(seg=model_info(self.seg), cls=model_info(self.cls))

    def analyze(self, image: np.ndarray, meta: Metadata | None = None, image_id: str = "image") -> AnalysisResult:
        """Analyse one (H, W, 3) uint8 RGB image (as :func:`dermkit.imageio.read_image` gives).

        Raises:
            ImageTooSmall: the image is below :data:`MIN_ANALYSABLE_SIDE_PX` a side.
            DataError: the image is not an (H, W, 3) uint8 array.
        """
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            got = getattr(image, "shape", type(image).__name__)
            raise DataError(f"{image_id}: expected an (H, W, 3) uint8 RGB image, got {got}; read it with read_image")
        check_analysable(image, image_id)
        view = image.view()
        view.flags.writeable = False  # no step may change the user's pixels
        mask = predict_mask(self.seg, view)
        diagnosis = diagnose(self.cls, view, meta)
        return build_result(view, image_id, meta, mask, diagnosis, self.models)
