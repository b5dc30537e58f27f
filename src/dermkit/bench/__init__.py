"""Measurements of dermkit itself (speed, overhead, model cost) that ``dermkit bench`` runs.

Each benchmark module registers one function in :data:`BENCHMARKS` that takes a :class:`BenchOptions`
and returns a :class:`BenchTable`. The scripts in ``benchmarks/`` run the same functions at full size and
write their figures to ``benchmarks/RESULTS.md``; ``dermkit bench`` runs the ``quick=True`` ones at small
size and prints the tables. Modules are imported by :func:`load_benchmarks` (lazily: they import torch).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dermkit.registry import Registry

#: Modules that register benchmarks; imported on first use.
BENCHMARK_MODULES = ("dermkit.bench.engine", "dermkit.bench.pipeline", "dermkit.bench.latency")


@dataclass(frozen=True)
class BenchOptions:
    """How big a benchmark run is.

    Attributes:
        quick: the small size ``dermkit bench`` uses (the whole quick subset in under 5 minutes here).
        threads: torch threads (``None``: torch's default).
        progress: show progress bars.
        extra: benchmark-specific settings (e.g. ``{"images": 256}``), from the scripts.
    """

    quick: bool = True
    threads: int | None = None
    progress: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class BenchTable:
    """One benchmark's result: a title, rows of named figures, and notes on how they were measured."""

    title: str
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        """The rows as a GitHub markdown table (floats to 3 significant figures), then the notes."""
        keys = list(dict.fromkeys(k for row in self.rows for k in row))

        def cell(v: Any) -> str:
            return f"{v:.3g}" if isinstance(v, float) else str(v)

        lines = [f"| {' | '.join(keys)} |", f"|{'---|' * len(keys)}"]
        lines += [f"| {' | '.join(cell(r.get(k, '')) for k in keys)} |" for r in self.rows]
        return "\n".join([f"### {self.title}", "", *lines, "", *(f"- {n}" for n in self.notes)]).rstrip() + "\n"


BENCHMARKS: Registry[Callable[[BenchOptions], BenchTable]] = Registry("benchmark")


def register_benchmark(name: str, *, quick: bool, summary: str) -> Callable:
    """Register a benchmark function; ``quick`` says whether ``dermkit bench`` runs it by default."""
    return BENCHMARKS.register(name, quick=quick, summary=summary)


def load_benchmarks() -> Registry[Callable[[BenchOptions], BenchTable]]:
    """:data:`BENCHMARKS` with every module in :data:`BENCHMARK_MODULES` imported."""
    for module in BENCHMARK_MODULES:
        importlib.import_module(module)
    return BENCHMARKS
