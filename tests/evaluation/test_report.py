"""The demo's HTML report: every section present, images embedded, missing images stated."""

from __future__ import annotations

import pandas as pd
from PIL import Image

from dermkit.evaluation.report import demo_report, markdown_table


def test_demo_report_sections_and_embedded_images(tmp_path):
    png = tmp_path / "curves.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(png)
    per_class = tmp_path / "per_class.csv"
    pd.DataFrame({"recall": [0.5, 1.0]}, index=["mel", "nv"]).to_csv(per_class)
    summary = {
        "data": {"path": "/d", "layout": "ham10000", "images": 10, "lesions": 8, "classes": {"mel": 4, "nv": 6}},
        "data_check": {"errors": 0, "warnings": 1},
        "split": {
            "counts": {"mel": {"train/images": 3}, "total": {"train/images": 10}},
            "lesions_on_two_sides": 0,
            "near_duplicates_across_sides": 0,
        },
        "preprocess_gallery": str(tmp_path / "missing.png"),
        "segmentation": {
            "run": "r",
            "best_epoch": 2,
            "test": {"dice": 0.9},
            "ci95": {"dice": [0.85, 0.93]},
            "curves": str(png),
            "gallery": str(png),
        },
        "classification": {
            "run": "c",
            "test": {"balanced_accuracy": 0.7, "accuracy": 0.75},
            "ci95": {"balanced_accuracy": [0.61, 0.78]},
            "bayes_limit": {"image": 0.651, "image+metadata": 0.716, "metadata": 0.377},
            "per_class_csv": str(per_class),
            "curves": str(png),
        },
    }
    path = demo_report(tmp_path, summary)
    text = path.read_text()
    for heading in ("Data", "Lesion-grouped split", "Artefact removal", "Segmentation", "Classification"):
        assert f"<h2>{heading}</h2>" in text
    assert text.count("data:image/png;base64,") >= 3
    assert "hair and frame removal: not produced" in text
    assert "balanced_accuracy" in text and "0.7000 [0.6100, 0.7800] (95% CI over lesions)" in text
    assert "0.9000 [0.8500, 0.9300]" in text and "0.7500<" in text  # accuracy has no interval
    assert "0.651 from the image alone, 0.716 from the image and the patient metadata" in text


def test_markdown_table():
    frame = pd.DataFrame({"a": ["x", "y"], "b": [0.12345, float("nan")]})
    assert markdown_table(frame) == "| a | b |\n|---|---|\n| x | 0.123 |\n| y | - |\n"


def test_markdown_table_counts_stay_integers():
    frame = pd.DataFrame({"n": [None, 6636]}).astype({"n": "Int64"})
    assert markdown_table(frame) == "| n |\n|---|\n| - |\n| 6636 |\n"
