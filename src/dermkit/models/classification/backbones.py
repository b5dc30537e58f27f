"""timm backbones for the classifiers, declared as data.

:data:`BACKBONES` maps the backbone names the papers use to timm models, the paper input size,
the smallest input the network accepts and what S4's "cut before the last stage" removes.
:func:`build_backbone` builds one as a :class:`Backbone` module that returns

* ``output="cut"`` (S4): the second-to-last feature level (stride 16) of timm's
  ``feature_info``: the whole stride-32 stage is cut off (``prune_intermediate_layers``
  deletes its modules, so no dead parameters remain). The Keras references cut a little
  later, inside the last stage (e.g. IRv2 ``layers[-28]``: 8x8x2080 at 299; MobileNets
  without their last 1x1 convs, still at stride 32); the stride-16 cut is the one expressible
  uniformly through timm, and it gives a 14x14 map at 224 (7x7 after the block's pooling)
  instead of 7x7 (4x4), i.e. a finer attention map.
* ``output="final"`` (S5): the last feature map (timm ``forward_features``, after the final
  norm / head conv), e.g. 7x7x1024 for DenseNet121 and 7x7x2048 for ResNet50V2 at 224.
* ``output="pooled"``: timm's pooled features (``num_classes=0``), dropout ``drop_rate``
  included.

Weights: ``pretrained=True`` loads the offline EfficientNet-Lite0/1/2 weights for
``tf_efficientnet_lite0/1/2`` (table names ``efficientnet_lite0/1/2``;
:data:`~dermkit.models.pretrained.OFFLINE_WEIGHTS`) and asks timm (Hugging Face Hub, cache
first) for anything else,
failing fast with :class:`~dermkit.errors.ConfigError` when they cannot be fetched
(:func:`~dermkit.models.pretrained.timm_weights_source`). Preprocessing follows the weights
through ``pretrained_cfg``: S4's "each backbone gets its own input scaling" is timm's mean/std
for those weights (e.g. [-1, 1] for IRv2 and EfficientNet-Lite0; note timm's ResNet50 weights
take ImageNet mean/std on [0, 1], not Keras's caffe-style BGR mean subtraction).

Freezing: ``freeze_first=N`` freezes the first N *layers*, where a layer is a module holding
parameters directly (conv, norm, linear; timm's ``BatchNormAct2d`` counts once) in
definition order. Frozen batch-norm layers also stay in eval mode (running statistics fixed),
as Keras does for a frozen BatchNormalization layer.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import timm
from torch import Tensor, nn

from dermkit.errors import ConfigError
from dermkit.models.pretrained import (
    PretrainedCfg,
    load_offline_imagenet,
    offline_pretrained_cfg,
    timm_pretrained_cfg,
    timm_weights_source,
)

Output = Literal["cut", "final", "pooled"]
OUTPUTS: tuple[str, ...] = ("cut", "final", "pooled")


@dataclass(frozen=True)
class BackboneSpec:
    """One backbone as the papers name it.

    Attributes:
        timm_name: timm architecture.
        cut: What ``output="cut"`` removes (documentation, shown in reports).
        input_size: The paper's / weights' input side (224, 299 for IRv2, 331 for NASNetLarge).
        min_input_size: Smallest image side the network accepts.
    """

    timm_name: str
    cut: str
    input_size: int = 224
    min_input_size: int = 32


#: S4's backbones (NASNetMobile is missing: timm has no NASNetMobile), S5's two, and timm's
#: tiny test architectures for fast tests.
BACKBONES: Mapping[str, BackboneSpec] = MappingProxyType(
    {
        "densenet201": BackboneSpec(
            "densenet201", "transition3, denseblock4 (32 dense layers) and norm5: 1792 ch kept"
        ),
        "inception_resnet_v2": BackboneSpec(
            "inception_resnet_v2",
            "mixed_7a, the 9+1 block8 units and conv2d_7b: 1088 ch (block17 repeats) kept",
            input_size=299,
            min_input_size=75,
        ),
        "resnet50": BackboneSpec("resnet50", "layer4 (3 bottlenecks): 1024 ch kept"),
        "resnet152": BackboneSpec("resnet152", "layer4 (3 bottlenecks): 1024 ch kept"),
        "nasnetalarge": BackboneSpec(
            "nasnetalarge",
            "reduction_cell_1, cells 12-17 and the final act: 2016 ch kept",
            input_size=331,
        ),
        "mobilenetv2": BackboneSpec(
            "mobilenetv2_100", "blocks 5-6 (160/320-ch inverted residuals), conv_head: 96 ch kept"
        ),
        "mobilenetv3_small": BackboneSpec(
            "mobilenetv3_small_100",
            "blocks 4-5 (96-ch IRs, 1x1 conv to 576), conv_head: 48 ch kept",
        ),
        "mobilenetv3_large": BackboneSpec(
            "mobilenetv3_large_100",
            "blocks 5-6 (160-ch IRs, 1x1 conv to 960), conv_head: 112 ch kept",
        ),
        # the offline ImageNet weights (EfficientNet-Lite0/1/2 packages), at their native sizes
        "efficientnet_lite0": BackboneSpec(
            "tf_efficientnet_lite0", "blocks 5-6 (192/320-ch IRs), conv_head to 1280: 112 ch kept"
        ),
        "efficientnet_lite1": BackboneSpec(
            "tf_efficientnet_lite1", "blocks 5-6 (192/320-ch IRs), conv_head to 1280: 112 ch kept", input_size=240
        ),
        "efficientnet_lite2": BackboneSpec(
            "tf_efficientnet_lite2", "blocks 5-6 (208/352-ch IRs), conv_head to 1280: 120 ch kept", input_size=260
        ),
        "densenet121": BackboneSpec("densenet121", "transition3, denseblock4 and norm5: 1024 ch kept"),
        # Keras ResNet50V2 is pre-activation with batch norm: timm resnetv2_50 (BiT's
        # resnetv2_50x1_bit uses group norm and weight standardisation instead)
        "resnet50v2": BackboneSpec("resnetv2_50", "stages.3 (3 blocks) and the final norm: 1024 ch kept"),
        "test_efficientnet": BackboneSpec("test_efficientnet", "the stride-32 stage: 48 ch kept"),
        "test_resnet": BackboneSpec("test_resnet", "layer4: 192 ch kept"),
    }
)

#: S4's backbone names (the table keys), for recipes and tests.
S4_BACKBONES: tuple[str, ...] = (
    "densenet201",
    "inception_resnet_v2",
    "resnet50",
    "resnet152",
    "nasnetalarge",
    "mobilenetv2",
    "mobilenetv3_small",
    "mobilenetv3_large",
    "efficientnet_lite0",
)


def resolve_backbone(name: str) -> BackboneSpec:
    """The table entry for ``name``, or a generic entry for any other timm model name.

    Table names win: ``"efficientnet_lite0"`` (1, 2) means ``tf_efficientnet_lite0`` (the
    offline weights), not timm's own ``efficientnet_lite0``.

    Raises:
        ConfigError: Neither a table name nor a timm model (close matches suggested).
    """
    if name in BACKBONES:
        return BACKBONES[name]
    if timm.is_model(name):
        return BackboneSpec(name, "the last feature level (generic timm model)")
    close = difflib.get_close_matches(name, [*BACKBONES, *timm.list_models()], n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError(f"unknown backbone {name!r}.{hint} Use one of {', '.join(BACKBONES)} or a timm model name.")


def create_timm_model(
    timm_name: str, pretrained: bool, in_channels: int = 3, **kwargs: object
) -> tuple[nn.Module, PretrainedCfg | None]:
    """``timm.create_model`` with dermkit's weight handling.

    Args:
        timm_name: timm architecture.
        pretrained: Load ImageNet weights (offline for ``tf_efficientnet_lite0/1/2``).
        in_channels: 1 or 3 (pretrained stems are adapted by summing RGB kernels).
        **kwargs: Passed to ``timm.create_model`` (e.g. ``num_classes=0``).

    Returns:
        The model and the :class:`PretrainedCfg` of its weights (``None`` if random).

    Raises:
        ConfigError: Weights that cannot be loaded (fast when offline).
    """
    if in_channels not in (1, 3):
        raise ValueError(f"in_channels must be 1 or 3; got {in_channels}")
    common = dict(in_chans=in_channels, **kwargs)
    if not pretrained:
        return timm.create_model(timm_name, pretrained=False, **common), None
    offline = offline_pretrained_cfg(timm_name)
    if offline is not None:
        model = timm.create_model(timm_name, pretrained=False, **common)
        load_offline_imagenet(model, offline.name)
        return model, offline
    source = timm_weights_source(timm_name)  # raises ConfigError fast when offline
    try:
        model = timm.create_model(timm_name, **common, **source)
    except (OSError, RuntimeError) as err:  # download or file errors surface from timm / hub
        raise ConfigError(f"could not load ImageNet weights for {timm_name!r}: {err}") from err
    return model, timm_pretrained_cfg(timm_name)


def parameter_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules that hold parameters directly, in definition order: the "layers" counted
    by ``freeze_first``."""
    return [(name, m) for name, m in module.named_modules() if next(m.parameters(recurse=False), None) is not None]


def freeze_first_layers(module: nn.Module, n: int) -> tuple[str, ...]:
    """Freeze (``requires_grad=False``) the parameters of the first ``n`` layers of ``module``.

    Returns:
        The names of the frozen layers.

    Raises:
        ValueError: ``n`` is negative or larger than the number of layers.
    """
    layers = parameter_layers(module)
    if not 0 <= n <= len(layers):
        raise ValueError(
            f"freeze_first must be between 0 and the backbone's {len(layers)} parameter-holding layers; got {n}"
        )
    for _, layer in layers[:n]:
        for p in layer.parameters(recurse=False):
            p.requires_grad_(False)
    return tuple(name for name, _ in layers[:n])


class Backbone(nn.Module):
    """A timm model returning one tensor: the cut / final feature map or pooled features.

    Attributes:
        body: The timm model.
        output: ``"cut"``, ``"final"`` or ``"pooled"``.
        out_channels: Channels (or feature length for ``"pooled"``) of the output.
        reduction: Down-sampling factor of the output feature map.
        frozen_layers: Names (inside ``body``) of the layers ``freeze_first`` froze.
    """

    def __init__(
        self,
        body: nn.Module,
        output: Output,
        out_index: int,
        out_channels: int,
        reduction: int,
        frozen_layers: tuple[str, ...] = (),
    ):
        super().__init__()
        self.body = body
        self.output = output
        self.out_index = out_index
        self.out_channels = out_channels
        self.reduction = reduction
        self.frozen_layers = frozen_layers

    def forward(self, x: Tensor) -> Tensor:
        if self.output == "cut":  # (B, C, H/16, W/16)
            return self.body.forward_intermediates(x, indices=[self.out_index], intermediates_only=True)[0]
        if self.output == "final":  # (B, C, H/32, W/32)
            return self.body.forward_features(x)
        return self.body(x)  # (B, C) pooled

    def train(self, mode: bool = True) -> Backbone:
        super().train(mode)
        modules = dict(self.body.named_modules())
        for name in self.frozen_layers:  # frozen BN keeps its running statistics
            if isinstance(modules[name], nn.modules.batchnorm._BatchNorm):
                modules[name].eval()
        return self


def build_backbone(
    name: str,
    pretrained: bool,
    in_channels: int = 3,
    freeze_first: int = 0,
    output: Output = "cut",
    drop_rate: float = 0.0,
) -> tuple[Backbone, int, int, PretrainedCfg | None]:
    """Build a backbone by table or timm name.

    Args:
        name: A :data:`BACKBONES` key or any timm model name.
        pretrained: Load ImageNet weights (see module doc).
        in_channels: 1 or 3.
        freeze_first: Freeze the first N parameter-holding layers (after the cut).
        output: ``"cut"`` (S4), ``"final"`` (S5) or ``"pooled"``.
        drop_rate: timm's dropout before the (removed) classifier; only ``"pooled"`` uses it.

    Returns:
        ``(backbone, channels, reduction, pretrained_cfg)``: ``pretrained_cfg`` is ``None``
        for random weights.

    Raises:
        ConfigError: Unknown name or weights that cannot be loaded.
        ValueError: Bad ``output``, ``in_channels`` or ``freeze_first``.
    """
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}; got {output!r}")
    spec = resolve_backbone(name)
    body, cfg = create_timm_model(spec.timm_name, pretrained, in_channels, num_classes=0, drop_rate=drop_rate)
    info = body.feature_info  # list of dicts: num_chs, reduction, module
    out_index = len(info) - 2 if output == "cut" else len(info) - 1
    if output == "cut":
        # deletes the modules after the cut (and the head), so no dead parameters remain
        body.prune_intermediate_layers(indices=[out_index], prune_norm=True, prune_head=True)
        channels, reduction = info[out_index]["num_chs"], info[out_index]["reduction"]
    else:
        channels, reduction = body.num_features, info[-1]["reduction"]
    frozen = freeze_first_layers(body, freeze_first)
    return Backbone(body, output, out_index, channels, reduction, frozen), channels, reduction, cfg
