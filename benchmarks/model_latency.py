"""Inference cost of every model at its recipe size: parameters, MACs, latency per image, bf16, peak memory.

Every shipped recipe's model at its ``data.preprocess.size`` (S4's and S5's beside the figures their
papers report), then every registered model no recipe uses at its registry input size; random weights,
eval mode, channels-last, a fixed number of threads (``dermkit.bench.latency`` says how each figure is
measured). Prints the markdown table and writes it with the raw rows to ``--out``::

    python benchmarks/model_latency.py                 # full: batch 1 and 32, bf16, memory
    python benchmarks/model_latency.py --quick         # batch 1, 5 passes, every model
    python benchmarks/model_latency.py --models seg_default cls_s5_hybrid_densenet --batch 16

The full table (27 models) takes about 15 minutes with the default 2 threads and 20 with one (estimated
from the quick figures: the batch-32 passes of S1's Attention U-Net, S4's IRv2 and S5's rows dominate,
and each memory probe starts a fresh interpreter, ~7 s); ``--quick`` about 3 minutes. Run it alone:
other processes on the cores change every latency.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import ROOT


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what :mod:`platform` says."""
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch 1 only, 5 timed passes per model")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2: this machine's cores)")
    parser.add_argument("--batch", type=int, default=None, help="the large batch (default 32; quick: none)")
    parser.add_argument("--repeats", type=int, default=None, help="timed passes at batch 1 (default 20; quick 5)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory probes")
    parser.add_argument("--models", nargs="*", default=None, help="only these rows (recipe or model names)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-latency-models")
    args = parser.parse_args()
    if args.threads < 1:
        parser.error(f"--threads must be >= 1; got {args.threads}")
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch is imported, for the probes too
    import torch

    from dermkit.bench import BENCHMARKS, BenchOptions
    from dermkit.bench.latency import settings_from  # registers "models"
    from dermkit.errors import DermkitError

    extra: dict = {"memory": not args.no_memory}
    if args.batch is not None:
        extra["batch"] = args.batch
    if args.repeats is not None:
        extra["repeats"] = args.repeats
    if args.models:
        extra["models"] = args.models
    options = BenchOptions(quick=args.quick, threads=args.threads, progress=True, extra=extra)
    start = time.perf_counter()
    try:
        settings = settings_from(options)
        table = BENCHMARKS.get("models")(options)
    except DermkitError as err:
        raise SystemExit(f"error: {err}") from None
    seconds = time.perf_counter() - start
    markdown = table.markdown()
    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "title": table.title,
        "rows": table.rows,
        "notes": table.notes,
        "settings": {**settings.__dict__, "quick": args.quick, "threads": args.threads},
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version()},
        "torch": torch.__version__,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
    }
    name = "models-quick" if args.quick else "models"
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2))
    (args.out / f"{name}.md").write_text(markdown)
    print(markdown)
    print(f"{len(table.rows)} models in {seconds / 60:.1f} min; written to {args.out}")


if __name__ == "__main__":
    main()
