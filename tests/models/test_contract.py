"""The model contract: the Classifier protocol, classify()'s one metadata rule, check_input_size()."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from dermkit.data.metadata import METADATA_DIM
from dermkit.errors import ConfigError
from dermkit.models import (
    ClassificationOutput,
    Classifier,
    check_input_size,
    classify,
    create_model,
    list_models,
)

#: every registered classifier at a width and input size that builds and runs in well under a second
SMALL: dict[str, tuple[dict, int]] = {
    "cnn_s1": ({"input_size": (32, 32), "filters": (4, 8, 8)}, 32),
    "deepconvnet_s2": ({}, 28),
    "softattention_s4": (
        {"backbone": "test_efficientnet", "pretrained": False, "metadata_hidden": 8, "num_heads": 2},
        64,
    ),
    "hybrid_densenet_s5": ({"backbone": "test_resnet", "pretrained": False, "metadata_hidden": 8}, 32),
    "hybrid_resnetv2_attention_s5": ({"backbone": "test_efficientnet", "pretrained": False, "metadata_hidden": 8}, 32),
    "timm_classifier": ({"model_name": "test_resnet", "pretrained": False, "metadata_hidden": 8}, 32),
    "effnetlite0_meta": ({"pretrained": False, "metadata_hidden": 8}, 32),
}
CLASSIFIERS = list_models("classification")


def small(name: str, use_metadata: bool) -> tuple[nn.Module, Tensor, Tensor]:
    kwargs, size = SMALL[name]
    torch.manual_seed(0)
    model = create_model(name, use_metadata=use_metadata, **kwargs).eval()
    return model, torch.randn(2, 3, size, size), torch.rand(2, METADATA_DIM)


class Recorder(nn.Module):
    """A minimal Classifier that records the meta it is given."""

    def __init__(self, use_metadata: bool) -> None:
        super().__init__()
        self.num_classes, self.use_metadata, self.seen = 3, use_metadata, []

    def forward(self, image: Tensor, meta: Tensor | None = None) -> ClassificationOutput:
        self.seen.append(meta)
        return ClassificationOutput(class_logits=image.new_zeros(image.shape[0], self.num_classes))


def test_small_settings_cover_every_classifier():
    assert sorted(SMALL) == CLASSIFIERS


@pytest.mark.parametrize("use_metadata", [False, True], ids=["image", "meta"])
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_every_classifier_follows_the_protocol(name, use_metadata):
    model, image, meta = small(name, use_metadata)
    assert isinstance(model, Classifier)
    # real attributes set by the model, not a getattr default
    assert vars(model)["use_metadata"] is use_metadata and vars(model)["num_classes"] == 7
    with torch.no_grad():
        out = classify(model, image, meta)
        expected = model(image, meta) if use_metadata else model(image)
    assert isinstance(out, ClassificationOutput) and out.class_logits.shape == (2, 7)
    torch.testing.assert_close(out.class_logits, expected.class_logits, rtol=0, atol=0)


@pytest.mark.parametrize("use_metadata", [False, True])
def test_classify_passes_meta_only_to_models_that_use_it(use_metadata):
    model, meta = Recorder(use_metadata), torch.rand(2, METADATA_DIM)
    classify(model, torch.zeros(2, 3, 8, 8), meta)
    classify(model, torch.zeros(2, 3, 8, 8), None)
    assert model.seen == ([meta, None] if use_metadata else [None, None])


def test_segmenters_are_not_classifiers():
    unet = create_model("unet_s2", base_filters=2)
    assert not isinstance(unet, Classifier)
    with pytest.raises(TypeError, match="UNet is not a classifier"):
        classify(unet, torch.zeros(1, 3, 16, 16), None)


# --- check_input_size: at config time, no weights, no memory --------------------------------


def test_unet_stride_16():
    with pytest.raises(ConfigError, match=r"'unet_s2' cannot take 100x100 images.*divisible by.*16.*\[112, 112\]"):
        check_input_size("unet_s2", {}, (100, 100))
    check_input_size("unet_s2", {}, (128, 128))
    check_input_size("unet_s2", {"in_channels": 1}, (128, 96))


def test_flatten_cnn_needs_its_exact_size():
    with pytest.raises(ConfigError, match=r"'deepconvnet_s2' cannot take 32x32.*exactly 28x28.*\[28, 28\]"):
        check_input_size("deepconvnet_s2", {"num_classes": 7}, (32, 32))
    check_input_size("deepconvnet_s2", {"num_classes": 7, "use_metadata": True}, (28, 28))
    check_input_size("cnn_s1", {"input_size": (64, 48)}, (64, 48))


def test_timm_classifier_below_its_minimum():
    with pytest.raises(ConfigError, match=r"'timm_classifier' cannot take 16x16.*at least 32x32.*\[32, 32\]"):
        check_input_size("timm_classifier", {"model_name": "test_resnet"}, (16, 16))
    with pytest.raises(ConfigError, match=r"at least 75x75.*\[75, 75\]"):
        check_input_size("softattention_s4", {"backbone": "inception_resnet_v2"}, (64, 64))


def test_no_weights_are_loaded_and_nothing_is_allocated(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("check_input_size must not load weights")

    monkeypatch.setattr("dermkit.models.classification.backbones.load_offline_imagenet", refuse)
    monkeypatch.setattr("dermkit.models.segmentation.encoder_decoders.load_offline_imagenet", refuse)
    built = []
    real_empty = torch.empty
    monkeypatch.setattr(torch, "empty", lambda *a, **k: built.append(t := real_empty(*a, **k)) or t)
    check_input_size("effnetlite0_meta", {}, (224, 224))  # pretrained=True by default
    check_input_size("unet_effnetlite0", {}, (224, 224))
    assert built and all(t.device.type == "meta" for t in built)


def test_check_input_size_reports_bad_names_and_kwargs():
    with pytest.raises(ConfigError, match="unknown model 'unet_s3'. Did you mean 'unet_s2'"):
        check_input_size("unet_s3", {}, (128, 128))
    with pytest.raises(ConfigError, match="unsupported argument.*base_filtres"):
        check_input_size("unet_s2", {"base_filtres": 8}, (128, 128))
    with pytest.raises(ConfigError, match="cannot be built"):
        check_input_size("unet_s2", {"in_channels": 2}, (128, 128))
