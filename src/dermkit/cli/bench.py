"""`dermkit bench`: dermkit's own measurements (engine overhead, data pipeline, model latency) as tables."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from dermkit.cli._app import app, err_console
from dermkit.errors import ConfigError

EXAMPLE = """'{"engine": {"batches": 5}, "pipeline": {"data": "/data/HAM10000"}}'"""
EXTRA_HELP = (
    f"Settings of the selected benchmarks as JSON, by benchmark name, e.g. {EXAMPLE} "
    "(each module of dermkit.bench documents its keys)."
)


def benchmark_list(registry) -> list[str]:
    """Aligned lines ``name | quick | summary``, one per registered benchmark."""
    rows = [("name", "quick", "summary")]
    for name in registry:
        info = registry.entry(name).info
        rows.append((name, "yes" if info.get("quick") else "no", info.get("summary", "")))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{name:<{widths[0]}} | {quick:<{widths[1]}} | {summary}" for name, quick, summary in rows]
    lines.insert(1, f"{'-' * widths[0]}-+-{'-' * widths[1]}-+-{'-' * len(rows[0][2])}")
    return lines


def parse_extra(text: str | None, names: list[str]) -> dict[str, dict[str, Any]]:
    """``--extra``'s JSON: benchmark name -> its settings, for benchmarks among ``names`` only (empty when not given).

    Raises:
        ConfigError: not JSON, not an object of objects, or a benchmark that is not selected.
    """
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--extra {text!r} is not JSON ({exc.msg}); give an object such as {EXAMPLE}") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError(f"--extra {text!r}: give an object of settings by benchmark name, such as {EXAMPLE}")
    others = [name for name in value if name not in names]
    if others:
        raise ConfigError(
            f"--extra has settings for {', '.join(others)}, which this run does not select ({', '.join(names)}); "
            "add --only NAME for each benchmark to run"
        )
    return value


def selected(registry, only: list[str] | None) -> list[str]:
    """``only`` (each checked: an unknown name gets the registry's did-you-mean), else every quick benchmark."""
    if only:
        return [registry.entry(name).name for name in dict.fromkeys(only)]
    return registry.names(quick=True)


@app.command("bench")
def bench(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run this benchmark (repeat for several; default: every quick one)."),
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Full size (slow: tens of minutes) instead of quick.")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the tables as JSON to this file.")] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="torch threads (default: torch's).")] = None,
    extra: Annotated[str | None, typer.Option("--extra", help=EXTRA_HELP)] = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the benchmarks and exit.")] = False,
) -> None:
    """Measure dermkit itself and print one markdown table per benchmark.

    The quick subset runs at small size (a few minutes on 2 cores); --full and benchmarks/*.py run them at full size.

    Figures from a busy machine are only indicative; --json keeps them with the machine, versions and date.
    """
    from dermkit.bench import BenchOptions, load_benchmarks
    from dermkit.bench._common import results_payload
    from dermkit.files import write_json

    registry = load_benchmarks()
    if list_only:
        for line in benchmark_list(registry):
            typer.echo(line)
        return
    names = selected(registry, only)
    settings = parse_extra(extra, names)
    if json_out is not None and not json_out.parent.is_dir():
        raise ConfigError(f"--json {json_out}: folder {json_out.parent} does not exist")
    results: dict[str, Any] = {}  # name -> (options, table, seconds)
    for i, name in enumerate(names, 1):
        opts = BenchOptions(quick=not full, threads=threads, progress=True, extra=settings.get(name, {}))
        step = f"[{i}/{len(names)}] {name}"
        err_console.print(f"{step}: {registry.entry(name).info['summary']} ...", highlight=False, soft_wrap=True)
        start = time.perf_counter()
        table = registry.get(name)(opts)
        seconds = time.perf_counter() - start
        err_console.print(f"{step}: done in {seconds:.0f} s", highlight=False, soft_wrap=True)
        typer.echo(table.markdown())
        results[name] = (opts, table, seconds)
        if json_out is not None:  # after each benchmark: an interrupted session keeps what it measured
            write_json(json_out, results_payload(results))
