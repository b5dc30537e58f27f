"""Quality benchmark: train a classification recipe on the shared HAM10000 images, lesion-grouped.

Reports the test side's balanced multiclass accuracy, macro AUC, accuracy and per-class table,
with and without test-time augmentation and validation-fitted calibration (refitted on the
validation side for each TTA setting; RUN/calibration.json ends fitted as the recipe uses it). Usage::

    python benchmarks/cls_real.py [--recipe cls_default] [--eval-only] [key=value ...]
"""

from __future__ import annotations

import json

from _common import SHARED, train_on_ham10000


def main() -> None:
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices
    from dermkit.evaluation.classification import evaluate_classification, refit_calibration
    from dermkit.inference import load_run

    bench = train_on_ham10000(__doc__, "cls_default")
    cfg, run_dir = bench.cfg, bench.run_dir
    run = load_run(run_dir)
    table = load_table(SHARED / "HAM10000")
    split = load_split(run_dir / "split.csv", table)
    test = side_indices(table, split, "test")
    if bench.eval_only:  # a run trained before an inference change: the recipe's settings
        run.cfg = run.cfg.model_copy(update={"inference": cfg.inference})
    val, train = side_indices(table, split, "val"), side_indices(table, split, "train")
    rows = []
    # Each setting's calibration is refitted on validation logits made the same way; the recipe's
    # own setting goes last, so RUN/calibration.json ends as the recipe uses it.
    for tta in sorted((False, True), key=lambda t: t == cfg.inference.tta):
        refit_calibration(run, table, val, train, tta=tta)
        for calibrate in (False, True):
            out = run_dir / f"eval-test-tta{int(tta)}-cal{int(calibrate)}"
            m = evaluate_classification([run], table, out, indices=test, tta=tta, calibrate=calibrate)
            rows.append(
                f"| {cfg.recipe} | {tta} | {calibrate} | {m['decision']} | {m['balanced_accuracy']:.4f} | "
                f"{m['argmax']['balanced_accuracy']:.4f} | {m['macro_auc']:.4f} | "
                f"{m['accuracy']:.4f} | {m['ece']:.4f} | {m['images']} |"
            )
    print(f"training minutes: {bench.train_minutes:.1f}")
    print(
        "| recipe | TTA | calibrated | decisions | test BMA | test BMA, argmax | macro AUC | accuracy | ECE | images |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    (run_dir / "benchmark_rows.md").write_text("\n".join(rows) + f"\ntraining minutes: {bench.train_minutes:.1f}\n")
    print((run_dir / "eval-test-tta1-cal1" / "per_class.csv").read_text())
    print(json.dumps(json.loads((run_dir / "eval-test-tta1-cal1" / "metrics.json").read_text())["ci95"]))


if __name__ == "__main__":
    main()
