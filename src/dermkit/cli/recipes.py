"""`dermkit recipes`: the recipes shipped with dermkit, by name, task and description."""

from __future__ import annotations

import typer

from dermkit.cli._app import app
from dermkit.recipes import RecipeInfo, list_recipes

HEADER = ("name", "task", "description")


def recipe_table(recipes: list[RecipeInfo]) -> list[str]:
    """Plain aligned rows ``name | task | description``, one line per recipe (greppable, never wrapped)."""
    rows = [HEADER, *((r.name, r.task, r.description) for r in recipes)]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{name:<{widths[0]}} | {task:<{widths[1]}} | {description}" for name, task, description in rows]
    lines.insert(1, f"{'-' * widths[0]}-+-{'-' * widths[1]}-+-{'-' * len(HEADER[2])}")
    return lines


@app.command("recipes")
def recipes() -> None:
    """List the shipped recipes; train one by name: dermkit train seg --config seg_default."""
    for line in recipe_table(list_recipes()):
        typer.echo(line)
