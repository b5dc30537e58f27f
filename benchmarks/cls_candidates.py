"""Choosing the next default classifier on validation: candidate changes to ``cls_default``, each
trained on the shared HAM10000 at one lesion-grouped split, ranked by validation BMA only.

Every candidate is ``cls_default`` with a few overrides (:data:`CANDIDATES`), trained within the
default's budget of 60 CPU-minutes here. The validation side alone chooses: each run is scored on it as
it is used (TTA, calibration and decision rule, fitted on that side for every run alike), and a candidate
replaces the default only when its validation BMA minus the default's, on the same images, has a 95 %
paired bootstrap interval over lesions above zero; of those, the highest validation BMA (the best epoch's,
the figure that also selects the checkpoint) wins (``_common.choose``). The test side, the shared ISIC
2017 sample and the 20 shared PH2 cases are scored for the report and change nothing. ``--fold K``
trains on the seed's K-th disjoint test side (``data.split.test_fold``), so the chosen candidate can be
pooled over two sides with ``benchmarks/cls_compare.py``.

Usage::

    python benchmarks/cls_candidates.py                         # every candidate, fold 0: about 1 hour each
    python benchmarks/cls_candidates.py --candidates ema --fold 1
    python benchmarks/cls_candidates.py --quick                 # synthetic data, a few minutes: checks the script

Resumable: a candidate whose ``OUT/fold<K>/<name>/result.json`` exists is not trained again, and an
interrupted one resumes from its last checkpoint. Writes ``OUT/fold<K>/candidates.{json,md}``; OUT is
``runs/bench-cls-candidates`` (``.../quick`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from _budget import check_recipes
from _common import (
    asked_names,
    candidates_setup,
    choose,
    external_markdown,
    external_melanoma,
    gain_cell,
    interval_cells,
    paired_gain,
    run_meta,
    save_result,
    saved_result,
    test_scores,
    write_report,
)

BASE = "cls_default"
EMA = "train.ema=0.998"  # about 500 steps of memory: 2.6 of the default's 190-step epochs
#: name -> (overrides of cls_default, what it tests).
CANDIDATES: dict[str, tuple[list[str], str]] = {
    "default": ([], "cls_default as it is"),
    "ema": ([EMA], "weights averaged over the last steps"),
    "ema_colour": (
        [EMA, "data.preprocess.color_constancy=true", "augment.brightness=0.25", "augment.hue=0.06"],
        "+ shades-of-grey colour constancy and stronger colour jitter (robustness across dermatoscopes)",
    ),
    "ema_mix": (
        [EMA, "augment.mixup=0.2", "augment.cutmix=1.0", "augment.mix_prob=0.5"],
        "+ mixup or CutMix on half the batches",
    ),
    "lite1_ema": (
        [EMA, "model.name=timm_classifier", "model.kwargs.model_name=efficientnet_lite1", "train.epochs=7"],
        "EfficientNet-Lite1 (ImageNet, offline) for 7 epochs in the same budget",
    ),
}
QUICK = [
    "data.preprocess.size=[64, 64]",
    "train.epochs=2",
    "train.max_batches_per_epoch=4",
    "train.batch_size=8",
]
QUICK_IMAGES = 280


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--fold", type=int, default=0, help="the split's test side (data.split.test_fold)")
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    parser.add_argument("--no-external", action="store_true", help="skip the ISIC 2017 / PH2 scores")
    parser.add_argument("--quick", action="store_true", help="synthetic data, tiny runs: checks the script runs")
    return parser.parse_args()


def candidate_overrides(name: str, data: Path, fold: int, quick: bool) -> list[str]:
    """Every override of ``cls_default`` that makes candidate ``name`` on ``data``'s test side ``fold``."""
    return [
        f"data.path={json.dumps(str(data))}",
        f"data.split.test_fold={fold}",
        *CANDIDATES[name][0],
        *(QUICK if quick else []),
    ]


def train_candidate(name: str, data: Path, table, fold: int, out: Path, quick: bool) -> dict[str, Any]:
    """Train (or resume) one candidate on ``data`` (read as ``table``) into ``out/name``; returns its
    validation and test figures."""
    from dermkit.config import load_config
    from dermkit.data.splits import load_split, side_indices
    from dermkit.engine.trainer import fit

    run_dir = out / name
    cfg = load_config(BASE, candidate_overrides(name, data, fold, quick))
    if not (run_dir / "final_metrics.json").exists():
        fit(cfg, run_dir, resume=(run_dir / "checkpoints" / "last.pt").exists())
    final = json.loads((run_dir / "final_metrics.json").read_text())
    history = json.loads((run_dir / "metrics.json").read_text())
    test = side_indices(table, load_split(run_dir / "split.csv", table), "test")
    return {
        "overrides": CANDIDATES[name][0],
        "epoch_minutes": sum(row["seconds"] for row in history) / 60,
        "epochs": final["epochs_run"],
        "best_epoch": final["best_epoch"],
        "val_bma": final["best_value"],
        "val_macro_auc": next(r["val_macro_auc"] for r in history if r["epoch"] == final["best_epoch"]),
        "test": test_scores(run_dir, table, test),
    }


def val_predictions(run_dir: Path, table) -> Any:
    """The run's validation decisions as it is used (``eval-val/predictions.csv``, made once): TTA, and the
    calibration and decision rule it fitted on that side."""
    import pandas as pd

    from dermkit.data.splits import load_split, side_indices
    from dermkit.evaluation.classification import evaluate_classification
    from dermkit.inference import load_run

    path = run_dir / "eval-val" / "predictions.csv"
    if not path.exists():
        val = side_indices(table, load_split(run_dir / "split.csv", table), "val")
        evaluate_classification([load_run(run_dir)], table, run_dir / "eval-val", indices=val, progress=False)
    return pd.read_csv(path, index_col="image_id")


def paired_val_gain(base_dir: Path, run_dir: Path, table) -> dict[str, Any]:
    """Validation BMA of ``run_dir`` minus ``base_dir``'s on the same images (each as it is used), with a
    95 % paired bootstrap interval over lesions (``_common.paired_gain``)."""
    from dermkit.metrics.classification import balanced_accuracy

    base, run = (val_predictions(d, table) for d in (base_dir, run_dir))
    classes = {
        name: i for i, name in enumerate(sorted(set(base["label"]) | set(base["predicted"]) | set(run["predicted"])))
    }

    def bma(rows) -> float:
        return balanced_accuracy(rows["label"].map(classes).to_numpy(), rows["predicted"].map(classes).to_numpy())

    return paired_gain(base, run, table, bma, f"{run_dir} and {base_dir}")


def markdown(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    chosen = choose(results, lambda r: r["val_bma"])
    head = (
        "| candidate | changes | epochs (best) | train min | **val BMA** | **vs default** (chooses) | val macro AUC "
        "| test BMA | test macro AUC | test mel AUC | test mel sens @ 90 % spec |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for name, r in results.items():
        t = r["test"]
        rows.append(
            f"| `{name}`{' (chosen)' if name == chosen else ''} | {CANDIDATES[name][1]} | {r['epochs']} "
            f"({r['best_epoch']}) | {r['epoch_minutes']:.1f} | **{r['val_bma']:.3f}** | {gain_cell(r.get('val_gain'))} "
            f"| {r['val_macro_auc']:.3f} | {interval_cells(t, ('bma', 'macro_auc', 'mel_auc', 'mel_sens90'))} |"
        )
    text = (
        f"### Default classifier candidates, test side {meta['fold']}\n\n"
        + head
        + "\n".join(rows)
        + f"\n\n- {meta['date']}, {meta['machine']}; data {meta['data']}; train min: the epochs' wall time "
        "(training and per-epoch validation). val BMA: the best epoch's (it selects the checkpoint). vs default: "
        "validation BMA as each run is used (TTA, calibrated on that side) minus the default's on the same "
        "images, paired bootstrap over lesions; a candidate is chosen only when that interval lies above zero.\n"
    )
    external = {n: r["external"] for n, r in results.items() if r.get("external")}
    if external:
        text += "\nOther clinics, melanoma vs the rest (report only):\n\n" + external_markdown(external)
    return text


def main() -> None:
    from dermkit.data.readers import load_table

    args = parse_args()
    out, data = candidates_setup(args, "bench-cls-candidates", QUICK_IMAGES)
    names = asked_names(args.candidates, CANDIDATES, CANDIDATES)
    check_recipes(BASE, {name: candidate_overrides(name, data, args.fold, args.quick) for name in names})
    table = load_table(data)
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        if (saved := saved_result(out / name)) is not None:
            results[name] = saved
            continue
        print(f"{name}: training ({CANDIDATES[name][1]}) ...", flush=True)
        results[name] = train_candidate(name, data, table, args.fold, out, args.quick)
        if not args.no_external:
            results[name]["external"] = external_melanoma(out / name)
        save_result(out / name, results[name])
        r = results[name]
        print(f"{name}: val BMA {r['val_bma']:.3f}; test BMA {r['test']['bma']:.3f} (report only)", flush=True)
    if "default" in results:
        for name in results.keys() - {"default"}:
            results[name]["val_gain"] = paired_val_gain(out / "default", out / name, table)
    meta = run_meta(data=str(data), fold=args.fold)
    write_report(out, "candidates", {"meta": meta, "results": results}, markdown(results, meta))


if __name__ == "__main__":
    main()
