"""Every registered classifier: forward, backward, a little learning, input checks; backbones,
freezing, offline-weight handling and parameter counts at paper settings.

Models are built on timm's tiny ``test_*`` architectures or at small widths, on 28-64 px
inputs, so the file runs in seconds on two CPU cores; paper sizes are exercised on the
``meta`` device (shapes only, no memory, no compute).
"""

from __future__ import annotations

import time

import pytest
import timm
import torch
import torch.nn.functional as F

from dermkit.data.metadata import METADATA_DIM
from dermkit.errors import ConfigError
from dermkit.models import ClassificationOutput, create_model, list_models
from dermkit.models.classification import BACKBONES, S4_BACKBONES, build_backbone
from dermkit.models.classification.backbones import parameter_layers
from dermkit.models.pretrained import efficientnet_lite0_timm_state_dict, resolve_data_config

SMALL_KWARGS: dict[str, dict] = {
    "cnn_s1": {"input_size": (32, 32), "filters": (4, 8, 8)},
    "deepconvnet_s2": {},
    "softattention_s4": {
        "backbone": "test_efficientnet",
        "pretrained": False,
        "metadata_hidden": 16,
        "num_heads": 4,
    },
    "hybrid_densenet_s5": {"backbone": "test_resnet", "pretrained": False, "metadata_hidden": 16},
    "hybrid_resnetv2_attention_s5": {
        "backbone": "test_efficientnet",
        "pretrained": False,
        "metadata_hidden": 16,
    },
    "timm_classifier": {"model_name": "test_resnet", "pretrained": False, "metadata_hidden": 16},
    "effnetlite0_meta": {"pretrained": False, "metadata_hidden": 16},
}
SIZES = {"deepconvnet_s2": 28, "softattention_s4": 64}  # others: 32
ATTENTION_MODELS = {"softattention_s4", "hybrid_resnetv2_attention_s5"}
CLASSIFIERS = list_models("classification")


@pytest.fixture(autouse=True)
def flush_denormals():
    """Tiny untrained nets produce denormal floats that make CPU convolutions ~3x slower."""
    torch.set_flush_denormal(True)
    yield
    torch.set_flush_denormal(False)  # torch's default


def small_model(name: str, in_channels: int = 3, **overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    kwargs = {**SMALL_KWARGS[name], **overrides}
    return create_model(name, in_channels=in_channels, **kwargs)


def tiny_batch(name: str, in_channels: int = 3, batch: int = 4):
    size = SIZES.get(name, 32)
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(batch, in_channels, size, size, generator=generator)
    meta = torch.rand(batch, METADATA_DIM, generator=generator)
    labels = torch.arange(batch) % 7
    return images, meta, labels


def test_every_classifier_has_small_kwargs():
    assert sorted(SMALL_KWARGS) == CLASSIFIERS


@pytest.mark.parametrize("use_metadata", [False, True], ids=["image", "meta"])
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_forward_backward_and_learning(name, use_metadata):
    model = small_model(name, use_metadata=use_metadata)
    assert (model.num_classes, model.in_channels, model.use_metadata) == (7, 3, use_metadata)
    assert model.input_stride >= 1
    images, meta, labels = tiny_batch(name)
    meta_arg = meta if use_metadata else None

    out = model(images, meta_arg)
    assert isinstance(out, ClassificationOutput)
    assert out.class_logits.shape == (4, 7)
    assert torch.isfinite(out.class_logits).all()
    if name in ATTENTION_MODELS:
        assert out.attention is not None and out.attention.shape[:2] == (4, 1)
        assert out.attention.min() >= 0 and out.attention.max() <= 1
    else:
        assert out.attention is None

    def loss_at_fixed_noise() -> torch.Tensor:
        torch.manual_seed(123)  # the same dropout masks before and after training
        return F.cross_entropy(model(images, meta_arg).class_logits, labels)

    before = loss_at_fixed_noise()
    before.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads), "some parameters got no gradient"
    assert any(g.abs().sum() > 0 for g in grads)

    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    for step in range(5):
        optimizer.zero_grad()
        torch.manual_seed(step)
        F.cross_entropy(model(images, meta_arg).class_logits, labels).backward()
        optimizer.step()
    with torch.no_grad():
        after = loss_at_fixed_noise()
    assert after < before.detach(), f"{name}: loss {before.item():.4f} -> {after.item():.4f}"


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_bad_input_is_rejected_clearly(name):
    model = small_model(name, in_channels=1, use_metadata=True).eval()
    images, meta, _ = tiny_batch(name, in_channels=1, batch=2)
    assert model(images, meta).class_logits.shape == (2, 7)  # grey input works
    size = images.shape[-1]
    with pytest.raises(ValueError, match=rf"expected \(B, C, H, W\) with C=1.*\(2, 3, {size}"):
        model(images.expand(-1, 3, -1, -1), meta)
    with pytest.raises(ValueError, match="expected a 4-D batch"):
        model(images[0], meta)
    with pytest.raises(ValueError, match=r"use_metadata=True.*got None"):
        model(images)
    with pytest.raises(ValueError, match=rf"meta of shape \(2, {METADATA_DIM}\).*\(2, 3\)"):
        model(images, meta[:, :3])
    with pytest.raises(ValueError, match="at least|built for input_size"):
        model(torch.zeros(2, 1, 8, 8), meta)


def test_image_only_models_ignore_meta():
    model = small_model("deepconvnet_s2").eval()
    images, meta, _ = tiny_batch("deepconvnet_s2")
    torch.testing.assert_close(model(images, meta).class_logits, model(images).class_logits)


def test_flatten_models_fix_the_input_size():
    model = small_model("cnn_s1")
    wrong_size = r"built for input_size=\(32, 32\).*got images of \(64, 64\)"
    with pytest.raises(ValueError, match=wrong_size):
        model(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="in_channels must be 1 or 3; got 4"):
        create_model("cnn_s1", in_channels=4)


def test_freeze_first_freezes_exactly_n_layers_and_their_batch_norms():
    backbone, *_ = build_backbone("test_resnet", pretrained=False, freeze_first=5)
    layers = parameter_layers(backbone.body)
    frozen = [all(not p.requires_grad for p in m.parameters(recurse=False)) for _, m in layers]
    assert frozen == [True] * 5 + [False] * (len(layers) - 5)
    assert backbone.frozen_layers == tuple(name for name, _ in layers[:5])
    backbone.train()
    norms = {name: m.training for name, m in layers if isinstance(m, torch.nn.BatchNorm2d)}
    frozen_names = set(backbone.frozen_layers)
    assert norms and not any(training for n, training in norms.items() if n in frozen_names)
    assert any(training for n, training in norms.items() if n not in frozen_names)
    with pytest.raises(ValueError, match=rf"between 0 and the backbone's {len(layers)}"):
        build_backbone("test_resnet", pretrained=False, freeze_first=len(layers) + 1)


def test_frozen_layers_get_no_gradient():
    model = small_model("timm_classifier", freeze_first=3)
    images, _, labels = tiny_batch("timm_classifier", batch=2)
    F.cross_entropy(model(images).class_logits, labels).backward()
    layers = parameter_layers(model.backbone.body)
    assert all(p.grad is None for _, m in layers[:3] for p in m.parameters(recurse=False))
    assert all(p.grad is not None for _, m in layers[3:] for p in m.parameters(recurse=False))


def test_s5_default_freezing_matches_keras_first_100_layers():
    with torch.device("meta"):
        model1 = create_model("hybrid_densenet_s5", pretrained=False)
        model2 = create_model("hybrid_resnetv2_attention_s5", pretrained=False)
        other = create_model("hybrid_densenet_s5", pretrained=False, backbone="test_resnet")
    assert len(model1.backbone.frozen_layers) == 55
    assert model1.backbone.frozen_layers[-1] == "features.denseblock2.denselayer7.norm2"
    assert len(model2.backbone.frozen_layers) == 53
    assert model2.backbone.frozen_layers[-1] == "stages.2.blocks.1.norm1"
    assert other.backbone.frozen_layers == ()


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


PAPER_PARAMS = {  # (name, kwargs) -> parameters at paper settings
    ("cnn_s1", ()): 6_715_191,
    ("deepconvnet_s2", ()): 173_543,
    ("softattention_s4", (("backbone", "efficientnet_lite0"),)): 718_488,
    ("softattention_s4", (("backbone", "mobilenetv3_large"), ("use_metadata", True))): 924_896,
    ("hybrid_densenet_s5", ()): 8_114_567,
    ("hybrid_densenet_s5", (("cnn_path", "flatten"),)): 110_743_943,
    ("hybrid_resnetv2_attention_s5", ()): 25_187_400,
    ("hybrid_resnetv2_attention_s5", (("cnn_path", "flatten"),)): 127_816_776,
    ("effnetlite0_meta", ()): 3_387_143,
}


@pytest.mark.parametrize("name, kwargs", sorted(PAPER_PARAMS), ids=lambda v: str(v))
def test_parameter_counts_at_paper_settings(name, kwargs):
    extra = {} if name in ("cnn_s1", "deepconvnet_s2") else {"pretrained": False}
    with torch.device("meta"):  # shapes only: no allocation, no initialisation cost
        model = create_model(name, **extra, **dict(kwargs))
    assert count(model) == PAPER_PARAMS[name, kwargs]


def test_s5_flatten_path_dwarfs_pool_path():
    # flattening 28x28x256 adds ~102.8 M weights: the reported 12.5 M rules it out
    flatten = PAPER_PARAMS["hybrid_densenet_s5", (("cnn_path", "flatten"),)]
    pool = PAPER_PARAMS["hybrid_densenet_s5", ()]
    assert flatten - pool == (28 * 28 * 256 - 256) * 512
    assert flatten > 10 * pool


def test_backbone_table_covers_s4():
    assert set(S4_BACKBONES) <= set(BACKBONES)
    assert all(timm.is_model(BACKBONES[name].timm_name) for name in BACKBONES)
    assert BACKBONES["efficientnet_lite0"].timm_name == "tf_efficientnet_lite0"


CUT_MODULES = ("conv_head", "blocks.5", "blocks.6", "layer4", "fc", "classifier")


@pytest.mark.parametrize(
    "name, channels", [("efficientnet_lite0", 112), ("mobilenetv3_large", 112), ("resnet50", 1024)]
)
def test_cut_is_the_stride_16_level_with_nothing_left_after_it(name, channels):
    with torch.device("meta"):
        backbone, out_channels, reduction, cfg = build_backbone(name, pretrained=False)
        features = backbone(torch.empty(1, 3, 224, 224))
    assert (out_channels, reduction, cfg) == (channels, 16, None)
    assert tuple(features.shape) == (1, channels, 14, 14)
    names = [n for n, _ in backbone.body.named_parameters()]
    assert names and not [n for n in names if n.startswith(CUT_MODULES)]


def test_unknown_backbone_suggests_close_names():
    with pytest.raises(ConfigError, match="Did you mean 'densenet201'"):
        build_backbone("densenet_201", pretrained=False)


@pytest.fixture
def no_cached_weights(monkeypatch, tmp_path):
    """Offline, with empty Hugging Face and torch.hub caches."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("softattention_s4", {"backbone": "resnet50"}),
        ("hybrid_densenet_s5", {}),
        ("timm_classifier", {"model_name": "mobilenetv3_large"}),
    ],
)
def test_pretrained_hub_backbone_fails_fast_offline(no_cached_weights, name, kwargs):
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="not in the local cache and HF_HUB_OFFLINE is set"):
        create_model(name, pretrained=True, **kwargs)
    assert time.perf_counter() - start < 5


def test_offline_efficientnet_lite0_weights_load():
    model = create_model("effnetlite0_meta", metadata_hidden=16)  # pretrained by default
    assert model.pretrained_cfg.name == "efficientnet_lite0.offline"
    assert resolve_data_config(model)["mean"] == (0.5, 0.5, 0.5)
    expected = efficientnet_lite0_timm_state_dict()["conv_stem.weight"]
    torch.testing.assert_close(model.backbone.body.conv_stem.weight, expected)
    images, meta, _ = tiny_batch("effnetlite0_meta", batch=2)
    assert model.eval()(images, meta).class_logits.shape == (2, 7)


def test_s5_without_its_cnn_path_classifies_from_the_backbone_alone():
    """The S5 ablation: cnn_path="none" drops the custom-CNN path; the head sees the backbone's features only."""
    torch.manual_seed(0)
    with_path = create_model("hybrid_densenet_s5", backbone="test_resnet", pretrained=False)
    without = create_model("hybrid_densenet_s5", backbone="test_resnet", pretrained=False, cnn_path="none")
    assert without.cnn is None
    assert with_path.dense[0].in_features - without.dense[0].in_features == 256  # the CNN path's pooled width
    out = without(torch.randn(2, 3, 64, 64))
    assert out.class_logits.shape == (2, 7)
    with pytest.raises(ValueError, match="'pool', 'flatten' or 'none'"):
        create_model("hybrid_densenet_s5", backbone="test_resnet", pretrained=False, cnn_path="off")
