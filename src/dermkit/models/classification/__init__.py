"""Lesion classifiers: S1 and S2 small CNNs, S4 backbone + soft attention + metadata, S5
hybrid dual-path networks, and any timm backbone. Importing this package registers them all.

Every classifier: ``forward(image, meta=None) -> ClassificationOutput`` with ``class_logits``
(B, num_classes) and ``attention`` (B, 1, h, w) in [0, 1] or ``None``.
"""

from dermkit.models.classification.backbones import (
    BACKBONES,
    S4_BACKBONES,
    Backbone,
    BackboneSpec,
    build_backbone,
    freeze_first_layers,
)
from dermkit.models.classification.hybrid import HybridDualPath, SpatialAttention
from dermkit.models.classification.metadata import MetadataFusionHead, check_classifier_inputs
from dermkit.models.classification.simple_cnns import FlattenCNN
from dermkit.models.classification.soft_attention import (
    SoftAttention,
    SoftAttentionBlock,
    SoftAttentionClassifier,
    SoftAttentionOutput,
    normalize_attention,
    soft_attention,
)
from dermkit.models.classification.timm_classifier import TimmClassifier

__all__ = [
    "BACKBONES",
    "S4_BACKBONES",
    "Backbone",
    "BackboneSpec",
    "FlattenCNN",
    "HybridDualPath",
    "MetadataFusionHead",
    "SoftAttention",
    "SoftAttentionBlock",
    "SoftAttentionClassifier",
    "SoftAttentionOutput",
    "SpatialAttention",
    "TimmClassifier",
    "build_backbone",
    "check_classifier_inputs",
    "freeze_first_layers",
    "normalize_attention",
    "soft_attention",
]
