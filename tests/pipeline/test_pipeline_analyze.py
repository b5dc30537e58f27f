"""Analyzer: one image -> a typed result that validates, round-trips through JSON and leaves the image alone."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from dermkit.data.readers import load_table
from dermkit.data.records import Metadata
from dermkit.errors import ConfigError, DataError
from dermkit.imageio import read_image
from dermkit.inference import load_run, predict_mask
from dermkit.pipeline import AnalysisResult, Analyzer, ImageTooSmall, decode_rle, parse_age, parse_sex, parse_site
from dermkit.pipeline.assemble import malignant_call


@pytest.fixture(scope="module")
def analyzer(seg_run, cls_run) -> Analyzer:
    return Analyzer(seg_run, cls_run, device="cpu")


@pytest.fixture(scope="module")
def image(synthetic_root) -> np.ndarray:
    return read_image(load_table(synthetic_root).records["image_path"].iloc[0])


def test_analyze_validates_round_trips_and_leaves_the_image_alone(analyzer, image, seg_run, cls_run):
    before = image.copy()
    meta = Metadata(image_id="x", lesion_id="x", age=45.0, sex="female", site="back")
    result = analyzer.analyze(image, meta, image_id="x")
    np.testing.assert_array_equal(image, before)
    assert AnalysisResult.model_validate_json(result.to_json()) == result
    assert result.image.id == "x" and (result.image.height, result.image.width) == image.shape[:2]
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert list(result.probabilities) == result.classes
    assert result.decision.class_ in result.classes and result.decision.rule in ("prior", "thresholds", "argmax")
    assert result.patient.sex == "female"
    assert result.heatmap.method == "gradcam" and result.heatmap.target_class == result.decision.class_
    mask = decode_rle(result.lesion.mask)
    np.testing.assert_array_equal(mask, predict_mask(load_run(seg_run, device="cpu"), image))
    assert result.lesion.area_px == int(mask.sum())
    ckpt = (cls_run / "checkpoints" / "best.pt").read_bytes()
    assert result.models.cls.checksum == hashlib.sha256(ckpt).hexdigest()
    assert result.models.seg.name == "unet_s2" and result.models.cls.name == "deepconvnet_s2"
    assert "flags" in result.quality and "area_px" in result.measurements
    assert '"class":' in result.to_json()
    assert result.models.backend == "torch" and result.models.cls.training_data.dataset.startswith("synthetic")
    assert result.models.cls.training_data.images and "val_bma" in result.models.cls.validated_metrics
    assert "test_dice" in result.models.seg.validated_metrics and result.models.cls.version
    assert "Not a diagnosis" in result.intended_use
    assert result.ood is not None and result.ood.flag == (result.ood.score > result.ood.threshold)
    point = load_run(cls_run, device="cpu").calibration().malignant
    if point is not None:  # fitted on validation: the result reports its threshold and figures
        assert result.malignant.threshold == pytest.approx(point.threshold)
        assert result.malignant.validation.malignant_images == point.positives


def test_malignant_probability_sums_the_malignant_classes_present():
    call = malignant_call(["akiec", "bcc", "nv", "mel"], np.array([0.1, 0.2, 0.6, 0.1]))
    assert call.probability == pytest.approx(0.4) and not call.flag and call.threshold == 0.5
    assert call.classes == ["mel", "bcc", "akiec"] and "not fitted" in call.operating_point
    assert call.validation is None
    assert malignant_call(["nv", "bkl"], np.array([0.5, 0.5])) is None


def test_a_one_pixel_image_is_refused_with_a_specific_error(analyzer):
    with pytest.raises(ImageTooSmall, match="1 x 1 px, too small"):
        analyzer.analyze(np.zeros((1, 1, 3), np.uint8), image_id="dot")


def test_a_model_with_an_attention_map_gives_a_grid(seg_run, attention_run, image):
    result = Analyzer(seg_run, attention_run, device="cpu").analyze(image)
    assert result.heatmap is not None and result.heatmap.size == (32, 32)
    assert result.heatmap.method == "attention" and result.heatmap.target_class == result.decision.class_
    values = np.asarray(result.heatmap.values)
    assert values.shape == (32, 32) and 0 <= values.min() <= values.max() <= 1
    assert result.patient is None
    assert AnalysisResult.model_validate_json(result.to_json()) == result


def test_metadata_checks():
    assert parse_age("45") == 45.0 and parse_age("") is None
    for bad in ("abc", "-1", "121", "nan"):
        with pytest.raises(DataError, match="age"):
            parse_age(bad)
    assert parse_sex("F") == "female" and parse_sex("unknown") == "unknown"
    with pytest.raises(DataError, match="did you mean 'female'"):
        parse_sex("femal")
    with pytest.raises(DataError, match="sex 'robot' is not known"):
        parse_sex("robot")
    assert parse_site("lower_extremity") == "lower extremity"
    with pytest.raises(DataError, match="did you mean 'back'"):
        parse_site("bak")


def test_heat_map_choices(seg_run, cls_run, attention_run, image):
    assert Analyzer(seg_run, cls_run, device="cpu", heatmap="none").analyze(image).heatmap is None
    plus = Analyzer(seg_run, cls_run, device="cpu", heatmap="gradcam++").analyze(image).heatmap
    assert plus.method == "gradcam++" and 0 <= np.min(plus.values) <= np.max(plus.values) <= 1
    grad = Analyzer(seg_run, attention_run, device="cpu", heatmap="gradcam").analyze(image).heatmap
    assert grad.method == "gradcam"
    with pytest.raises(ConfigError, match="not available.*auto, none, gradcam"):
        Analyzer(seg_run, cls_run, device="cpu", heatmap="attention")  # deepconvnet has no attention map


def test_tta_can_be_switched_off_for_both_runs(seg_run, cls_run, image):
    analyzer = Analyzer(seg_run, cls_run, device="cpu", heatmap="none", tta=False)
    result = analyzer.analyze(image)
    np.testing.assert_array_equal(decode_rle(result.lesion.mask), predict_mask(analyzer.seg, image, tta=False))
