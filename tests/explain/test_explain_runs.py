"""explain() on trained runs: applied as diagnose() applies the run, and mapped back to the original image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dermkit.config import FocusConfig
from dermkit.data.readers import load_table
from dermkit.data.records import Metadata
from dermkit.errors import ConfigError, DermkitError
from dermkit.explain import available_methods, explain, model_input
from dermkit.imageio import read_image
from dermkit.inference import LoadedRun, diagnose, load_run
from dermkit.inference import focus as focus_module
from dermkit.preprocess.pipeline import preprocess

META = Metadata(image_id="x", lesion_id="x", age=55.0, sex="female", site="back")


@pytest.fixture(scope="module")
def image(synthetic_root) -> np.ndarray:
    """A synthetic lesion, cut to 64x44 so the run's square resize pads it (restore must undo the padding)."""
    return np.ascontiguousarray(read_image(load_table(synthetic_root).records["image_path"].iloc[3])[10:54])


def test_a_run_without_attention_is_explained_by_grad_cam_of_its_decision(cls_run, image):
    run = load_run(cls_run, device="cpu")
    assert available_methods(run) == ["gradcam", "gradcam++"]
    heat = explain(run, image)
    assert heat.method == "gradcam" and heat.target_class == diagnose(run, image).predicted
    assert heat.target_index == run.classes.index(heat.target_class) and heat.focus_box == (0, 44, 0, 64)
    assert heat.values.shape == image.shape[:2] and heat.values.dtype == np.float32
    assert np.isfinite(heat.values).all() and 0 <= heat.values.min() <= heat.values.max() <= 1
    other = explain(run, image, method="gradcam++", target=(heat.target_index + 1) % len(run.classes))
    assert other.method == "gradcam++" and other.target_index == (heat.target_index + 1) % len(run.classes)


def test_methods_and_targets_a_run_cannot_take_are_refused(cls_run, image):
    run = load_run(cls_run, device="cpu")
    with pytest.raises(DermkitError, match="has no attention map; explain it with one of gradcam, gradcam\\+\\+"):
        explain(run, image, method="attention")
    with pytest.raises(ConfigError, match="unknown explanation method 'gradcm'. Did you mean 'gradcam'"):
        explain(run, image, method="gradcm")
    with pytest.raises(DermkitError, match="target class index 99"):
        explain(run, image, target=99)


def test_an_attention_run_is_explained_by_its_attention_map_as_diagnosis_shows_it(explain_attention_run, image):
    run = load_run(explain_attention_run, device="cpu")
    assert available_methods(run) == ["gradcam", "gradcam++", "attention"]
    for meta in (None, META):
        heat = explain(run, image, meta)
        diagnosis = diagnose(run, image, meta)
        assert heat.method == "attention" and heat.target_class == diagnosis.predicted
        np.testing.assert_allclose(heat.values, diagnosis.attention, atol=1e-6)
    # the model fuses metadata: Grad-CAM runs it with the patient's metadata closed over
    grad = explain(run, image, META, method="gradcam")
    assert grad.values.shape == image.shape[:2] and np.isfinite(grad.values).all()
    assert model_input(run, image, META).meta[0, 0] == pytest.approx(0.55)


def _central_box(run, image):
    """A stand-in segmenter whose lesion is always the middle of the image (so the focus acts)."""
    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4 : 3 * h // 4, w // 3 : 2 * w // 3] = 1
    return mask


def with_focus(run: LoadedRun, seg_run: Path) -> LoadedRun:
    """The run made segment-then-classify (crop to the segmenter's lesion, no margin), as if trained so."""
    focus = FocusConfig(run=str(seg_run), mode="crop", margin=0.0)
    run.cfg = run.cfg.model_copy(update={"data": run.cfg.data.model_copy(update={"focus": focus})})
    return run


@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_a_segment_then_classify_run_is_explained_on_its_crop_and_zero_outside(
    cls_run, seg_run, image, monkeypatch, method
):
    monkeypatch.setattr(focus_module, "predict_mask", _central_box)
    run = with_focus(load_run(cls_run, device="cpu"), seg_run)
    heat = explain(run, image, method=method)
    y0, y1, x0, x1 = box = (11, 33, 21, 42)  # the stand-in's box on the 44x64 image, margin 0
    assert heat.focus_box == box and heat.target_class == diagnose(run, image).predicted
    outside = np.ones(image.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert heat.values.shape == image.shape[:2] and not heat.values[outside].any()
    # the network saw the crop, preprocessed as in training
    inp = model_input(run, image)
    expected = run.to_tensor(preprocess(image[y0:y1, x0:x1], run.cfg.data.preprocess).image)
    np.testing.assert_array_equal(inp.x.numpy(), expected.numpy())
