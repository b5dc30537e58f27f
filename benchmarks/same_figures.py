"""Does a change leave dermkit's figures alone? Train and score small real-data runs, compare two versions.

The same short recipes (seg_default and cls_default, 2 epochs of 25 batches each, on the shared
HAM10000 images; no preprocessing cache) are trained and evaluated (segmenter on the 20 PH2 cases at
full resolution, classifier on its lesion-grouped test side with TTA, calibration and the decision
rule) by each version of the code; on the CPU with the same seed and threads the figures must
be identical to the last digit. Usage::

    # this checkout
    python benchmarks/same_figures.py --out runs/same-figures-new
    # another version, e.g. an older commit checked out with `git worktree add /tmp/old <commit>`
    PYTHONPATH=/tmp/old/src python benchmarks/same_figures.py --out runs/same-figures-old --recipes /tmp/old/configs
    python benchmarks/same_figures.py --compare runs/same-figures-old runs/same-figures-new

Run it alone (two cores: another job beside it only makes it slower; the figures do not change).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _common import SHARED

OVERRIDES = ["data.cache_dir=null", "train.epochs=2", "train.max_batches_per_epoch=25", "data.num_workers=2"]
DROP = ("data", "run", "runs")  # paths, which differ between output folders


def run(out: Path, recipes: str | None) -> dict:
    """Train and score both recipes with the dermkit on the import path; returns (and writes) the figures."""
    import torch

    torch.set_num_threads(2)
    import dermkit
    from dermkit.config import load_config
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices
    from dermkit.engine.trainer import fit
    from dermkit.evaluation.classification import evaluate_classification
    from dermkit.evaluation.segmentation import evaluate_segmentation
    from dermkit.inference import load_run

    print(f"dermkit {dermkit.__version__} from {Path(dermkit.__file__).parent}", flush=True)
    ham = SHARED / "HAM10000"
    common = [f"data.path={ham}", *OVERRIDES]

    def recipe(name: str) -> str:
        return f"{recipes}/{name}.yaml" if recipes else name

    t0 = time.perf_counter()
    figures: dict = {}
    seg = fit(load_config(recipe("seg_default"), common), out / "seg", progress=False)
    figures["seg_final"] = {k: seg[k] for k in ("best_epoch", "best_value", "val", "test")}
    figures["seg_ph2"] = evaluate_segmentation(
        load_run(out / "seg"), load_table(SHARED / "PH2Dataset"), out / "seg-eval-ph2", progress=False
    )
    cls = fit(load_config(recipe("cls_default"), common), out / "cls", progress=False)
    figures["cls_final"] = {k: cls[k] for k in ("best_epoch", "best_value", "val", "test", "calibration")}
    table = load_table(ham)
    test = side_indices(table, load_split(out / "cls" / "split.csv", table), "test")
    figures["cls_eval"] = evaluate_classification(
        [load_run(out / "cls")], table, out / "cls-eval", indices=test, n_boot=200, progress=False
    )
    for key in ("seg_ph2", "cls_eval"):
        for drop in DROP:
            figures[key].pop(drop, None)
    figures["minutes"] = round((time.perf_counter() - t0) / 60, 1)
    (out / "figures.json").write_text(json.dumps(figures, indent=1, sort_keys=True, default=list) + "\n")
    return figures


def flatten(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def compare(a: Path, b: Path) -> int:
    """Print every figure that differs between two output folders; exit 1 when any does."""
    fa = flatten(json.loads((a / "figures.json").read_text()))
    fb = flatten(json.loads((b / "figures.json").read_text()))
    fa.pop("minutes", None), fb.pop("minutes", None)
    differ = [k for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]
    print(f"{len(fa)} figures, {len(differ)} differ")
    for key in differ:
        print(f"  {key}: {fa.get(key)} vs {fb.get(key)}")
    for key in ("seg_ph2.jaccard", "seg_ph2.dice", "cls_eval.balanced_accuracy", "cls_eval.macro_auc", "cls_eval.ece"):
        print(f"  {key} = {fa.get(key)}")
    return 1 if differ else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="output folder of this version's runs")
    parser.add_argument(
        "--recipes", default=None, help="folder of the recipe YAMLs (for versions before recipes shipped)"
    )
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two output folders")
    args = parser.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    if not (SHARED / "HAM10000").exists():
        raise SystemExit(f"{SHARED / 'HAM10000'} not found: this benchmark needs the shared real data")
    if args.out is None:
        parser.error("--out is required (or --compare A B)")
    print(json.dumps(run(args.out, args.recipes), indent=1, sort_keys=True, default=list)[:2000])


if __name__ == "__main__":
    main()
