"""Offline EfficientNet-Lite0/1/2 ImageNet weights: one test set per weight file, and every place a
Lite backbone is selectable (classifier, S4 soft attention, S5 hybrid path, smp encoders).

Nothing here may reach the network: ``no_network`` makes any socket connection fail.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest
import timm
import torch
from PIL import Image

from dermkit.errors import ConfigError
from dermkit.models import create_model
from dermkit.models.classification.backbones import build_backbone
from dermkit.models.pretrained import (
    OFFLINE_WEIGHTS,
    PRETRAINED_CFGS,
    get_pretrained_cfg,
    load_offline_imagenet,
    offline_pretrained_cfg,
    offline_timm_state_dict,
    resolve_data_config,
)

#: weight set -> (timm architecture, tensors without num_batches_tracked, package file name)
WEIGHTS = {
    "efficientnet_lite0.offline": ("tf_efficientnet_lite0", 247, "efficientnet-lite0-57934424.pth"),
    "efficientnet_lite1.offline": ("tf_efficientnet_lite1", 322, "efficientnet-lite1-77cc7160.pth"),
    "efficientnet_lite2.offline": ("tf_efficientnet_lite2", 322, "efficientnet-lite2-9656183e.pth"),
}
LARGER = ("efficientnet_lite1", "efficientnet_lite2")  # the backbones this file adds
MILITARY_UNIFORM = 652  # ImageNet class of the Grace Hopper portrait


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection is a test failure: the weights must come from the packages."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module", params=sorted(WEIGHTS))
def imagenet(request) -> tuple[str, torch.nn.Module]:
    """(weight set name, the full timm classifier with those weights, eval mode)."""
    name = request.param
    model = timm.create_model(WEIGHTS[name][0]).eval()
    load_offline_imagenet(model, name)
    return name, model


def test_every_offline_file_is_declared_with_timms_preprocessing():
    assert sorted(PRETRAINED_CFGS) == sorted(WEIGHTS)
    for name, (architecture, _, filename) in WEIGHTS.items():
        ours, theirs = get_pretrained_cfg(name), timm.models.get_pretrained_cfg(architecture)
        assert OFFLINE_WEIGHTS[architecture] == name and offline_pretrained_cfg(architecture) is ours
        assert ours.architecture == architecture
        assert (ours.mean, ours.std) == ((0.5,) * 3, (0.5,) * 3) == (tuple(theirs.mean), tuple(theirs.std))
        assert ours.input_size == tuple(theirs.input_size)
        assert (ours.interpolation, ours.crop_pct) == (theirs.interpolation, theirs.crop_pct)
        path = ours.resolve_file()
        assert path.is_file() and path.name == filename and ours.source.endswith(filename)
    assert [get_pretrained_cfg(n).input_size[1] for n in sorted(WEIGHTS)] == [224, 240, 260]
    assert offline_pretrained_cfg("tf_efficientnet_lite1.in1k") is None  # a tag means timm's own weights


def test_file_maps_onto_timm_names_with_nothing_missing_or_left_over(imagenet):
    name, _ = imagenet
    architecture, n_tensors, _ = WEIGHTS[name]
    raw = torch.load(get_pretrained_cfg(name).resolve_file(), map_location="cpu", weights_only=True)
    raw_tensors = [v for k, v in raw.items() if not k.endswith("num_batches_tracked")]
    mapped = offline_timm_state_dict(name)
    expected = [k for k in timm.create_model(architecture).state_dict() if not k.endswith("num_batches_tracked")]
    assert list(mapped) == expected and len(mapped) == len(raw_tensors) == n_tensors
    for value, source in zip(mapped.values(), raw_tensors, strict=True):
        torch.testing.assert_close(value, source, rtol=0, atol=0)  # by position, untouched


def test_full_model_gets_every_tensor(imagenet):
    name, model = imagenet
    architecture, n_tensors, _ = WEIGHTS[name]
    fresh = timm.create_model(architecture)
    assigned = load_offline_imagenet(fresh, name)
    keys = [k for k in fresh.state_dict() if not k.endswith("num_batches_tracked")]
    assert list(assigned) == keys and len(assigned) == n_tensors  # no missing key
    mapped = offline_timm_state_dict(name)
    for key in assigned:
        torch.testing.assert_close(fresh.state_dict()[key], mapped[key], rtol=0, atol=0)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all((bn.running_var >= 0).all() and not torch.allclose(bn.running_var, torch.ones(1)) for bn in norms)


def test_forward_on_a_tiny_input(imagenet):
    _, model = imagenet
    with torch.no_grad():
        logits = model(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert logits.shape == (2, 1000) and torch.isfinite(logits).all()


def grace_hopper(cfg) -> torch.Tensor:
    """matplotlib's sample portrait, resized to the weights' input size and normalised as declared."""
    from matplotlib import cbook

    try:
        image = Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB")
    except (OSError, ValueError) as err:  # pragma: no cover - a matplotlib install without sample data
        pytest.skip(f"matplotlib's sample image grace_hopper.jpg is not installed: {err}")
    side = cfg.input_size[1]
    pixels = np.asarray(image.resize((side, side), Image.Resampling.BICUBIC), dtype=np.float32) / 255
    x = torch.from_numpy(pixels).permute(2, 0, 1)
    mean, std = torch.tensor(cfg.mean)[:, None, None], torch.tensor(cfg.std)[:, None, None]
    return ((x - mean) / std)[None]


def test_declared_preprocessing_gives_a_sensible_imagenet_prediction(imagenet):
    """Grace Hopper in uniform is the classic ImageNet test photo: class 652, "military uniform"."""
    name, model = imagenet
    with torch.no_grad():
        probs = model(grace_hopper(get_pretrained_cfg(name))).softmax(dim=-1)[0]
    assert int(probs.argmax()) == MILITARY_UNIFORM, f"{name}: top-5 {probs.topk(5).indices.tolist()}"
    assert probs[MILITARY_UNIFORM] > 0.15  # a random or mis-mapped network stays near 1/1000


def test_weights_of_another_size_are_refused_naming_the_tensor():
    with pytest.raises(ConfigError, match=r"efficientnet_lite1.offline weights \(tf_efficientnet_lite1\)"):
        load_offline_imagenet(timm.create_model("tf_efficientnet_lite2"), "efficientnet_lite1.offline")
    with pytest.raises(ConfigError, match="Did you mean 'efficientnet_lite2.offline'"):
        load_offline_imagenet(timm.create_model("tf_efficientnet_lite2"), "efficientnet_lite2.ofline")


# --- every place a Lite backbone is selectable -------------------------------------------------


def stem(name: str) -> torch.Tensor:
    return offline_timm_state_dict(f"{name}.offline")["conv_stem.weight"]


@pytest.mark.parametrize("name", LARGER)
def test_classifier_backbone(name):
    model = create_model("timm_classifier", model_name=name, metadata_hidden=8)  # pretrained by default
    assert model.pretrained_cfg is get_pretrained_cfg(f"{name}.offline")
    torch.testing.assert_close(model.backbone.body.conv_stem.weight, stem(name), rtol=0, atol=0)
    assert resolve_data_config(model) == {"mean": (0.5,) * 3, "std": (0.5,) * 3, "interpolation": "bicubic"}
    assert model.eval()(torch.zeros(2, 3, 64, 64)).class_logits.shape == (2, 7)


@pytest.mark.parametrize("name, channels", [("efficientnet_lite1", 112), ("efficientnet_lite2", 120)])
def test_s4_soft_attention_backbone_is_cut_at_stride_16(name, channels):
    backbone, out_channels, reduction, cfg = build_backbone(name, pretrained=True, output="cut")
    assert (out_channels, reduction, cfg.name) == (channels, 16, f"{name}.offline")
    model = create_model("softattention_s4", backbone=name, use_metadata=True, metadata_hidden=8, num_heads=2)
    torch.testing.assert_close(model.backbone.body.conv_stem.weight, stem(name), rtol=0, atol=0)
    out = model.eval()(torch.zeros(2, 3, 64, 64), torch.zeros(2, model.metadata_dim))
    assert out.class_logits.shape == (2, 7) and out.attention.shape == (2, 1, 4, 4)


@pytest.mark.parametrize("entry", ["hybrid_densenet_s5", "hybrid_resnetv2_attention_s5"])
@pytest.mark.parametrize("name", LARGER)
def test_s5_hybrid_path(entry, name):
    model = create_model(entry, backbone=name, metadata_hidden=8)
    assert model.pretrained_cfg.name == f"{name}.offline"
    torch.testing.assert_close(model.backbone.body.conv_stem.weight, stem(name), rtol=0, atol=0)
    out = model.eval()(torch.zeros(2, 3, 64, 64))
    assert out.class_logits.shape == (2, 7)
    assert (out.attention is not None) == (entry == "hybrid_resnetv2_attention_s5")


@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("arch", ["unet", "unetplusplus", "deeplabv3plus"])
def test_segmentation_encoder(arch, variant):
    decoder = 16 if arch == "deeplabv3plus" else (16, 8, 8, 8, 8)
    model = create_model(f"{arch}_effnetlite{variant}", decoder_channels=decoder)
    reference = offline_timm_state_dict(f"efficientnet_lite{variant}.offline")
    encoder = model.net.encoder.model.state_dict()
    for key, value in encoder.items():
        if not key.endswith("num_batches_tracked"):
            torch.testing.assert_close(value, reference[key], rtol=0, atol=0)
    assert model.pretrained_cfg.name == f"efficientnet_lite{variant}.offline"
    assert resolve_data_config(model)["mean"] == (0.5, 0.5, 0.5)
    with torch.no_grad():
        assert model.eval()(torch.zeros(1, 3, 64, 64)).mask_logits.shape == (1, 1, 64, 64)


def test_generic_smp_unet_takes_the_offline_encoder_and_a_grey_stem():
    model = create_model(
        "smp_unet", encoder="tu-tf_efficientnet_lite2", in_channels=1, decoder_channels=(16, 8, 8, 8, 8)
    )
    assert model.pretrained_cfg.name == "efficientnet_lite2.offline"
    torch.testing.assert_close(model.net.encoder.model.conv_stem.weight, stem("efficientnet_lite2").sum(1, True))
    assert resolve_data_config(model) == {"mean": (0.5,), "std": (0.5,), "interpolation": "bicubic"}


def test_timms_own_weights_still_go_through_timm(monkeypatch, tmp_path):
    """A tagged name asks timm (cache, then the Hub); offline with empty caches it fails fast and says so."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(ConfigError, match=r"'tf_efficientnet_lite1.in1k'.*HF_HUB_OFFLINE.*efficientnet_lite0\.\.2"):
        create_model("timm_classifier", model_name="tf_efficientnet_lite1.in1k")
