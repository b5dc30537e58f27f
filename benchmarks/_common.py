"""What the real-data quality benchmarks share: the command line, the shared data and the run."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@dataclass
class BenchmarkRun:
    """A recipe trained (or reused with ``--eval-only``) on the shared HAM10000 images."""

    cfg: object  # dermkit.config.RunConfig
    run_dir: Path
    train_minutes: float
    eval_only: bool


def train_on_ham10000(doc: str, default_recipe: str) -> BenchmarkRun:
    """Parse ``[--recipe R] [--out DIR] [--eval-only] [key=value ...]``, then train R on HAM10000.

    Exits with a clear message when the shared data is not beside the checkout.
    """
    from dermkit.config import load_config
    from dermkit.engine.trainer import fit

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--recipe", default=default_recipe, help="recipe name or YAML file")
    parser.add_argument("--out", default=None, help="run folder (default runs/bench-<recipe>[-fold<k>])")
    parser.add_argument("--eval-only", action="store_true", help="evaluate an existing run folder")
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. train.epochs=4")
    args = parser.parse_args()
    if not (SHARED / "HAM10000").exists():
        raise SystemExit(f"{SHARED / 'HAM10000'} not found: this benchmark needs the shared real data")
    cfg = load_config(args.recipe, [f"data.path={SHARED / 'HAM10000'}", *args.overrides])
    fold = f"-fold{cfg.data.split.test_fold}" if cfg.data.split.test_fold else ""
    run_dir = Path(args.out or ROOT / "runs" / f"bench-{cfg.recipe}{fold}")
    t0 = time.perf_counter()
    if not args.eval_only:
        fit(cfg, run_dir)
    return BenchmarkRun(cfg, run_dir, (time.perf_counter() - t0) / 60, args.eval_only)
