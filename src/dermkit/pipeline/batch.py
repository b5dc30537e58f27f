"""Analysing a batch of images into one folder: per image ``<id>.json``, ``<id>_overlay.png`` and
``<id>.html``; for the batch ``summary.csv`` and ``index.html`` (torch-free).

``dermkit predict`` and the demo call :func:`analyze_batch` with either back end (anything with
``analyze(image, meta, image_id)``). An image that cannot be read or analysed is recorded with
its reason and the others go on. Every file is written atomically (temporary file, then rename).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm.auto import tqdm

from dermkit.data.records import Metadata
from dermkit.errors import DataError
from dermkit.imageio import read_image, write_image
from dermkit.pipeline.inputs import ImageRequest, make_metadata
from dermkit.pipeline.overlay import result_overlay
from dermkit.pipeline.report import render_index, render_report
from dermkit.pipeline.result import AnalysisResult

SUMMARY_FILE = "summary.csv"
SUMMARY_COLUMNS = ("id", "decision", "confidence", "malignant_probability", "flags", "error")
JSON_NAME = "{id}.json"
OVERLAY_NAME = "{id}_overlay.png"
REPORT_NAME = "{id}.html"
INDEX_FILE = "index.html"


class ImageAnalyzer(Protocol):
    """What both back ends offer: :class:`dermkit.pipeline.Analyzer`, :class:`dermkit.package.PackageAnalyzer`."""

    def analyze(self, image: np.ndarray, meta: Metadata | None = None, image_id: str = "image") -> AnalysisResult: ...


@dataclass
class BatchOutcome:
    """The summary rows (one per image, in order) and the messages of the images that failed."""

    rows: list[dict[str, object]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def analysed(self) -> int:
        return len(self.rows) - len(self.failed)


def output_files(out: Path, jobs: Sequence[ImageRequest]) -> list[Path]:
    """Every file :func:`analyze_batch` writes for ``jobs`` (for the overwrite check before any work)."""
    per_image = [out / name.format(id=job.id) for job in jobs for name in (JSON_NAME, OVERLAY_NAME, REPORT_NAME)]
    return [*per_image, out / SUMMARY_FILE, out / INDEX_FILE]


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
    if result.ood is not None and result.ood.flag:
        flags.append("out_of_distribution")
    return {
        "id": job.id,
        "decision": result.decision.class_,
        "confidence": f"{result.decision.confidence:.4f}",
        "malignant_probability": "" if result.malignant is None else f"{result.malignant.probability:.4f}",
        "flags": ";".join(flags),
        "error": "",
    }


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_summary(path: Path, rows: list[dict[str, object]]) -> None:
    """Write summary.csv atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def analyze_one(analyzer: ImageAnalyzer, job: ImageRequest) -> tuple[np.ndarray, AnalysisResult]:
    """Read, check the metadata of, and analyse one image; what is returned reads back as the schema says."""
    meta = make_metadata(job.id, job.age, job.sex, job.site)
    image = read_image(job.path)
    result = analyzer.analyze(image, meta, image_id=job.id)
    AnalysisResult.model_validate_json(result.to_json())
    return image, result


def analyze_batch(
    analyzer: ImageAnalyzer, jobs: Sequence[ImageRequest], out: Path, progress: bool = True
) -> BatchOutcome:
    """Analyse ``jobs`` into ``out`` (which must exist), the failures recorded, the summary and index written."""
    outcome = BatchOutcome()
    for job in tqdm(list(jobs), desc="analysing", unit="img", disable=not progress):
        try:
            image, result = analyze_one(analyzer, job)
        except DataError as exc:
            message = str(exc) if str(exc).startswith(str(job.path)) else f"{job.path}: {exc}"
            outcome.failed.append(message)
            outcome.rows.append(summary_row(job, None, message))
            continue
        write_text(out / JSON_NAME.format(id=job.id), result.to_json() + "\n")
        write_image(out / OVERLAY_NAME.format(id=job.id), result_overlay(image, result))
        write_text(out / REPORT_NAME.format(id=job.id), render_report(image, result))
        outcome.rows.append(summary_row(job, result))
    write_summary(out / SUMMARY_FILE, outcome.rows)
    write_text(out / INDEX_FILE, render_index(outcome.rows, REPORT_NAME))
    return outcome
