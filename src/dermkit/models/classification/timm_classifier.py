"""Any timm backbone as a classifier: pooled features -> :class:`MetadataFusionHead`.

``timm_classifier(model_name=...)`` takes a ``backbones.BACKBONES`` name or any timm model
name; timm's own classifier is removed (``num_classes=0``) and its
pooled features (after timm's ``drop_rate`` dropout) feed dermkit's fusion head.

``effnetlite0_meta`` is the CPU default classifier: EfficientNet-Lite0 with the offline
ImageNet weights and the metadata branch on by default (input [-1, 1]: mean = std = 0.5 per
its ``pretrained_cfg``).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from dermkit.data.metadata import METADATA_DIM
from dermkit.models.classification.backbones import build_backbone, resolve_backbone
from dermkit.models.classification.metadata import MetadataFusionHead, check_classifier_inputs
from dermkit.models.outputs import ClassificationOutput
from dermkit.models.registry import register_model


class TimmClassifier(nn.Module):
    """timm backbone (pooled) + metadata fusion head.

    Args:
        model_name: Backbone table name (``"efficientnet_lite0"`` = timm
            ``tf_efficientnet_lite0``, offline weights) or any timm model name.
        pretrained: ImageNet weights (offline for EfficientNet-Lite0, else HF Hub).
        num_classes: Classes.
        in_channels: 1 or 3.
        use_metadata: Fuse the metadata vector.
        metadata_dim: Metadata vector length.
        metadata_hidden: Metadata dense width.
        metadata_dropout: Dropout after the metadata dense layer.
        drop_rate: Dropout on the pooled image features (timm's ``drop_rate``).
        freeze_first: Freeze the first N parameter-holding backbone layers.
    """

    def __init__(
        self,
        model_name: str = "efficientnet_lite0",
        pretrained: bool = True,
        num_classes: int = 7,
        in_channels: int = 3,
        use_metadata: bool = False,
        metadata_dim: int = METADATA_DIM,
        metadata_hidden: int = 256,
        metadata_dropout: float = 0.0,
        drop_rate: float = 0.2,
        freeze_first: int = 0,
    ):
        super().__init__()
        spec = resolve_backbone(model_name)
        self.backbone, channels, _, self.pretrained_cfg = build_backbone(
            model_name, pretrained, in_channels, freeze_first, output="pooled", drop_rate=drop_rate
        )
        self.head = MetadataFusionHead(
            channels, num_classes, use_metadata, metadata_hidden, metadata_dropout, metadata_dim
        )
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.input_stride = 1  # any size >= min_input_size
        self.min_input_size = spec.min_input_size
        self.use_metadata = use_metadata
        self.metadata_dim = metadata_dim

    def forward(self, image: Tensor, meta: Tensor | None = None) -> ClassificationOutput:
        """``image`` (B, C, H, W), ``meta`` (B, metadata_dim) or None."""
        check_classifier_inputs(self, image, meta, min_size=self.min_input_size)
        features = self.backbone(image)  # (B, num_features), pooled
        return ClassificationOutput(class_logits=self.head(features, meta))


@register_model(task="classification", default_cfg={"input_size": (3, 224, 224)})
def timm_classifier(**kwargs: Any) -> TimmClassifier:
    """Any timm backbone's pooled features + metadata fusion head."""
    return TimmClassifier(**kwargs)


@register_model(
    task="classification",
    default_cfg={"input_size": (3, 224, 224), "pretrained": "efficientnet_lite0.offline"},
)
def effnetlite0_meta(pretrained: bool = True, use_metadata: bool = True, **kwargs: Any) -> TimmClassifier:
    """EfficientNet-Lite0 (offline ImageNet weights) + metadata: the CPU default classifier."""
    return TimmClassifier("efficientnet_lite0", pretrained=pretrained, use_metadata=use_metadata, **kwargs)
