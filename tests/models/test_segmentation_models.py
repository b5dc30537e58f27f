"""Every registered segmentation model: forward, backward, a little learning, input checks.

Models are built at test widths (``SMALL_KWARGS``) on 64x64 inputs so the file runs in
seconds on two CPU cores; paper widths are exercised by the parameter-count test.
"""

from __future__ import annotations

import pytest
import torch

from dermkit.losses import bce_loss
from dermkit.models import SegmentationOutput, create_model, list_models
from dermkit.models.segmentation import AttentionUNet, attention_gate
from dermkit.models.segmentation.attention_unet import AttentionGate

SMALL_DECODER = (16, 8, 8, 8, 8)
SMALL_KWARGS: dict[str, dict] = {
    "unet_s2": {"base_filters": 4},
    "attention_unet_s1": {"base_filters": 4},
    "dsconv_aspp_s3": {"base_filters": 4},
    **{
        f"{arch}_effnetlite{v}": {"pretrained": False, "decoder_channels": decoder}
        for v in (0, 1, 2)
        for arch, decoder in (("unet", SMALL_DECODER), ("unetplusplus", SMALL_DECODER), ("deeplabv3plus", 16))
    },
    "smp_unet": {
        "encoder": "tu-test_resnet",
        "pretrained": False,
        "decoder_channels": SMALL_DECODER,
    },
}
SEGMENTERS = list_models("segmentation")


@pytest.fixture(autouse=True)
def flush_denormals():
    """Tiny untrained nets produce denormal floats that make CPU convolutions ~3x slower."""
    torch.set_flush_denormal(True)
    yield
    torch.set_flush_denormal(False)  # torch's default


def small_model(name: str, in_channels: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(name, in_channels=in_channels, **SMALL_KWARGS.get(name, {}))


def blob_batch(in_channels: int, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Two images whose bright disc is the lesion mask."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    masks = torch.stack(
        [
            ((yy - 24) ** 2 + (xx - 30) ** 2 < 15**2),
            ((yy - 40) ** 2 + (xx - 36) ** 2 < 10**2),
        ]
    ).float()[:, None]  # (2, 1, H, W)
    generator = torch.Generator().manual_seed(1)
    noise = 0.1 * torch.randn(2, in_channels, size, size, generator=generator)
    return masks.expand(-1, in_channels, -1, -1) + noise, masks


@pytest.mark.parametrize("in_channels", [1, 3])
@pytest.mark.parametrize("name", SEGMENTERS)
def test_forward_backward_and_learning(name, in_channels):
    model = small_model(name, in_channels)
    assert model.input_stride in (8, 16, 32)
    images, masks = blob_batch(in_channels)

    out = model(images)
    assert isinstance(out, SegmentationOutput)
    assert out.mask_logits.shape == (2, 1, 64, 64)

    def loss_at_fixed_noise() -> torch.Tensor:
        torch.manual_seed(123)  # the same dropout masks before and after training
        return bce_loss(model(images).mask_logits, masks)

    before = loss_at_fixed_noise()
    before.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads), "some parameters got no gradient"
    assert any(g.abs().sum() > 0 for g in grads)

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(5):
        optimizer.zero_grad()
        torch.manual_seed(step)
        bce_loss(model(images).mask_logits, masks).backward()
        optimizer.step()
    with torch.no_grad():
        after = loss_at_fixed_noise()
    assert after < before.detach(), f"{name}: loss {before.item():.4f} -> {after.item():.4f}"


@pytest.mark.parametrize("name", SEGMENTERS)
def test_bad_input_is_rejected_clearly(name):
    model = small_model(name, in_channels=3).eval()
    stride = model.input_stride
    wrong_channels = r"expected \(B, C, H, W\) with C=3.*got shape \(1, 1, 64, 64\)"
    with pytest.raises(ValueError, match=wrong_channels):
        model(torch.zeros(1, 1, 64, 64))
    not_divisible = rf"divisible by the model's input_stride {stride}.*\(1, 3, 68, 64\)"
    with pytest.raises(ValueError, match=not_divisible):
        model(torch.zeros(1, 3, 68, 64))  # 68 is not a multiple of 8, 16 or 32
    with pytest.raises(ValueError, match=r"expected a 4-D batch.*got shape \(3, 64, 64\)"):
        model(torch.zeros(3, 64, 64))


@pytest.mark.parametrize("name", ["unet_s2", "attention_unet_s1", "dsconv_aspp_s3"])
def test_in_channels_must_be_one_or_three(name):
    with pytest.raises(ValueError, match="in_channels must be 1 or 3; got 4"):
        create_model(name, in_channels=4)


def test_attention_gate_coefficients_are_in_unit_interval_before_batch_norm():
    torch.manual_seed(0)
    gate = AttentionGate(gate_channels=8, skip_channels=4, inter_channels=4).eval()
    g = 3 * torch.randn(2, 8, 4, 4)  # gating signal at half the skip's resolution
    x = 3 * torch.randn(2, 4, 8, 8)  # skip connection
    gated, alpha = attention_gate(gate, g, x)
    assert alpha.shape == (2, 1, 4, 4)
    assert gated.shape == x.shape
    assert alpha.min() >= 0 and alpha.max() <= 1
    # a fresh eval-mode BN is (a - 0) / sqrt(1 + eps): gated = up(alpha) * x up to that factor
    up = torch.nn.functional.interpolate(alpha, size=(8, 8), mode="bilinear", align_corners=False)
    expected = up / (1 + gate.norm.eps) ** 0.5 * x
    torch.testing.assert_close(gated, expected)
    # the module and the function agree
    torch.testing.assert_close(gate(g, x)[0], gated)


def test_attention_unet_paper_widths():
    model = AttentionUNet()
    widths = [block[2][0].out_channels for block in model.encoder]
    assert widths == [32, 64, 128, 256, 512]
    assert [step.conv[1][0].out_channels for step in model.decoder] == [256, 128, 64, 32]
    assert [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)] == [0.1] * 5


def test_dsconv_aspp_rates_must_be_distinct():
    with pytest.raises(ValueError, match=r"distinct; got \(3, 3, 6\)"):
        create_model("dsconv_aspp_s3", rates=(3, 3, 6))


PAPER_PARAMS = {
    "unet_s2": 1_942_577,
    "attention_unet_s1": 10_198_189,
    "dsconv_aspp_s3": 5_037_249,
    "unet_effnetlite0": 5_198_161,
    "unetplusplus_effnetlite0": 5_429_681,
    "deeplabv3plus_effnetlite0": 3_858_769,
}


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_parameter_counts_at_paper_widths(name):
    kwargs = {"pretrained": False} if "effnet" in name else {}
    model = create_model(name, **kwargs)
    assert sum(p.numel() for p in model.parameters()) == PAPER_PARAMS[name]


def test_encoder_decoders_pass_no_unknown_options_to_timm():
    from dermkit.errors import ConfigError
    from dermkit.models import create_model

    with pytest.raises(ConfigError, match=r"unsupported options \['checkpoint_path'\]"):
        create_model("unet_effnetlite0", pretrained=False, checkpoint_path="/tmp/payload.pt")
    create_model("unet_effnetlite0", pretrained=False, decoder_channels=[16, 16, 16, 16, 16])
