"""train / evaluate / segment / reproduce from the command line, on tiny synthetic data."""

from __future__ import annotations

import json

import pandas as pd
from PIL import Image
from typer.testing import CliRunner

from dermkit.cli import app

runner = CliRunner()
SEG = [
    "model.name=unet_s2",
    "model.kwargs.base_filters=4",
    "data.preprocess.size=[32, 32]",
    "data.num_workers=0",
    "data.cache_dir=null",
    "train.epochs=1",
    "train.batch_size=16",
]


def invoke(*args):
    res = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return res


def test_seg_train_evaluate_segment(synthetic_root, tmp_path):
    run = tmp_path / "seg"
    res = invoke("train", "seg", "-c", "seg_s2_unet", "--data", synthetic_root, "--out", run, *SEG)
    assert res.exit_code == 0, res.output
    again = runner.invoke(
        app, ["train", "seg", "-c", "seg_s2_unet", "--data", str(synthetic_root), "--out", str(run), *SEG]
    )
    assert "already holds a run" in str(again.exception)  # never overwrites a run silently
    res = invoke("evaluate", "seg", "--run", run, "--data", synthetic_root, "--side", "test", "--out", tmp_path / "ev")
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert {"jaccard", "threshold_jaccard", "dice"} <= set(metrics) and metrics["dice"] >= metrics["jaccard"]
    assert (tmp_path / "ev" / "worst_cases.png").exists()
    per_image = pd.read_csv(tmp_path / "ev" / "per_image.csv")
    assert len(per_image) == metrics["images"]
    images = sorted((synthetic_root / "HAM10000_images").glob("*.jpg"))[:3]
    res = invoke("segment", run, *images, "--out", tmp_path / "masks")
    assert res.exit_code == 0, res.output
    for img in images:
        mask = Image.open(tmp_path / "masks" / f"{img.stem}_segmentation.png")
        assert mask.size == Image.open(img).size and mask.mode == "L"


def test_cls_train_evaluate(synthetic_root, tmp_path):
    run = tmp_path / "cls"
    res = invoke(
        "train",
        "cls",
        "-c",
        "cls_s2_deepconvnet",
        "--data",
        synthetic_root,
        "--out",
        run,
        "train.epochs=1",
        "data.num_workers=0",
        "data.cache_dir=null",
    )
    assert res.exit_code == 0, res.output
    res = invoke(
        "evaluate",
        "cls",
        "--run",
        run,
        "--run",
        run,
        "--data",
        synthetic_root,
        "--side",
        "test",
        "--n-boot",
        "20",
        "--out",
        tmp_path / "ev",
    )
    assert res.exit_code == 0, res.output
    assert "balanced_accuracy" in json.loads((tmp_path / "ev" / "metrics.json").read_text())
    wrong = runner.invoke(app, ["train", "seg", "-c", "cls_s2_deepconvnet", "--out", str(tmp_path / "x")])
    assert "is a classification recipe; use `dermkit train cls`" in str(wrong.exception)
    image = sorted((synthetic_root / "HAM10000_images").glob("*.jpg"))[0]
    for args in (
        ["segment", run, image, "--out", tmp_path / "m"],
        ["evaluate", "seg", "--run", run, "--data", synthetic_root],
    ):
        wrong = runner.invoke(app, [str(a) for a in args])  # a clear error, not a shape traceback
        assert "holds a classification run, but a segmentation run is needed" in str(wrong.exception)
    assert not (tmp_path / "m").exists()


def test_reproduce_leakage_writes_table(synthetic_root, tmp_path):
    res = invoke(
        "reproduce",
        "leakage",
        "--data",
        synthetic_root,
        "--out",
        tmp_path / "leak",
        "train.epochs=1",
        "data.num_workers=0",
        "data.cache_dir=null",
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "leak" / "leakage.csv")
    assert len(table) == 3 and table["test_accuracy"].notna().all()
    leaky_meta = pd.read_csv(tmp_path / "leak" / "leaky_data" / "HAM10000_metadata.csv")
    assert leaky_meta["image_id"].str.contains("__copy").all()
    assert (leaky_meta["dx"] == "df").sum() == 52 * (
        pd.read_csv(synthetic_root / "HAM10000_metadata.csv")["dx"] == "df"
    ).sum()
