"""The segmenter decoder families on pretrained encoders, built with smp.

segmentation_models_pytorch provides the decoders (U-Net, U-Net++, DeepLabV3+); encoders are
timm models plugged in as smp ``tu-`` (timm universal) encoders. This file only wires them
and puts them behind dermkit's contract (input validation, :class:`SegmentationOutput`,
``input_stride``, ``pretrained_cfg``).

* ``unet_effnetlite0``, ``unetplusplus_effnetlite0``, ``deeplabv3plus_effnetlite0``: an
  EfficientNet-Lite0 encoder with offline ImageNet weights (``pretrained=True``, the
  default). DeepLabV3+ is the S3 design family (separable convs, ASPP, low-level decoder)
  on a pretrained encoder: the faithful-in-spirit version of S3's "initialised from weights
  pre-trained on a large data set". The same three on the larger offline encoders:
  ``*_effnetlite1`` (EfficientNet-Lite1, native 240) and ``*_effnetlite2`` (Lite2, 260).
* ``smp_unet(encoder="tu-<timm name>")``: any timm backbone; ImageNet weights come from the
  Hugging Face Hub (cache first, then a fast-failing download; see
  :func:`~dermkit.models.pretrained.timm_weights_source`), except for the encoders whose
  weights ship offline (``tu-tf_efficientnet_lite0/1/2``,
  :data:`~dermkit.models.pretrained.OFFLINE_WEIGHTS`).

``in_channels=1`` sums the pretrained RGB stem kernels (timm ``adapt_input_conv``, the rule
smp uses).
"""

from __future__ import annotations

from typing import Any

import segmentation_models_pytorch as smp
from torch import Tensor, nn

from dermkit.errors import ConfigError
from dermkit.models.outputs import SegmentationOutput, check_image_batch, display_name
from dermkit.models.pretrained import (
    PretrainedCfg,
    load_offline_imagenet,
    offline_pretrained_cfg,
    timm_pretrained_cfg,
    timm_weights_source,
)
from dermkit.models.registry import register_model

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "unet": smp.Unet,
    "unetplusplus": smp.UnetPlusPlus,
    "deeplabv3plus": smp.DeepLabV3Plus,
}
#: the smp encoders whose ImageNet weights ship offline, by the variant of the registered names
OFFLINE_ENCODERS: dict[str, str] = {f"effnetlite{v}": f"tu-tf_efficientnet_lite{v}" for v in (0, 1, 2)}


class EncoderDecoder(nn.Module):
    """An smp segmentation network behind dermkit's model contract.

    Attributes:
        net: The smp model (encoder ``net.encoder``, decoder, head).
        in_channels: Input channels (1 or 3).
        input_stride: H and W must be multiples of it (the encoder's output stride).
        pretrained_cfg: The encoder weights' :class:`PretrainedCfg`, or ``None`` if random.
    """

    def __init__(self, net: nn.Module, in_channels: int, pretrained_cfg: PretrainedCfg | None):
        super().__init__()
        self.net = net
        self.in_channels = in_channels
        self.input_stride = int(net.encoder.output_stride)
        self.pretrained_cfg = pretrained_cfg

    def forward(self, x: Tensor) -> SegmentationOutput:
        check_image_batch(x, self.in_channels, self.input_stride, display_name(self))
        return SegmentationOutput(mask_logits=self.net(x))  # (B, 1, H, W)


#: smp options besides the ``decoder_*`` ones that recipes may set; nothing else reaches smp or timm.
SMP_OPTIONS = frozenset({"encoder_depth", "encoder_output_stride", "upsampling"})


def build_encoder_decoder(
    arch: str, encoder: str, *, pretrained: bool, in_channels: int = 3, **kwargs: Any
) -> EncoderDecoder:
    """Build an smp decoder on a timm encoder, with or without ImageNet weights.

    Args:
        arch: ``"unet"``, ``"unetplusplus"`` or ``"deeplabv3plus"``.
        encoder: ``"tu-<timm model name>"``.
        pretrained: Load ImageNet encoder weights (offline for ``tu-tf_efficientnet_lite0/1/2``,
            else from the Hugging Face Hub).
        in_channels: 1 or 3.
        **kwargs: Passed to the smp class (e.g. ``decoder_channels``).

    Raises:
        ConfigError: Unknown arch, non-``tu-`` encoder, or weights that cannot be loaded.
    """
    if arch not in ARCHITECTURES:
        raise ConfigError(f"arch must be one of {sorted(ARCHITECTURES)}; got {arch!r}")
    if not encoder.startswith("tu-"):
        raise ConfigError(
            f"encoder must be a timm universal encoder 'tu-<timm name>'; got {encoder!r}. Try 'tu-{encoder}'."
        )
    if in_channels not in (1, 3):
        raise ValueError(f"in_channels must be 1 or 3; got {in_channels}")
    unknown = sorted(k for k in kwargs if not k.startswith("decoder_") and k not in SMP_OPTIONS)
    if unknown:  # never pass options through to timm: they could name files to load (checkpoint_path)
        raise ConfigError(
            f"{arch} on {encoder}: unsupported options {unknown}; it takes decoder_* options and "
            f"{', '.join(sorted(SMP_OPTIONS))}"
        )
    cls = ARCHITECTURES[arch]
    common = dict(encoder_name=encoder, in_channels=in_channels, classes=1, **kwargs)
    timm_name = encoder[3:]
    if not pretrained:
        return EncoderDecoder(cls(encoder_weights=None, **common), in_channels, None)
    offline = offline_pretrained_cfg(timm_name)
    if offline is not None:
        net = cls(encoder_weights=None, **common)
        load_offline_imagenet(net.encoder.model, offline.name)
        return EncoderDecoder(net, in_channels, offline)
    source = timm_weights_source(timm_name)
    try:
        net = cls(encoder_weights=True, **common, **_overlay_only(source))
    except (OSError, RuntimeError) as err:  # download or file errors surface from timm / hub
        raise ConfigError(f"could not load ImageNet weights for {encoder!r}: {err}") from err
    return EncoderDecoder(net, in_channels, timm_pretrained_cfg(timm_name))


def _overlay_only(source: dict[str, Any]) -> dict[str, Any]:
    # smp already passes pretrained=True to timm; only the file overlay is extra
    return {k: v for k, v in source.items() if k != "pretrained"}


_EFFNET_CFG = {"input_size": (3, 224, 224), "pretrained": "efficientnet_lite0.offline"}


@register_model(task="segmentation", default_cfg={**_EFFNET_CFG, "paper": "S2/S1 family"})
def unet_effnetlite0(pretrained: bool = True, **kwargs: Any) -> EncoderDecoder:
    """smp U-Net on an EfficientNet-Lite0 encoder (offline ImageNet weights)."""
    return build_encoder_decoder("unet", OFFLINE_ENCODERS["effnetlite0"], pretrained=pretrained, **kwargs)


@register_model(task="segmentation", default_cfg=_EFFNET_CFG)
def unetplusplus_effnetlite0(pretrained: bool = True, **kwargs: Any) -> EncoderDecoder:
    """smp U-Net++ on an EfficientNet-Lite0 encoder (offline ImageNet weights)."""
    return build_encoder_decoder("unetplusplus", OFFLINE_ENCODERS["effnetlite0"], pretrained=pretrained, **kwargs)


@register_model(task="segmentation", default_cfg={**_EFFNET_CFG, "paper": "S3 family"})
def deeplabv3plus_effnetlite0(pretrained: bool = True, **kwargs: Any) -> EncoderDecoder:
    """smp DeepLabV3+ (output stride 16, ASPP rates 6, 12, 18) on EfficientNet-Lite0 (ImageNet)."""
    return _deeplabv3plus(OFFLINE_ENCODERS["effnetlite0"], pretrained, kwargs)


def _deeplabv3plus(encoder: str, pretrained: bool, kwargs: dict[str, Any]) -> EncoderDecoder:
    # DeepLabV3+'s rates for output stride 16; smp's default (12, 24, 36) is the stride-8 set
    kwargs.setdefault("decoder_atrous_rates", (6, 12, 18))
    return build_encoder_decoder("deeplabv3plus", encoder, pretrained=pretrained, **kwargs)


_LITE_CFG = {
    1: {"input_size": (3, 240, 240), "pretrained": "efficientnet_lite1.offline"},
    2: {"input_size": (3, 260, 260), "pretrained": "efficientnet_lite2.offline"},
}


@register_model(task="segmentation", default_cfg=_LITE_CFG[1])
def unet_effnetlite1(pretrained: bool = True, **kwargs: Any) -> EncoderDecoder:
    """smp U-Net on an EfficientNet-Lite1 encoder (offline ImageNet weights)."""
    return build_encoder_decoder("unet", OFFLINE_ENCODERS["effnetlite1"], pretrained=pretrained, **kwargs)


@register_model(task="segmentation", default_cfg=_LITE_CFG[1])
def unetplusplus_effnetlite1(pretrained: bool = True, **kwargs: Any) -> EncoderDecoder:
    """smp U-Net++ on an EfficientNet-Lite1 encoder (offline ImageNet weights)."""
    return build_encoder_decoder("unetplusplus", OFFLINE_ENCODERS["effnetlite1"], pretrained=pretrained, **kwargs)


@register_model(task="segmentation", default_cfg=_LITE_CFG[1])
def deeplabv3plus_effnetlite1(pretrained: bool = True, **kwargs: Any) -> EncoderDecoder:
    """smp DeepLabV3+ (output stride 16, ASPP rates 6, 12, 18) on EfficientNet-Lite1 (ImageNet)."""
    return _deeplabv3plus(OFFLINE_ENCODERS["effnetlite1"], pretrained, kwargs)


@register_model(task="segmentation", default_cfg=_LITE_CFG[2])
def unet_effnetlite2(pretrained: bool = True, **kwargs: Any) -> EncoderDecoder:
    """smp U-Net on an EfficientNet-Lite2 encoder (offline ImageNet weights)."""
    return build_encoder_decoder("unet", OFFLINE_ENCODERS["effnetlite2"], pretrained=pretrained, **kwargs)


@register_model(task="segmentation", default_cfg=_LITE_CFG[2])
def unetplusplus_effnetlite2(pretrained: bool = True, **kwargs: Any) -> EncoderDecoder:
    """smp U-Net++ on an EfficientNet-Lite2 encoder (offline ImageNet weights)."""
    return build_encoder_decoder("unetplusplus", OFFLINE_ENCODERS["effnetlite2"], pretrained=pretrained, **kwargs)


@register_model(task="segmentation", default_cfg=_LITE_CFG[2])
def deeplabv3plus_effnetlite2(pretrained: bool = True, **kwargs: Any) -> EncoderDecoder:
    """smp DeepLabV3+ (output stride 16, ASPP rates 6, 12, 18) on EfficientNet-Lite2 (ImageNet)."""
    return _deeplabv3plus(OFFLINE_ENCODERS["effnetlite2"], pretrained, kwargs)


@register_model(task="segmentation", default_cfg={"input_size": (3, 224, 224)})
def smp_unet(encoder: str = "tu-resnet34", pretrained: bool = True, **kwargs: Any) -> EncoderDecoder:
    """smp U-Net on any timm encoder ``tu-<name>``; ImageNet weights from the HF Hub."""
    return build_encoder_decoder("unet", encoder, pretrained=pretrained, **kwargs)
