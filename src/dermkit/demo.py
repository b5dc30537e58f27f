"""The main job, end to end on one data set (the synthetic default unless a folder is given).

Each step calls the same library functions as the CLI commands, and writes into one folder:
data check, lesion-grouped split, artefact-removal gallery, training and evaluation, and finally
the two models exported as one package and run on held-back images on ONNX Runtime.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dermkit.config import DataConfig, load_config
from dermkit.data.readers import load_table
from dermkit.data.records import LesionTable
from dermkit.data.splits import load_split, save_split, side_indices, split_summary, split_table, verify_split
from dermkit.data.synthetic import bayes_limits, write_synthetic_dataset
from dermkit.engine.data import load_checked_table
from dermkit.engine.trainer import fit
from dermkit.evaluation.classification import evaluate_classification
from dermkit.evaluation.report import demo_report
from dermkit.evaluation.segmentation import evaluate_segmentation
from dermkit.files import claim_output_dir, write_json
from dermkit.imageio import read_image
from dermkit.inference import diagnose, load_run
from dermkit.pipeline.batch import INDEX_FILE, OVERLAY_NAME, analyze_batch
from dermkit.pipeline.inputs import ImageRequest
from dermkit.preprocess.pipeline import PreprocessConfig, preprocess
from dermkit.recipes import recipe_path

log = logging.getLogger("dermkit.demo")

#: Synthetic images the demo draws by default, class-balanced: about DEMO_IMAGES / 7 per class, so every
#: class has dozens of images on the validation side (calibration, decision thresholds) and on the test
#: side (per-class recall). With HAM10000's prevalence a few hundred images leave one or two vascular
#: lesions per side, and the demo's balanced accuracy then measures those few images, not the model.
DEMO_IMAGES = 3000
DEMO_BALANCE = "balanced"
#: Validation and test fractions of the lesion-grouped split: large sides make the figures tight.
DEMO_SPLIT = {"val": 0.2, "test": 0.25}
#: The default recipes, fitted to the synthetic set's size (a real data set keeps the recipes' own
#: settings). The segmenter learns the synthetic outlines in 4 epochs of 60 batches (test Dice 0.97).
#: The classifier gets 3 epochs: on a small set further epochs memorise the look-alike lesions
#: (2,000 images over 6 epochs: validation BMA best after the first, falling after it; 4 epochs on
#: these 3,000 did no better), and the time goes further on more images (benchmarks/RESULTS.md, "The demo").
DEMO_SEG_OVERRIDES: list[str] = ["train.max_batches_per_epoch=60"]
DEMO_CLS_OVERRIDES: list[str] = ["train.epochs=3"]


@dataclass
class DemoResult:
    out: Path
    summary: dict[str, Any] = field(default_factory=dict)


def preprocess_gallery(table, out_path: Path, n: int = 4) -> Path:
    """Before/after artefact removal (frame inpainting + hair removal) for the hairiest images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = PreprocessConfig(frame="inpaint", hair="auto")
    rows = []
    for path in table.records["image_path"].tolist()[:60]:
        image = read_image(path)
        result = preprocess(image, cfg)
        rows.append((int(result.hair_mask.sum()) + int(result.frame_mask.sum()), image, result))
    rows.sort(key=lambda r: -r[0])
    picked = rows[:n]
    fig, axes = plt.subplots(len(picked), 3, figsize=(9, 2.6 * len(picked)), squeeze=False)
    for ax_row, (_, image, result) in zip(axes, picked, strict=True):
        ax_row[0].imshow(image)
        ax_row[0].set_title("original", fontsize=8)
        overlay = image.copy()
        overlay[result.hair_mask > 0] = (0, 255, 0)
        overlay[result.frame_mask > 0] = (255, 0, 255)
        ax_row[1].imshow(overlay)
        ax_row[1].set_title("detected hair (green) / frame (magenta)", fontsize=8)
        ax_row[2].imshow(result.image)
        ax_row[2].set_title("after removal", fontsize=8)
        for ax in ax_row:
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(out_path, dpi=80)
    plt.close(fig)
    return out_path


def _fit_recipe(
    recipe: str, root: Path, split_file: Path, run_dir: Path, seed: int, overrides: list[str], progress: bool
):
    """Train the shipped recipe ``recipe`` on ``root`` with the demo's split (resuming a stopped run)."""
    cfg = load_config(
        recipe_path(recipe), [f"data.path={root}", f"data.split.file={split_file}", f"train.seed={seed}", *overrides]
    )
    final = fit(cfg, run_dir, resume=(run_dir / "checkpoints" / "last.pt").exists(), progress=progress)
    table = load_table(root)
    return final, table, side_indices(table, load_split(split_file, table), "test")


def train_and_evaluate_segmenter(
    root: Path, split_file: Path, out: Path, seed: int, overrides: list[str], progress: bool
) -> dict[str, Any]:
    """Train the default segmenter on ``root`` with the demo's split; score its test side."""
    run_dir = out / "segmentation"
    final, table, test = _fit_recipe("seg_default", root, split_file, run_dir, seed, overrides, progress)
    metrics = evaluate_segmentation(load_run(run_dir), table, run_dir / "eval-test", indices=test, progress=progress)
    return {
        "run": str(run_dir),
        "best_epoch": final["best_epoch"],
        "val_dice": final["best_value"],
        "test": {k: metrics[k] for k in ("images", "dice", "jaccard", "threshold_jaccard")},
        "ci95": {k: metrics["ci95"][k] for k in ("dice", "jaccard")},
        "curves": str(run_dir / "curves.png"),
        "gallery": str(run_dir / "eval-test" / "worst_cases.png"),
    }


def example_predictions(run, table, indices, path: Path, n: int = 8) -> Path:
    """A gallery of test images with the true class, the prediction and its probability."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picked = indices[np.linspace(0, len(indices) - 1, min(n, len(indices))).astype(int)]
    fig, axes = plt.subplots(2, -(-len(picked) // 2), figsize=(3 * -(-len(picked) // 2), 6.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, row in zip(axes.flat, picked, strict=False):
        image = read_image(table.records["image_path"].iloc[row])
        result = diagnose(run, image, table.metadata(int(row)))
        truth = table.records["label"].iloc[row]
        ax.imshow(image)
        if result.attention is not None:
            ax.imshow(result.attention, cmap="jet", alpha=0.35)
        colour = "green" if result.predicted == truth else "red"
        ax.set_title(f"true {truth}\npred {result.predicted} ({result.confidence:.0%})", fontsize=8, color=colour)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def train_and_evaluate_classifier(
    root: Path, split_file: Path, out: Path, seed: int, overrides: list[str], progress: bool
) -> dict[str, Any]:
    """Train the default classifier with the demo's split; score its test side (TTA, calibrated)."""
    run_dir = out / "classification"
    final, table, test = _fit_recipe("cls_default", root, split_file, run_dir, seed, overrides, progress)
    run = load_run(run_dir)
    eval_dir = run_dir / "eval-test"
    metrics = evaluate_classification([run], table, eval_dir, indices=test, n_boot=200, progress=progress)
    example_predictions(run, table, test, eval_dir / "examples.png")
    keep = ("images", "accuracy", "balanced_accuracy", "macro_auc", "macro_f1", "ece")
    return {
        "run": str(run_dir),
        "best_epoch": final["best_epoch"],
        "val_bma": final["best_value"],
        "test": {k: metrics[k] for k in keep},
        "ci95": metrics["ci95"],
        "curves": str(run_dir / "curves.png"),
        "per_class_csv": str(eval_dir / "per_class.csv"),
        "confusion_png": str(eval_dir / "confusion_matrix.png"),
        "roc_png": str(eval_dir / "roc.png"),
        "reliability_png": str(eval_dir / "reliability.png"),
        "examples_png": str(eval_dir / "examples.png"),
    }


#: Held-back (test-side) images the demo analyses with its exported model package.
PACKAGE_EXAMPLES = 8


def held_back_requests(table, split_file: Path, n: int = PACKAGE_EXAMPLES) -> list[ImageRequest]:
    """Up to ``n`` test-side images, one class after another, with their metadata as a CSV would give it."""
    test = side_indices(table, load_split(split_file, table), "test")
    labels = table.records["label"].iloc[test].to_numpy()
    order = np.argsort([int((labels[: i + 1] == labels[i]).sum()) for i in range(len(test))], kind="stable")
    picked = test[order[:n]]
    requests = []
    for row in picked:
        meta = table.metadata(int(row))
        requests.append(ImageRequest(Path(table.records["image_path"].iloc[row]), meta.age, meta.sex, meta.site))
    return requests


def export_and_predict(out: Path, table: LesionTable, progress: bool) -> dict[str, Any]:
    """Export the demo's two runs as a model package, then analyse held-back images with it on ONNX
    Runtime exactly as ``dermkit predict --model`` does (JSON, overlays, reports, summary, index)."""
    from dermkit.package import PackageAnalyzer, export_package
    from dermkit.package.format import sha256_bytes

    package = out / "model.dermkit"
    export_package(out / "segmentation", out / "classification", package)
    predictions = out / "predictions"
    predictions.mkdir(exist_ok=True)
    requests = held_back_requests(table, out / "split.csv")
    outcome = analyze_batch(PackageAnalyzer(package), requests, predictions, progress=progress)
    truth = dict(zip(table.records["image_id"], table.records["label"], strict=True))
    examples = [
        {**row, "truth": truth.get(str(row["id"]), ""), "overlay": str(predictions / OVERLAY_NAME.format(id=row["id"]))}
        for row in outcome.rows
    ]
    return {
        "package": str(package),
        "sha256": sha256_bytes(package.read_bytes()),
        "predictions": str(predictions),
        "index": str(predictions / INDEX_FILE),
        "analysed": outcome.analysed,
        "failed": outcome.failed,
        "examples": examples,
        "predict_command": f"dermkit predict --model {package} IMAGES --out DIR",
        "serve_command": f"dermkit serve --model {package}",
    }


def run_demo(
    out: Path,
    data: Path | None = None,
    n: int = DEMO_IMAGES,
    seed: int = 0,
    progress: bool = True,
    seg_overrides: list[str] | None = None,
    cls_overrides: list[str] | None = None,
) -> DemoResult:
    """Run the main job into ``out``; returns what it printed as a summary dict.

    The data go through the engine's data path (:func:`~dermkit.engine.data.load_checked_table`):
    a data set with bad files stops the demo with the data check's report, as training would.
    """
    claim_output_dir(out, ".dermkit-demo", "demo", legacy=("summary.json",))
    result = DemoResult(out)
    s = result.summary
    synthetic = data is None
    if data is None:
        data = out / "synthetic_data"
        if not (data / ".complete").exists():
            write_synthetic_dataset(data, n=n, seed=seed, balance=DEMO_BALANCE, progress=progress)
            (data / ".complete").touch()
    check_dir = out / "data_check"
    check_dir.mkdir(exist_ok=True)
    checked = load_checked_table(
        DataConfig(path=str(data)), check_dir, need_masks=False, need_labels=False, hashes=True
    )
    table, report = checked.table, checked.report
    report.write(check_dir)
    s["data"] = {
        "path": str(data),
        "layout": table.layout,
        "images": len(table),
        "lesions": int(table.records["lesion_id"].nunique()),
        "classes": table.class_counts(),
    }
    s["data_check"] = {"errors": len(report.errors), "warnings": len(report.warnings)}

    split = split_table(table, **(DEMO_SPLIT if synthetic else {"val": 0.15, "test": 0.15}), seed=seed)
    leaks = verify_split(table, split, hashes=True, progress=progress)
    save_split(split, out / "split.csv")
    s["split"] = {
        "counts": split_summary(split, table.classes).to_dict(orient="index"),
        "lesions_on_two_sides": len(leaks.shared_lesions),
        "near_duplicates_across_sides": len(leaks.cross_side_duplicates),
    }
    preprocess_gallery(table, out / "preprocess_gallery.png")
    s["preprocess_gallery"] = str(out / "preprocess_gallery.png")
    write_json(out / "summary.json", s)
    if table.has_masks:
        seg_recipe = DEMO_SEG_OVERRIDES if synthetic else []
        s["segmentation"] = train_and_evaluate_segmenter(
            data, out / "split.csv", out, seed, [*seg_recipe, *(seg_overrides or [])], progress
        )
        write_json(out / "summary.json", s)
    if table.has_labels:
        cls_recipe = DEMO_CLS_OVERRIDES if synthetic else []
        s["classification"] = train_and_evaluate_classifier(
            data, out / "split.csv", out, seed, [*cls_recipe, *(cls_overrides or [])], progress
        )
        if synthetic:
            s["classification"]["bayes_limit"] = bayes_limits()
        write_json(out / "summary.json", s)
    if table.has_masks and table.has_labels:
        s["package"] = export_and_predict(out, table, progress)
        write_json(out / "summary.json", s)
    s["report"] = str(demo_report(out, s))
    write_json(out / "summary.json", s)
    return result
