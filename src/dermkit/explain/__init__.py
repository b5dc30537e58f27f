"""Heat maps for every registered classifier, and measures of how faithful they are.

API (the pipeline, CLI and benchmarks call these; nothing here is wired into them yet)::

    from dermkit.explain import explain, available_methods

    run = dermkit.inference.load_run("runs/cls", task="classification")
    available_methods(run)                  # ["gradcam", "gradcam++"] (+ "attention" for S4 / S5 model 2)
    heat = explain(run, image, meta=None, method="auto", target=None)
    heat.values                             # (H, W) float32 in [0, 1] at the image's ORIGINAL size
    heat.method, heat.target_class, heat.target_index, heat.focus_box

* :func:`explain` ``(run: LoadedRun, image: np.ndarray, meta: Metadata | None = None,
  method: str = "auto", target: int | None = None) -> HeatMap``: applies the run exactly as
  :func:`dermkit.inference.diagnose` does (lesion focus of segment-then-classify runs, preprocessing,
  metadata for models built with ``use_metadata``), explains class ``target`` (default: the class
  the run's decision picks, with its TTA and calibration) and maps the result back to the original
  image (resize and padding undone, placed into the focus box, zero outside). ``method="auto"``:
  ``attention`` when the model returns an attention map, else ``gradcam``.
* :func:`available_methods` ``(run) -> list[str]``.
* Lower level, for benchmarks: :func:`model_input` ``(run, image, meta) -> ModelInput`` (the network
  input), :func:`explain_input` ``(run, inp, method, target) -> np.ndarray`` (map at the input size),
  :func:`to_image` ``(values, inp) -> np.ndarray`` (back to the original image).
* Methods (:data:`METHODS`, a :class:`~dermkit.registry.Registry`): ``gradcam``, ``gradcam++``
  (pytorch-grad-cam) and ``attention``; see :mod:`dermkit.explain.methods`.
* Grad-CAM's layer per model: :func:`target_layers` (generic rule + the :data:`TARGET_LAYERS`
  overrides: S5's hybrids explain their backbone path); see :mod:`dermkit.explain.layers`.
* Faithfulness (:mod:`dermkit.explain.faithfulness`): :func:`mass_inside` / :func:`area_share`
  (lesion mass share and its chance level), :func:`deletion_insertion` / :func:`perturbation_curve`
  (Petsiuk et al. 2018; blur or mean baseline) and :func:`auc`.
"""

from dermkit.explain.explain import (
    AUTO,
    HeatMap,
    ModelInput,
    available_methods,
    decided_class,
    explain,
    explain_input,
    model_input,
    to_image,
)
from dermkit.explain.faithfulness import (
    BASELINES,
    Curve,
    area_share,
    auc,
    blur_baseline,
    deletion_insertion,
    mass_inside,
    mean_baseline,
    perturbation_curve,
)
from dermkit.explain.layers import TARGET_LAYERS, last_feature_map, layer_names, target_layers
from dermkit.explain.methods import METHODS, LogitsOf

__all__ = [
    "AUTO",
    "BASELINES",
    "METHODS",
    "TARGET_LAYERS",
    "Curve",
    "HeatMap",
    "LogitsOf",
    "ModelInput",
    "area_share",
    "auc",
    "available_methods",
    "blur_baseline",
    "decided_class",
    "deletion_insertion",
    "explain",
    "explain_input",
    "last_feature_map",
    "layer_names",
    "mass_inside",
    "mean_baseline",
    "model_input",
    "perturbation_curve",
    "target_layers",
    "to_image",
]
