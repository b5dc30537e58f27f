"""U-Net of S2 (Elgohary et al., IJT 2024): the plain encoder-decoder baseline.

SYSTEMS.md S2: four encoder blocks of two conv layers with batch norm and ReLU, spatial
dropout 0.4 and max pooling; four transposed-conv up-sampling steps; 1x1 conv + sigmoid.

Choices where the paper is silent:

* **Widths.** The paper gives no filter counts. ``base_filters=16`` (16-32-64-128, bottleneck
  256) is the default: it is the first width of the same paper's classifier and of the Keras
  U-Net template (conv-BN-ReLU, ``SpatialDropout``, ``Conv2DTranspose``) the description
  matches. Ronneberger's original uses 64; pass ``base_filters=32`` or 64 for wider nets.
* **Dropout placement.** ``Dropout2d`` acts on the down-sampling path after each encoder
  block (it commutes with max pooling), so skip connections are not dropped.
* **Head.** A 1x1 conv gives logits; the sigmoid lives in the loss and at inference.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dermkit.models.outputs import SegmentationOutput, check_image_batch, display_name
from dermkit.models.registry import register_model


class DoubleConv(nn.Sequential):
    """Two (3x3 conv, BatchNorm, ReLU); spatial size kept."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class UpBlock(nn.Module):
    """Transposed-conv x2 up-sampling, concatenation with the skip, DoubleConv."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        self.conv = DoubleConv(out_channels + skip_channels, out_channels)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = self.up(x)  # (B, out, 2h, 2w)
        return self.conv(torch.cat([x, skip], dim=1))  # (B, out, 2h, 2w)


class UNet(nn.Module):
    """S2 U-Net: 4 encoder blocks, a bottleneck, 4 transposed-conv decoder steps.

    Args:
        in_channels: 1 (grey) or 3 (RGB). Default 3.
        base_filters: Filters of the first block, doubled per block. Default 16.
        dropout: Spatial (channel) dropout probability in the encoder. Default 0.4.

    Input ``(B, in_channels, H, W)`` with H, W divisible by 16; output
    :class:`SegmentationOutput` with ``(B, 1, H, W)`` logits.
    """

    input_stride = 16  # four 2x2 max poolings

    def __init__(self, in_channels: int = 3, base_filters: int = 16, dropout: float = 0.4) -> None:
        super().__init__()
        _check_in_channels(in_channels)
        self.in_channels = in_channels
        widths = [base_filters * 2**i for i in range(5)]  # 4 encoder blocks + bottleneck
        self.encoder = nn.ModuleList()
        prev = in_channels
        for w in widths[:4]:
            self.encoder.append(DoubleConv(prev, w))
            prev = w
        self.dropout = nn.Dropout2d(dropout)
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = DoubleConv(widths[3], widths[4])
        self.decoder = nn.ModuleList(UpBlock(widths[i + 1], widths[i], widths[i]) for i in reversed(range(4)))
        self.head = nn.Conv2d(widths[0], 1, kernel_size=1)

    def forward(self, x: Tensor) -> SegmentationOutput:
        check_image_batch(x, self.in_channels, self.input_stride, display_name(self))
        skips = []
        for block in self.encoder:
            x = block(x)  # (B, w_i, H/2^i, W/2^i)
            skips.append(x)
            x = self.pool(self.dropout(x))
        x = self.bottleneck(x)  # (B, 16*base, H/16, W/16)
        for up, skip in zip(self.decoder, reversed(skips), strict=True):
            x = up(x, skip)
        return SegmentationOutput(mask_logits=self.head(x))  # (B, 1, H, W)


def _check_in_channels(in_channels: int) -> None:
    if in_channels not in (1, 3):
        raise ValueError(f"in_channels must be 1 or 3; got {in_channels}")


@register_model(task="segmentation", default_cfg={"input_size": (3, 224, 224), "paper": "S2"})
def unet_s2(**kwargs) -> UNet:
    """S2 U-Net (conv-BN-ReLU, spatial dropout 0.4, transposed-conv decoder), 16 base filters."""
    return UNet(**kwargs)
