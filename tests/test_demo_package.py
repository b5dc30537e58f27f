"""The main job's last step: its two runs exported as one package and run on held-back images."""

from __future__ import annotations

import shutil

from dermkit.data.readers import load_table
from dermkit.data.splits import load_split, side_indices
from dermkit.demo import export_and_predict, held_back_requests
from dermkit.evaluation.report import package_section
from dermkit.pipeline import AnalysisResult


def test_the_demo_exports_its_runs_and_analyses_held_back_images(seg_run, cls_run, synthetic_root, tmp_path):
    shutil.copytree(seg_run, tmp_path / "segmentation")
    shutil.copytree(cls_run, tmp_path / "classification")
    shutil.copy(cls_run / "split.csv", tmp_path / "split.csv")
    table = load_table(synthetic_root)
    summary = export_and_predict(tmp_path, table, progress=False)
    assert summary["failed"] == [] and summary["analysed"] == len(summary["examples"]) > 0
    test_ids = set(table.records["image_id"].iloc[side_indices(table, load_split(tmp_path / "split.csv"), "test")])
    for example in summary["examples"]:
        assert example["id"] in test_ids and example["truth"]  # held back: never trained or validated on
        result = AnalysisResult.model_validate_json((tmp_path / "predictions" / f"{example['id']}.json").read_text())
        assert result.models.backend == "onnxruntime" and result.decision.class_ == example["decision"]
    assert (tmp_path / "predictions" / "index.html").exists() and "--model" in summary["predict_command"]
    assert summary["serve_command"].startswith("dermkit serve --model")
    html = "".join(package_section(tmp_path, summary))
    assert (
        summary["sha256"] in html
        and 'href="predictions/index.html"' in html
        and "dermkit serve --model" in html
        and html.count("<img") == len(summary["examples"])
    )


def test_held_back_images_take_the_classes_in_turn(synthetic_root, cls_run):
    table = load_table(synthetic_root)
    requests = held_back_requests(table, cls_run / "split.csv", n=4)
    labels = dict(zip(table.records["image_id"], table.records["label"], strict=True))
    picked = [labels[r.id] for r in requests]
    test = side_indices(table, load_split(cls_run / "split.csv"), "test")
    classes_on_test = set(table.records["label"].iloc[test])
    assert len(picked) == min(4, len(test))
    assert len(set(picked)) == min(len(picked), len(classes_on_test))  # one of each class before any repeats
