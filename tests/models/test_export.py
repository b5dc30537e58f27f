"""Exportable models: torch.export takes the output dataclasses; ExportWrapper gives plain tensors.

Tiny models on tiny inputs (a 2-filter U-Net at 32x32, DeepConvNet at 28x28, soft attention on
timm's test_efficientnet at 64x64), so tracing takes well under a second each.
"""

from __future__ import annotations

import pytest
import torch

from dermkit.data.metadata import METADATA_DIM
from dermkit.models import ClassificationOutput, ExportWrapper, SegmentationOutput, create_model

# torch.jit.trace is deprecated in favour of torch.export, and it warns that the models' input
# checks are fixed at trace time (the traced graph is for the example's shape); both expected here.
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::torch.jit.TracerWarning")


def seg_model():
    torch.manual_seed(0)
    return create_model("unet_s2", base_filters=2).eval(), torch.randn(2, 3, 32, 32)


def meta_classifier():
    torch.manual_seed(0)
    model = create_model("deepconvnet_s2", use_metadata=True, metadata_hidden=8).eval()
    return model, torch.randn(2, 3, 28, 28), torch.rand(2, METADATA_DIM)


def attention_classifier():
    torch.manual_seed(0)
    model = create_model(
        "softattention_s4",
        backbone="test_efficientnet",
        pretrained=False,
        num_heads=2,
        use_metadata=True,
        metadata_hidden=8,
    ).eval()
    return model, torch.randn(2, 3, 64, 64), torch.rand(2, METADATA_DIM)


def test_torch_export_takes_a_segmenter_returning_its_dataclass():
    model, x = seg_model()
    program = torch.export.export(model, (x,))
    out = program.module()(x)
    assert isinstance(out, SegmentationOutput)
    torch.testing.assert_close(out.mask_logits, model(x).mask_logits)


@pytest.mark.parametrize("build", [meta_classifier, attention_classifier], ids=["no-attention", "attention"])
def test_torch_export_takes_a_classifier_with_metadata(build):
    model, x, meta = build()
    out = torch.export.export(model, (x, meta)).module()(x, meta)
    eager = model(x, meta)
    assert isinstance(out, ClassificationOutput)
    torch.testing.assert_close(out.class_logits, eager.class_logits)
    if eager.attention is None:
        assert out.attention is None  # a None field survives the round trip
    else:
        torch.testing.assert_close(out.attention, eager.attention)


def test_wrapper_signature_is_fixed():
    seg, x = seg_model()
    cls, image, meta = meta_classifier()
    plain = create_model("deepconvnet_s2").eval()
    assert (ExportWrapper(seg).input_names, ExportWrapper(seg).output_names) == (("image",), ("mask_logits",))
    assert ExportWrapper(cls).input_names == ("image", "meta")
    assert ExportWrapper(plain).input_names == ("image",)
    assert ExportWrapper(cls).output_names == ExportWrapper(plain).output_names == ("class_logits", "attention")
    logits, attention = ExportWrapper(plain)(image)
    assert logits.shape == (2, 7)
    assert attention.shape == (2, 1, 1, 1) and not attention.any()  # the placeholder of a model without one
    assert [t.shape for t in ExportWrapper(cls).example_inputs(28, 28, batch=3)] == [(3, 3, 28, 28), (3, METADATA_DIM)]


def test_wrapper_through_torch_export():
    model, x, meta = meta_classifier()
    wrapper = ExportWrapper(model)
    exported = torch.export.export(wrapper, (x, meta)).module()(x, meta)
    for got, want in zip(exported, wrapper(x, meta), strict=True):
        torch.testing.assert_close(got, want)
    torch.testing.assert_close(exported[0], model(x, meta).class_logits)


def test_jit_trace_of_the_wrapper_matches_eager():
    seg, x = seg_model()
    traced = torch.jit.trace(ExportWrapper(seg), (x,))
    torch.testing.assert_close(traced(x), seg(x).mask_logits)
    model, image, meta = attention_classifier()
    traced = torch.jit.trace(ExportWrapper(model), (image, meta))
    logits, attention = traced(image, meta)
    eager = model(image, meta)
    torch.testing.assert_close(logits, eager.class_logits)
    torch.testing.assert_close(attention, eager.attention)
    assert attention.shape == (2, 1, 4, 4)
