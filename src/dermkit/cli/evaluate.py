"""`dermkit evaluate seg|cls` and `dermkit segment`: apply trained runs to data.

Outputs never land among the inputs: an output folder inside (or equal to, or containing) the data
folder or the images is refused, existing masks are kept unless ``--overwrite``, and all of this is
checked before any model is run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from tqdm.auto import tqdm

from dermkit.cli._app import app, console
from dermkit.cli._common import CacheDirOption, OverwriteOption, collect_images

if TYPE_CHECKING:
    from dermkit.inference import LoadedRun

evaluate_app = typer.Typer(help="Score a trained run on a data set.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")

MASK_NAME = "{stem}_segmentation.png"  # the ISIC ground-truth naming, so outputs can be scored as they are

RunOption = Annotated[Path, typer.Option("--run", help="Run folder of a segmentation training.")]
DataOption = Annotated[Path, typer.Option("--data", help="Data set folder (any supported layout).")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Output folder, outside DATA (default RUN/eval-<DATA name>).")
]
LayoutOption = Annotated[str, typer.Option("--layout", help="Reader to use; 'auto' detects it.")]
SideOption = Annotated[
    str, typer.Option("--side", help="'all' images, or 'test'/'val' of the run's split (same data only).")
]
TtaOption = Annotated[
    bool | None, typer.Option("--tta/--no-tta", help="Flip test-time augmentation (default: the run's setting).")
]


def with_cache_dir(run: LoadedRun, cache_dir: str | None) -> LoadedRun:
    """``run`` with the preprocessing cache this machine should use for it.

    ``--cache-dir`` wins; otherwise the default (``auto``) unless the run was trained with its cache
    off. The run's recorded folder is not reused: it belongs to the machine (and the working folder,
    for old runs' relative ``.cache/dermkit``) where it was trained.
    """
    from dermkit.config import default_cache_dir, resolve_cache_dir

    if cache_dir is not None:
        folder = resolve_cache_dir(cache_dir)
    else:
        folder = None if run.cfg.data.cache_dir is None else str(default_cache_dir())
    data = run.cfg.data.model_copy(update={"cache_dir": folder})
    return dataclasses.replace(run, cfg=run.cfg.model_copy(update={"data": data}))


def check_eval_dir(out: Path | None, run: Path, data: Path) -> Path:
    """``--out``, or RUN/eval-<DATA folder name>: refused inside DATA and proven writable (not created:
    the evaluation creates it once the run has loaded, so a mistyped RUN leaves no new folder)."""
    from dermkit.files import check_output_dir

    return check_output_dir(out or run / f"eval-{Path(data).resolve().name}", [data])


@evaluate_app.command("seg")
def evaluate_seg(
    run: RunOption,
    data: DataOption,
    out: OutOption = None,
    layout: LayoutOption = "auto",
    side: SideOption = "all",
    tta: TtaOption = None,
    postprocess: Annotated[
        bool | None,
        typer.Option(
            "--postprocess/--no-postprocess", help="Keep the largest lesion and fill holes (default: the run's)."
        ),
    ] = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """ISIC-style metrics (Jaccard, thresholded Jaccard, Dice, ...), per-image CSV, worst-case gallery."""
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices
    from dermkit.engine.data import check_same_data
    from dermkit.evaluation.segmentation import evaluate_segmentation
    from dermkit.inference import load_run

    target = check_eval_dir(out, run, data)  # before loading anything
    loaded = with_cache_dir(load_run(run, task="segmentation"), cache_dir)
    table = load_table(data, layout=layout)
    indices = None
    if side != "all":
        check_same_data(run, table)
        split = load_split(run / "split.csv", table)
        indices = side_indices(table, split, side)
    metrics = evaluate_segmentation(loaded, table, target, indices=indices, tta=tta, postprocess=postprocess)
    console.print_json(data=metrics)
    console.print(f"metrics, per-image table and worst-case gallery in {target}")


@app.command("segment")
def segment(
    run: Annotated[Path, typer.Argument(help="Run folder of a segmentation training.")],
    images: Annotated[list[Path], typer.Argument(help="Image files or folders (masks in folders are skipped).")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Folder for ISIC-format masks (<id>_segmentation.png, 0/255), outside the images' folders."
        ),
    ],
    tta: TtaOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Write one lesion mask per image, at the image's original size, in the ISIC format.

    Checked before any work: OUT is outside the images' folders; no two images write one mask (a/x.jpg, b/x.png).

    Existing masks are kept unless --overwrite; unreadable images are listed (exit code 1).
    """
    from dermkit.files import check_no_overwrite, check_output_location, prepare_output_dir, unique_output_names
    from dermkit.imageio import ImageError, read_image, write_mask
    from dermkit.inference import load_run, predict_mask

    files = collect_images(images)
    targets = [out / MASK_NAME.format(stem=path.stem) for path in files]
    inputs = [*images, *files]  # the folders given and every image's own folder
    check_output_location(out, inputs)
    unique_output_names(files, targets)
    check_no_overwrite(targets, overwrite)
    loaded = load_run(run, task="segmentation")  # a classification run: a clear error
    prepare_output_dir(out, inputs)
    failed = []
    for path, target in tqdm(zip(files, targets, strict=True), total=len(files), desc="segmenting", unit="img"):
        try:
            mask = predict_mask(loaded, read_image(path), tta=tta)
        except ImageError as exc:
            failed.append(str(exc))
            continue
        write_mask(target, mask)
    console.print(f"wrote {len(files) - len(failed)} masks to {out}")
    if failed:
        console.print(f"[red]{len(failed)} images could not be read:[/]")
        for line in failed:
            console.print("  " + line, highlight=False)
        raise typer.Exit(1)


@evaluate_app.command("cls")
def evaluate_cls(
    run: Annotated[list[Path], typer.Option("--run", help="Classification run folder; repeat for an ensemble.")],
    data: DataOption,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder, outside DATA (default FIRST_RUN/eval-<DATA name>).")
    ] = None,
    layout: LayoutOption = "auto",
    side: Annotated[
        str, typer.Option(help="'all' images, or 'test'/'val' of the first run's split (same data only).")
    ] = "all",
    tta: Annotated[
        bool | None, typer.Option("--tta/--no-tta", help="Test-time augmentation (default: the run's setting).")
    ] = None,
    calibrate: Annotated[
        bool,
        typer.Option(
            help="Apply the validation-fitted calibration (temperature, class bias, metadata expert) and decision "
            "thresholds."
        ),
    ] = True,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples (of lesions) for 95% intervals.")] = 1000,
    cache_dir: CacheDirOption = None,
) -> None:
    """Accuracy, BMA, per-class table, AUC, confusion matrix, ROC, calibration, ISIC CSV."""
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices
    from dermkit.engine.data import check_same_data
    from dermkit.evaluation.classification import evaluate_classification
    from dermkit.inference import load_run

    target = check_eval_dir(out, run[0], data)  # before loading anything
    runs = [with_cache_dir(load_run(r, task="classification"), cache_dir) for r in run]
    table = load_table(data, layout=layout)
    indices = None
    if side != "all":
        check_same_data(run[0], table)
        indices = side_indices(table, load_split(run[0] / "split.csv", table), side)
    metrics = evaluate_classification(runs, table, target, indices=indices, tta=tta, calibrate=calibrate, n_boot=n_boot)
    console.print_json(data=metrics)
    console.print(f"metrics, per-class table, confusion matrix, ROC and reliability plots in {target}")
