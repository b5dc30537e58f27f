"""Quality benchmark: train a classification recipe on the shared HAM10000 images, lesion-grouped.

Reports the test side's balanced multiclass accuracy, macro AUC, accuracy and per-class table,
with and without test-time augmentation and validation-fitted calibration. Usage::

    python benchmarks/cls_real.py [--recipe configs/cls_default.yaml] [--eval-only] [key=value ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main() -> None:
    from dermkit.config import load_config
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices
    from dermkit.engine.trainer import fit
    from dermkit.evaluation.classification import evaluate_classification
    from dermkit.inference import load_run

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=str(ROOT / "configs" / "cls_default.yaml"))
    parser.add_argument("--out", default=None)
    parser.add_argument("--eval-only", action="store_true")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    if not (SHARED / "HAM10000").exists():
        raise SystemExit(f"{SHARED / 'HAM10000'} not found: this benchmark needs the shared real data")
    cfg = load_config(args.recipe, [f"data.path={SHARED / 'HAM10000'}", *args.overrides])
    run_dir = Path(args.out or ROOT / "runs" / f"bench-{cfg.recipe}")
    t0 = time.perf_counter()
    if not args.eval_only:
        fit(cfg, run_dir)
    minutes = (time.perf_counter() - t0) / 60
    run = load_run(run_dir)
    table = load_table(SHARED / "HAM10000")
    test = side_indices(table, load_split(run_dir / "split.csv", table), "test")
    rows = []
    for tta in (False, True):
        for calibrate in (False, True):
            out = run_dir / f"eval-test-tta{int(tta)}-cal{int(calibrate)}"
            m = evaluate_classification([run], table, out, indices=test, tta=tta, calibrate=calibrate)
            tuned = m.get("with_thresholds", {})
            rows.append(f"| {cfg.recipe} | {tta} | {calibrate} | {m['balanced_accuracy']:.4f} | "
                        f"{tuned.get('balanced_accuracy', float('nan')):.4f} | {m['macro_auc']:.4f} | "
                        f"{m['accuracy']:.4f} | {m['ece']:.4f} | {m['images']} |")
    print(f"training minutes: {minutes:.1f}")
    print("| recipe | TTA | temperature | test BMA | test BMA, val thresholds | macro AUC | accuracy | ECE | images |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    (run_dir / "benchmark_rows.md").write_text("\n".join(rows) + f"\ntraining minutes: {minutes:.1f}\n")
    print((run_dir / "eval-test-tta1-cal1" / "per_class.csv").read_text())
    print(json.dumps(json.loads((run_dir / "eval-test-tta1-cal1" / "metrics.json").read_text())["ci95"]))


if __name__ == "__main__":
    main()
