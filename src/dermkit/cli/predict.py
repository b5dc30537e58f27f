"""`dermkit predict` and `dermkit schema`: analyse images with a segmentation and a classification run.

Every output is checked before any model runs: OUT is outside the images' folders (and the CSV's),
no two images write one file, and existing outputs are kept unless ``--overwrite``. An image that
cannot be read or analysed is listed with its reason and the others go on; exit code 1 if any failed.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from tqdm.auto import tqdm

from dermkit.cli._app import EXIT_PROBLEMS, app, console
from dermkit.cli._common import OverwriteOption, collect_images
from dermkit.errors import DataError

if TYPE_CHECKING:
    from dermkit.pipeline import AnalysisResult, ImageRequest

SUMMARY_FILE = "summary.csv"
SUMMARY_COLUMNS = ("id", "decision", "confidence", "malignant_probability", "flags", "error")
JSON_NAME = "{id}.json"
OVERLAY_NAME = "{id}_overlay.png"
REPORT_NAME = "{id}.html"
INDEX_FILE = "index.html"


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


def summary_row(job: ImageRequest, result: AnalysisResult | None, error: str = "") -> dict[str, object]:
    """One line of summary.csv (empty fields where the image failed)."""
    if result is None:
        return {
            "id": job.id,
            "decision": "",
            "confidence": "",
            "malignant_probability": "",
            "flags": "",
            "error": error,
        }
    flags = [f["code"] for f in result.quality["flags"]] + list(result.measurements.get("flags", []))
    return {
        "id": job.id,
        "decision": result.decision.class_,
        "confidence": f"{result.decision.confidence:.4f}",
        "malignant_probability": "" if result.malignant is None else f"{result.malignant.probability:.4f}",
        "flags": ";".join(flags),
        "error": "",
    }


def write_summary(path: Path, rows: list[dict[str, object]]) -> None:
    """Write summary.csv atomically (temporary file, then rename)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buffer.getvalue())
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def check_models(seg: Path | None, cls: Path | None, model: Path | None) -> None:
    """Either --seg and --cls (PyTorch runs) or --model (a package), before any work."""
    if model is not None and (seg is not None or cls is not None):
        raise typer.BadParameter("give either --model PACKAGE or --seg RUN --cls RUN, not both", param_hint="--model")
    if model is None and (seg is None or cls is None):
        raise typer.BadParameter(
            "give --seg RUN and --cls RUN (trained runs), or --model PACKAGE (dermkit export)", param_hint="--seg/--cls"
        )


def load_analyzer(seg: Path | None, cls: Path | None, model: Path | None, device: str):
    """The PyTorch pipeline of two runs, or the ONNX Runtime pipeline of a package (which never imports torch)."""
    if model is not None:
        from dermkit.package import PackageAnalyzer

        return PackageAnalyzer(model)
    from dermkit.pipeline import Analyzer

    return Analyzer(seg, cls, device=device)


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
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda[:N] (--seg/--cls only).")] = "auto",
    overwrite: OverwriteOption = False,
) -> None:
    """Diagnose each image: class probabilities, decision, malignancy call, lesion outline, ABCD, quality flags.

    Writes <id>.json (valid against `dermkit schema`), <id>_overlay.png and a one-page report <id>.html per
    image, and summary.csv and index.html (every image's decision, a link to its report, and the failures).
    Unreadable or unanalysable images are listed with their reason (exit code 1); the rest are written.
    """
    from dermkit.files import check_no_overwrite, check_output_location, prepare_output_dir, unique_output_names
    from dermkit.imageio import read_image, write_image
    from dermkit.pipeline import AnalysisResult, make_metadata, result_overlay
    from dermkit.pipeline.report import render_index, render_report

    check_models(seg, cls, model)
    images = list(images or [])
    if not images and csv_file is None:
        raise typer.BadParameter("give image files or folders, or --csv FILE", param_hint="IMAGES")
    check_cli_metadata(age, sex, site)
    jobs = collect_jobs(images, csv_file, age, sex, site)
    files = [job.path for job in jobs]
    json_targets = [out / JSON_NAME.format(id=job.id) for job in jobs]
    overlays = [out / OVERLAY_NAME.format(id=job.id) for job in jobs]
    reports = [out / REPORT_NAME.format(id=job.id) for job in jobs]
    inputs = [*images, *files, *([csv_file] if csv_file is not None else [])]
    check_output_location(out, inputs)
    unique_output_names(files, json_targets)
    check_no_overwrite([*json_targets, *overlays, *reports, out / SUMMARY_FILE, out / INDEX_FILE], overwrite)
    analyzer = load_analyzer(seg, cls, model, device)  # a run of the wrong task, a changed package: a clear error
    prepare_output_dir(out, inputs)
    rows, failed = [], []
    for job, json_path, overlay, report in tqdm(
        list(zip(jobs, json_targets, overlays, reports, strict=True)), desc="analysing", unit="img"
    ):
        try:
            meta = make_metadata(job.id, job.age, job.sex, job.site)
            image = read_image(job.path)
            result = analyzer.analyze(image, meta, image_id=job.id)
            text = result.to_json()
            AnalysisResult.model_validate_json(text)  # what is written must read back as the schema says
        except DataError as exc:
            message = str(exc) if str(exc).startswith(str(job.path)) else f"{job.path}: {exc}"
            failed.append(message)
            rows.append(summary_row(job, None, message))
            continue
        write_text(json_path, text + "\n")
        write_image(overlay, result_overlay(image, result))
        write_text(report, render_report(image, result))
        rows.append(summary_row(job, result))
    write_summary(out / SUMMARY_FILE, rows)
    write_text(out / INDEX_FILE, render_index(rows, REPORT_NAME))
    console.print(f"analysed {len(jobs) - len(failed)} of {len(jobs)} images; results and {SUMMARY_FILE} in {out}")
    if failed:
        console.print(f"[red]{len(failed)} images could not be analysed:[/]")
        for line in failed:
            console.print("  " + line, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_PROBLEMS)


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of the per-image result `dermkit predict` writes."""
    from dermkit.pipeline import schema_text

    typer.echo(schema_text(), nl=False)
