"""The `dermkit` command line: a thin typer layer over the library.

Every command calls library functions and nothing else. Exit codes (what scripts and CI see):

* 0: success;
* 1: the command ran and found problems (``data check`` errors, unreadable images, a leaking split,
  a training refused by its data check or diverged: :class:`~dermkit.errors.DataProblems`);
* 2: usage errors (unknown command, missing option, bad value: click's usage message) and every other
  :class:`~dermkit.errors.DermkitError` (a one-paragraph ``error:`` line instead of a traceback);
* 130: interrupted (Ctrl-C), with one line on standard error.
"""

from __future__ import annotations

import logging
import sys

from dermkit.cli import bench, data, demo, evaluate, export, predict, preprocess, recipes, reproduce, serve, train, tune  # noqa: F401  (register commands)
from dermkit.cli._app import EXIT_INTERRUPTED, EXIT_PROBLEMS, EXIT_USAGE, Interrupted, app, console, err_console
from dermkit.errors import DataProblems, DermkitError

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_PROBLEMS",
    "EXIT_USAGE",
    "Interrupted",
    "app",
    "console",
    "err_console",
    "main",
    "run_app",
]


def _error(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


def run_app(args: list[str] | None = None) -> int:
    """Run the app on ``args`` (default ``sys.argv[1:]``) and return its exit code, printing errors.

    Typer runs in standalone mode, so click itself prints usage errors (exit 2) and turns
    ``typer.Exit(n)`` and Ctrl-C (130) into :class:`SystemExit`; domain errors pass through to here.
    """
    try:
        app(args=args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_PROBLEMS)
    except DataProblems as exc:  # ran, and the data check (or the loss) found problems
        _error(str(exc))
        return EXIT_PROBLEMS
    except DermkitError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except Interrupted as exc:
        err_console.print(f"interrupted: {exc}", highlight=False, soft_wrap=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:  # raised outside a command's invocation
        code = EXIT_INTERRUPTED
    else:
        code = 0
    if code == EXIT_INTERRUPTED:
        err_console.print("interrupted")
    return code


def main() -> None:
    """Entry point: run the app and exit with its code, domain errors turned into clean messages."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Run folders log INFO to their train.log; the console shows warnings and errors only
    # (progress bars and epoch lines are printed by the trainer itself).
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    try:
        code = run_app()
    except KeyboardInterrupt:  # between commands' own handlers, e.g. while printing
        err_console.print("interrupted")
        code = EXIT_INTERRUPTED
    sys.exit(code)
