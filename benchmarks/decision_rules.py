"""Which decision rule turns calibrated probabilities into the best balanced accuracy? Measured on a
run's validation side only (never test): the validation lesions are halved at random many times;
the calibration is fitted on one half and three rules are scored on the other:

* ``argmax`` of the calibrated probabilities (follows the data's class priors);
* ``thresholds``: per-class divisors fitted for BMA on the fitting half (coordinate ascent);
* ``prior``: divide by the model's mean calibrated probability on the fitting half, i.e.
  ``argmax p(y|x) / pi(y)``, the Bayes decision for balanced accuracy (nothing else fitted).

Usage::

    python benchmarks/decision_rules.py RUN [--data ../shared/data/HAM10000] [--repeats 50] [--metadata-prior]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from _common import SHARED


def main() -> None:
    from dermkit.calibration import MIN_IMAGES_FOR_BIAS, decision_divisors, fit_run_calibration
    from dermkit.data.metadata import metadata_matrix
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices
    from dermkit.evaluation.classification import predict_logits
    from dermkit.inference import load_run
    from dermkit.metrics.classification import balanced_accuracy
    from dermkit.metrics.decision import predict_with_thresholds

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", type=Path, default=SHARED / "HAM10000")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument(
        "--metadata-prior",
        action="store_true",
        help="fuse the metadata expert even if the run was trained before inference.metadata_prior",
    )
    parser.add_argument(
        "--min-images-for-bias",
        type=int,
        default=None,
        help="a half has half the validation images: lower the bias's minimum to mimic the full side",
    )
    args = parser.parse_args()
    min_images = MIN_IMAGES_FOR_BIAS if args.min_images_for_bias is None else args.min_images_for_bias
    run = load_run(args.run)
    if args.metadata_prior:
        run.cfg = run.cfg.model_copy(
            update={"inference": run.cfg.inference.model_copy(update={"metadata_prior": True})}
        )
    table = load_table(args.data)
    split = load_split(args.run / "split.csv", table)
    val, train = side_indices(table, split, "val"), side_indices(table, split, "train")
    logits = predict_logits(run, table, val, tta=False)  # as measured in RESULTS.md
    y = table.label_indices()[val]
    meta = metadata_matrix(table, val)
    lesions = table.records["lesion_id"].iloc[val].astype(str).to_numpy()
    ids = np.unique(lesions)
    n = len(run.classes)
    rng = np.random.default_rng(0)
    scores: dict[str, list[float]] = {"argmax": [], "thresholds": [], "prior": []}
    for _ in range(args.repeats):
        fit_half = np.isin(lesions, rng.choice(ids, len(ids) // 2, replace=False))
        a, b = np.flatnonzero(fit_half), np.flatnonzero(~fit_half)
        cal = fit_run_calibration(
            run.cfg, table, train, val[a], logits[a], run.classes, tta=False, min_images_for_bias=min_images
        )
        pa, pb = cal.proba(logits[a], meta[a]), cal.proba(logits[b], meta[b])
        for rule in scores:
            scores[rule].append(
                balanced_accuracy(y[b], predict_with_thresholds(pb, decision_divisors(rule, y[a], pa)), n)
            )
    print(f"{args.run}: validation halves, {args.repeats} repeats, {len(val)} images")
    print("| rule | BMA on the held-out half (mean) | std | wins vs thresholds |\n|---|---|---|---|")
    for rule, values in scores.items():
        wins = np.mean(np.array(values) > np.array(scores["thresholds"]))
        print(f"| {rule} | {np.mean(values):.4f} | {np.std(values):.4f} | {wins:.2f} |")


if __name__ == "__main__":
    main()
