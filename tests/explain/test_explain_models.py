"""Every registered classifier gets Grad-CAM, Grad-CAM++ (and its attention map where it has one), on a
sensible layer; and the maps follow the evidence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from dermkit.data.metadata import METADATA_DIM
from dermkit.errors import DermkitError
from dermkit.explain import METHODS, TARGET_LAYERS, layer_names, mass_inside, target_layers
from dermkit.models import ClassificationOutput, list_models
from dermkit.models.contract import build_without_weights

#: every registered classifier, without pretrained weights, at a width and size that runs in well under a second
TINY: dict[str, tuple[dict, int]] = {
    "cnn_s1": ({"input_size": (32, 32), "filters": (4, 8, 8)}, 32),
    "deepconvnet_s2": ({"input_size": (32, 32)}, 32),
    "softattention_s4": ({"backbone": "test_efficientnet", "metadata_hidden": 8, "num_heads": 2}, 64),
    "hybrid_densenet_s5": ({"backbone": "test_resnet", "metadata_hidden": 8}, 64),
    "hybrid_resnetv2_attention_s5": ({"backbone": "test_efficientnet", "metadata_hidden": 8}, 64),
    "timm_classifier": ({"model_name": "test_resnet", "metadata_hidden": 8}, 64),
    "effnetlite0_meta": ({"metadata_hidden": 8}, 64),
}

#: the layer Grad-CAM explains, per model (the generic rule, or the TARGET_LAYERS override)
EXPECTED_LAYER = {
    "cnn_s1": "features",  # the conv trunk's last ReLU, before the flatten
    "deepconvnet_s2": "features",
    "softattention_s4": "block.dropout",  # the soft-attention block's output, which the global pool averages
    "hybrid_densenet_s5": "backbone",  # override: the backbone path (not the custom CNN path)
    "hybrid_resnetv2_attention_s5": "backbone",  # override: the features the spatial attention weighs
    "timm_classifier": "backbone.body.layer4",
    "effnetlite0_meta": "backbone.body.bn2",  # after conv_head, before timm's global pool
}
WITH_ATTENTION = {"softattention_s4", "hybrid_resnetv2_attention_s5"}
CLASSIFIERS = list_models("classification")


def tiny(name: str, use_metadata: bool = True) -> tuple[nn.Module, Tensor, Tensor]:
    kwargs, size = TINY[name]
    torch.manual_seed(0)
    model = build_without_weights(name, {**kwargs, "use_metadata": use_metadata}).eval()
    model.model_name = name  # as load_run names a rebuilt model
    return model, torch.randn(1, 3, size, size), torch.rand(1, METADATA_DIM)


def test_the_tiny_settings_cover_every_registered_classifier():
    assert sorted(TINY) == CLASSIFIERS and sorted(EXPECTED_LAYER) == CLASSIFIERS


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_the_target_layer_of_every_classifier(name):
    model, x, meta = tiny(name)
    assert layer_names(model, target_layers(model, x, meta)) == [EXPECTED_LAYER[name]]


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_every_classifier_gets_a_heat_map_from_each_method_it_has(name):
    model, x, meta = tiny(name)
    size = tuple(x.shape[-2:])
    for method in METHODS:
        if METHODS.entry(method).info["needs_attention"] and name not in WITH_ATTENTION:
            with pytest.raises(DermkitError, match="has no attention map"):
                METHODS.get(method)(model, x, meta, 0)
            continue
        maps = [METHODS.get(method)(model, x, meta, target) for target in range(model.num_classes)]
        for heat in maps:
            assert heat.shape == size and heat.dtype == np.float32
            assert np.isfinite(heat).all() and 0 <= heat.min() <= heat.max() <= 1
        # a class's map may be all zero (no positive evidence for it), but not every class's, and not one map for all
        assert any(heat.max() - heat.min() > 1e-6 for heat in maps), method
        if method != "attention":  # the attention map is class-agnostic; the gradient maps are not
            assert any(not np.allclose(maps[0], other) for other in maps[1:]), method
    assert not any(p.grad is not None for p in model.parameters())  # no gradients left on the weights


def test_a_model_without_metadata_is_explained_without_it():
    model, x, _ = tiny("softattention_s4", use_metadata=False)
    heat = METHODS.get("gradcam++")(model, x, None, 0)
    assert heat.shape == (64, 64) and heat.max() - heat.min() > 1e-6


def test_the_s5_overrides_are_registered_for_both_hybrids():
    assert {"hybrid_densenet_s5", "hybrid_resnetv2_attention_s5"} <= set(TARGET_LAYERS)


def test_the_generic_rule_steps_back_to_the_last_map_larger_than_1x1():
    model, _, meta = tiny("timm_classifier")
    x = torch.randn(1, 3, 32, 32)  # test_resnet has stride 32: layer4's map is 1x1 here, layer3's 2x2
    assert layer_names(model, target_layers(model, x, meta)) == ["backbone.body.layer3"]


class PoolFirst(nn.Module):
    """A classifier that pools the image before any convolution: it has no spatial feature map."""

    num_classes, use_metadata = 2, False

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(3, 4, 1), nn.ReLU())
        self.fc = nn.Linear(4, 2)

    def forward(self, image: Tensor, meta: Tensor | None = None) -> ClassificationOutput:
        return ClassificationOutput(self.fc(self.features(image).flatten(1)))


def test_a_model_with_no_spatial_map_is_refused_with_a_reason():
    with pytest.raises(DermkitError, match="PoolFirst: no spatial feature map larger than 1x1"):
        target_layers(PoolFirst(), torch.rand(1, 3, 32, 32))


class BrightSpot(nn.Module):
    """A classifier whose class-1 logit counts bright pixels (and nothing else): a fixed 'brightness' conv,
    ReLU above a threshold, 2x2 max-pool, global pool, linear. The attention map is the pooled activation."""

    num_classes, use_metadata, metadata_dim = 2, True, METADATA_DIM

    def __init__(self) -> None:
        super().__init__()
        conv = nn.Conv2d(3, 4, 3, padding=1)
        with torch.no_grad():
            conv.weight.fill_(1.0 / 27)  # the 3x3x3 mean
            conv.bias.copy_(torch.tensor([-0.5, -0.6, -0.7, -0.8]))  # 'bright' at a few thresholds
        self.features = nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(4, 2)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[-1.0] * 4, [1.0] * 4]))
            self.fc.bias.zero_()

    def forward(self, image: Tensor, meta: Tensor | None = None) -> ClassificationOutput:
        assert meta is not None and meta.shape == (image.shape[0], METADATA_DIM)  # the closed-over metadata
        a = self.features(image)
        attention = a.sum(1, keepdim=True) / a.sum(1, keepdim=True).amax(dim=(2, 3), keepdim=True).clamp_min(1e-6)
        return ClassificationOutput(self.fc(a.mean(dim=(2, 3))), attention)


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "attention"])
@pytest.mark.parametrize("corner", [(4, 4), (20, 36)])
def test_the_map_sits_on_the_evidence_and_moves_with_it(method, corner):
    torch.manual_seed(0)
    x = torch.rand(1, 3, 48, 64) * 0.3  # dim noise everywhere: no evidence
    y, xx = corner
    x[..., y : y + 12, xx : xx + 16] = 1.0  # the bright spot: the only evidence for class 1
    region = np.zeros((48, 64), bool)
    region[y : y + 12, xx : xx + 16] = True
    model = BrightSpot().eval()
    heat = METHODS.get(method)(model, x, torch.zeros(1, METADATA_DIM), 1)
    assert heat.shape == (48, 64)
    # the spot is 6 % of the image; a map that ignored it would put about 6 % of its mass there
    assert mass_inside(heat, region) > 0.6
    peak = np.unravel_index(np.argmax(heat), heat.shape)
    assert region[peak]
