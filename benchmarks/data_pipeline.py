"""Data pipeline: decode + augment images/s with and without the preprocessing cache, against the model.

What: the training Dataset the task builds for ``cls_default`` and ``seg_default`` (decode, preprocess,
the recipe's augmentation, normalise) read through a DataLoader over one epoch's batches with 0, 1 and 2
workers, with the cache off, cold (first epoch, writing PNGs) and warm (read back), against the recipe's
model training images/s on batches already in memory: does the model starve? :mod:`dermkit.bench.pipeline`
says exactly what is timed.

How: 1,024 images per pass (at most the data set's), 10 timed model steps after a warm-up step. Data: the
shared HAM10000 (200x150 JPEGs: decoding is cheap, the cache saves little) and HAM10000_fullres (600x450,
225 images: decoding and resizing cost more) beside the checkout, one table each; else 1,024 synthetic
150x200 images.

Usage::

    python benchmarks/data_pipeline.py                       # full size, as above
    python benchmarks/data_pipeline.py --quick               # the `dermkit bench` size (under a minute)
    python benchmarks/data_pipeline.py --data DIR --recipe cls_default --workers 0 2 --threads 2

Prints the markdown tables and writes ``runs/bench-pipeline/pipeline.json`` (machine, versions, date, rows).
Expected time on the 2-core reference machine, with nothing else running: about 6 minutes (3 per data set).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dermkit.bench import BenchOptions
from dermkit.bench._common import results_payload
from dermkit.bench.pipeline import data_pipeline
from dermkit.files import write_json

from _common import ROOT, SHARED


def data_sets(given: Path | None, quick: bool) -> list[Path | None]:
    """The data sets to measure: the one given, else the shared HAM10000 sets present (none: synthetic)."""
    if given is not None:
        return [given]
    if quick:
        return [None]
    shared = [SHARED / name for name in ("HAM10000", "HAM10000_fullres") if (SHARED / name).is_dir()]
    return shared or [None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small size `dermkit bench` runs")
    parser.add_argument("--data", type=Path, default=None, help="data set folder (default: the shared HAM10000s)")
    parser.add_argument("--recipe", action="append", default=None, help="recipe (repeat; default both defaults)")
    parser.add_argument("--images", type=int, default=None, help="images per pass (default 1024; quick 128)")
    parser.add_argument("--workers", type=int, nargs="+", default=None, help="DataLoader workers (default 0 1 2)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-pipeline" / "pipeline.json")
    args = parser.parse_args()
    tables = {}
    for data in data_sets(args.data, args.quick):
        extra: dict = {}
        given = {"data": data, "recipes": args.recipe, "images": args.images, "workers": args.workers}
        for key, value in given.items():
            if value is not None:
                extra[key] = str(value) if isinstance(value, Path) else value
        opts = BenchOptions(quick=args.quick, threads=args.threads, progress=True, extra=extra)
        start = time.perf_counter()
        table = data_pipeline(opts)
        print(table.markdown())
        tables[f"pipeline {data.name if data else 'synthetic'}"] = (opts, table, time.perf_counter() - start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, results_payload(tables))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
