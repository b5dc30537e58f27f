"""Two classification recipes on the same lesion-grouped test images: BMA and macro AUC of each and
the paired bootstrap interval of the difference (resampling lesions). Usage::

    python benchmarks/cls_compare.py RUN_A RUN_B [A2 B2 ...] [--data ../shared/data/HAM10000] \
        [--no-calibrate-a] [--no-calibrate-b]

Several pairs (one per disjoint test side, ``data.split.test_fold``) are also pooled: every test
image scored by the pair trained without it, one interval over all their lesions.

Each run is scored as it would be used: its recipe's TTA setting, and (unless switched off) its
validation-fitted calibration and decision rule. Both runs of a pair must share the split (same ``split.csv``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from _common import SHARED


def decisions(run, table, test, calibrate: bool) -> tuple[np.ndarray, np.ndarray]:
    """(calibrated or raw probabilities, threshold or argmax decisions) of ``run`` on ``test``."""
    from dermkit.calibration import IDENTITY
    from dermkit.evaluation.classification import ensemble_proba

    proba = ensemble_proba([run], table, test, tta=None, calibrate=calibrate)
    return proba, (run.calibration() if calibrate else IDENTITY).decide(proba)


def test_sides(pairs: list[tuple[Path, Path]], table) -> list[np.ndarray]:
    """The test rows of each pair; checks that a pair shares its split and that pairs share no lesion."""
    from dermkit.data.splits import load_split, side_indices

    sides, seen = [], set()
    for run_a, run_b in pairs:
        split_a, split_b = (load_split(r / "split.csv", table) for r in (run_a, run_b))
        if not split_a.equals(split_b):
            raise SystemExit(f"{run_a} and {run_b} were trained on different splits: not comparable")
        test = side_indices(table, split_a, "test")
        lesions = set(table.records["lesion_id"].iloc[test].astype(str))
        if seen & lesions:
            raise SystemExit(
                f"{run_a} tests lesions another pair tests: pool only disjoint test sides (data.split.test_fold)"
            )
        seen |= lesions
        sides.append(test)
    return sides


def score_pair(run_a: Path, run_b: Path, table, test: np.ndarray, calibrate: tuple[bool, bool]):
    """Labels, lesions, and both runs' (probabilities, decisions) on their shared test rows."""
    from dermkit.inference import load_run

    runs = [load_run(r) for r in (run_a, run_b)]
    for run in runs:
        if run.classes != list(table.classes):
            raise SystemExit(f"{run.run_dir} has classes {run.classes}; the data has {list(table.classes)}")
    y = table.label_indices()[test]
    groups = table.records["lesion_id"].iloc[test].astype(str).to_numpy()
    return y, groups, [decisions(run, table, test, cal) for run, cal in zip(runs, calibrate, strict=True)]


def pool(scored: list) -> tuple:
    """One (labels, lesions, [(proba, decisions) of A, of B]) over several pairs' test sides."""
    y = np.concatenate([s[0] for s in scored])
    groups = np.concatenate([s[1] for s in scored])
    runs = [tuple(np.concatenate([s[2][k][i] for s in scored]) for i in range(2)) for k in range(2)]
    return y, groups, runs


def main() -> None:
    from dermkit.data.readers import load_table
    from dermkit.metrics.bootstrap import bootstrap_ci
    from dermkit.metrics.classification import balanced_accuracy, macro_auc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="RUN_A RUN_B, or pairs A1 B1 A2 B2 ... (one pair per split)")
    parser.add_argument("--data", type=Path, default=SHARED / "HAM10000")
    parser.add_argument("--no-calibrate-a", action="store_true")
    parser.add_argument("--no-calibrate-b", action="store_true")
    args = parser.parse_args()
    if len(args.runs) % 2:
        raise SystemExit(f"give runs in pairs (A B per split); got {len(args.runs)} runs")
    table = load_table(args.data)
    calibrate = (not args.no_calibrate_a, not args.no_calibrate_b)
    names = list(zip(args.runs[::2], args.runs[1::2], strict=True))
    pairs = [
        score_pair(a, b, table, test, calibrate) for (a, b), test in zip(names, test_sides(names, table), strict=True)
    ]
    n = len(table.classes)
    print("| runs | test images | lesions | BMA A | BMA B | A - B BMA [95% CI] | AUC A | AUC B | A - B AUC [95% CI] |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = [(f"{a} vs {b}", p) for (a, b), p in zip(names, pairs, strict=True)]
    if len(pairs) > 1:  # every test image scored by the models that never saw it: one pooled estimate
        rows.append((f"pooled over {len(pairs)} disjoint test sides", pool(pairs)))
    gains = []
    for name, (y, groups, ((pa, da), (pb, db))) in rows:
        bma_gain = bootstrap_ci(
            y,
            np.stack([da, db], 1),
            groups,
            lambda t, d: balanced_accuracy(t, d[:, 0], n) - balanced_accuracy(t, d[:, 1], n),
        )
        auc_gain = bootstrap_ci(
            y, np.stack([pa, pb], 1), groups, lambda t, p: macro_auc(t, p[:, 0]) - macro_auc(t, p[:, 1])
        )
        bma = balanced_accuracy(y, da, n), balanced_accuracy(y, db, n)
        auc = macro_auc(y, pa), macro_auc(y, pb)
        gains.append((bma[0] - bma[1], auc[0] - auc[1]))
        print(
            f"| {name} | {len(y)} | {len(set(groups))} | {bma[0]:.4f} | {bma[1]:.4f} | {bma[0] - bma[1]:+.4f} "
            f"[{bma_gain[0]:+.3f}, {bma_gain[1]:+.3f}] | {auc[0]:.4f} | {auc[1]:.4f} | {auc[0] - auc[1]:+.4f} "
            f"[{auc_gain[0]:+.3f}, {auc_gain[1]:+.3f}] |"
        )
    if len(pairs) > 1:
        per_pair = np.array(gains[:-1])
        print(
            f"mean of the per-pair differences: BMA {per_pair[:, 0].mean():+.4f}, "
            f"macro AUC {per_pair[:, 1].mean():+.4f}"
        )


if __name__ == "__main__":
    main()
