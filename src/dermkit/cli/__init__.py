"""The `dermkit` command line: a thin typer layer over the library.

Every command calls library functions and nothing else; a :class:`~dermkit.errors.DermkitError`
becomes a one-paragraph error message and exit code 2 instead of a traceback.
"""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

from dermkit.errors import DermkitError

console = Console()  # results go to standard output
err_console = Console(stderr=True)  # errors to standard error

app = typer.Typer(
    name="dermkit",
    help="Dermoscopic skin-lesion segmentation and classification: data, training, evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def main() -> None:
    """Entry point: run the app, turning domain errors into clean messages."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Run folders log INFO to their train.log; the console shows warnings and errors only
    # (progress bars and epoch lines are printed by the trainer itself).
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    try:
        app(standalone_mode=False)
    except DermkitError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


# Command modules register themselves on `app`; imported last because they import `app`.
from dermkit.cli import data, demo, evaluate, preprocess, recipes, reproduce, train  # noqa: E402, F401
