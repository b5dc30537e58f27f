"""The package on ONNX Runtime gives the PyTorch path's answer: probabilities within 1e-4, masks IoU >= 0.999."""

from __future__ import annotations

import numpy as np
import pytest

from dermkit.data.readers import load_table
from dermkit.data.records import Metadata
from dermkit.imageio import read_image
from dermkit.inference import load_run, run_focus
from dermkit.package import PackageAnalyzer, read_package
from dermkit.pipeline import AnalysisResult, Analyzer, decode_rle

MALE_55_BACK = Metadata(image_id="x", lesion_id="x", age=55.0, sex="male", site="back")


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def images(root, n=6):
    table = load_table(root)
    return [(rec.image_id, read_image(rec.image_path)) for rec in table.records.head(n).itertuples()]


@pytest.mark.parametrize(
    ("seg_fixture", "package_fixture", "cls_fixture", "meta"),
    [
        ("seg_run", "package", "cls_run", None),
        ("seg_run", "attention_package", "attention_run", MALE_55_BACK),
        ("seg_run", "attention_package", "attention_run", None),
        ("focus_seg_run", "focus_package", "focus_run", None),
    ],
)
def test_onnx_runtime_matches_pytorch(request, synthetic_root, seg_fixture, package_fixture, cls_fixture, meta):
    seg_run = request.getfixturevalue(seg_fixture)
    torch_path = Analyzer(seg_run, request.getfixturevalue(cls_fixture), device="cpu")
    onnx_path = PackageAnalyzer(request.getfixturevalue(package_fixture))
    for image_id, image in images(synthetic_root):
        a = torch_path.analyze(image, meta, image_id=image_id)
        b = onnx_path.analyze(image, meta, image_id=image_id)
        pa, pb = np.array(list(a.probabilities.values())), np.array(list(b.probabilities.values()))
        assert a.classes == b.classes
        assert np.abs(pa - pb).max() <= 1e-4
        assert (a.decision.class_, a.decision.rule) == (b.decision.class_, b.decision.rule)
        assert a.decision.confidence == pytest.approx(b.decision.confidence, abs=1e-4)
        assert iou(decode_rle(a.lesion.mask), decode_rle(b.lesion.mask)) >= 0.999
        assert b.models.backend == "onnxruntime" and a.models.cls.checksum == b.models.cls.checksum
        assert AnalysisResult.model_validate_json(b.to_json()) == b
        assert b.heatmap is not None and b.heatmap.target_class == b.decision.class_
        assert a.ood is not None and b.ood is not None and a.ood.threshold == b.ood.threshold
        assert b.ood.score == pytest.approx(a.ood.score, rel=1e-4, abs=1e-4)
        assert (a.malignant.threshold, a.malignant.validation) == (b.malignant.threshold, b.malignant.validation)


def test_heat_maps_on_onnx_runtime(package, attention_package, synthetic_root):
    image_id, image = images(synthetic_root, 1)[0]
    occlusion = PackageAnalyzer(package).analyze(image, image_id=image_id).heatmap
    attention = PackageAnalyzer(attention_package).analyze(image, image_id=image_id).heatmap
    assert occlusion.method == "occlusion" and attention.method == "attention"
    for heat in (occlusion, attention):
        values = np.asarray(heat.values)
        assert 0 <= values.min() and values.max() <= 1
    assert PackageAnalyzer(package, heatmap="none").analyze(image).heatmap is None


def test_the_manifest_carries_what_the_runtime_needs(package, cls_run):
    manifest, members = read_package(package)
    assert set(members) == {"segmenter.onnx", "classifier.onnx", "MODEL_CARD.md", "ood.npz", "ood.json"}
    assert manifest.classifier.ood == "ood.npz" and "features" in manifest.classifier.output_names
    spec = manifest.classifier
    assert spec.classes and spec.calibration["classes"] == spec.classes and not spec.attention
    assert spec.exporter in ("dynamo", "torchscript") and spec.info.run == str(cls_run)
    card = members["MODEL_CARD.md"].decode()
    assert "SYNTHETIC" in card and "Intended use" in card and "val_bma" in card


def test_a_segment_then_classify_package_focuses_as_pytorch_does(focus_package, focus_run, synthetic_root):
    manifest, members = read_package(focus_package)
    assert manifest.classifier.focus.segmenter == "segmenter" and manifest.classifier.focus.mode == "mask"
    assert manifest.focus_segmenter is None and "focus.onnx" not in members
    focus = run_focus(load_run(focus_run, device="cpu"))
    onnx_path = PackageAnalyzer(focus_package)
    changed = []
    for _, image in images(synthetic_root):
        focused, box = onnx_path.focused(image)
        expected, expected_box = focus.region(image)[:2]
        assert box == expected_box
        assert (focused != expected).mean() < 0.01  # masks agree but for a few border pixels at most
        changed.append(not np.array_equal(focused, image))
    assert any(changed)  # the background really was blacked out
