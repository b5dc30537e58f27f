"""Latency benchmark: end-to-end ``predict`` per image on this CPU, PyTorch eager vs ONNX Runtime.

One image's path: decode -> segment -> classify -> explain -> measure -> quality checks, through
the same objects ``dermkit predict`` uses (:class:`dermkit.pipeline.Analyzer`,
:class:`dermkit.package.PackageAnalyzer`). Measured in one process, after three warm-up images, as
the median and 90th percentile over the images, for: no TTA and no heat map (the core path), the
default heat map (Grad-CAM on PyTorch, an occlusion map or the model's attention on ONNX
Runtime), and the recipes' TTA. Then a folder's throughput with ``analyze_batch`` (JSON, overlay
and report written per image), and the peak resident memory of a process that runs only one back
end (each in a fresh interpreter; the ONNX one cannot import torch). Usage::

    python benchmarks/predict_latency.py --seg RUN --cls RUN [--images DIR] [--n 20]
    python benchmarks/predict_latency.py            # trains the default pair briefly on HAM10000 first

The brief default pair: ``seg_default`` and ``cls_default`` at their recipe sizes, one epoch of 60
batches each on the shared HAM10000 (weights do not change latency; architecture and size do).
Images: the shared full-resolution HAM10000 samples (600 x 450), else the shared 200 x 150 ones.
Both back ends use the same number of threads (``--threads``, default 2: this machine's cores).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, SHARED

BRIEF = ["train.epochs=1", "train.max_batches_per_epoch=60", "data.num_workers=0"]

#: Run in a fresh interpreter: one back end over the images, then print the peak resident memory.
MEMORY_PROBE = """
import sys
BLOCKED = {"torch", "torchvision", "timm", "segmentation_models_pytorch", "pytorch_grad_cam"}
class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(name)
backend, seg, cls, package, *images = sys.argv[1:]
if backend == "onnx":
    sys.meta_path.insert(0, NotInstalled())
    from dermkit.package import PackageAnalyzer
    analyzer = PackageAnalyzer(package)
else:
    from dermkit.pipeline import Analyzer
    analyzer = Analyzer(seg, cls, device="cpu")
from dermkit.imageio import read_image
for path in images:
    analyzer.analyze(read_image(path), image_id="x")
# VmHWM: this process's own peak (ru_maxrss would carry the parent's peak across exec)
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(int(hwm.split()[1]) / 1024)
"""


def default_pair(out: Path) -> tuple[Path, Path]:
    """seg_default and cls_default, briefly trained on the shared HAM10000 (reused when present)."""
    from dermkit.config import load_config
    from dermkit.engine.trainer import fit
    from dermkit.recipes import recipe_path

    runs = []
    for recipe, name in (("seg_default", "seg"), ("cls_default", "cls")):
        run_dir = out / name
        if not (run_dir / "final_metrics.json").exists():
            cfg = load_config(recipe_path(recipe), [f"data.path={SHARED / 'HAM10000'}", *BRIEF])
            fit(cfg, run_dir, resume=(run_dir / "checkpoints" / "last.pt").exists())
        runs.append(run_dir)
    return runs[0], runs[1]


def image_paths(folder: Path | None, n: int) -> list[Path]:
    from dermkit.cli._common import collect_images

    if folder is None:
        full = SHARED / "HAM10000_fullres" / "HAM10000_images"
        folder = full if full.exists() else SHARED / "HAM10000" / "HAM10000_images"
    return sorted(collect_images([folder]))[:n]


def per_image_ms(analyzer, paths: list[Path], warmup: int = 3) -> dict[str, float]:
    """Median and p90 wall time of decode + analyze per image, after ``warmup`` images."""
    from dermkit.imageio import read_image

    for path in paths[:warmup]:
        analyzer.analyze(read_image(path), image_id=path.stem)
    times = []
    for path in paths:
        t0 = time.perf_counter()
        analyzer.analyze(read_image(path), image_id=path.stem)
        times.append(1000 * (time.perf_counter() - t0))
    times.sort()
    return {"median_ms": statistics.median(times), "p90_ms": times[int(0.9 * (len(times) - 1))], "images": len(times)}


def stage_ms(package: Path, paths: list[Path], threads: int) -> dict[str, float]:
    """Median milliseconds of each step of the ONNX Runtime path (core settings) on the images."""
    from dermkit.imageio import read_image
    from dermkit.measure import measure_lesion
    from dermkit.package import PackageAnalyzer
    from dermkit.quality import check_quality

    analyzer = PackageAnalyzer(package, heatmap="none", tta=False, threads=threads)
    steps: dict[str, list[float]] = {"decode": [], "segment": [], "classify": [], "measure": [], "quality": []}
    for i, path in enumerate(paths):
        t = [time.perf_counter()]
        image = read_image(path)
        t.append(time.perf_counter())
        mask = analyzer.segmenter.mask(image, False)
        t.append(time.perf_counter())
        analyzer.classify(image, None)
        t.append(time.perf_counter())
        measure_lesion(image, mask)
        t.append(time.perf_counter())
        check_quality(image, mask)
        t.append(time.perf_counter())
        if i >= 2:  # after warm-up
            for name, a, b in zip(steps, t, t[1:], strict=False):
                steps[name].append(1000 * (b - a))
    return {name: statistics.median(v) for name, v in steps.items()}


def folder_throughput(analyzer, paths: list[Path]) -> float:
    """Images per second of :func:`~dermkit.pipeline.batch.analyze_batch` (all outputs written)."""
    from dermkit.pipeline.batch import analyze_batch
    from dermkit.pipeline.inputs import ImageRequest

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        analyze_batch(analyzer, [ImageRequest(p) for p in paths], Path(tmp), progress=False)
        return len(paths) / (time.perf_counter() - t0)


def peak_memory_mb(backend: str, seg: Path, cls: Path, package: Path, paths: list[Path], threads: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    args = [sys.executable, "-c", MEMORY_PROBE, backend, str(seg), str(cls), str(package), *map(str, paths)]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seg", type=Path, help="segmentation run (default: a brief seg_default on HAM10000)")
    parser.add_argument("--cls", type=Path, help="classification run (default: a brief cls_default on HAM10000)")
    parser.add_argument("--images", type=Path, help="image folder (default: the shared full-resolution HAM10000)")
    parser.add_argument("--n", type=int, default=20, help="images timed per configuration")
    parser.add_argument("--threads", type=int, default=2, help="threads for both back ends")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-latency")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    from dermkit.package import PackageAnalyzer, export_package
    from dermkit.pipeline import Analyzer

    args.out.mkdir(parents=True, exist_ok=True)
    if (args.seg is None) != (args.cls is None):
        raise SystemExit("give both --seg and --cls, or neither")
    seg, cls = (args.seg, args.cls) if args.seg else default_pair(args.out)
    package = args.out / "model.dermkit"
    export_package(seg, cls, package)
    paths = image_paths(args.images, args.n)
    if len(paths) < 3:
        raise SystemExit(f"need at least 3 images, found {len(paths)}")
    configs = {
        "core (no TTA, no heat map)": {"heatmap": "none", "tta": False},
        "default heat map, no TTA": {"heatmap": "auto", "tta": False},
        "recipe TTA, no heat map": {"heatmap": "none", "tta": None},
    }
    rows = []
    for name, options in configs.items():
        eager = per_image_ms(Analyzer(seg, cls, device="cpu", **options), paths)
        onnx_analyzer = PackageAnalyzer(package, threads=args.threads, **options)
        onnx = per_image_ms(onnx_analyzer, paths)
        rows.append({"config": name, "eager": eager, "onnx": onnx, "speedup": eager["median_ms"] / onnx["median_ms"]})
        print(f"{name}: eager {eager['median_ms']:.0f} ms, onnx {onnx['median_ms']:.0f} ms", flush=True)
    core = {"heatmap": "none", "tta": False}
    throughput = {
        "eager": folder_throughput(Analyzer(seg, cls, device="cpu", **core), paths),
        "onnx": folder_throughput(PackageAnalyzer(package, threads=args.threads, **core), paths),
    }
    stages = stage_ms(package, paths, args.threads)
    memory = {b: peak_memory_mb(b, seg, cls, package, paths[:5], args.threads) for b in ("torch", "onnx")}
    heat = PackageAnalyzer(package).manifest.classifier
    result = {
        "seg": str(seg),
        "cls": str(cls),
        "images": str(paths[0].parent),
        "image_size": None,
        "threads": args.threads,
        "onnx_heatmap": "attention" if heat.attention else "occlusion",
        "rows": rows,
        "folder_images_per_s": throughput,
        "onnx_stage_median_ms": stages,
        "peak_rss_mb_default_settings": memory,
        "cpu": os.cpu_count(),
        "torch": torch.__version__,
    }
    from dermkit.imageio import read_image

    result["image_size"] = list(read_image(paths[0]).shape[:2])
    (args.out / "latency.json").write_text(json.dumps(result, indent=2))
    lines = [
        "| configuration | eager median (p90) ms | ONNX Runtime median (p90) ms | ONNX speed-up |",
        "|---|---|---|---|",
    ]
    for r in rows:
        e, o = r["eager"], r["onnx"]
        lines.append(
            f"| {r['config']} | {e['median_ms']:.0f} ({e['p90_ms']:.0f}) | {o['median_ms']:.0f} ({o['p90_ms']:.0f}) "
            f"| {r['speedup']:.2f}x |"
        )
    lines += [
        "",
        "ONNX Runtime path, median ms per step (core settings): "
        + ", ".join(f"{name} {ms:.0f}" for name, ms in stages.items())
        + ".",
        f"Folder throughput (core, outputs written): eager {throughput['eager']:.2f} img/s, "
        f"ONNX Runtime {throughput['onnx']:.2f} img/s.",
        f"Peak resident memory of a process running one back end with the recipes' settings: PyTorch "
        f"{memory['torch']:.0f} MB, ONNX Runtime (torch not importable) {memory['onnx']:.0f} MB.",
    ]
    (args.out / "latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
