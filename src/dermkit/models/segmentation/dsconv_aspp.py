"""S3 segmenter (Lalitha, Vijayalakshmi): depthwise-separable encoder + dilated pyramid.

SYSTEMS.md S3: encoder of two standard 3x3 convs and three depthwise-separable convs
(low-level features taken there); a spatial pyramid of a 1x1 conv, three dilated 3x3 convs
and image-level pooling, concatenated and reduced by a 1x1 conv; decoder: 1x1 conv on the
low-level features, bilinear up-sampling of the pyramid output, concatenation, 3x3 conv,
up-sampling to the input size. A DeepLabV3+-style design on a small encoder.

Choices where the paper is vague:

* **Output stride 16.** conv1 (stride 2), conv2 (stride 1), then the three separable convs
  with stride 2 each: features at 1/2, 1/4, 1/8, 1/16. Low-level features are the first
  separable conv's output (1/4, as in DeepLabV3+), so the decoder up-samples x4 twice.
* **Dilation rates 3, 6, 9.** The paper lists 3, 3, 6, i.e. two identical branches; distinct
  rates are used instead (configurable with ``rates``).
* **Widths** (``base_filters=32``): 32, 64 for the standard convs, 128, 256, 512 for the
  separable ones; pyramid and decoder 256 channels; low-level projection 48 (DeepLab's).
* **Norms.** Every conv is followed by BatchNorm + ReLU except the image-pooling branch,
  whose 1x1 map would make BatchNorm fail for batch size 1; it uses conv + ReLU only.
* **Decoder head.** The 3x3 conv is conv-BN-ReLU, followed by a 1x1 conv to one logit
  channel, then bilinear up-sampling to the input size.
* **Initialisation.** The paper starts from weights pre-trained on a large data set;
  ``dsconv_aspp_s3`` here is randomly initialised (no such weights exist for this small
  encoder). ``deeplabv3plus_effnetlite0`` (smp DeepLabV3+ on an ImageNet EfficientNet-Lite0
  encoder, see :mod:`.encoder_decoders`) is the faithful-in-spirit pretrained option.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dermkit.models.outputs import SegmentationOutput, check_image_batch, display_name
from dermkit.models.registry import register_model


def conv_bn_relu(
    in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, dilation: int = 1
) -> nn.Sequential:
    """Conv (same padding) + BatchNorm + ReLU."""
    padding = dilation * (kernel_size - 1) // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation=dilation, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SeparableConv(nn.Sequential):
    """Depthwise 3x3 (BN, ReLU) then pointwise 1x1 (BN, ReLU), as in MobileNet."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, in_channels, 3, stride, 1, groups=in_channels, bias=False),
            nn.BatchNorm2d(in_channels),
            nn.ReLU(inplace=True),
            conv_bn_relu(in_channels, out_channels, kernel_size=1),
        )


class ASPP(nn.Module):
    """1x1 conv, dilated 3x3 convs, image pooling; concatenated and reduced by a 1x1 conv."""

    def __init__(self, in_channels: int, out_channels: int, rates: Sequence[int]) -> None:
        super().__init__()
        if len(set(rates)) != len(rates):
            raise ValueError(f"ASPP dilation rates must be distinct; got {tuple(rates)}")
        self.branches = nn.ModuleList(
            [conv_bn_relu(in_channels, out_channels, kernel_size=1)]
            + [conv_bn_relu(in_channels, out_channels, dilation=r) for r in rates]
        )
        # no BatchNorm on a 1x1 map: it fails for batch size 1 during training
        self.image_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, out_channels, kernel_size=1),
            nn.ReLU(inplace=True),
        )
        self.project = conv_bn_relu((len(rates) + 2) * out_channels, out_channels, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        outs = [branch(x) for branch in self.branches]  # each (B, out, h, w)
        pooled = self.image_pool(x)  # (B, out, 1, 1)
        outs.append(pooled.expand(-1, -1, *x.shape[-2:]))
        return self.project(torch.cat(outs, dim=1))  # (B, out, h, w)


class DSConvASPP(nn.Module):
    """S3 encoder (2 convs + 3 separable convs, output stride 16), ASPP, light decoder.

    Args:
        in_channels: 1 (grey) or 3 (RGB). Default 3.
        base_filters: Width of the first conv; the others scale with it. Default 32.
        rates: ASPP dilation rates, distinct. Default (3, 6, 9).

    Input ``(B, in_channels, H, W)`` with H, W divisible by 16; output
    :class:`SegmentationOutput` with ``(B, 1, H, W)`` logits.
    """

    input_stride = 16  # encoder output stride

    def __init__(self, in_channels: int = 3, base_filters: int = 32, rates: Sequence[int] = (3, 6, 9)) -> None:
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3; got {in_channels}")
        self.in_channels = in_channels
        b = base_filters
        self.stem = nn.Sequential(
            conv_bn_relu(in_channels, b, stride=2),  # 1/2
            conv_bn_relu(b, 2 * b),  # 1/2
        )
        self.sep1 = SeparableConv(2 * b, 4 * b, stride=2)  # 1/4: low-level features
        self.sep2 = SeparableConv(4 * b, 8 * b, stride=2)  # 1/8
        self.sep3 = SeparableConv(8 * b, 16 * b, stride=2)  # 1/16
        self.aspp = ASPP(16 * b, 8 * b, rates)
        low_channels = max(3 * b // 2, 8)  # 48 at b=32, as DeepLabV3+
        self.low_project = conv_bn_relu(4 * b, low_channels, kernel_size=1)
        self.fuse = conv_bn_relu(8 * b + low_channels, 8 * b)
        self.head = nn.Conv2d(8 * b, 1, kernel_size=1)

    def forward(self, x: Tensor) -> SegmentationOutput:
        check_image_batch(x, self.in_channels, self.input_stride, display_name(self))
        size = x.shape[-2:]
        low = self.sep1(self.stem(x))  # (B, 4b, H/4, W/4)
        deep = self.aspp(self.sep3(self.sep2(low)))  # (B, 8b, H/16, W/16)
        deep = F.interpolate(deep, size=low.shape[-2:], mode="bilinear", align_corners=False)
        fused = self.fuse(torch.cat([deep, self.low_project(low)], dim=1))  # (B, 8b, H/4, W/4)
        logits = F.interpolate(self.head(fused), size=size, mode="bilinear", align_corners=False)
        return SegmentationOutput(mask_logits=logits)  # (B, 1, H, W)


@register_model(task="segmentation", default_cfg={"input_size": (3, 256, 256), "paper": "S3"})
def dsconv_aspp_s3(**kwargs) -> DSConvASPP:
    """S3 separable-conv encoder + ASPP (rates 3, 6, 9) + DeepLabV3+-style decoder, random init."""
    return DSConvASPP(**kwargs)
