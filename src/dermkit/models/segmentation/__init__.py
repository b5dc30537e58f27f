"""Lesion segmenters: S1 Attention U-Net, S2 U-Net, S3 separable-conv + ASPP, and smp
decoders on pretrained encoders. Importing this package registers them all."""

from dermkit.models.segmentation.attention_unet import AttentionUNet, attention_gate
from dermkit.models.segmentation.dsconv_aspp import DSConvASPP
from dermkit.models.segmentation.encoder_decoders import EncoderDecoder, build_encoder_decoder
from dermkit.models.segmentation.unet import UNet

__all__ = [
    "AttentionUNet",
    "DSConvASPP",
    "EncoderDecoder",
    "UNet",
    "attention_gate",
    "build_encoder_decoder",
]
