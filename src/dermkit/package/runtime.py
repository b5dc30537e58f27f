"""Running a model package on ONNX Runtime, without PyTorch.

:class:`PackageAnalyzer` is the ONNX Runtime twin of :class:`dermkit.pipeline.Analyzer`: the same
preprocessing (:mod:`dermkit.preprocess`), test-time augmentation views
(:mod:`dermkit.preprocess.views`), lesion focus, mask clean-up, calibration and decision rule
(:mod:`dermkit.calibration`), and the same result assembly (:mod:`dermkit.pipeline.assemble`); only
the networks run on ONNX Runtime. Nothing here imports torch (a test runs it where importing torch
fails), so a clinic laptop needs onnxruntime, numpy, OpenCV and scikit-image, not PyTorch.

Heat maps: a classifier with its own attention map returns it from its graph; for the others
ONNX Runtime has no gradients, so the map is an occlusion map (how much the decided class's
probability drops when a patch of the input is hidden; Zeiler & Fergus 2014), ``occlusion``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from dermkit.calibration import Calibration
from dermkit.data.metadata import AGE_SCALE, METADATA_DIM, encode_metadata
from dermkit.data.records import SEXES, SITES, Metadata
from dermkit.errors import ConfigError
from dermkit.ood import OOD_ARRAYS, OOD_JSON
from dermkit.ood.storage import ood_from_bytes
from dermkit.package.format import ClassifierSpec, GraphSpec, Manifest, PackageError, SegmenterSpec, read_package
from dermkit.pipeline.assemble import Classification, build_result, check_rgb_image, ood_call, read_only
from dermkit.pipeline.result import AnalysisResult, Models
from dermkit.preprocess.focus import Box, focus_region
from dermkit.preprocess.mask_cleanup import clean_mask
from dermkit.preprocess.normalize import to_model_input
from dermkit.preprocess.pipeline import PreprocessConfig, preprocess, restore_mask
from dermkit.preprocess.views import apply_view_np, tta_views, undo_view_np

#: Patches per side of the occlusion map (``grid`` x ``grid`` hidden patches, one batch).
OCCLUSION_GRID = 8


def _session(data: bytes, threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Graph:
    """One graph of the package with its preprocessing, ready to run."""

    spec: GraphSpec
    session: object

    @property
    def preprocess(self) -> PreprocessConfig:
        return PreprocessConfig.model_validate(self.spec.preprocess)

    def run(self, **inputs: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {k: v.astype(np.float32, copy=False) for k, v in inputs.items()})

    def model_input(self, image: np.ndarray):
        """(preprocessed, its (1, C, h, w) normalised input)."""
        pre = preprocess(image, self.preprocess)
        return pre, to_model_input(pre.image, self.spec.mean, self.spec.std)[None]


class Segmenter(Graph):
    spec: SegmenterSpec

    def mask(self, image: np.ndarray, tta: bool | None = None) -> np.ndarray:
        """(H, W) uint8 {0, 1} lesion mask at the image's size, as :func:`dermkit.inference.predict_mask`."""
        pre, x = self.model_input(image)
        views = tta_views(*x.shape[-2:], enabled=self.spec.tta if tta is None else tta, rotations=False)
        logits = self.run(image=np.concatenate([apply_view_np(x, v) for v in views]))[0]
        parts = [undo_view_np(_sigmoid(p[None]), v) for p, v in zip(logits, views, strict=True)]
        proba = restore_mask(np.mean(parts, axis=0)[0, 0].astype(np.float32), pre)
        mask = (proba > self.spec.threshold).astype(np.uint8)
        return clean_mask(mask) if self.spec.postprocess else mask


class Classifier(Graph):
    spec: ClassifierSpec

    def inputs(self, x: np.ndarray, m: np.ndarray) -> dict[str, np.ndarray]:
        named = {"image": x}
        if self.spec.uses_metadata:
            named["meta"] = np.repeat(m, len(x), axis=0)
        return named

    def logits(
        self, x: np.ndarray, m: np.ndarray, tta: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(1, C) logits averaged over the TTA views, and the identity view's attention map and
        features (None for a graph without them)."""
        views = tta_views(*x.shape[-2:], enabled=self.spec.tta if tta is None else tta)
        batch = np.concatenate([apply_view_np(x, v) for v in views])
        outputs = self.run(**self.inputs(batch, m))
        features = outputs[2][0] if len(outputs) > 2 else None
        return outputs[0].mean(0, keepdims=True), outputs[1][:1], features

    def occlusion(self, x: np.ndarray, m: np.ndarray, cal: Calibration, target: int) -> np.ndarray:
        """(h, w) drop of the target's calibrated probability when each of grid x grid patches is hidden
        (set to 0, the training data's mean colour after normalisation), scaled to [0, 1]."""
        _, _, h, w = x.shape
        ys = np.linspace(0, h, OCCLUSION_GRID + 1).round().astype(int)
        xs = np.linspace(0, w, OCCLUSION_GRID + 1).round().astype(int)
        batch = np.repeat(x, OCCLUSION_GRID * OCCLUSION_GRID + 1, axis=0)
        for i in range(OCCLUSION_GRID):
            for j in range(OCCLUSION_GRID):
                batch[1 + i * OCCLUSION_GRID + j, :, ys[i] : ys[i + 1], xs[j] : xs[j + 1]] = 0.0
        logits = self.run(**self.inputs(batch, m))[0]
        proba = cal.proba(logits, np.repeat(m, len(batch), axis=0))[:, target]
        drop = np.clip(proba[0] - proba[1:], 0.0, None).reshape(OCCLUSION_GRID, OCCLUSION_GRID)
        drop = drop / drop.max() if drop.max() > 0 else drop
        return cv2.resize(drop.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)


def check_encoding(path: Path, spec: ClassifierSpec) -> None:
    """The package's metadata encoding must be this dermkit's (else ages and sites would be misread)."""
    enc = spec.metadata
    if (enc.dim, enc.age_scale, tuple(enc.sexes), tuple(enc.sites)) != (METADATA_DIM, AGE_SCALE, SEXES, SITES):
        raise PackageError(
            f"{path}: the package encodes metadata differently from this dermkit version; use the dermkit version "
            "that exported it, or export it again"
        )


class PackageAnalyzer:
    """A model package, verified and loaded once, applied image after image on ONNX Runtime.

    Args:
        path: a ``.dermkit`` file written by ``dermkit export``.
        heatmap: ``auto`` (the model's attention map, else an occlusion map), ``none``, ``occlusion``,
            or ``attention`` (models with an attention map).
        tta: test-time augmentation for both graphs; None = each model's recipe setting.
        threads: ONNX Runtime's intra-op threads (None: $OMP_NUM_THREADS, else its default, all cores).

    Raises:
        PackageError: the package is not usable (see :func:`~dermkit.package.format.read_package`).
        ConfigError: a heat-map method the package's classifier cannot give.
    """

    def __init__(
        self, path: str | Path, heatmap: str = "auto", tta: bool | None = None, threads: int | None = None
    ) -> None:
        self.path = Path(path)
        self.manifest: Manifest
        self.manifest, members = read_package(self.path)
        m = self.manifest
        check_encoding(self.path, m.classifier)
        threads = threads or (int(os.environ["OMP_NUM_THREADS"]) if os.environ.get("OMP_NUM_THREADS") else None)
        self.segmenter = Segmenter(m.segmenter, _session(members[m.segmenter.graph], threads))
        self.classifier = Classifier(m.classifier, _session(members[m.classifier.graph], threads))
        self.focus_segmenter = None
        if m.classifier.focus is not None:
            if m.classifier.focus.segmenter == "segmenter":
                self.focus_segmenter = self.segmenter
            elif m.focus_segmenter is None:
                raise PackageError(f"{self.path}: the classifier needs a focus segmenter the package lacks")
            else:
                self.focus_segmenter = Segmenter(m.focus_segmenter, _session(members[m.focus_segmenter.graph], threads))
        self.calibration = Calibration.from_json(m.classifier.calibration, f"{self.path}:calibration")
        self.ood = None
        if m.classifier.ood is not None:
            npz, info = Path(f"{self.path}:{OOD_ARRAYS}"), Path(f"{self.path}:{OOD_JSON}")
            self.ood = ood_from_bytes(members[OOD_ARRAYS], members[OOD_JSON], npz, info)
        choices = ["auto", "none", "occlusion", *(["attention"] if m.classifier.attention else [])]
        if heatmap not in choices:
            raise ConfigError(
                f"heat map {heatmap!r} is not available for {self.path}; choose one of {', '.join(choices)}"
            )
        self.heatmap = heatmap
        self.tta = tta
        self.models = Models(seg=m.segmenter.info, cls=m.classifier.info, backend="onnxruntime")

    def focused(self, image: np.ndarray) -> tuple[np.ndarray, Box]:
        h, w = image.shape[:2]
        focus = self.manifest.classifier.focus
        if focus is None or self.focus_segmenter is None:
            return image, (0, h, 0, w)
        return focus_region(image, self.focus_segmenter.mask(image), focus.mode, focus.margin)

    def classify(self, image: np.ndarray, meta: Metadata | None) -> Classification:
        """As :func:`dermkit.inference.diagnose`, on ONNX Runtime."""
        h, w = image.shape[:2]
        focused, box = self.focused(image)
        pre, x = self.classifier.model_input(focused)
        m = encode_metadata(meta or Metadata(image_id="image", lesion_id="image"))[None]
        logits, attention, features = self.classifier.logits(x, m, self.tta)
        cal = self.calibration if meta is not None else self.calibration.without_metadata()
        proba = cal.proba(logits, m)[0]
        pred = int(cal.decide(proba[None])[0])
        heat, method = None, None
        if self.heatmap != "none":
            if self.manifest.classifier.attention and self.heatmap in ("auto", "attention"):
                inner = cv2.resize(attention[0, 0].astype(np.float32), (pre.image.shape[1], pre.image.shape[0]))
                method = "attention"
            else:
                inner = self.classifier.occlusion(x, m, cal, pred)
                method = "occlusion"
            heat = np.zeros((h, w), np.float32)
            y0, y1, x0, x1 = box
            heat[y0:y1, x0:x1] = restore_mask(inner.astype(np.float32), pre)
        classes = list(self.manifest.classifier.classes)
        return Classification(
            classes=classes,
            probabilities=proba,
            predicted=classes[pred],
            confidence=float(proba[pred]),
            rule=cal.decision,
            heatmap=heat,
            heatmap_method=method,
            ood=ood_call(self.ood, features),
        )

    def analyze(self, image: np.ndarray, meta: Metadata | None = None, image_id: str = "image") -> AnalysisResult:
        """Analyse one (H, W, 3) uint8 RGB image, as :meth:`dermkit.pipeline.Analyzer.analyze` does."""
        check_rgb_image(image, image_id)
        view = read_only(image)
        mask = self.segmenter.mask(view, self.tta)
        cls = self.classify(view, meta)
        return build_result(view, image_id, meta, mask, cls, self.models, self.calibration.malignant)
