"""Heat maps of a loaded classification run on one image, applied exactly as diagnosis applies the run.

:func:`model_input` repeats :func:`dermkit.inference.diagnose`'s path to the network: the run's
lesion focus (``data.focus``: crop to or mask out around the segmenter's lesion), the run's
preprocessing and normalisation, and the encoded metadata ("unknown" age, sex and site when none
is given). :func:`explain_input` explains that input with a method of
:data:`dermkit.explain.methods.METHODS`; :func:`to_image` maps the map back to the original image
(undo resize and padding with :func:`dermkit.preprocess.pipeline.restore_mask`, paste into the
focus box, zero outside it). :func:`explain` is the three in a row.

Test-time augmentation: the class explained by default is the one the run's decision picks
(:func:`~dermkit.inference.diagnose`, with the run's TTA and calibration); the map itself is of the
un-augmented view, as diagnosis's attention map is.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from dermkit.data.metadata import encode_metadata
from dermkit.data.records import Metadata
from dermkit.errors import DermkitError
from dermkit.explain.methods import METHODS, model_attention
from dermkit.inference.diagnose import diagnose
from dermkit.inference.focus import Box, run_focus
from dermkit.inference.runs import LoadedRun
from dermkit.preprocess.pipeline import Preprocessed, preprocess, restore_mask

AUTO = "auto"


@dataclass(frozen=True)
class HeatMap:
    """An explanation of one image's classification.

    Attributes:
        values: (H, W) float32 in [0, 1] at the image's original size (0 outside the focus box).
        method: the method that made it ("gradcam", "gradcam++" or "attention").
        target_class: the class explained (a name of ``run.classes``).
        target_index: its index in ``run.classes``.
        focus_box: (y0, y1, x0, x1) the classifier looked at (the whole image without a focus).
    """

    values: np.ndarray
    method: str
    target_class: str
    target_index: int
    focus_box: Box


@dataclass(frozen=True)
class ModelInput:
    """One image as the run's network sees it, and how to map back.

    Attributes:
        x: (1, C, h, w) normalised tensor on the run's device.
        meta: (1, metadata_dim) encoded metadata on the run's device.
        pre: the preprocessing result of the focused image (for :func:`restore_mask`).
        box: (y0, y1, x0, x1) of the focused region in the original image.
        image_size: (H, W) of the original image.
    """

    x: Tensor
    meta: Tensor
    pre: Preprocessed
    box: Box
    image_size: tuple[int, int]


def model_input(run: LoadedRun, image: np.ndarray, meta: Metadata | None = None) -> ModelInput:
    """The run's network input for an (H, W, 3) uint8 image, made as :func:`diagnose` makes it."""
    h, w = image.shape[:2]
    focus = run_focus(run)
    focused, box = focus.region(image)[:2] if focus is not None else (image, (0, h, 0, w))
    pre = preprocess(focused, run.cfg.data.preprocess)
    encoded = encode_metadata(meta or Metadata(image_id="image", lesion_id="image"))
    return ModelInput(run.to_tensor(pre.image), torch.from_numpy(encoded)[None].to(run.device), pre, box, (h, w))


def has_attention(run: LoadedRun, inp: ModelInput) -> bool:
    """Whether the run's model returns an attention map for this input."""
    return model_attention(run.model, inp.x, inp.meta) is not None


def resolve_method(run: LoadedRun, inp: ModelInput, method: str) -> str:
    """``method``, with ``auto`` = ``attention`` for models that have one, else ``gradcam``.

    Raises:
        ConfigError: an unknown method (did-you-mean).
    """
    if method == AUTO:
        return "attention" if has_attention(run, inp) else "gradcam"
    METHODS.entry(method)
    return method


def explain_input(run: LoadedRun, inp: ModelInput, method: str, target: int) -> np.ndarray:
    """(h, w) float32 map in [0, 1] of class index ``target`` at the network input's size.

    Raises:
        DermkitError: ``target`` is not a class of the run; ``attention`` for a model without one.
    """
    if not 0 <= target < len(run.classes):
        raise DermkitError(
            f"{run.run_dir}: target class index {target} is not one of the run's classes; "
            f"use 0..{len(run.classes) - 1} ({', '.join(run.classes)})"
        )
    return METHODS.get(resolve_method(run, inp, method))(run.model, inp.x, inp.meta, target)


def to_image(values: np.ndarray, inp: ModelInput) -> np.ndarray:
    """A map at the network input's size placed back on the original image (zero outside the focus box)."""
    inner = np.clip(restore_mask(values.astype(np.float32), inp.pre), 0.0, 1.0)
    out = np.zeros(inp.image_size, np.float32)
    y0, y1, x0, x1 = inp.box
    out[y0:y1, x0:x1] = inner
    return out


def decided_class(run: LoadedRun, image: np.ndarray, meta: Metadata | None = None) -> int:
    """Index of the class the run's decision picks for the image (diagnosis's TTA and calibration)."""
    return run.classes.index(diagnose(run, image, meta).predicted)


def explain(
    run: LoadedRun,
    image: np.ndarray,
    meta: Metadata | None = None,
    method: str = AUTO,
    target: int | None = None,
) -> HeatMap:
    """The heat map of ``run`` on an (H, W, 3) uint8 image, at the image's size.

    Args:
        run: a loaded classification run.
        image: (H, W, 3) uint8 RGB, as :func:`dermkit.imageio.read_image` gives it.
        meta: the patient's age, sex and site; None = unknown (as in diagnosis).
        method: a name of :func:`available_methods`, or ``auto`` (attention when the model has it,
            else Grad-CAM).
        target: class index to explain; default the class the run's decision picks.
    """
    inp = model_input(run, image, meta)
    name = resolve_method(run, inp, method)
    index = decided_class(run, image, meta) if target is None else int(target)
    values = to_image(explain_input(run, inp, name, index), inp)
    return HeatMap(values, name, run.classes[index], index, inp.box)


#: available methods per loaded run, found once by a probe forward pass
_AVAILABLE: weakref.WeakKeyDictionary[LoadedRun, list[str]] = weakref.WeakKeyDictionary()


def available_methods(run: LoadedRun) -> list[str]:
    """The methods that can explain ``run``: the gradient methods always, ``attention`` when the model has one.

    Found by one forward pass of a mid-grey image at the run's input size (the preprocess size, or
    the model's fixed size, else 224x224; no lesion focus: whether a model has an attention map
    does not depend on the image), once per loaded run.
    """
    if run not in _AVAILABLE:
        h, w = _probe_size(run)
        pre = preprocess(np.full((h, w, 3), 128, np.uint8), run.cfg.data.preprocess)
        meta = torch.from_numpy(encode_metadata(Metadata(image_id="probe", lesion_id="probe")))[None]
        att = model_attention(run.model, run.to_tensor(pre.image), meta.to(run.device))
        _AVAILABLE[run] = [n for n in METHODS if att is not None or not METHODS.entry(n).info["needs_attention"]]
    return list(_AVAILABLE[run])


def _probe_size(run: LoadedRun) -> tuple[int, int]:
    size = run.cfg.data.preprocess.size or getattr(run.model, "exact_input_size", None) or (224, 224)
    return int(size[0]), int(size[1])
