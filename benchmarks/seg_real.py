"""Quality benchmark: train a segmentation recipe on the shared HAM10000 masks, evaluate on PH2.

PH2 is an external data set (another clinic, another dermatoscope), so its scores measure how a
segmenter generalises, not how well it memorised. Usage::

    python benchmarks/seg_real.py --recipe seg_default [key=value ...]

Writes the run into runs/bench-<recipe>/ and prints one Markdown table row for RESULTS.md.
"""

from __future__ import annotations

import json

from _common import SHARED, train_on_ham10000


def main() -> None:
    from dermkit.data.readers import load_table
    from dermkit.evaluation.segmentation import evaluate_segmentation
    from dermkit.inference import load_run

    bench = train_on_ham10000(__doc__, "seg_default")
    cfg, run_dir = bench.cfg, bench.run_dir
    run = load_run(run_dir)
    ph2 = evaluate_segmentation(run, load_table(SHARED / "PH2Dataset"), run_dir / "eval-PH2")
    ham_test = json.loads((run_dir / "final_metrics.json").read_text())["test"]
    row = (
        f"| {cfg.recipe} | {cfg.model.name} | {bench.train_minutes:.1f} | {ham_test['dice']:.4f} | "
        f"{ph2['jaccard']:.4f} | {ph2['threshold_jaccard']:.4f} | {ph2['dice']:.4f} |"
    )
    print("| recipe | model | train min | HAM test Dice (model res.) | PH2 Jaccard | PH2 thr. Jaccard | PH2 Dice |")
    print("|---|---|---|---|---|---|---|")
    print(row)
    (run_dir / "benchmark_row.md").write_text(row + "\n")


if __name__ == "__main__":
    main()
