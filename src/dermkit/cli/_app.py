"""The typer app and consoles every command module registers on (imported by them, never the reverse)."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()  # results go to standard output
err_console = Console(stderr=True)  # errors to standard error

EXIT_PROBLEMS = 1  # ran, found problems
EXIT_USAGE = 2  # usage or configuration error (click uses 2 for usage errors too)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention

app = typer.Typer(
    name="dermkit",
    help="Dermoscopic skin-lesion segmentation and classification: data, training, evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Interrupted(Exception):
    """Ctrl-C in a command that knows how to continue; the message says how (e.g. ``--resume RUN``)."""
