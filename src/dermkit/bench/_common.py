"""What the benchmarks share: the data set they run on, the torch threads they run with, their JSON record."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dermkit.bench import BenchOptions, BenchTable
from dermkit.errors import ConfigError

#: Synthetic images written when no data set is given (quick, full), at the HAM10000 size.
SYNTHETIC_IMAGES = (64, 600)
SYNTHETIC_SIZE = (150, 200)


def check_extra(opts: BenchOptions, benchmark: str, known: tuple[str, ...]) -> None:
    """Refuse ``opts.extra`` keys that ``benchmark`` does not read (a misspelt key would be ignored silently)."""
    unknown = sorted(set(opts.extra) - set(known))
    if unknown:
        raise ConfigError(f"{benchmark} benchmark: unknown option(s) {unknown}; known: {', '.join(known)}")


def whole_number(key: str, value: Any, low: int = 1) -> int:
    """``value`` of setting ``key``, checked to be a whole number of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"benchmark option {key}={value!r}: give a whole number >= {low}")
    return value


def int_setting(opts: BenchOptions, key: str, default: int, low: int = 1) -> int:
    """``opts.extra[key]`` (else ``default``), checked by :func:`whole_number`."""
    return whole_number(key, opts.extra.get(key, default), low)


def as_list(value: Any) -> list[str]:
    """A setting that names one thing or several (``"cls_default"`` or ``["cls_default", ...]``) as a list."""
    return [value] if isinstance(value, str) else [str(v) for v in value]


def bench_data(opts: BenchOptions, folder: Path, images: tuple[int, int] = SYNTHETIC_IMAGES) -> tuple[Path, str]:
    """(data set folder, what it is) for ``opts``: ``extra["data"]`` when given, else a synthetic data set
    of ``extra["synthetic_images"]`` images (default ``images``: (quick, full)) of 150x200 under ``folder``."""
    given = opts.extra.get("data")
    if given:
        path = Path(given).expanduser()
        if not path.is_dir():
            raise ConfigError(f"benchmark data {path}: not a folder; give a data set folder (e.g. HAM10000)")
        return path, str(path)
    from dermkit.data.synthetic import write_synthetic_dataset

    n = int_setting(opts, "synthetic_images", images[0] if opts.quick else images[1], low=14)
    root = write_synthetic_dataset(folder / "synthetic", n=n, seed=0, size=SYNTHETIC_SIZE)
    return root, f"synthetic ({n} images of {SYNTHETIC_SIZE[0]}x{SYNTHETIC_SIZE[1]})"


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """torch's intra-op threads set to ``threads`` (None: left as they are) while inside; yields the count."""
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise ConfigError(f"threads={threads}: give 1 or more")
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def results_payload(results: dict[str, tuple[BenchOptions, BenchTable, float]]) -> dict[str, Any]:
    """What ``--json`` files hold: the machine and versions (with the date), then per benchmark (name ->
    (options, table, wall seconds)) its options, table (title, rows, notes) and seconds."""
    from dermkit.engine.rundir import environment

    env = {k: v for k, v in environment(0, "").items() if k not in ("seed", "device")}
    benchmarks = {
        name: {
            "options": {"quick": opts.quick, "threads": opts.threads, "extra": opts.extra},
            "title": table.title,
            "rows": table.rows,
            "notes": table.notes,
            "seconds": round(seconds, 1),
        }
        for name, (opts, table, seconds) in results.items()
    }
    return {"environment": env, "benchmarks": benchmarks}
