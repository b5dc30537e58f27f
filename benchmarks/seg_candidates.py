"""Choosing the next default segmenter on HAM10000 validation alone: candidate changes to
``seg_default`` (input size, the Lite1/Lite2 encoders, bf16, S3's artefact removal and colour
constancy), each trained within one CPU budget, ranked by validation Dice as the segmenter is used.

Every candidate is ``seg_default`` with a few overrides (:data:`CANDIDATES`) trained on the shared
HAM10000 (lesion-grouped split: 15 % validation, 15 % test, seed 0) for ``--minutes`` (default 30) of
training: a timed probe sets the whole epochs that fit (``_budget.trained_run``), at most
:data:`EPOCH_CAP` for the candidates that leave the count to the budget, with the cosine schedule over
the epochs trained. Each run is then scored as it is used (full image resolution, its TTA and
post-processing: ``evaluate_segmentation``) on the validation side, which alone chooses: a candidate
replaces the default only when its mean validation Dice minus the default's, on the same images, has a
95 % paired bootstrap interval over lesions above zero (``_common.choose``); the HAM10000 test side and
the 20 shared PH2 cases (another clinic and dermatoscope, at ~765x575) are scored for the report and
choose nothing. Dice, Jaccard and thresholded Jaccard (ISIC 2018) per image, means with 95 % bootstrap
intervals over lesions. ``--fold K`` holds out the seed's K-th disjoint test side.

Usage::

    python benchmarks/seg_candidates.py                          # every candidate: about 35 minutes each
    python benchmarks/seg_candidates.py --candidates size160,lite1_160 --minutes 30
    python benchmarks/seg_candidates.py --quick                  # synthetic data, a few minutes: checks the script

Resumable: a candidate whose ``OUT/fold<K>/<name>/result.json`` exists is not trained again, and an
interrupted one resumes from its last checkpoint with the epochs its probe set. Writes
``OUT/fold<K>/candidates.{json,md}``; OUT is ``runs/bench-seg-candidates`` (``.../quick`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from _budget import PROBE_STEPS, check_recipes, trained_run
from _common import (
    SHARED,
    asked_names,
    candidates_setup,
    choose,
    gain_cell,
    interval_cells,
    paired_gain,
    run_meta,
    save_result,
    saved_result,
    write_report,
)

BASE = "seg_default"
EPOCH_CAP = "train.epochs=12"  # the budget, not this cap, sets the epochs of the candidates that carry it
SIZE_160 = "data.preprocess.size=[160, 224]"  # H and W divisible by the encoder's stride 32
#: name -> (overrides of seg_default, what it tests).
CANDIDATES: dict[str, tuple[list[str], str]] = {
    "default": ([], "seg_default as it is (its own 4 epochs at most)"),
    "long": ([EPOCH_CAP], "128x160 for the epochs that fit the budget (the default stops at 4)"),
    "size160": ([SIZE_160, EPOCH_CAP], "160x224 input"),
    "size192": (["data.preprocess.size=[192, 256]", EPOCH_CAP], "192x256 input"),
    "bf16_160": ([SIZE_160, EPOCH_CAP, "train.precision=bf16"], "160x224, bf16 autocast (faster steps: more epochs)"),
    "lite1_160": ([SIZE_160, EPOCH_CAP, "model.name=unet_effnetlite1"], "EfficientNet-Lite1 encoder at 160x224"),
    "lite2_160": ([SIZE_160, EPOCH_CAP, "model.name=unet_effnetlite2"], "EfficientNet-Lite2 encoder at 160x224"),
    "artefacts_160": (
        [
            SIZE_160,
            EPOCH_CAP,
            "data.preprocess.frame=inpaint",
            "data.preprocess.hair=auto",
            "data.preprocess.color_constancy=true",
        ],
        "160x224 with S3's black-frame and hair removal and shades-of-grey colour constancy",
    ),
}
QUICK_CANDIDATES = ("default", "artefacts_160")
QUICK = ["data.preprocess.size=[64, 64]", "train.batch_size=8"]
QUICK_IMAGES = 280
SCORES = ("dice", "jaccard", "threshold_jaccard")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--minutes", type=float, default=None, help="training budget per candidate (default 30)")
    parser.add_argument("--fold", type=int, default=0, help="the split's test side (data.split.test_fold)")
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    parser.add_argument("--quick", action="store_true", help="synthetic data, tiny runs: checks the script runs")
    return parser.parse_args()


def scored(run_dir: Path, table, indices, name: str) -> dict[str, Any]:
    """The run as it is used on ``indices`` of ``table`` (all masked rows when None): means and intervals."""
    from dermkit.evaluation.segmentation import evaluate_segmentation
    from dermkit.inference import load_run

    metrics = evaluate_segmentation(load_run(run_dir), table, run_dir / f"eval-{name}", indices, progress=False)
    return {
        "images": metrics["images"],
        **{key: metrics[key] for key in SCORES},
        **{f"{key}_ci": metrics["ci95"][key] for key in SCORES},
    }


def candidate_result(run_dir: Path, table, done: dict[str, Any]) -> dict[str, Any]:
    """Validation (chooses), HAM10000 test and PH2 (report) figures of one trained candidate."""
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices

    final = json.loads((run_dir / "final_metrics.json").read_text())
    history = json.loads((run_dir / "metrics.json").read_text())
    split = load_split(run_dir / "split.csv", table)
    result = {
        **done,
        "epochs": final["epochs_run"],
        "best_epoch": final["best_epoch"],
        "epoch_minutes": sum(row["seconds"] for row in history) / 60,
        "val": scored(run_dir, table, side_indices(table, split, "val"), "val"),
        "test": scored(run_dir, table, side_indices(table, split, "test"), "test"),
    }
    if (SHARED / "PH2Dataset").exists():
        result["ph2"] = scored(run_dir, load_table(SHARED / "PH2Dataset"), None, "PH2Dataset")
    return result


def paired_val_gain(base_dir: Path, run_dir: Path, table) -> dict[str, Any]:
    """Mean validation Dice of ``run_dir`` minus ``base_dir``'s on the same images, with a 95 % paired
    bootstrap interval over lesions (``_common.paired_gain``)."""
    import pandas as pd

    base, run = (pd.read_csv(d / "eval-val" / "per_image.csv", index_col="image_id") for d in (base_dir, run_dir))
    return paired_gain(base, run, table, lambda rows: float(rows["dice"].mean()), f"{run_dir} and {base_dir}")


def markdown(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    chosen = choose(results, lambda r: r["val"]["dice"])
    head = (
        "| candidate | changes | epochs (best) | train min | **val Dice** | **vs default** (chooses) "
        "| val thr. Jaccard | test Dice | PH2 Dice | PH2 Jaccard | PH2 thr. Jaccard |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for name, r in results.items():
        ph2 = interval_cells(r["ph2"], SCORES) if "ph2" in r else "- | - | -"
        rows.append(
            f"| `{name}`{' (chosen)' if name == chosen else ''} | {CANDIDATES[name][1]} | {r['epochs']} "
            f"({r['best_epoch']}) | {r['epoch_minutes']:.1f} | **{r['val']['dice']:.4f}** "
            f"| {gain_cell(r.get('val_gain'))} | {r['val']['threshold_jaccard']:.4f} "
            f"| {interval_cells(r['test'], ('dice',))} | {ph2} |"
        )
    return (
        f"### Default segmenter candidates, test side {meta['fold']}\n\n"
        + head
        + "\n".join(rows)
        + f"\n\n- {meta['date']}, {meta['machine']}; budget {meta['minutes']} min of training per candidate; "
        f"data {meta['data']}; train min: the epochs' wall time (training and per-epoch validation). Scores at "
        "full image resolution with each run's TTA and post-processing; 95 % intervals over lesions. "
        "vs default: mean validation Dice minus the default's on the same images (paired bootstrap over lesions); "
        "a candidate is chosen only when that interval lies above zero.\n"
    )


def main() -> None:
    from dermkit.data.readers import load_table

    args = parse_args()
    minutes = args.minutes if args.minutes is not None else (0.1 if args.quick else 30.0)
    out, data = candidates_setup(args, "bench-seg-candidates", QUICK_IMAGES)
    names = asked_names(args.candidates, CANDIDATES, QUICK_CANDIDATES if args.quick else CANDIDATES)
    table = load_table(data)
    base = [f"data.path={json.dumps(str(data))}", f"data.split.test_fold={args.fold}"]
    runs = {name: [*base, *CANDIDATES[name][0], *(QUICK if args.quick else [])] for name in names}
    check_recipes(BASE, runs)
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        if (saved := saved_result(out / name)) is not None:
            results[name] = saved
            continue
        print(f"{name}: probing, then training for {minutes} min ({CANDIDATES[name][1]}) ...", flush=True)
        done = trained_run(name, BASE, runs[name], out, minutes, PROBE_STEPS[args.quick])
        results[name] = {"overrides": CANDIDATES[name][0], **candidate_result(out / name, table, done)}
        save_result(out / name, results[name])
        r = results[name]
        print(f"{name}: val Dice {r['val']['dice']:.4f}; test Dice {r['test']['dice']:.4f} (report only)", flush=True)
    if "default" in results:
        for name in results.keys() - {"default"}:
            results[name]["val_gain"] = paired_val_gain(out / "default", out / name, table)
    meta = run_meta(minutes=minutes, data=str(data), fold=args.fold)
    write_report(out, "candidates", {"meta": meta, "results": results}, markdown(results, meta))


if __name__ == "__main__":
    main()
