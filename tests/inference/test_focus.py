"""Segment-then-classify runs see the same focused lesion in training, evaluation and diagnosis."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dermkit.data.readers import load_table
from dermkit.data.splits import load_split, side_indices
from dermkit.imageio import read_image
from dermkit.inference import diagnose, load_run
from dermkit.inference import focus as focus_module
from dermkit.inference.focus import focus_region, lesion_box


def _central_box(run, image):
    """A stand-in segmenter whose lesion is always the middle of the image (so the focus acts)."""
    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4 : 3 * h // 4, w // 3 : 2 * w // 3] = 1
    return mask


@pytest.fixture(scope="module")
def focus_runs(synthetic_root, seg_run, tiny_trainer, tmp_path_factory):
    """The session's tiny segmenter, and a classifier trained on the lesions it crops."""
    focus = [f"data.focus.run={seg_run}", "data.focus.mode=crop", "data.focus.margin=0.0"]
    overrides = ["model.name=deepconvnet_s2", "model.kwargs.input_size=[32, 32]", "loss.name=cross_entropy", *focus]
    cls = tiny_trainer(synthetic_root, tmp_path_factory.mktemp("focus") / "cls", "classification", overrides)
    return seg_run, cls


def test_diagnose_applies_the_runs_focus_like_evaluation(focus_runs, synthetic_root, monkeypatch):
    from dermkit.evaluation.classification import predict_logits

    monkeypatch.setattr(focus_module, "predict_mask", _central_box)
    _, cls = focus_runs
    run = load_run(cls)
    table = load_table(synthetic_root)
    test = side_indices(table, load_split(cls / "split.csv", table), "test")[:3]
    logits = predict_logits(run, table, test, tta=False, num_workers=0, progress=False)
    expected = torch.softmax(torch.from_numpy(logits), 1).numpy()
    for k, row in enumerate(test):
        image = read_image(table.records["image_path"].iloc[row])
        result = diagnose(run, image, table.metadata(int(row)), tta=False, calibrated=False)
        np.testing.assert_allclose(result.probabilities, expected[k], rtol=1e-4, atol=1e-6)
        h, w = image.shape[:2]
        assert result.focus_box == (h // 4, 3 * h // 4, w // 3, 2 * w // 3)
    # and the focus matters: the same classifier on the whole image answers otherwise
    run.cfg = run.cfg.model_copy(update={"data": run.cfg.data.model_copy(update={"focus": type(run.cfg.data.focus)()})})
    focus_module._RUN_FOCUS.pop(run, None)
    whole = diagnose(run, read_image(table.records["image_path"].iloc[test[0]]), tta=False, calibrated=False)
    assert not np.allclose(whole.probabilities, expected[0], atol=1e-6)


def test_a_focus_run_must_be_a_segmentation_run(focus_runs):
    from dermkit.errors import DermkitError
    from dermkit.inference.focus import LesionFocus

    _, cls = focus_runs
    with pytest.raises(DermkitError, match="holds a classification run, but a segmentation run is needed"):
        LesionFocus(cls, "crop", 0.1).run  # noqa: B018


def test_focus_region_crop_and_mask():
    image = np.full((10, 20, 3), 200, np.uint8)
    mask = np.zeros((10, 20), np.uint8)
    mask[2:4, 5:9] = 1
    crop, box = focus_region(image, mask, "crop", 0.5)
    assert box == (1, 5, 3, 11) and crop.shape == (4, 8, 3)
    masked, whole = focus_region(image, mask, "mask", 0.0)
    assert whole == (0, 10, 0, 20) and masked.sum() == 200 * 3 * 8
    nothing, whole = focus_region(image, np.zeros_like(mask), "crop", 0.1)
    assert nothing is image and lesion_box(np.zeros_like(mask), 0.1) is None
