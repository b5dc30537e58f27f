"""Model identifiers read from a run folder: who trained it, on what, and how well it did.

Torch-free (plain JSON and CSV files), so the model package can carry the same identifiers that
the PyTorch path reports, and the report and the model card show them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import numbers
from pathlib import Path
from typing import Any

from dermkit.pipeline.result import ModelInfo, TrainingData

#: final_metrics.json sections whose numbers a result reports as the model's validated figures.
VALIDATED_SIDES = ("val", "test")


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def validated_metrics(run_dir: str | Path) -> dict[str, float]:
    """The run's validation and test figures as flat ``<side>_<metric>`` numbers (``val_bma``,
    ``test_dice``, ``test_images``...); empty for a run that did not finish."""
    final = _read_json(Path(run_dir) / "final_metrics.json")
    out: dict[str, float] = {}
    for side in VALIDATED_SIDES:
        for key, value in (final.get(side) or {}).items():
            if isinstance(value, numbers.Real) and not isinstance(value, bool):
                out[f"{side}_{key}"] = float(value)
    return out


def training_images(run_dir: str | Path) -> int | None:
    """Images on the training side of the run's ``split.csv`` (None without one)."""
    path = Path(run_dir) / "split.csv"
    try:
        with open(path, newline="") as fh:
            return sum(1 for row in csv.DictReader(fh) if row.get("split") == "train")
    except OSError:
        return None


def trained_with_version(run_dir: str | Path) -> str:
    """The dermkit version recorded in ``environment.json`` ("unknown" without one)."""
    versions = _read_json(Path(run_dir) / "environment.json").get("versions") or {}
    return str(versions.get("dermkit", "unknown"))


def run_model_info(
    run_dir: str | Path, name: str, recipe: str, data_path: str | None, classes: list[str], checkpoint: str = "best"
) -> ModelInfo:
    """The identifiers of a trained run: model, recipe, checkpoint checksum, version, data, figures."""
    run_dir = Path(run_dir)
    return ModelInfo(
        name=name,
        run=str(run_dir),
        recipe=recipe,
        checksum=file_sha256(run_dir / "checkpoints" / f"{checkpoint}.pt"),
        version=trained_with_version(run_dir),
        training_data=TrainingData(
            dataset="synthetic" if data_path is None else Path(data_path).name,
            images=training_images(run_dir),
            classes=list(classes),
        ),
        validated_metrics=validated_metrics(run_dir),
    )
