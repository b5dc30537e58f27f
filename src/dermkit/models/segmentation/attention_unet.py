"""Attention U-Net of S1 (Sene, Ngom, Seck; after Oktay et al. 2018).

Follows SYSTEMS.md S1 exactly where it is exact:

* Encoder: five blocks of (3x3 conv stride 1 + ReLU, Dropout(0.1), 3x3 conv stride 1 + ReLU);
  32 filters doubling (32-64-128-256-512); 2x2 max pooling after the first four; the fifth
  block is the bottleneck.
* Decoder: four steps of attention gate + decoder block; decoder filters 256 halving
  (256-128-64-32). Decoder block: up-sampling, then two 3x3 conv stride 1 + ReLU.
* Attention gate: 3x3 conv + ReLU, stride 1, on the gating signal; 3x3 conv + ReLU, stride 2,
  on the skip (to the gating size); sum; ReLU; 1x1 conv + sigmoid; the coefficients are
  up-sampled to the skip size, batch-normalised, and multiply the skip.

Where the paper is ambiguous (choices made here):

* **Gate inputs.** The gating signal ``g`` is the coarser decoder feature (the bottleneck for
  the first step, then the previous decoder block's output) at half the skip's resolution;
  the skip ``x`` is the encoder block output at that level. The stride-2 conv brings ``x``
  to ``g``'s size. Both convs map to ``inter_channels`` = the skip's channel count (which
  equals the step's decoder filters: 256, 128, 64, 32), so the sum is defined.
* **Up-sampling.** Bilinear for the coefficients (as Oktay et al.) and nearest (Keras
  ``UpSampling2D``) in the decoder block; the up-sampled decoder feature is concatenated
  with the gated skip before the two convs (the U-Net wiring the text implies).
* **Batch norm on the coefficients** (as written) lets them leave ``[0, 1]``;
  :func:`attention_gate` returns the pre-BN sigmoid coefficients for inspection.
* **Head.** A 1x1 conv gives logits (the sigmoid lives in the loss / at inference).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dermkit.models.outputs import SegmentationOutput, check_image_batch, display_name
from dermkit.models.registry import register_model


def conv3x3_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """3x3 conv (padding 1) + ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1),
        nn.ReLU(inplace=True),
    )


class EncoderBlock(nn.Sequential):
    """3x3 conv + ReLU, Dropout(p), 3x3 conv + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float) -> None:
        super().__init__(
            conv3x3_relu(in_channels, out_channels),
            nn.Dropout(dropout),
            conv3x3_relu(out_channels, out_channels),
        )


class AttentionGate(nn.Module):
    """S1 attention gate; see :func:`attention_gate` for the computation.

    Args:
        gate_channels: Channels of the gating signal ``g``.
        skip_channels: Channels of the skip ``x``.
        inter_channels: Channels of the joint space the two are summed in.
    """

    def __init__(self, gate_channels: int, skip_channels: int, inter_channels: int) -> None:
        super().__init__()
        self.gate_conv = conv3x3_relu(gate_channels, inter_channels, stride=1)
        self.skip_conv = conv3x3_relu(skip_channels, inter_channels, stride=2)
        self.psi = nn.Conv2d(inter_channels, 1, kernel_size=1)
        self.norm = nn.BatchNorm2d(1)

    def forward(self, g: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """Returns ``(gated_skip (B, Cx, H, W), coefficients (B, 1, H/2, W/2) in [0, 1])``."""
        return attention_gate(self, g, x)


def attention_gate(gate: AttentionGate, g: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    """Apply an S1 attention gate.

    Args:
        gate: The module holding the gate's layers.
        g: Gating signal ``(B, Cg, H/2, W/2)`` (coarser decoder feature).
        x: Skip connection ``(B, Cx, H, W)`` (encoder feature).

    Returns:
        ``(gated, alpha)``: ``gated = BN(up(alpha)) * x`` of shape ``(B, Cx, H, W)`` and the
        sigmoid coefficients ``alpha`` of shape ``(B, 1, H/2, W/2)`` before up-sampling and BN,
        each in ``[0, 1]``.
    """
    joint = F.relu(gate.gate_conv(g) + gate.skip_conv(x))  # (B, inter, H/2, W/2)
    alpha = torch.sigmoid(gate.psi(joint))  # (B, 1, H/2, W/2)
    up = F.interpolate(alpha, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return gate.norm(up) * x, alpha  # (B, Cx, H, W) by broadcasting over channels


class DecoderStep(nn.Module):
    """Attention gate on the skip, then nearest x2 up-sampling, concat, two 3x3 conv + ReLU."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.gate = AttentionGate(in_channels, skip_channels, inter_channels=skip_channels)
        self.conv = nn.Sequential(
            conv3x3_relu(in_channels + skip_channels, out_channels),
            conv3x3_relu(out_channels, out_channels),
        )

    def forward(self, g: Tensor, skip: Tensor) -> Tensor:
        gated, _ = self.gate(g, skip)  # (B, Cs, H, W)
        up = F.interpolate(g, scale_factor=2.0, mode="nearest")  # (B, Cg, H, W)
        return self.conv(torch.cat([up, gated], dim=1))  # (B, out, H, W)


class AttentionUNet(nn.Module):
    """S1 Attention U-Net.

    Args:
        in_channels: 1 (grey) or 3 (RGB). Default 3.
        base_filters: First encoder block's filters (paper: 32); encoder widths double to
            ``16 * base_filters``, decoder widths go ``8 * base_filters`` halving to
            ``base_filters``. Smaller values make test-sized models.
        dropout: Dropout between the two encoder convs. Default 0.1.

    Input ``(B, in_channels, H, W)`` with H, W divisible by 16; output
    :class:`SegmentationOutput` with ``(B, 1, H, W)`` logits.
    """

    input_stride = 16  # four 2x2 max poolings

    def __init__(self, in_channels: int = 3, base_filters: int = 32, dropout: float = 0.1) -> None:
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3; got {in_channels}")
        self.in_channels = in_channels
        widths = [base_filters * 2**i for i in range(5)]  # 32, 64, 128, 256, 512
        self.encoder = nn.ModuleList()
        prev = in_channels
        for w in widths:
            self.encoder.append(EncoderBlock(prev, w, dropout))
            prev = w
        self.pool = nn.MaxPool2d(2)
        # decoder step i: gating from widths[i+1]-channel feature, skip widths[i], out widths[i]
        self.decoder = nn.ModuleList(DecoderStep(widths[i + 1], widths[i], widths[i]) for i in reversed(range(4)))
        self.head = nn.Conv2d(widths[0], 1, kernel_size=1)

    def forward(self, x: Tensor) -> SegmentationOutput:
        check_image_batch(x, self.in_channels, self.input_stride, display_name(self))
        skips = []
        for i, block in enumerate(self.encoder):
            x = block(x)  # (B, w_i, H/2^i, W/2^i)
            if i < 4:  # the fifth block is the bottleneck: no pooling
                skips.append(x)
                x = self.pool(x)
        for step, skip in zip(self.decoder, reversed(skips), strict=True):
            x = step(x, skip)
        return SegmentationOutput(mask_logits=self.head(x))  # (B, 1, H, W)


@register_model(task="segmentation", default_cfg={"input_size": (3, 256, 256), "paper": "S1"})
def attention_unet_s1(**kwargs) -> AttentionUNet:
    """S1 Attention U-Net (Oktay-style gates, 32 base filters, dropout 0.1), random init."""
    return AttentionUNet(**kwargs)
