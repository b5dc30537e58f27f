"""Speed of the synthetic generator: images/s at 256x256 on one core, JPEG and PNG writing included.

Target: >= 50 images/s. Run either way:

    make bench   # = pytest benchmarks/bench_synthetic.py (pytest-benchmark)
    python benchmarks/bench_synthetic.py [--n 200]       # prints images/s and the ratio to target
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2

from dermkit.data.synthetic import write_synthetic_dataset

TARGET_IMAGES_PER_S = 50.0
SIZE = (256, 256)
N_IMAGES = 100


def generate(out: Path, n: int = N_IMAGES) -> Path:
    """The measured work: a data set of ``n`` 256x256 images with default hair/frame rates."""
    return write_synthetic_dataset(out, n=n, seed=0, size=SIZE, workers=1)


def images_per_second(n: int = N_IMAGES) -> float:
    """Wall-clock rate of :func:`generate` into a fresh temporary folder, on one core."""
    cv2.setNumThreads(1)  # one core: OpenCV would otherwise spread resizes over every core
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        generate(Path(tmp), n)
        return n / (time.perf_counter() - start)


def test_synthetic_images_per_second(benchmark, tmp_path: Path) -> None:
    cv2.setNumThreads(1)
    runs = iter(range(10**6))
    benchmark.extra_info["images_per_round"] = N_IMAGES
    benchmark.pedantic(lambda: generate(tmp_path / f"run{next(runs)}"), rounds=3, iterations=1)
    rate = N_IMAGES / benchmark.stats.stats.mean
    benchmark.extra_info["images_per_s"] = rate
    benchmark.extra_info["ratio_to_target"] = rate / TARGET_IMAGES_PER_S


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="images per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="measurements; the best is reported")
    args = parser.parse_args()
    images_per_second(10)  # warm-up: imports, allocator, file system
    best = max(images_per_second(args.n) for _ in range(args.repeat))
    print(
        f"synthetic generator, {SIZE[0]}x{SIZE[1]}, one core: {best:.1f} images/s "
        f"({best / TARGET_IMAGES_PER_S:.2f}x the {TARGET_IMAGES_PER_S:.0f} images/s target)"
    )


if __name__ == "__main__":
    main()
