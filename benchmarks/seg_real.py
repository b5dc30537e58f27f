"""Quality benchmark: train a segmentation recipe on the shared HAM10000 masks, evaluate on PH2.

PH2 is an external data set (another clinic, another dermatoscope), so its scores measure how a
segmenter generalises, not how well it memorised. Usage::

    python benchmarks/seg_real.py --recipe configs/seg_default.yaml [--minutes 30] [key=value ...]

Writes the run into runs/bench-<recipe>/ and prints one Markdown table row for RESULTS.md.
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
    from dermkit.engine.trainer import fit
    from dermkit.evaluation.segmentation import evaluate_segmentation
    from dermkit.inference import load_run

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=str(ROOT / "configs" / "seg_default.yaml"))
    parser.add_argument("--out", default=None)
    parser.add_argument("--eval-only", action="store_true", help="evaluate an existing run folder")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    if not (SHARED / "HAM10000").exists():
        raise SystemExit(f"{SHARED / 'HAM10000'} not found: this benchmark needs the shared real data")
    cfg = load_config(args.recipe, [f"data.path={SHARED / 'HAM10000'}", *args.overrides])
    run_dir = Path(args.out or ROOT / "runs" / f"bench-{cfg.recipe}")
    t0 = time.perf_counter()
    if not args.eval_only:
        fit(cfg, run_dir)
    train_min = (time.perf_counter() - t0) / 60
    run = load_run(run_dir)
    ph2 = evaluate_segmentation(run, load_table(SHARED / "PH2Dataset"), run_dir / "eval-PH2")
    ham_test = json.loads((run_dir / "final_metrics.json").read_text())["test"]
    row = (f"| {cfg.recipe} | {cfg.model.name} | {train_min:.1f} | {ham_test['dice']:.4f} | "
           f"{ph2['jaccard']:.4f} | {ph2['threshold_jaccard']:.4f} | {ph2['dice']:.4f} |")
    print("| recipe | model | train min | HAM test Dice (model res.) | PH2 Jaccard | PH2 thr. Jaccard | PH2 Dice |")
    print("|---|---|---|---|---|---|---|")
    print(row)
    (run_dir / "benchmark_row.md").write_text(row + "\n")


if __name__ == "__main__":
    main()
