"""`dermkit train seg|cls`: train a recipe into a run folder (``runs/<date-time>-<recipe>`` by default)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated

import typer

from dermkit.cli._app import EXIT_INTERRUPTED, Interrupted, app, console
from dermkit.cli._common import CacheDirOption

train_app = typer.Typer(help="Train a segmenter or a classifier from a recipe.", no_args_is_help=True)
app.add_typer(train_app, name="train")

TASK_OF = {"seg": "segmentation", "cls": "classification"}
COMMAND_OF = {task: command for command, task in TASK_OF.items()}


def resume_hint(command: str, run_dir: Path) -> str:
    """What to do after Ctrl-C: the resume command when the run has a checkpoint, else start again."""
    if (run_dir / "checkpoints" / "last.pt").exists():
        return f"resume with `dermkit train {command} --resume {shlex.quote(str(run_dir))}`"
    return f"stopped before the first checkpoint; {run_dir} has nothing to resume: run the same command again"


def _train(
    command: str,
    config: Path | None,
    data: Path | None,
    out: Path | None,
    resume: Path | None,
    cache_dir: str | None,
    overrides: list[str],
) -> None:
    from dermkit.config import load_config
    from dermkit.engine.rundir import default_run_dir
    from dermkit.errors import ConfigError
    from dermkit.files import check_output_dir

    if resume is not None:
        if config is not None:
            raise ConfigError(f"--resume {resume} continues that run with its own config.yaml; drop --config {config}")
        if not resume.is_dir():
            raise ConfigError(f"--resume {resume}: no such run folder")
        config = resume / "config.yaml"
        if not config.is_file():
            raise ConfigError(
                f"--resume {resume}: it has no config.yaml, so it is not a dermkit run folder (or its training "
                "never started); start a new run with --config RECIPE --out RUN"
            )
    extra = list(overrides)
    # JSON strings are YAML strings: a path or "off" is never read as a number or a boolean.
    if data is not None:
        extra.append(f"data.path={json.dumps(str(data))}")
    if cache_dir is not None:
        extra.append(f"data.cache_dir={json.dumps(cache_dir)}")
    cfg = load_config(config, extra)
    if cfg.task != TASK_OF[command]:
        raise ConfigError(f"{config} is a {cfg.task} recipe; use `dermkit train {COMMAND_OF[cfg.task]}`")
    run_dir = resume if resume is not None else (out or default_run_dir(cfg.recipe))
    check_output_dir(  # the trainer creates it, after checking the recipe
        run_dir, [cfg.data.path] if cfg.data.path else [], what="--resume" if resume is not None else "--out"
    )
    from dermkit.engine.trainer import Trainer  # torch and the models: imported once the arguments are known good

    # The trainer checks the recipe (model, loss, size, focus run) first: a bad one fails before the folder is named.
    trainer = Trainer(cfg, run_dir, resume=resume is not None)
    speak = trainer.is_main  # under torchrun, only rank 0 prints
    if speak:
        console.print(f"run folder: {run_dir}")
    try:
        final = trainer.fit()
    except KeyboardInterrupt:  # the trainer saved a mid-epoch last.pt before re-raising
        if not speak:
            raise typer.Exit(EXIT_INTERRUPTED) from None
        raise Interrupted(resume_hint(command, run_dir)) from None
    if speak:
        console.print_json(data=final)
        console.print(f"run folder: {run_dir}")


def _command(command: str):
    def train(
        config: Annotated[
            Path | None,
            typer.Option("--config", "-c", help="Recipe: a shipped name (see `dermkit recipes`) or a YAML file."),
        ] = None,
        data: Annotated[
            Path | None, typer.Option("--data", help="Data set folder (default: the recipe's, or synthetic data).")
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Run folder, outside the data (default ./runs/<date-time>-<recipe>)."),
        ] = None,
        resume: Annotated[
            Path | None, typer.Option("--resume", help="Continue the run in this folder from its last checkpoint.")
        ] = None,
        cache_dir: CacheDirOption = None,
        overrides: Annotated[list[str] | None, typer.Argument(help="KEY=VALUE overrides, e.g. train.epochs=3")] = None,
    ) -> None:
        if config is None and resume is None:
            raise typer.BadParameter("give --config RECIPE (or --resume RUN)", param_hint="--config")
        _train(command, config, data, out, resume, cache_dir, overrides or [])

    train.__doc__ = (
        f"Train a {TASK_OF[command]} recipe; writes config, split, log, curves, checkpoints, metrics. "
        f"Ctrl-C stops it (exit code 130) with the command that resumes it."
    )
    return train


train_app.command("seg")(_command("seg"))
train_app.command("cls")(_command("cls"))
