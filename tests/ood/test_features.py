"""logits_and_features for every registered classifier: the features are what the class layer reads,
eagerly, under torch.jit.trace and in an ONNX graph that returns both."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from dermkit.data.metadata import METADATA_DIM
from dermkit.models import list_models
from dermkit.models.contract import build_without_weights, classify
from dermkit.models.features import (
    FEATURE_LAYERS,
    FeatureExportWrapper,
    classification_layer,
    collect_features,
    logits_and_features,
    ood_training_rows,
)
from dermkit.models.outputs import ClassificationOutput

#: every registered classifier at a width and input size that builds and runs in well under a second
SMALL: dict[str, tuple[dict, int]] = {
    "cnn_s1": ({"input_size": (32, 32), "filters": (4, 8, 8)}, 32),
    "deepconvnet_s2": ({}, 28),
    "softattention_s4": ({"backbone": "test_efficientnet", "metadata_hidden": 8, "num_heads": 2}, 64),
    "hybrid_densenet_s5": ({"backbone": "test_resnet", "metadata_hidden": 8}, 32),
    "hybrid_resnetv2_attention_s5": ({"backbone": "test_efficientnet", "metadata_hidden": 8}, 32),
    "timm_classifier": ({"model_name": "test_resnet", "metadata_hidden": 8}, 32),
    "effnetlite0_meta": ({"metadata_hidden": 8}, 32),
}
CLASSIFIERS = list_models("classification")


@pytest.fixture(autouse=True)
def flush_denormals():
    torch.set_flush_denormal(True)  # tiny random nets make denormals that slow CPU convolutions
    yield
    torch.set_flush_denormal(False)


def small(name: str, use_metadata: bool) -> tuple[nn.Module, Tensor, Tensor]:
    kwargs, size = SMALL[name]
    torch.manual_seed(0)
    model = build_without_weights(name, {**kwargs, "use_metadata": use_metadata}).eval()
    generator = torch.Generator().manual_seed(1)
    return model, torch.randn(3, 3, size, size, generator=generator), torch.rand(3, METADATA_DIM, generator=generator)


def test_small_settings_cover_every_classifier():
    assert sorted(SMALL) == CLASSIFIERS


@pytest.mark.parametrize("use_metadata", [False, True], ids=["image", "meta"])
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_features_are_the_class_layers_input(name, use_metadata):
    model, image, meta = small(name, use_metadata)
    layer = classification_layer(model)
    with torch.no_grad():
        logits, features = logits_and_features(model, image, meta)
        expected = classify(model, image, meta).class_logits
    assert logits.shape == (3, 7) and features.shape == (3, layer.in_features)
    torch.testing.assert_close(logits, expected, rtol=0, atol=0)  # the same pass as classify
    torch.testing.assert_close(layer(features), logits, rtol=1e-5, atol=1e-5)  # features -> logits
    assert not layer._forward_pre_hooks  # the hook is gone after the call
    assert features.std(0).max() > 0  # images differ in feature space


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_a_traced_wrapper_returns_logits_and_features(name):
    model, image, meta = small(name, use_metadata=name == "hybrid_densenet_s5")
    wrapper = FeatureExportWrapper(model).eval()
    inputs = (image, meta) if model.use_metadata else (image,)
    with torch.no_grad():
        traced = torch.jit.trace(wrapper, inputs, check_trace=False)
        other = tuple(x.flip(0)[:2] for x in inputs)  # another batch size and content
        got, want = traced(*other), wrapper(*other)
    assert wrapper.output_names == ("class_logits", "features")
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_onnx_graph_returns_logits_and_features(tmp_path, dynamo):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model, image, meta = small("deepconvnet_s2", use_metadata=True)
    wrapper = FeatureExportWrapper(model).eval()
    path = tmp_path / "cls.onnx"
    torch.onnx.export(
        wrapper,
        (image, meta),
        str(path),
        input_names=list(wrapper.input_names),
        output_names=list(wrapper.output_names),
        dynamic_axes={"image": {0: "batch"}, "meta": {0: "batch"}},
        dynamo=dynamo,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    image, meta = image[:2], meta[:2]  # another batch size than exported with
    logits, features = session.run(None, {"image": image.numpy(), "meta": meta.numpy()})
    with torch.no_grad():
        want_logits, want_features = logits_and_features(model, image, meta)
    np.testing.assert_allclose(logits, want_logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(features, want_features.numpy(), atol=1e-5)


class TwoHeads(nn.Module):
    """A classifier whose generic rule would pick the wrong layer (an auxiliary head comes last)."""

    def __init__(self) -> None:
        super().__init__()
        self.num_classes, self.use_metadata, self.model_name = 3, False, "two_heads_test"
        self.body = nn.Linear(4, 5)
        self.head = nn.Linear(5, 3)
        self.aux = nn.Linear(4, 3)

    def forward(self, image: Tensor, meta: Tensor | None = None) -> ClassificationOutput:
        x = image.flatten(1)
        return ClassificationOutput(class_logits=self.head(torch.relu(self.body(x))) + 0 * self.aux(x).detach())


def test_a_registered_override_names_the_layer():
    model = TwoHeads()
    assert classification_layer(model) is model.aux  # the generic rule: the last matching Linear
    FEATURE_LAYERS.add("two_heads_test", lambda m: m.head)
    try:
        _, features = logits_and_features(model, torch.randn(2, 4, 1, 1))
        assert classification_layer(model) is model.head and features.shape == (2, 5)
    finally:
        FEATURE_LAYERS.remove("two_heads_test")


def test_a_model_without_a_class_layer_is_a_clear_error():
    class NoLinear(nn.Module):
        num_classes, use_metadata = 3, False

        def forward(self, image, meta=None):
            return ClassificationOutput(class_logits=image.flatten(1)[:, :3])

    with pytest.raises(TypeError, match="FEATURE_LAYERS"):
        logits_and_features(NoLinear(), torch.randn(2, 3, 2, 2))
    with pytest.raises(TypeError, match="not a classifier"):
        classification_layer(nn.Linear(2, 2))


def test_collect_features_caps_images_and_restores_train_mode():
    model, _, _ = small("deepconvnet_s2", use_metadata=False)
    model.train()
    images = torch.randn(10, 3, 28, 28)
    batches = [
        {"image": x, "meta": m, "label": y}
        for x, m, y in DataLoader(TensorDataset(images, torch.rand(10, METADATA_DIM), torch.arange(10) % 7), 4)
    ]
    logits, features, labels = collect_features(model, batches, "cpu", max_images=6)
    assert logits.shape == (6, 7) and features.shape[0] == 6 and labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert model.training  # mode restored; the pass itself ran in eval mode (no dropout):
    again = collect_features(model, batches, "cpu", max_images=6)[1]
    np.testing.assert_array_equal(features, again)


def test_ood_training_rows_are_a_seeded_capped_subset():
    rows = np.arange(100, 5100)
    picked = ood_training_rows(rows, max_images=2000, seed=3)
    assert len(picked) == 2000 and len(set(picked)) == 2000 and set(picked) <= set(rows)
    assert np.all(np.diff(picked) > 0)
    np.testing.assert_array_equal(picked, ood_training_rows(rows, max_images=2000, seed=3))
    np.testing.assert_array_equal(ood_training_rows(rows[:50], max_images=2000), rows[:50])
