"""What the real-data quality benchmarks share: the command line, the shared data and the run."""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@dataclass
class BenchmarkRun:
    """A recipe trained (or reused with ``--eval-only``) on the shared HAM10000 images."""

    cfg: object  # dermkit.config.RunConfig
    run_dir: Path
    train_minutes: float
    eval_only: bool


def train_on_ham10000(doc: str, default_recipe: str) -> BenchmarkRun:
    """Parse ``[--recipe R] [--out DIR] [--eval-only] [key=value ...]``, then train R on HAM10000.

    Exits with a clear message when the shared data is not beside the checkout.
    """
    from dermkit.config import load_config
    from dermkit.engine.trainer import fit

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--recipe", default=default_recipe, help="recipe name or YAML file")
    parser.add_argument("--out", default=None, help="run folder (default runs/bench-<recipe>[-fold<k>])")
    parser.add_argument("--eval-only", action="store_true", help="evaluate an existing run folder")
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. train.epochs=4")
    args = parser.parse_args()
    if not (SHARED / "HAM10000").exists():
        raise SystemExit(f"{SHARED / 'HAM10000'} not found: this benchmark needs the shared real data")
    cfg = load_config(args.recipe, [f"data.path={SHARED / 'HAM10000'}", *args.overrides])
    fold = f"-fold{cfg.data.split.test_fold}" if cfg.data.split.test_fold else ""
    run_dir = Path(args.out or ROOT / "runs" / f"bench-{cfg.recipe}{fold}")
    t0 = time.perf_counter()
    if not args.eval_only:
        fit(cfg, run_dir)
    return BenchmarkRun(cfg, run_dir, (time.perf_counter() - t0) / 60, args.eval_only)


def balanced_synthetic(out: Path, n: int) -> Path:
    """A class-balanced synthetic set of ``n`` images under ``out`` (written once): ``--quick`` runs."""
    from dermkit.data.synthetic import write_synthetic_dataset

    root = out / f"synthetic-{n}"
    if not (root / ".complete").exists():
        write_synthetic_dataset(root, n=n, seed=0, balance="balanced")
        (root / ".complete").touch()
    return root


def candidates_setup(args: argparse.Namespace, bench: str, quick_images: int) -> tuple[Path, Path]:
    """The output folder (``args.out`` or ``runs/<bench>[/quick]``, then ``fold<K>``) and the data of a
    candidates benchmark: the shared HAM10000, or ``quick_images`` balanced synthetic ones with ``--quick``."""
    out = (args.out or ROOT / "runs" / (f"{bench}/quick" if args.quick else bench)) / f"fold{args.fold}"
    out.mkdir(parents=True, exist_ok=True)
    data = balanced_synthetic(out, quick_images) if args.quick else SHARED / "HAM10000"
    if not data.exists():
        raise SystemExit(f"{data} not found: this benchmark needs the shared real data")
    return out, data


def lesion_ci(y, score, groups, fn) -> list[float]:
    """95 % percentile-bootstrap interval of ``fn(y, score)`` over lesions."""
    from dermkit.metrics.bootstrap import bootstrap_ci

    return list(bootstrap_ci(y, score, groups, fn, 1000))


def paired_gain(base, run, table, metric: Callable[[Any], float], what: str) -> dict[str, Any]:
    """``metric(run) - metric(base)`` on the same images (two per-image frames indexed by ``image_id``),
    with a 95 % paired bootstrap interval over lesions (``table``'s): two runs 0.001 apart on 1,218 images
    may differ by chance. Exits with ``what`` named when the two frames hold different images."""
    import numpy as np

    if set(base.index) != set(run.index):
        raise SystemExit(f"{what} were validated on different images: not comparable")
    run = run.loc[base.index]
    lesions = table.records.set_index("image_id").loc[base.index, "lesion_id"].astype(str).to_numpy()
    rows = np.arange(len(base))

    def gain(idx, _unused) -> float:
        return metric(run.iloc[idx]) - metric(base.iloc[idx])

    return {"gain": float(gain(rows, None)), "ci": lesion_ci(rows, rows, lesions, gain)}


def gain_cell(gain: dict[str, Any] | None) -> str:
    """``+0.0012 [-0.0010, +0.0034]``, or ``-`` for the default itself."""
    if gain is None:
        return "-"
    return f"{gain['gain']:+.4f} [{gain['ci'][0]:+.4f}, {gain['ci'][1]:+.4f}]"


def choose(results: dict[str, dict[str, Any]], score: Callable[[dict[str, Any]], float]) -> str:
    """The candidate with the highest ``score`` among those whose paired validation gain over the default
    (``result["val_gain"]``) is above zero at 95 %, or ``"default"`` when none is: a change must beat
    chance to replace it."""
    better = [n for n, r in results.items() if "val_gain" in r and r["val_gain"]["ci"][0] > 0]
    return max(better, key=lambda n: score(results[n])) if better else "default"


def test_scores(run_dir: Path, table, test) -> dict[str, Any]:
    """The classification run on ``test`` (indices of ``table``) as it is used (its TTA, calibration and
    decision rule): the evaluation's figures and melanoma vs the rest, with 95 % intervals over lesions."""
    import pandas as pd

    from dermkit.evaluation.classification import evaluate_classification
    from dermkit.inference import load_run

    eval_dir = run_dir / "eval-test"
    metrics = evaluate_classification([load_run(run_dir)], table, eval_dir, indices=test, progress=False)
    predictions = pd.read_csv(eval_dir / "predictions.csv")
    lesions = table.records["lesion_id"].iloc[test].astype(str).to_numpy()
    correct = (predictions["label"] == predictions["predicted"]).to_numpy().astype(float)
    mel = metrics["melanoma_vs_rest"]
    return {
        "images": metrics["images"],
        "lesions": metrics["lesions"],
        "bma": metrics["balanced_accuracy"],
        "bma_ci": metrics["ci95"]["balanced_accuracy"],
        "macro_auc": metrics["macro_auc"],
        "macro_auc_ci": metrics["ci95"]["macro_auc"],
        "accuracy": metrics["accuracy"],
        "accuracy_ci": lesion_ci(correct, correct, lesions, lambda t, _s: float(t.mean())),
        "mel_auc": mel["auc"],
        "mel_auc_ci": mel["ci95"]["auc"],
        "mel_sens90": mel["sensitivity_at_90_specificity"],
        "mel_sens90_ci": mel["ci95"]["sensitivity_at_90_specificity"],
    }


#: The shared sets from other clinics a classifier is scored on, melanoma vs the rest (report only:
#: nothing is chosen on them). label -> folder under SHARED.
EXTERNAL_SETS = {"ISIC 2017 sample": "ISIC2017_sample", "PH2 (20 cases)": "PH2Dataset"}


def external_melanoma(run_dir: Path) -> dict[str, dict]:
    """The classification run's melanoma-vs-rest AUC and sensitivity at 90 % specificity, with 95 %
    bootstrap intervals, on each shared external set present (evaluations in ``run_dir/eval-<folder>``)."""
    from dermkit.data.readers import load_table
    from dermkit.evaluation.classification import evaluate_classification
    from dermkit.inference import load_run

    scores = {}
    for label, folder in EXTERNAL_SETS.items():
        if not (SHARED / folder).exists():
            continue
        metrics = evaluate_classification(
            [load_run(run_dir)], load_table(SHARED / folder), run_dir / f"eval-{folder}", progress=False
        )
        mel = metrics["melanoma_vs_rest"]
        scores[label] = {
            "images": metrics["images"],
            "melanomas": int(mel["n_melanoma"]),
            "auc": mel["auc"],
            "auc_ci": list(mel["ci95"]["auc"]),
            "sens90": mel["sensitivity_at_90_specificity"],
            "sens90_ci": list(mel["ci95"]["sensitivity_at_90_specificity"]),
        }
    return scores


def interval(value: float | None, ci: list[float]) -> str:
    """``0.812 [0.770, 0.851]``, or ``-`` for a missing or NaN figure."""
    return "-" if value is None or value != value else f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def interval_cells(scores: dict[str, Any], keys: tuple[str, ...]) -> str:
    """Table cells ``value [low, high]`` of ``scores[key]`` and ``scores[key + "_ci"]``, joined by `` | ``."""
    return " | ".join(interval(scores[key], scores[f"{key}_ci"]) for key in keys)


def external_markdown(external: dict[str, dict[str, dict]]) -> str:
    """One row per run: melanoma AUC and sensitivity at 90 % specificity on each external set."""
    sets = list(dict.fromkeys(label for scores in external.values() for label in scores))
    if not sets:
        return ""
    counts = {label: next(s[label] for s in external.values() if label in s) for label in sets}
    head = "| run | " + " | ".join(
        f"{label} ({counts[label]['melanomas']} mel / {counts[label]['images']}): mel AUC | sens @ 90 % spec"
        for label in sets
    )
    head += " |\n|---|" + "---|---|" * len(sets) + "\n"
    rows = [
        f"| `{name}` | "
        + " | ".join(interval_cells(s[label], ("auc", "sens90")) if label in s else "- | -" for label in sets)
        + " |"
        for name, s in external.items()
    ]
    return head + "\n".join(rows) + "\n"


def run_meta(**extra: Any) -> dict[str, Any]:
    """When and where a benchmark ran (date; torch threads, CPU, torch and Python versions), plus ``extra``."""
    import torch

    machine = (
        f"{torch.get_num_threads()} torch threads, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, Python {platform.python_version()}"
    )
    return {"date": date.today().isoformat(), "machine": machine, **extra}


def write_report(out: Path, stem: str, payload: dict[str, Any], text: str) -> None:
    """A benchmark's figures as ``out/<stem>.json`` and its tables as ``out/<stem>.md`` (also printed)."""
    (out / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (out / f"{stem}.md").write_text(text)
    print(text)


def saved_result(run_dir: Path) -> dict[str, Any] | None:
    """What a resumable benchmark saved for ``run_dir`` when it finished it before (said so), else None."""
    path = run_dir / "result.json"
    if not path.exists():
        return None
    print(f"{run_dir.name}: done before ({path})", flush=True)
    return json.loads(path.read_text())


def save_result(run_dir: Path, result: dict[str, Any]) -> None:
    """Keep a finished run's figures in ``run_dir/result.json``: a rerun reads them instead of training."""
    (run_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n")


def asked_names(asked: str | None, known: Iterable[str], default: Iterable[str]) -> list[str]:
    """The comma-separated names on the command line (``default`` when none), each one of ``known``."""
    known = list(known)
    names = asked.split(",") if asked else list(default)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown name(s) {unknown}; choose from {known}")
    return names
