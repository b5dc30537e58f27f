"""`dermkit train seg|cls`: train a recipe into a run folder."""

from __future__ import annotations

from pathlib import Path

import typer

from dermkit.cli import app, console

train_app = typer.Typer(help="Train a segmenter or a classifier from a recipe.", no_args_is_help=True)
app.add_typer(train_app, name="train")

TASK_OF = {"seg": "segmentation", "cls": "classification"}


def _train(task: str, config: Path, data: Path | None, out: Path | None, resume: Path | None,
           overrides: list[str]) -> None:
    from dermkit.config import load_config
    from dermkit.engine.rundir import default_run_dir
    from dermkit.engine.trainer import fit
    from dermkit.errors import ConfigError

    if resume is not None:
        run_dir = resume
        config = resume / "config.yaml"
    extra = list(overrides)
    if data is not None:
        extra.append(f"data.path={data}")
    cfg = load_config(config, extra)
    if cfg.task != TASK_OF[task]:
        raise ConfigError(f"{config} is a {cfg.task} recipe; use `dermkit train {'seg' if cfg.task == 'segmentation' else 'cls'}`")
    if resume is None:
        run_dir = out or default_run_dir(cfg.recipe)
        if (run_dir / "checkpoints" / "last.pt").exists():
            raise ConfigError(f"{run_dir} already holds a run; pass --resume {run_dir} to continue it or choose another --out")
    console.print(f"run folder: {run_dir}")
    final = fit(cfg, run_dir, resume=resume is not None)
    console.print_json(data=final)
    console.print(f"run folder: {run_dir}")


def _command(task: str):
    def command(
        config: Path = typer.Option(None, "--config", "-c", help="Recipe YAML (configs/*.yaml)."),
        data: Path = typer.Option(None, help="Data set folder (default: the recipe's, or synthetic data)."),
        out: Path = typer.Option(None, help="Run folder (default runs/<date-time>-<recipe>)."),
        resume: Path = typer.Option(None, help="Continue the run in this folder from its last checkpoint."),
        overrides: list[str] = typer.Argument(None, help="KEY=VALUE overrides, e.g. train.epochs=3"),
    ) -> None:
        if config is None and resume is None:
            raise typer.BadParameter("give --config RECIPE.yaml (or --resume RUN)")
        _train(task, config, data, out, resume, overrides or [])

    command.__doc__ = f"Train a {TASK_OF[task]} recipe; writes config, split, log, curves, checkpoints, metrics."
    return command


train_app.command("seg")(_command("seg"))
train_app.command("cls")(_command("cls"))
