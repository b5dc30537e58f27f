"""The seed classifiers on real data, side by side: every classification recipe trained on one
lesion-grouped split of the shared HAM10000 at one fixed CPU budget, scored on its test side.

Budget: ``--minutes`` (default 20) of wall time per recipe for training, optimiser steps and the
per-epoch validation passes together (set-up and the final evaluation not counted; the table gives
each run's real wall time). A probe (one short epoch of the recipe, timed per step, then one
validation pass) measures each recipe's seconds per step and per validation; the recipe then trains
for as many whole epochs as fit, at most its own count, with its own schedule, early stopping and
checkpoint selection over those epochs, or, when one epoch does not fit, for one epoch of as many
batches as fit. Every recipe uses the same split (15 % validation, 15 % test, lesion-grouped and
stratified, seed 0) instead of its paper's fractions, and is scored as it is used: its TTA setting,
its validation-fitted calibration and decision rule.

S1's CNN classifies lesions masked by a segmentation run (``data.focus``): by default ``seg_default``
trained first on the same split at the same budget (S1's own Attention U-Net reaches PH2 Dice 0.52
at a small budget, RESULTS.md: its masks would hide the lesions), or ``--focus-run RUN``.

Figures per recipe: test BMA, macro AUC, accuracy, melanoma-vs-rest AUC and sensitivity at 90 %
specificity, each with a 95 % percentile-bootstrap interval over lesions (1,000 resamples), beside
the paper's own claim (SYSTEMS.md; measured on the papers' own protocols, several of them leaky).
Other clinics, report only: each checkpoint's melanoma-vs-rest AUC and sensitivity at 90 % specificity,
with 95 % intervals, on the shared ISIC 2017 sample (40 images) and the 20 shared PH2 cases.

Usage::

    python benchmarks/cls_seeds.py                                   # every recipe: about 4 hours on 2 cores
    python benchmarks/cls_seeds.py --recipes cls_default,cls_s2_deepconvnet --minutes 10
    python benchmarks/cls_seeds.py --quick                           # synthetic data, seconds per recipe
    python benchmarks/cls_seeds.py --ablations [--quick]             # the seeds' claims, one variant each

``--ablations`` trains, instead of the recipes, each variant of :data:`ABLATIONS` (S4's soft attention
off, metadata off, inverse-frequency or no class weights, focal loss; S5's custom-CNN path off) and
its unchanged recipe (the variant for exactly the recipe's epochs and batches), and adds the paired
differences (variant minus recipe, 95 % bootstrap over the shared test lesions): a claim holds when
removing the part lowers BMA with an interval below zero.

Resumable: a recipe whose ``OUT/<recipe>/result.json`` exists is not trained again (delete it to
redo one). Writes ``OUT/cls_seeds.json`` and ``OUT/cls_seeds.md`` (``cls_ablations.*``); OUT is ``runs/bench-cls-seeds``
(``runs/bench-cls-seeds/quick`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from _budget import PROBE_STEPS, trained_run
from _common import (
    ROOT,
    SHARED,
    balanced_synthetic,
    external_markdown,
    external_melanoma,
    interval_cells,
    run_meta,
    save_result,
    saved_result,
    test_scores,
    write_report,
)

RECIPES = (
    "cls_default",
    "cls_baseline",
    "cls_s1_cnn",
    "cls_s2_deepconvnet",
    "cls_s4_softattention_mobilenetv3_large_offline",
    "cls_s4_softattention_densenet201_offline",
    "cls_s4_softattention_irv2_offline",
    "cls_s5_hybrid_densenet_offline",
    "cls_s5_hybrid_resnetv2_attention_offline",
)
QUICK_RECIPES = ("cls_default", "cls_s1_cnn", "cls_s2_deepconvnet")
FOCUS_RECIPE = "seg_default"

#: What each paper reports for the method the recipe reads (SYSTEMS.md), on its own protocol.
PAPER_CLAIMS = {
    "cls_s1_cnn": "accuracy 0.99, macro F1 0.99 (over-sampled test set, 436-582 images per class)",
    "cls_s2_deepconvnet": "accuracy 0.972 (80/20 split after duplicating minority images)",
    "cls_s4_softattention_irv2_offline": "InceptionResNetV2: accuracy 0.90, AUC 0.99, recall 0.81",
    "cls_s4_softattention_mobilenetv3_large_offline": "MobileNetV3Large: accuracy 0.86",
    "cls_s4_softattention_densenet201_offline": "per-class tables only",
    "cls_s5_hybrid_densenet_offline": "model 1 (DenseNet121): accuracy 0.862",
    "cls_s5_hybrid_resnetv2_attention_offline": "model 2 (ResNet50V2): accuracy 0.813",
}
S4 = "cls_s4_softattention_mobilenetv3_large_offline"
S5 = "cls_s5_hybrid_densenet_offline"
#: The seeds' claims as ablations: name -> (recipe it changes, overrides, the claim). Each is compared with
#: its recipe unchanged, paired on the same test images (bootstrap over lesions).
ABLATIONS = {
    "s4_no_soft_attention": (S4, ["model.kwargs.soft_attention=false"], "S4: soft attention helps"),
    "s4_no_metadata": (S4, ["model.kwargs.use_metadata=false"], "S4: patient metadata helps"),
    "s4_inverse_frequency_weights": (S4, ["imbalance.class_weights=inverse"], "S4: its class weights beat 1/N_c"),
    "s4_no_class_weights": (S4, ["imbalance.class_weights=none"], "S4: its class weights beat none"),
    "s4_focal_loss": (S4, ["loss.name=focal"], "S4: its weighted CE against a focal loss"),
    "s5_no_cnn_path": (S5, ["model.kwargs.cnn_path=none"], "S5: the custom-CNN path helps"),
}
QUICK_IMAGES = 280
QUICK_OVERRIDES = ["data.preprocess.size=[64, 64]", "train.batch_size=8"]
QUICK_FIXED_SIZE = ["model.kwargs.input_size=[64, 64]"]  # models whose flatten layer fixes the input size
FIXED_SIZE_RECIPES = ("cls_s1_cnn", "cls_s2_deepconvnet")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=None, help="training budget per recipe (default 20)")
    parser.add_argument("--recipes", default=None, help="comma-separated recipe names (default: all)")
    parser.add_argument("--data", type=Path, default=None, help="HAM10000-layout folder (default: the shared one)")
    parser.add_argument("--focus-run", type=Path, default=None, help="segmentation run for S1 (default: train one)")
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    parser.add_argument("--ablations", action="store_true", help="the seeds' claims instead: see ABLATIONS")
    parser.add_argument("--quick", action="store_true", help="synthetic data, tiny budget: checks the script runs")
    return parser.parse_args()


def test_predictions(run_dir: Path, table, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(calibrated probabilities, decisions as class indices) that :func:`_common.test_scores`'s evaluation wrote for
    ``run_dir`` on ``test``, in ``test`` order: a paired comparison reads them instead of predicting again."""
    import pandas as pd

    predictions = pd.read_csv(run_dir / "eval-test" / "predictions.csv")
    ids = table.records["image_id"].iloc[test].astype(str).tolist()
    if predictions["image_id"].astype(str).tolist() != ids:
        raise SystemExit(f"{run_dir / 'eval-test'}: its predictions are not of this split's test side")
    classes = list(table.classes)
    return predictions[classes].to_numpy(float), predictions["predicted"].map(classes.index).to_numpy()


def paired_gain(base_run: Path, variant_run: Path, table, test: np.ndarray) -> dict[str, Any]:
    """The variant minus its unchanged recipe on the same test images: BMA and macro AUC with paired
    95 % intervals over lesions (both runs as used: their own calibration and decision rule)."""
    from dermkit.metrics.bootstrap import bootstrap_ci
    from dermkit.metrics.classification import balanced_accuracy, macro_auc

    (pa, da), (pb, db) = (test_predictions(run, table, test) for run in (variant_run, base_run))
    y = table.label_indices()[test]
    groups = table.records["lesion_id"].iloc[test].astype(str).to_numpy()
    n = len(table.classes)
    decisions, proba = np.stack([da, db], 1), np.stack([pa, pb], 1)
    return {
        "bma_gain": balanced_accuracy(y, da, n) - balanced_accuracy(y, db, n),
        "bma_gain_ci": list(
            bootstrap_ci(
                y,
                decisions,
                groups,
                lambda t, d: balanced_accuracy(t, d[:, 0], n) - balanced_accuracy(t, d[:, 1], n),
            )
        ),
        "auc_gain": macro_auc(y, pa) - macro_auc(y, pb),
        "auc_gain_ci": list(bootstrap_ci(y, proba, groups, lambda t, p: macro_auc(t, p[:, 0]) - macro_auc(t, p[:, 1]))),
    }


def ablation_markdown(paired: dict[str, dict[str, Any]]) -> str:
    """The paired table: each ablation against its recipe, and whether the claim survives."""
    if not paired:
        return ""
    rows = []
    for name, g in paired.items():
        recipe, overrides, claim = ABLATIONS[name]
        low, high = g["bma_gain_ci"]
        verdict = "claim holds" if high < 0 else ("claim contradicted" if low > 0 else "no measurable difference")
        rows.append(
            f"| {claim} | `{' '.join(overrides)}` on `{recipe}` | {g['bma_gain']:+.3f} [{low:+.3f}, {high:+.3f}] "
            f"| {g['auc_gain']:+.3f} [{g['auc_gain_ci'][0]:+.3f}, {g['auc_gain_ci'][1]:+.3f}] | {verdict} |"
        )
    head = (
        "\n### The seeds' claims, ablated (variant minus the recipe, paired over test lesions)\n\n"
        "| claim | variant | BMA change [95 % CI] | macro AUC change [95 % CI] | verdict (BMA) |\n"
        "|---|---|---|---|---|\n"
    )
    return head + "\n".join(rows) + "\n"


def shared_split(data: Path, out: Path):
    """The table and one lesion-grouped split for every recipe, written once to ``out/split.csv``."""
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, save_split, side_indices, split_table

    table = load_table(data)
    path = out / "split.csv"
    if not path.exists():
        save_split(split_table(table, val=0.15, test=0.15, seed=0), path)
    return table, path, side_indices(table, load_split(path, table), "test")


def markdown(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    head = (
        "| recipe | model | input | epochs x batches | fit min | test BMA | macro AUC | accuracy | mel AUC "
        "| mel sens @ 90 % spec | paper's claim (own protocol) |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for recipe, r in results.items():
        s = r["scores"]
        rows.append(
            f"| `{recipe}` | {r['model']} | {r['input']} | {r['trained']} | {r['train_seconds'] / 60:.1f} "
            f"| {interval_cells(s, ('bma', 'macro_auc', 'accuracy', 'mel_auc', 'mel_sens90'))} "
            f"| {PAPER_CLAIMS.get(recipe, '-')} |"
        )
    notes = [
        f"- {meta['date']}, {meta['machine']}; budget {meta['minutes']} min of training per recipe (fit min: "
        "the whole `fit`, its final validation and test pass included); "
        f"data {meta['data']}; test side {meta['test_images']} images; S1's focus run {meta['focus_run']}.",
    ]
    external = external_markdown({name: r["external"] for name, r in results.items() if r.get("external")})
    if external:
        external = (
            "\nOther clinics, melanoma vs the rest (the same checkpoints on the shared external sets; "
            "report only, nothing was chosen on them):\n\n" + external
        )
    return (
        "### Seed classifiers at one CPU budget\n\n" + head + "\n".join(rows) + "\n\n" + "\n".join(notes) + "\n"
    ) + external


def main() -> None:
    from dermkit.config import load_config

    args = parse_args()
    minutes = args.minutes if args.minutes is not None else (0.1 if args.quick else 20.0)
    out = args.out or ROOT / "runs" / ("bench-cls-seeds/quick" if args.quick else "bench-cls-seeds")
    out.mkdir(parents=True, exist_ok=True)
    if args.quick:
        data = args.data or balanced_synthetic(out, QUICK_IMAGES)
    else:
        data = args.data or SHARED / "HAM10000"
        if not data.exists():
            raise SystemExit(f"{data} not found: this benchmark needs the shared real data (or --data)")
    recipes = args.recipes.split(",") if args.recipes else list(QUICK_RECIPES if args.quick else RECIPES)
    cases = {r: (r, []) for r in recipes}  # name -> (recipe, overrides)
    if args.ablations:
        cases = {}
        for name, (recipe, overrides, _) in ABLATIONS.items():
            cases.setdefault(recipe, (recipe, []))
            cases[name] = (recipe, overrides)
    table, split_file, test = shared_split(data, out)
    base = [f"data.path={json.dumps(str(data))}", f"data.split.file={json.dumps(str(split_file))}"]
    base += QUICK_OVERRIDES if args.quick else []
    steps = PROBE_STEPS[args.quick]
    focus = args.focus_run
    if any(recipe == "cls_s1_cnn" for recipe, _ in cases.values()) and focus is None:
        focus = out / FOCUS_RECIPE
        if not (focus / "final_metrics.json").exists():
            print(f"training S1's focus segmenter {FOCUS_RECIPE} ({minutes} min) ...", flush=True)
            trained_run(FOCUS_RECIPE, FOCUS_RECIPE, base, out, minutes, steps)
    results: dict[str, dict[str, Any]] = {}
    for name, (recipe, overrides) in cases.items():
        if (saved := saved_result(out / name)) is not None:
            results[name] = saved
            if "external" not in saved:  # a result of the code before the external scores
                saved["external"] = external_melanoma(out / name)
                save_result(out / name, saved)
            continue
        extra = [f"data.focus.run={json.dumps(str(focus))}"] if recipe == "cls_s1_cnn" else []
        extra += QUICK_FIXED_SIZE if args.quick and recipe in FIXED_SIZE_RECIPES else []
        print(f"{name}: probing, then training for {minutes} min ...", flush=True)
        like = results.get(recipe) if name != recipe else None  # an ablation: its recipe's epochs and batches
        done = trained_run(name, recipe, [*base, *extra, *overrides], out, minutes, steps, like)
        cfg = load_config(out / name / "config.yaml")
        final = json.loads((out / name / "final_metrics.json").read_text())
        batches = cfg.train.max_batches_per_epoch or done["speed"]["batches_per_epoch"]
        results[name] = {
            **done,
            "recipe": recipe,
            "overrides": overrides,
            "model": cfg.model.name,
            "input": "x".join(map(str, cfg.data.preprocess.size)),
            "trained": f"{final['epochs_run']} x {batches}",
            "best_epoch": final["best_epoch"],
            "scores": test_scores(out / name, table, test),
            "external": external_melanoma(out / name),
        }
        save_result(out / name, results[name])
        s = results[name]["scores"]
        print(
            f"{name}: test BMA {s['bma']:.3f}, macro AUC {s['macro_auc']:.3f}, mel AUC {s['mel_auc']:.3f}", flush=True
        )
    paired = {
        name: paired_gain(out / ABLATIONS[name][0], out / name, table, test) for name in cases if name in ABLATIONS
    }
    meta = run_meta(
        minutes=minutes,
        data=str(data),
        test_images=len(test),
        focus_run=str(focus) if focus else "-",
        quick=args.quick,
    )
    stem = "cls_ablations" if args.ablations else "cls_seeds"
    payload = {"meta": meta, "results": results, "paired": paired}
    write_report(out, stem, payload, markdown(results, meta) + ablation_markdown(paired))


if __name__ == "__main__":
    main()
