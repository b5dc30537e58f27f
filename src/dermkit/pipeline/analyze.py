"""The PyTorch back end of the pipeline: one image -> segment -> classify (with the run's focus) ->
explain -> measure -> quality check.

:class:`Analyzer` loads a segmentation run and a classification run once; ``analyze`` applies them
exactly as evaluation does (each run's own preprocessing, TTA, post-processing, lesion focus and
calibration), so the CLI, the web app and the benchmarks all get the same answer. The user's image
is never altered: every step sees a read-only view of it.
"""

from __future__ import annotations

from pathlib import Path

from dermkit.data.records import Metadata
from dermkit.errors import ConfigError
from dermkit.explain import available_methods, explain
from dermkit.inference import LoadedRun, diagnose, load_run, predict_mask
from dermkit.ood import load_ood
from dermkit.pipeline.assemble import Classification, build_result, check_rgb_image, ood_call, read_only
from dermkit.pipeline.card import run_model_info
from dermkit.pipeline.result import AnalysisResult, ModelInfo, Models


def model_info(run: LoadedRun) -> ModelInfo:
    """The identifiers of a loaded run (:func:`~dermkit.pipeline.card.run_model_info`)."""
    name = getattr(run.model, "model_name", run.cfg.model.name)
    return run_model_info(run.run_dir, name, run.cfg.recipe, run.cfg.data.path, run.classes)


#: Heat-map choices of the PyTorch path besides the explanation methods themselves.
HEATMAP_CHOICES = ("auto", "none")


class Analyzer:
    """A segmentation run and a classification run, loaded once, applied image after image.

    Args:
        seg_run_dir: a run folder of ``dermkit train seg``.
        cls_run_dir: a run folder of ``dermkit train cls``.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.
        heatmap: ``auto`` (the model's attention map, else Grad-CAM), ``none``, or a method of
            :func:`dermkit.explain.available_methods` (``gradcam``, ``gradcam++``, ``attention``).
        tta: test-time augmentation for both runs; None = each run's recipe setting.

    Raises:
        ConfigError: a heat-map method the classifier cannot give.
    """

    def __init__(
        self,
        seg_run_dir: str | Path,
        cls_run_dir: str | Path,
        device: str = "auto",
        heatmap: str = "auto",
        tta: bool | None = None,
    ) -> None:
        self.seg = load_run(seg_run_dir, task="segmentation", device=device)
        self.cls = load_run(cls_run_dir, task="classification", device=device)
        self.heatmap, self.tta = heatmap, tta
        if heatmap not in HEATMAP_CHOICES and heatmap not in (methods := available_methods(self.cls)):
            raise ConfigError(
                f"heat map {heatmap!r} is not available for {self.cls.run_dir}; choose one of "
                f"{', '.join([*HEATMAP_CHOICES, *methods])}"
            )
        self.models = Models(seg=model_info(self.seg), cls=model_info(self.cls), backend="torch")
        self.ood = load_ood(self.cls.run_dir)  # None for a run trained before detectors were fitted

    def explain(self, image, meta: Metadata | None, d) -> tuple[object, str | None]:
        """(H, W) heat map of the decided class and its method name; (None, None) for ``none``."""
        if self.heatmap == "none":
            return None, None
        if self.heatmap in ("auto", "attention") and d.attention is not None:
            return d.attention, "attention"  # the diagnosis pass already made it
        method = "gradcam" if self.heatmap == "auto" else self.heatmap
        heat = explain(self.cls, image, meta, method=method, target=self.cls.classes.index(d.predicted))
        return heat.values, heat.method

    def classify(self, image, meta: Metadata | None) -> Classification:
        """The classification run's diagnosis of a read-only image, with its heat map."""
        d = diagnose(self.cls, image, meta, tta=self.tta)
        heat, method = self.explain(image, meta, d)
        return Classification(
            classes=list(d.classes),
            probabilities=d.probabilities,
            predicted=d.predicted,
            confidence=d.confidence,
            rule=d.decision,
            heatmap=heat,
            heatmap_method=method,
            ood=ood_call(self.ood, d.features),
        )

    def analyze(self, image, meta: Metadata | None = None, image_id: str = "image") -> AnalysisResult:
        """Analyse one (H, W, 3) uint8 RGB image (as :func:`dermkit.imageio.read_image` gives).

        Raises:
            ImageTooSmall: the image is below :data:`MIN_ANALYSABLE_SIDE_PX` a side.
            DataError: the image is not an (H, W, 3) uint8 array.
        """
        check_rgb_image(image, image_id)
        view = read_only(image)
        mask = predict_mask(self.seg, view, tta=self.tta)
        point = self.cls.calibration().malignant
        return build_result(view, image_id, meta, mask, self.classify(view, meta), self.models, point)
