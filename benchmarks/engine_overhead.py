"""Engine overhead: training images/s of dermkit's Trainer against a minimal hand-written PyTorch loop.

What: the default classifier (``cls_default``: EfficientNet-Lite0 + metadata, 150x200, batch 32) and
segmenter (``seg_default``: U-Net on EfficientNet-Lite0, 128x160, batch 16), each trained by dermkit's
Trainer and by a bare loop (DataLoader, forward, loss, backward, optimiser step) from the same initial
weights, on the same training Dataset object, the same batches, optimiser, precision and threads, in one
process. The bare loop runs in the Trainer's memory format (channels-last: the ratio is the engine's own
cost, aim >= 0.95) and in plain contiguous format (what channels-last buys). :mod:`dermkit.bench.engine`
says exactly what is timed.

How: one warm-up epoch, then 4 measured epochs of 15 batches (recipe batch size and workers), the variants
in turns rotated each epoch; images/s is each variant's median epoch, the ratio the median per-epoch ratio
(wall clock, and from CPU time). Data: the shared HAM10000 (200x150) beside the checkout, else 600
synthetic images.

Usage::

    python benchmarks/engine_overhead.py                     # full size, as above
    python benchmarks/engine_overhead.py --quick             # the `dermkit bench` size (under a minute)
    python benchmarks/engine_overhead.py --recipe cls_default --batches 30 --threads 2 train.precision=bf16

Prints the markdown table and writes ``runs/bench-engine/engine.json`` (machine, versions, date, rows).
Expected time on the 2-core reference machine, with nothing else running: about 12 minutes (cls_default
~7, seg_default ~5).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dermkit.bench import BenchOptions
from dermkit.bench._common import results_payload
from dermkit.bench.engine import engine_overhead
from dermkit.files import write_json

from _common import ROOT, SHARED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small size `dermkit bench` runs")
    parser.add_argument("--data", type=Path, default=None, help="data set folder (default: shared HAM10000)")
    parser.add_argument("--recipe", action="append", default=None, help="recipe (repeat; default both defaults)")
    parser.add_argument("--batches", type=int, default=None, help="batches per epoch (default 15; quick 3)")
    parser.add_argument("--epochs", type=int, default=None, help="measured epochs after the warm-up (4; quick 6)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-engine" / "engine.json")
    parser.add_argument("overrides", nargs="*", help="recipe overrides for every recipe, e.g. train.precision=bf16")
    args = parser.parse_args()
    extra: dict = {"overrides": args.overrides}
    data = args.data or (SHARED / "HAM10000" if (SHARED / "HAM10000").is_dir() and not args.quick else None)
    for key, value in (("data", data), ("recipes", args.recipe), ("batches", args.batches), ("epochs", args.epochs)):
        if value is not None:
            extra[key] = str(value) if isinstance(value, Path) else value
    opts = BenchOptions(quick=args.quick, threads=args.threads, progress=True, extra=extra)
    start = time.perf_counter()
    table = engine_overhead(opts)
    print(table.markdown())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, results_payload({"engine": (opts, table, time.perf_counter() - start)}))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
