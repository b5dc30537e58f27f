"""Which layer Grad-CAM explains, for every registered classifier.

The generic rule (:func:`last_feature_map`): run the model once with forward hooks on every
module and take the module that finished last with a 4-D tensor output of more than one channel
and more than one position, called exactly once. That is the feature map feeding the global
pool or the flatten: a timm backbone's last stage or final norm, the last ReLU of S1/S2's conv
trunk, S4's soft-attention block output (its dropout, the map the global pool averages). One
channel is excluded so a 1x1-conv attention logit map is never taken for features; modules
called twice (a shared activation) are excluded because Grad-CAM's hooks would see two maps.

Overrides (:data:`TARGET_LAYERS`, keyed by registry model name) where the generic rule is not
what we want to explain:

* ``hybrid_densenet_s5`` and ``hybrid_resnetv2_attention_s5`` (S5 dual-path): the **backbone
  path's** final feature map (``model.backbone``, stride 32), i.e. the deep pretrained path the
  paper's attention sits on (model 2's attention multiplies exactly this map). The custom CNN
  path (stride 8, globally pooled beside it) is not explained; the generic rule would pick the
  backbone too at the paper's size but fall back to the CNN path whenever the backbone's map
  is 1x1 (inputs under 64 px), so the override keeps the choice fixed.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from dermkit.errors import DermkitError
from dermkit.models.contract import classify
from dermkit.models.outputs import display_name
from dermkit.registry import Registry

#: model name -> function(model) -> the layers Grad-CAM explains
TARGET_LAYERS: Registry[Callable[[nn.Module], list[nn.Module]]] = Registry("Grad-CAM target layer override")


@TARGET_LAYERS.register("hybrid_densenet_s5", path="backbone")
@TARGET_LAYERS.register("hybrid_resnetv2_attention_s5", path="backbone")
def backbone_path(model: nn.Module) -> list[nn.Module]:
    """S5's backbone path: its final feature map, before the spatial attention (model 2)."""
    return [model.backbone]


def last_feature_map(model: nn.Module, image: Tensor, meta: Tensor | None = None) -> str:
    """Name (in ``model.named_modules()``) of the last multi-channel spatial feature map (module doc).

    Raises:
        DermkitError: the model has no such map at this input size (e.g. the input is so small that
            every map is 1x1).
    """
    calls: dict[str, int] = {}
    order: list[str] = []

    def hook(name: str) -> Callable:
        def record(_module: nn.Module, _inputs: object, output: object) -> None:
            calls[name] = calls.get(name, 0) + 1
            if isinstance(output, Tensor) and output.ndim == 4 and output.shape[1] > 1 and output[0, 0].numel() > 1:
                order.append(name)

        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in model.named_modules() if name]
    try:
        with torch.no_grad():
            classify(model, image, meta)
    finally:
        for handle in handles:
            handle.remove()
    once = [name for name in order if calls[name] == 1]
    if not once:
        raise DermkitError(
            f"{display_name(model)}: no spatial feature map larger than 1x1 at input {tuple(image.shape[-2:])}; "
            "Grad-CAM needs one (use a larger input or the model's attention map)"
        )
    return once[-1]


def target_layers(
    model: nn.Module, image: Tensor, meta: Tensor | None = None, name: str | None = None
) -> list[nn.Module]:
    """The layers Grad-CAM explains for ``model`` (registry name ``name``, default ``model.model_name``):
    the override of :data:`TARGET_LAYERS` when there is one, else :func:`last_feature_map`."""
    name = name or display_name(model)
    if name in TARGET_LAYERS:
        return TARGET_LAYERS.get(name)(model)
    return [dict(model.named_modules())[last_feature_map(model, image, meta)]]


def layer_names(model: nn.Module, layers: list[nn.Module]) -> list[str]:
    """The names of ``layers`` inside ``model`` (for reports and tests)."""
    names = {id(m): n for n, m in model.named_modules()}
    return [names[id(layer)] for layer in layers]
