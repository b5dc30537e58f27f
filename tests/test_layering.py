"""The package's import graph: no circles, and data flowing one way (lower layers never import higher ones)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: (importer prefix, imported prefixes it must never reach at module level)
FORBIDDEN = [
    ("dermkit.engine", ("dermkit.cli", "dermkit.evaluation", "dermkit.demo", "dermkit.pipeline")),
    ("dermkit.inference", ("dermkit.engine", "dermkit.cli", "dermkit.evaluation", "dermkit.pipeline")),
    ("dermkit.models", ("dermkit.engine", "dermkit.inference", "dermkit.cli", "dermkit.evaluation")),
    ("dermkit.metrics", ("dermkit.engine", "dermkit.inference", "dermkit.cli", "dermkit.models")),
    ("dermkit.data", ("dermkit.engine", "dermkit.inference", "dermkit.cli", "dermkit.models")),
    ("dermkit.preprocess", ("dermkit.data", "dermkit.engine", "dermkit.inference", "dermkit.models")),
    ("dermkit.checkpoint", ("dermkit.engine", "dermkit.inference", "dermkit.models")),
    ("dermkit.explain", ("dermkit.engine", "dermkit.cli", "dermkit.evaluation", "dermkit.pipeline", "dermkit.package")),
    ("dermkit.ood", ("dermkit.engine", "dermkit.inference", "dermkit.cli", "dermkit.models", "dermkit.pipeline")),
    ("dermkit.pipeline", ("dermkit.cli", "dermkit.engine", "dermkit.evaluation", "dermkit.package", "dermkit.serve")),
    ("dermkit.package", ("dermkit.cli", "dermkit.engine", "dermkit.evaluation", "dermkit.serve")),
    ("dermkit.tune", ("dermkit.cli", "dermkit.bench", "dermkit.serve", "dermkit.pipeline")),
    ("dermkit.bench", ("dermkit.cli", "dermkit.serve", "dermkit.tune")),
]


def module_graph() -> dict[str, set[str]]:
    """dermkit module -> dermkit modules it imports at module level (a package's import counts too)."""
    mods = {}
    for path in (SRC / "dermkit").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                parts = target.split(".")
                for i in range(2, len(parts) + 1):  # importing a.b.c runs a.b first
                    dep = ".".join(parts[:i])
                    if dep in mods and dep != name and not name.startswith(dep + "."):
                        graph[name].add(dep)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    assert cycles(module_graph()) == []


@pytest.mark.parametrize(("importer", "forbidden"), FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_lower_layers_never_import_higher_ones(importer, forbidden):
    graph = module_graph()
    bad = sorted(
        f"{m} -> {d}"
        for m, deps in graph.items()
        if m == importer or m.startswith(importer + ".")
        for d in deps
        if any(d == f or d.startswith(f + ".") for f in forbidden)
    )
    assert bad == []


def test_the_check_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
