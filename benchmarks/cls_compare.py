"""Two classification runs on the same lesion-grouped test images: BMA and macro AUC of each and
the paired bootstrap interval of the difference (resampling lesions). Usage::

    python benchmarks/cls_compare.py RUN_A RUN_B [--data ../shared/data/HAM10000] [--no-calibrate-a] [--no-calibrate-b]

Each run is scored as it would be used: TTA (4 flips; 8 dihedral views on square inputs), and (unless switched off) its validation-fitted
calibration and per-class thresholds. Both runs must share the split (same ``split.csv``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from _common import SHARED


def decisions(run, table, test, calibrate: bool) -> tuple[np.ndarray, np.ndarray]:
    """(calibrated or raw probabilities, threshold or argmax decisions) of ``run`` on ``test``."""
    from dermkit.evaluation.classification import ensemble_proba
    from dermkit.inference import calibration_of
    from dermkit.metrics.classification import predict_with_thresholds

    proba = ensemble_proba([run], table, test, tta=True, calibrate=calibrate)
    return proba, predict_with_thresholds(proba, calibration_of(run).get("thresholds") if calibrate else None)


def main() -> None:
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices
    from dermkit.inference import load_run
    from dermkit.metrics.classification import balanced_accuracy, bootstrap_ci, macro_auc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--data", type=Path, default=SHARED / "HAM10000")
    parser.add_argument("--no-calibrate-a", action="store_true")
    parser.add_argument("--no-calibrate-b", action="store_true")
    args = parser.parse_args()
    table = load_table(args.data)
    split_a, split_b = (load_split(r / "split.csv", table) for r in (args.run_a, args.run_b))
    if not split_a.equals(split_b):
        raise SystemExit(f"{args.run_a} and {args.run_b} were trained on different splits: not comparable")
    runs = [load_run(r) for r in (args.run_a, args.run_b)]
    for run in runs:
        if run.classes != list(table.classes):
            raise SystemExit(f"{run.run_dir} has classes {run.classes}; {args.data} has {list(table.classes)}")
    test = side_indices(table, split_a, "test")
    y = table.label_indices()[test]
    groups = table.records["lesion_id"].iloc[test].astype(str).to_numpy()
    (pa, da), (pb, db) = (decisions(run, table, test, not off)
                          for run, off in zip(runs, (args.no_calibrate_a, args.no_calibrate_b)))
    n = pa.shape[1]
    bma_gain = bootstrap_ci(y, np.stack([da, db], 1), groups,
                            lambda t, d: balanced_accuracy(t, d[:, 0], n) - balanced_accuracy(t, d[:, 1], n))
    auc_gain = bootstrap_ci(y, np.stack([pa, pb], 1), groups,
                            lambda t, p: macro_auc(t, p[:, 0]) - macro_auc(t, p[:, 1]))
    print(f"test images {len(test)}, lesions {len(set(groups))}")
    print("| run | test BMA | macro AUC |\n|---|---|---|")
    for name, d, p in ((args.run_a, da, pa), (args.run_b, db, pb)):
        print(f"| {name} | {balanced_accuracy(y, d, n):.4f} | {macro_auc(y, p):.4f} |")
    print(f"| A - B (95% paired bootstrap over lesions) | {balanced_accuracy(y, da, n) - balanced_accuracy(y, db, n):+.4f} "
          f"[{bma_gain[0]:+.3f}, {bma_gain[1]:+.3f}] | {macro_auc(y, pa) - macro_auc(y, pb):+.4f} "
          f"[{auc_gain[0]:+.3f}, {auc_gain[1]:+.3f}] |")


if __name__ == "__main__":
    main()
