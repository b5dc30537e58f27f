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
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


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
            f"soft_attention: weight expects {kernel.shape[1]} input channels; got t of shape "
            f"{tuple(t.shape)}"
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
