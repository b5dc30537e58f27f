"""S5's hybrid dual-path classifiers (Baliyan, Tomar, Dixit).

Both models run two paths on the same image and concatenate their features:

* a custom CNN path: three blocks Conv2D 3x3 (64, 128, 256, "same" padding) -> ReLU ->
  BatchNorm -> MaxPool 2x2, i.e. 28x28x256 at 224 input;
* a pretrained backbone path:
  - model 1 (``hybrid_densenet_s5``): DenseNet121 -> global average pooling -> 1024;
  - model 2 (``hybrid_resnetv2_attention_s5``): ResNet50V2 -> 7x7x2048 -> 1x1 conv + sigmoid
    -> (B, 1, 7, 7) attention weights -> multiplied with the features -> global average
    pooling -> 2048. The weights are returned as ``ClassificationOutput.attention`` (the
    paper up-samples them to the image as its heat map).

Head: dense 512 ReLU -> dropout 0.5 -> dense 256 ReLU -> dropout 0.3 -> class layer (the
:class:`MetadataFusionHead`; with ``use_metadata=True`` the metadata branch, 256 units by
default, joins there).

``cnn_path``: the paper flattens the CNN path, but 28*28*256 = 200,704 features make the first
dense layer alone 102.8 M weights, which contradicts the reported 12.5 M parameters of model 1.
The default ``"pool"`` (global average pooling, 256 features) gives 8.1 M parameters for
model 1 and 25.2 M for model 2 (reported 12.5 M / 25.3 M); ``"flatten"``, the literal reading
(it fixes the input size at ``input_size``), gives 110.7 M / 127.8 M.
``tests/models/test_classification_models.py`` pins both counts.

Freezing: S5 freezes "the first 100 layers" of the Keras backbone. Keras counts parameterless
layers too (input, padding, activation, pooling, concatenation), so we translate to
parameter-holding layers (see ``backbones.freeze_first_layers``):
Keras DenseNet121's first 100 layers end at ``conv3_block7_1_relu`` and hold 55 conv/BN
layers (conv1 conv+bn, 6 dense layers x 4, transition conv+bn, 6 x 4, then 0_bn, 1_conv, 1_bn),
i.e. timm ``features.denseblock2.denselayer7.norm2``; Keras ResNet50V2's first 100 end at
``conv4_block2_preact_relu`` and hold 53 (conv1, 7+6+6, 7+6+6+6, 7, preact_bn), i.e. timm
``stages.2.blocks.1.norm1``. ``freeze_first=None`` (default) applies that translation for the
paper backbones and freezes nothing for any other backbone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from dermkit.data.metadata import METADATA_DIM
from dermkit.models.classification.backbones import build_backbone
from dermkit.models.classification.metadata import MetadataFusionHead, check_classifier_inputs
from dermkit.models.outputs import ClassificationOutput
from dermkit.models.registry import register_model

CnnPath = Literal["pool", "flatten", "none"]

#: Parameter-holding layers inside Keras's "first 100 layers" of S5's backbones (module doc).
KERAS_FIRST_100_LAYERS: dict[str, int] = {"densenet121": 55, "resnet50v2": 53}

CNN_PATH_WIDTHS = (64, 128, 256)


def cnn_path_blocks(in_channels: int, widths: Sequence[int] = CNN_PATH_WIDTHS) -> nn.Sequential:
    """S5's custom path: per width, Conv3x3 -> ReLU -> BatchNorm -> MaxPool 2x2."""
    layers: list[nn.Module] = []
    prev = in_channels
    for width in widths:
        layers += [
            nn.Conv2d(prev, width, 3, padding=1),
            nn.ReLU(),
            nn.BatchNorm2d(width),
            nn.MaxPool2d(2),
        ]
        prev = width
    return nn.Sequential(*layers)


class SpatialAttention(nn.Module):
    """S5 model 2's attention: 1x1 conv + sigmoid -> weights multiplying the features.

    ``forward(x)`` returns ``(x * a, a)`` with ``a`` of shape (B, 1, h, w) in [0, 1].
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        weights = torch.sigmoid(self.conv(x))  # (B, 1, h, w)
        return x * weights, weights


class HybridDualPath(nn.Module):
    """S5's dual-path network (see module doc).

    Args:
        backbone: Backbone path (table or timm name): ``"densenet121"`` (model 1),
            ``"resnet50v2"`` (model 2), or e.g. ``"efficientnet_lite0"`` / ``"test_resnet"``
            to train on CPU with offline weights or test quickly.
        spatial_attention: Model 2's 1x1-conv sigmoid attention on the backbone features.
        num_classes: Classes.
        in_channels: 1 or 3.
        pretrained: ImageNet backbone weights.
        freeze_first: Freeze the first N parameter-holding backbone layers; ``None`` = the
            Keras "first 100 layers" for the paper backbones, 0 otherwise.
        cnn_path: ``"pool"`` (default, global average pooling), ``"flatten"`` (paper) or
            ``"none"`` (no custom-CNN path: the ablation that tests S5's claim that the path helps).
        input_size: ``(H, W)``; only ``cnn_path="flatten"`` depends on (and enforces) it.
        use_metadata: Fuse the metadata vector before the class layer.
        metadata_dim: Metadata vector length.
        metadata_hidden: Metadata dense width (default 256, the width it joins).
        metadata_dropout: Dropout after the metadata dense layer.
    """

    def __init__(
        self,
        backbone: str,
        spatial_attention: bool,
        num_classes: int = 7,
        in_channels: int = 3,
        pretrained: bool = True,
        freeze_first: int | None = None,
        cnn_path: CnnPath = "pool",
        input_size: Sequence[int] = (224, 224),
        use_metadata: bool = False,
        metadata_dim: int = METADATA_DIM,
        metadata_hidden: int = 256,
        metadata_dropout: float = 0.0,
    ):
        super().__init__()
        if cnn_path not in ("pool", "flatten", "none"):
            raise ValueError(f"cnn_path must be 'pool', 'flatten' or 'none'; got {cnn_path!r}")
        if freeze_first is None:
            freeze_first = KERAS_FIRST_100_LAYERS.get(backbone, 0)
        self.backbone, channels, _, self.pretrained_cfg = build_backbone(
            backbone, pretrained, in_channels, freeze_first, output="final"
        )
        self.cnn = cnn_path_blocks(in_channels) if cnn_path != "none" else None
        scale = 2 ** len(CNN_PATH_WIDTHS)
        size = (int(input_size[0]), int(input_size[1]))
        cnn_dim = {
            "flatten": CNN_PATH_WIDTHS[-1] * (size[0] // scale) * (size[1] // scale),
            "pool": CNN_PATH_WIDTHS[-1],
            "none": 0,
        }[cnn_path]
        self.attention = SpatialAttention(channels) if spatial_attention else None
        self.dense = nn.Sequential(
            nn.Linear(cnn_dim + channels, 512),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(512, 256),
            nn.ReLU(),
            nn.Dropout(0.3),
        )
        self.head = MetadataFusionHead(256, num_classes, use_metadata, metadata_hidden, metadata_dropout, metadata_dim)
        self.cnn_path = cnn_path
        self.input_size = size
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.input_stride = 1  # any size >= min_input_size (pool), exactly input_size (flatten)
        self.min_input_size = 32
        self.exact_input_size: tuple[int, int] | None = size if cnn_path == "flatten" else None
        self.use_metadata = use_metadata
        self.metadata_dim = metadata_dim

    def forward(self, image: Tensor, meta: Tensor | None = None) -> ClassificationOutput:
        """``image`` (B, C, H, W), ``meta`` (B, metadata_dim) or None."""
        check_classifier_inputs(self, image, meta, min_size=self.min_input_size, exact_size=self.exact_input_size)
        deep = self.backbone(image)  # (B, C, H/32, W/32)
        weights = None
        if self.attention is not None:
            deep, weights = self.attention(deep)  # weights (B, 1, H/32, W/32) in [0, 1]
        features = deep.mean(dim=(2, 3))  # (B, C)
        if self.cnn is not None:
            local = self.cnn(image)  # (B, 256, H/8, W/8)
            local = local.flatten(1) if self.cnn_path == "flatten" else local.mean(dim=(2, 3))
            features = torch.cat([local, features], dim=1)  # (B, cnn_dim + C)
        logits = self.head(self.dense(features), meta)
        return ClassificationOutput(class_logits=logits, attention=weights)


@register_model(task="classification", default_cfg={"input_size": (3, 224, 224), "paper": "S5"})
def hybrid_densenet_s5(backbone: str = "densenet121", **kwargs: Any) -> HybridDualPath:
    """S5 model 1: custom CNN path + DenseNet121 path, dense 512-256 head."""
    return HybridDualPath(backbone, spatial_attention=False, **kwargs)


@register_model(task="classification", default_cfg={"input_size": (3, 224, 224), "paper": "S5"})
def hybrid_resnetv2_attention_s5(backbone: str = "resnet50v2", **kwargs: Any) -> HybridDualPath:
    """S5 model 2: custom CNN path + ResNet50V2 path with 1x1-conv sigmoid spatial attention."""
    return HybridDualPath(backbone, spatial_attention=True, **kwargs)
