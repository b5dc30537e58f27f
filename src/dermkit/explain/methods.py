"""The explanation methods, one registry entry each: map(model, x, meta, target) at the model input.

Every method takes a classifier, one preprocessed, normalised image batch ``x`` (1, C, h, w), its
encoded metadata (1, metadata_dim) or None, and the class index to explain, and returns an (h, w)
float32 map in [0, 1] at ``x``'s size. :mod:`dermkit.explain.explain` maps it back to the
original image.

* ``gradcam`` / ``gradcam++``: pytorch-grad-cam's ``GradCAM`` / ``GradCAMPlusPlus`` on the layer of
  :func:`dermkit.explain.layers.target_layers`, for the class logit (not the softmax), min-max
  scaled per image by the library (an all-zero map, no positive evidence, stays all zero).
  pytorch-grad-cam calls ``model(x)`` and wants a logits tensor: :class:`LogitsOf` closes over the
  metadata and returns ``class_logits`` through :func:`dermkit.models.contract.classify` (so
  metadata reaches exactly the models built with ``use_metadata``).
* ``attention``: the model's own ``ClassificationOutput.attention`` (S4 soft attention: the summed
  softmax maps divided by their maximum; S5 model 2: the sigmoid weights), bilinearly up-sampled,
  values kept as the model gives them (already in [0, 1]), as :func:`dermkit.inference.diagnose`
  does. Only for models that return one (``available``).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import Tensor, nn

from dermkit.errors import DermkitError
from dermkit.explain.layers import target_layers
from dermkit.models.contract import classify
from dermkit.models.outputs import display_name
from dermkit.registry import Registry

#: (model, x, meta, target) -> (h, w) float32 in [0, 1]
MapFn = Callable[[nn.Module, Tensor, "Tensor | None", int], np.ndarray]

#: name -> map function; info: ``summary`` and ``needs_attention`` (available only for models with an attention map)
METHODS: Registry[MapFn] = Registry("explanation method")


class LogitsOf(nn.Module):
    """``model`` as a plain ``x -> class_logits`` module with ``meta`` closed over (what pytorch-grad-cam calls)."""

    def __init__(self, model: nn.Module, meta: Tensor | None) -> None:
        super().__init__()
        self.model, self.meta = model, meta

    def forward(self, x: Tensor) -> Tensor:
        meta = None if self.meta is None else self.meta.expand(x.shape[0], -1)
        return classify(self.model, x, meta).class_logits


def _cam(cam_class: type, model: nn.Module, x: Tensor, meta: Tensor | None, target: int) -> np.ndarray:
    """One pytorch-grad-cam CAM of class ``target`` on the model's target layer, at ``x``'s size."""
    layers = target_layers(model, x, meta)
    was_training = model.training
    cam = cam_class(model=LogitsOf(model, meta), target_layers=layers)
    # the input needs a gradient too: with frozen early layers the target map may otherwise have none
    cam.compute_input_gradient = True
    try:
        with torch.enable_grad():
            maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(int(target))])
    finally:
        cam.activations_and_grads.release()
        model.zero_grad(set_to_none=True)  # leave no .grad behind on the run's weights
        model.train(was_training)
    return np.clip(np.nan_to_num(maps[0].astype(np.float32)), 0.0, 1.0)


@METHODS.register("gradcam", needs_attention=False, summary="Grad-CAM (Selvaraju et al. 2017)")
def gradcam(model: nn.Module, x: Tensor, meta: Tensor | None, target: int) -> np.ndarray:
    """Grad-CAM: channel weights = spatially averaged gradients of the class logit."""
    return _cam(GradCAM, model, x, meta, target)


@METHODS.register("gradcam++", needs_attention=False, summary="Grad-CAM++ (Chattopadhyay et al. 2018)")
def gradcam_plus_plus(model: nn.Module, x: Tensor, meta: Tensor | None, target: int) -> np.ndarray:
    """Grad-CAM++: channel weights from positive gradients with second/third-order terms."""
    return _cam(GradCAMPlusPlus, model, x, meta, target)


def model_attention(model: nn.Module, x: Tensor, meta: Tensor | None) -> Tensor | None:
    """The model's own (1, 1, h', w') attention map for ``x``, or None when it has none."""
    with torch.no_grad():
        return classify(model, x, meta).attention


@METHODS.register("attention", needs_attention=True, summary="the model's own attention map (S4, S5)")
def attention(model: nn.Module, x: Tensor, meta: Tensor | None, target: int) -> np.ndarray:
    """The model's attention map up-sampled to ``x`` (class-agnostic: ``target`` is not used)."""
    att = model_attention(model, x, meta)
    if att is None:
        raise DermkitError(
            f"{display_name(model)} has no attention map; explain it with one of "
            f"{', '.join(n for n in METHODS if not METHODS.entry(n).info['needs_attention'])}"
        )
    small = att[0, 0].float().cpu().numpy()
    up = cv2.resize(small, (x.shape[-1], x.shape[-2]), interpolation=cv2.INTER_LINEAR)
    return np.clip(up.astype(np.float32), 0.0, 1.0)
