"""`dermkit evaluate seg|cls` and `dermkit segment`: apply trained runs to data."""

from __future__ import annotations

from pathlib import Path

import typer
from tqdm.auto import tqdm

from dermkit.cli import app, console

evaluate_app = typer.Typer(help="Score a trained run on a data set.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")


@evaluate_app.command("seg")
def evaluate_seg(
    run: Path = typer.Option(..., help="Run folder of a segmentation training."),
    data: Path = typer.Option(..., help="Data set folder with lesion masks (any supported layout)."),
    out: Path = typer.Option(None, help="Output folder (default RUN/eval-<data folder name>)."),
    layout: str = typer.Option("auto", help="Reader to use; 'auto' detects it."),
    side: str = typer.Option("all", help="'all' images, or 'test'/'val' of the run's split (same data only)."),
    tta: bool = typer.Option(None, help="Flip test-time augmentation (default: the run's setting)."),
    postprocess: bool = typer.Option(None, help="Keep the largest lesion and fill holes (default: the run's)."),
) -> None:
    """ISIC-style metrics (Jaccard, thresholded Jaccard, Dice, ...), per-image CSV, worst-case gallery."""
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices
    from dermkit.evaluation.segmentation import evaluate_segmentation
    from dermkit.inference import load_run

    loaded = load_run(run)
    table = load_table(data, layout=layout)
    indices = None
    if side != "all":
        split = load_split(run / "split.csv", table)
        indices = side_indices(table, split, side)
    target = out or run / f"eval-{Path(data).resolve().name}"
    metrics = evaluate_segmentation(loaded, table, target, indices=indices, tta=tta, postprocess=postprocess)
    console.print_json(data=metrics)
    console.print(f"metrics, per-image table and worst-case gallery in {target}")


@app.command("segment")
def segment(
    run: Path = typer.Argument(..., help="Run folder of a segmentation training."),
    images: list[Path] = typer.Argument(..., help="Image files or folders."),
    out: Path = typer.Option(..., help="Folder for ISIC-format masks (<id>_segmentation.png, 0/255)."),
    tta: bool = typer.Option(None, help="Flip test-time augmentation (default: the run's setting)."),
) -> None:
    """Write one lesion mask per image, at the image's original size, in the ISIC format."""
    from dermkit.errors import DataError
    from dermkit.imageio import IMAGE_SUFFIXES, ImageError, read_image, write_mask
    from dermkit.inference import load_run, predict_mask

    files: list[Path] = []
    for item in images:
        if item.is_dir():
            files += sorted(p for p in item.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                            and not p.stem.endswith("_segmentation"))
        elif item.exists():
            files.append(item)
        else:
            raise DataError(f"{item}: no such file or folder")
    if not files:
        raise DataError("no image files found in " + ", ".join(map(str, images)))
    loaded = load_run(run)
    failed = []
    for path in tqdm(files, desc="segmenting", unit="img"):
        try:
            mask = predict_mask(loaded, read_image(path), tta=tta)
        except ImageError as exc:
            failed.append(str(exc))
            continue
        write_mask(out / f"{path.stem}_segmentation.png", mask)
    console.print(f"wrote {len(files) - len(failed)} masks to {out}")
    if failed:
        console.print(f"[red]{len(failed)} images could not be read:[/]")
        for line in failed:
            console.print("  " + line, highlight=False)
        raise typer.Exit(1)


@evaluate_app.command("cls")
def evaluate_cls(
    run: list[Path] = typer.Option(..., help="Classification run folder; repeat for an ensemble."),
    data: Path = typer.Option(..., help="Labelled data set folder (any supported layout)."),
    out: Path = typer.Option(None, help="Output folder (default FIRST_RUN/eval-<data folder name>)."),
    layout: str = typer.Option("auto", help="Reader to use; 'auto' detects it."),
    side: str = typer.Option("all", help="'all' images, or 'test'/'val' of the first run's split (same data only)."),
    tta: bool = typer.Option(None, help="Test-time augmentation (default: the run's setting)."),
    calibrate: bool = typer.Option(True, help="Apply the validation-fitted calibration (temperature, class bias, metadata expert) and decision thresholds."),
    n_boot: int = typer.Option(1000, help="Bootstrap resamples (of lesions) for 95% intervals."),
) -> None:
    """Accuracy, BMA, per-class table, AUC, confusion matrix, ROC, calibration, ISIC CSV."""
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices
    from dermkit.evaluation.classification import evaluate_classification
    from dermkit.inference import load_run

    runs = [load_run(r) for r in run]
    table = load_table(data, layout=layout)
    indices = None
    if side != "all":
        indices = side_indices(table, load_split(run[0] / "split.csv", table), side)
    target = out or run[0] / f"eval-{Path(data).resolve().name}"
    metrics = evaluate_classification(runs, table, target, indices=indices, tta=tta, calibrate=calibrate, n_boot=n_boot)
    console.print_json(data=metrics)
    console.print(f"metrics, per-class table, confusion matrix, ROC and reliability plots in {target}")
