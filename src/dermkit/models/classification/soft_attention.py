"""Soft attention (Datta et al. 2021) and the S4 soft-attention block.

From a feature map ``t`` (B, d, h, w), a 3-D convolution with kernel ``(d, 3, 3)`` over the
single-channel volume ``(1, d, h, w)`` makes K maps; each map goes through ReLU and a softmax
over the ``h * w`` positions; the K maps are summed into ``alpha`` (B, 1, h, w); the output is
``concat(t, gamma * alpha * t)`` with ``gamma`` a learnable scalar.

Choices (checked against the reference Keras layer ``SoftAttention(ch, m=16, aggregate=True)``):

* The Conv3d's kernel spans the whole depth ``d`` with depth stride ``d``, so it produces one
  depth slice: it is exactly a ``Conv2d(d, K, 3, padding=1)`` whose weight is the Conv3d
  weight with its singleton input-channel axis dropped. The parameter is stored in Conv3d
  shape ``(K, 1, d, 3, 3)`` (the reference's kernel layout) and applied with ``conv2d``,
  which is much faster on CPU; ``tests/models/test_soft_attention.py`` checks the two agree.
  Initialisation as the reference: He-uniform kernel, zero bias.
* ReLU before the softmax, as the reference does (the papers do not mention it).
* ``gamma`` starts at 0.01 (a learnable scalar as in Datta et al.'s formula; the Keras layer
  we inspected has no gamma, i.e. a fixed 1).
* K = 16 heads, the reference's ``m=16``.

The S4 block: ReLU -> (a) 2x2 max-pool of ``t`` and (b) soft attention then 2x2 max-pool ->
concatenate -> ReLU -> Dropout(0.5). Max pooling acts per channel, so pooling
``concat(t, gamma * alpha * t)`` *is* the concatenation of paths (a) and (b) (the reference
calls the layer with ``concat_with_x=False`` and concatenates after pooling: same tensor,
same channel order). Pooling uses ``ceil_mode=True``, matching Keras ``padding="same"`` on odd
sizes.

The S4 classifier is one registered entry, ``softattention_s4(backbone=...)``: recipes pick the
backbone (``"inception_resnet_v2"``, ``"densenet201"``, ``"mobilenetv3_large"``, ...) in their
model kwargs instead of per-backbone aliases (one name per thing).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dermkit.data.metadata import METADATA_DIM
from dermkit.models.classification.backbones import build_backbone, resolve_backbone
from dermkit.models.classification.metadata import MetadataFusionHead, check_classifier_inputs
from dermkit.models.outputs import ClassificationOutput
from dermkit.models.registry import register_model


class SoftAttentionOutput(NamedTuple):
    """What :func:`soft_attention` returns.

    Attributes:
        features: ``(B, 2d, h, w)``: ``concat(t, gamma * alpha * t)``.
        alpha: ``(B, 1, h, w)``: the summed maps (sums to K over positions).
        maps: ``(B, K, h, w)``: the K spatial-softmax maps, each summing to 1 over positions.
    """

    features: Tensor
    alpha: Tensor
    maps: Tensor


def soft_attention(t: Tensor, weight: Tensor, bias: Tensor | None, gamma: Tensor) -> SoftAttentionOutput:
    """Functional soft attention.

    Args:
        t: ``(B, d, h, w)`` feature map.
        weight: ``(K, 1, d, 3, 3)`` Conv3d kernel (or the equivalent ``(K, d, 3, 3)``).
        bias: ``(K,)`` or ``None``.
        gamma: Scalar tensor scaling the attended features.

    Returns:
        :class:`SoftAttentionOutput` ``(features, alpha, maps)``.
    """
    batch, channels, height, width = t.shape
    kernel = weight.flatten(1, 2) if weight.ndim == 5 else weight  # (K, d, 3, 3)
    if kernel.shape[1] != channels:
        raise ValueError(
            f"soft_attention: weight expects {kernel.shape[1]} input channels; got t of shape {tuple(t.shape)}"
        )
    logits = F.relu(F.conv2d(t, kernel, bias, padding=1))  # (B, K, h, w)
    maps = logits.flatten(2).softmax(dim=-1).view_as(logits)  # (B, K, h, w), each sums to 1
    alpha = maps.sum(dim=1, keepdim=True)  # (B, 1, h, w)
    features = torch.cat([t, gamma * alpha * t], dim=1)  # (B, 2d, h, w)
    return SoftAttentionOutput(features, alpha, maps)


def normalize_attention(alpha: Tensor) -> Tensor:
    """Scale each image's map to ``[0, 1]`` for display: ``alpha / max(alpha)`` per image.

    Division by the maximum (not min-max) keeps ratios: a uniform map stays uniform (all 1).
    ``alpha`` is a sum of softmax maps, so it is positive and the division is safe.
    """
    return alpha / alpha.amax(dim=(2, 3), keepdim=True)  # (B, 1, h, w) in (0, 1]


class SoftAttention(nn.Module):
    """Soft attention with K heads over a ``channels``-deep feature map (see module doc).

    Args:
        channels: Depth ``d`` of the input feature map.
        num_heads: Number of maps K (reference: 16).
        gamma_init: Initial value of the learnable scale ``gamma``.
    """

    def __init__(self, channels: int, num_heads: int = 16, gamma_init: float = 0.01):
        super().__init__()
        if channels < 1 or num_heads < 1:
            raise ValueError(f"channels and num_heads must be >= 1; got {channels}, {num_heads}")
        # The reference Conv3d: 1 input channel, K output channels, kernel (d, 3, 3)
        self.conv = nn.Conv3d(1, num_heads, kernel_size=(channels, 3, 3), padding=(0, 1, 1))
        nn.init.kaiming_uniform_(self.conv.weight, nonlinearity="relu")  # Keras he_uniform
        nn.init.zeros_(self.conv.bias)
        self.gamma = nn.Parameter(torch.tensor(float(gamma_init)))

    def forward(self, t: Tensor) -> SoftAttentionOutput:
        return soft_attention(t, self.conv.weight, self.conv.bias, self.gamma)


class SoftAttentionBlock(nn.Module):
    """S4's block: ReLU -> [pool(t), pool(soft attention)] -> ReLU -> Dropout.

    Args:
        channels: Depth ``d`` of the backbone feature map.
        num_heads: Soft-attention maps K.
        dropout: Dropout after the final ReLU (S4: 0.5).

    ``forward(t)`` returns ``(features, alpha)``: ``(B, 2d, ceil(h/2), ceil(w/2))`` and the
    un-normalised ``(B, 1, h, w)`` attention map.
    """

    def __init__(self, channels: int, num_heads: int = 16, dropout: float = 0.5):
        super().__init__()
        self.attention = SoftAttention(channels, num_heads)
        self.dropout = nn.Dropout(dropout)
        self.out_channels = 2 * channels

    def forward(self, t: Tensor) -> tuple[Tensor, Tensor]:
        attended = self.attention(F.relu(t))
        # pooling concat(t, g*a*t) == concat(pool(t), pool(g*a*t)): max-pool is per channel
        pooled = F.max_pool2d(attended.features, 2, ceil_mode=True)  # (B, 2d, h/2, w/2)
        return self.dropout(F.relu(pooled)), attended.alpha


class PlainPoolBlock(nn.Module):
    """S4's block without its attention path, for the ablation: ReLU -> pool(t) -> ReLU -> Dropout.

    ``forward(t)`` returns ``(features, None)``: ``(B, d, ceil(h/2), ceil(w/2))`` and no map.
    """

    def __init__(self, channels: int, dropout: float = 0.5):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out_channels = channels

    def forward(self, t: Tensor) -> tuple[Tensor, None]:
        return self.dropout(F.relu(F.max_pool2d(F.relu(t), 2, ceil_mode=True))), None


# --- S4 classifier ---------------------------------------------------------------------------


class SoftAttentionClassifier(nn.Module):
    """S4: backbone cut before its last stage -> soft-attention block -> GAP -> fusion head.

    After the block, features are global-average-pooled (the S4-lineage Keras code we checked
    uses ``GlobalAveragePooling2D``; Datta's IRv2 model flattens instead). Pooling keeps the
    model size-agnostic and the head small (``2d`` features, e.g. 2176 for IRv2).

    Args:
        backbone: A :data:`~dermkit.models.classification.backbones.BACKBONES` name (S4:
            ``densenet201``, ``inception_resnet_v2``, ``resnet50``, ``resnet152``,
            ``nasnetalarge``, ``mobilenetv2``, ``mobilenetv3_small``, ``mobilenetv3_large``;
            default ``efficientnet_lite0``, whose ImageNet weights ship offline) or a timm name.
        num_classes: Classes (7 for HAM10000).
        in_channels: 1 or 3.
        pretrained: ImageNet backbone weights.
        use_metadata: Fuse the metadata vector (S4: yes).
        metadata_dim: Metadata vector length.
        metadata_hidden: Metadata dense width (S4: 4096).
        metadata_dropout: Dropout after the metadata dense layer.
        num_heads: Soft-attention maps K (reference: 16).
        dropout: Dropout of the attention block (S4: 0.5).
        freeze_first: Freeze the first N parameter-holding backbone layers.
        soft_attention: S4's soft-attention path; False keeps only its max-pool path
            (:class:`PlainPoolBlock`), the ablation that tests S4's claim that attention helps.

    ``forward`` returns :class:`ClassificationOutput` whose ``attention`` is the summed
    softmax map ``alpha`` at the cut's resolution (H/16, W/16), divided by its per-image
    maximum so it lies in ``(0, 1]`` (:func:`normalize_attention`).
    """

    def __init__(
        self,
        backbone: str = "efficientnet_lite0",
        num_classes: int = 7,
        in_channels: int = 3,
        pretrained: bool = True,
        use_metadata: bool = False,
        metadata_dim: int = METADATA_DIM,
        metadata_hidden: int = 4096,
        metadata_dropout: float = 0.0,
        num_heads: int = 16,
        dropout: float = 0.5,
        freeze_first: int = 0,
        soft_attention: bool = True,
    ):
        super().__init__()
        spec = resolve_backbone(backbone)
        self.backbone, channels, _, self.pretrained_cfg = build_backbone(
            backbone, pretrained, in_channels, freeze_first, output="cut"
        )
        self.block: SoftAttentionBlock | PlainPoolBlock = (
            SoftAttentionBlock(channels, num_heads, dropout) if soft_attention else PlainPoolBlock(channels, dropout)
        )
        self.head = MetadataFusionHead(
            self.block.out_channels,
            num_classes,
            use_metadata,
            metadata_hidden,
            metadata_dropout,
            metadata_dim,
        )
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.input_stride = 1  # any size >= min_input_size (timm pads odd sizes)
        self.min_input_size = spec.min_input_size
        self.use_metadata = use_metadata
        self.metadata_dim = metadata_dim

    def forward(self, image: Tensor, meta: Tensor | None = None) -> ClassificationOutput:
        """``image`` (B, C, H, W), ``meta`` (B, metadata_dim) or None."""
        check_classifier_inputs(self, image, meta, min_size=self.min_input_size)
        t = self.backbone(image)  # (B, d, H/16, W/16)
        features, alpha = self.block(t)  # (B, 2d, H/32, W/32), (B, 1, H/16, W/16)
        logits = self.head(features.mean(dim=(2, 3)), meta)  # GAP -> (B, num_classes)
        return ClassificationOutput(
            class_logits=logits, attention=None if alpha is None else normalize_attention(alpha)
        )


@register_model(
    task="classification",
    default_cfg={"input_size": (3, 224, 224), "paper": "S4", "backbone": "efficientnet_lite0"},
)
def softattention_s4(**kwargs: Any) -> SoftAttentionClassifier:
    """S4 backbone + soft attention + metadata; pick the backbone with ``backbone=...``."""
    return SoftAttentionClassifier(**kwargs)
