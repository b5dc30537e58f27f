"""`dermkit predict` and `dermkit schema`: analyse images with a segmentation and a classification run.

Every output is checked before any model runs: OUT is outside the images' folders (and the CSV's),
no two images write one file, and existing outputs are kept unless ``--overwrite``. An image that
cannot be read or analysed is listed with its reason and the others go on; exit code 1 if any failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dermkit.cli._app import EXIT_PROBLEMS, app, console
from dermkit.cli._common import OverwriteOption, collect_images
from dermkit.errors import DataError

if TYPE_CHECKING:
    from dermkit.pipeline import ImageRequest


def check_cli_metadata(age: str | None, sex: str | None, site: str | None) -> None:
    """Command-line metadata applies to every image: a bad value is a usage error (exit 2), before any work."""
    from dermkit.pipeline import parse_age, parse_sex, parse_site

    for name, value, parse in (("--age", age, parse_age), ("--sex", sex, parse_sex), ("--site", site, parse_site)):
        try:
            parse(value)
        except DataError as exc:
            raise typer.BadParameter(str(exc), param_hint=name) from None


def collect_jobs(
    images: list[Path], csv_file: Path | None, age: str | None, sex: str | None, site: str | None
) -> list[ImageRequest]:
    """The images to analyse: the CSV's rows (with their metadata) and the files and folders given."""
    from dermkit.pipeline import ImageRequest, read_image_csv

    jobs = read_image_csv(csv_file) if csv_file is not None else []
    if images or csv_file is None:
        jobs += [ImageRequest(path, age, sex, site) for path in collect_images(images)]
    return jobs


def check_models(seg: Path | None, cls: Path | None, model: Path | None) -> None:
    """Either --seg and --cls (PyTorch runs) or --model (a package), before any work."""
    if model is not None and (seg is not None or cls is not None):
        raise typer.BadParameter("give either --model PACKAGE or --seg RUN --cls RUN, not both", param_hint="--model")
    if model is None and (seg is None or cls is None):
        raise typer.BadParameter(
            "give --seg RUN and --cls RUN (trained runs), or --model PACKAGE (dermkit export)", param_hint="--seg/--cls"
        )


def load_analyzer(
    seg: Path | None,
    cls: Path | None,
    model: Path | None,
    device: str = "auto",
    heatmap: str = "auto",
    tta: bool | None = None,
):
    """The PyTorch pipeline of two runs, or the ONNX Runtime pipeline of a package (which never imports torch)."""
    if model is not None:
        from dermkit.package import PackageAnalyzer

        return PackageAnalyzer(model, heatmap=heatmap, tta=tta)
    from dermkit.pipeline import Analyzer

    return Analyzer(seg, cls, device=device, heatmap=heatmap, tta=tta)


@app.command("predict")
def predict(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for <id>.json, <id>_overlay.png, <id>.html, summary.csv and index.html; outside the inputs.",
        ),
    ],
    images: Annotated[
        list[Path] | None, typer.Argument(help="Image files or folders (masks in folders are skipped).")
    ] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", help="CSV with columns image[,age,sex,site]; relative paths are read from its folder."),
    ] = None,
    age: Annotated[str | None, typer.Option("--age", help="Patient age in years (0..120), for every image.")] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="male, female or unknown, for every image.")] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Anatomical site (HAM10000 names), for every image.")
    ] = None,
    seg: Annotated[Path | None, typer.Option("--seg", help="Run folder of a segmentation training.")] = None,
    cls: Annotated[Path | None, typer.Option("--cls", help="Run folder of a classification training.")] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="A model package (dermkit export), run on ONNX Runtime: no PyTorch needed."),
    ] = None,
    heatmap: Annotated[
        str,
        typer.Option(
            "--heatmap",
            help="auto (the model's attention map, else Grad-CAM; occlusion with --model), none, gradcam, "
            "gradcam++, attention, occlusion (--model).",
        ),
    ] = "auto",
    tta: Annotated[
        bool | None, typer.Option("--tta/--no-tta", help="Test-time augmentation (default: each recipe's setting).")
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda[:N] (--seg/--cls only).")] = "auto",
    overwrite: OverwriteOption = False,
) -> None:
    """Diagnose each image: class probabilities, decision, malignancy call, lesion outline, ABCD, quality flags.

    Writes <id>.json (valid against `dermkit schema`), <id>_overlay.png and a one-page report <id>.html per
    image, and summary.csv and index.html (every image's decision, a link to its report, and the failures).
    Unreadable or unanalysable images are listed with their reason (exit code 1); the rest are written.
    """
    from dermkit.files import check_no_overwrite, check_output_location, prepare_output_dir, unique_output_names
    from dermkit.pipeline.batch import JSON_NAME, SUMMARY_FILE, analyze_batch, output_files

    check_models(seg, cls, model)
    images = list(images or [])
    if not images and csv_file is None:
        raise typer.BadParameter("give image files or folders, or --csv FILE", param_hint="IMAGES")
    check_cli_metadata(age, sex, site)
    jobs = collect_jobs(images, csv_file, age, sex, site)
    files = [job.path for job in jobs]
    inputs = [*images, *files, *([csv_file] if csv_file is not None else [])]
    check_output_location(out, inputs)
    unique_output_names(files, [out / JSON_NAME.format(id=job.id) for job in jobs])
    check_no_overwrite(output_files(out, jobs), overwrite)
    analyzer = load_analyzer(
        seg, cls, model, device, heatmap, tta
    )  # a run of the wrong task, a changed package: a clear error
    prepare_output_dir(out, inputs)
    outcome = analyze_batch(analyzer, jobs, out)
    console.print(f"analysed {outcome.analysed} of {len(jobs)} images; results and {SUMMARY_FILE} in {out}")
    if outcome.failed:
        console.print(f"[red]{len(outcome.failed)} images could not be analysed:[/]")
        for line in outcome.failed:
            console.print("  " + line, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_PROBLEMS)


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of the per-image result `dermkit predict` writes."""
    from dermkit.pipeline import schema_text

    typer.echo(schema_text(), nl=False)
