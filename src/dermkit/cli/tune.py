"""`dermkit tune`: a hyper-parameter search (Optuna study) over a recipe, one run folder per trial."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from dermkit.cli._app import Interrupted, app, console
from dermkit.cli._common import CacheDirOption, frame_table

SHOWN_ROWS = 30  # summary rows printed (best first); summary.csv has every trial


@app.command("tune")
def tune(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Base recipe: a shipped name (see `dermkit recipes`) or a YAML file.")
    ],
    space: Annotated[
        Path,
        typer.Option(
            "--space", help="Search space YAML (recipe key -> distribution), or a shipped one: cls_default_small, ..."
        ),
    ],
    trials: Annotated[
        int, typer.Option("--trials", min=1, help="Finished trials the study should hold (over all its processes).")
    ],
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage", help="Optuna RDB URL shared by every process of the study (default sqlite:///OUT/study.db)."
        ),
    ] = None,
    study: Annotated[
        str | None, typer.Option("--study", help="Study name (default <recipe>-<space file name>).")
    ] = None,
    sampler: Annotated[str, typer.Option("--sampler", help="tpe or random.")] = "tpe",
    pruner: Annotated[str, typer.Option("--pruner", help="median, halving or none.")] = "median",
    n_jobs: Annotated[
        int, typer.Option("--n-jobs", min=1, help="Trials at once in this process (threads; prefer several processes).")
    ] = 1,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the trials' run folders and the outputs (default runs/tune-<study>)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Sampler seed.")] = 0,
    startup_trials: Annotated[
        int, typer.Option("--startup-trials", min=0, help="Trials run to the end before pruning and TPE start.")
    ] = 5,
    warmup_epochs: Annotated[
        int, typer.Option("--warmup-epochs", min=0, help="Epochs every trial trains before it can be pruned.")
    ] = 0,
    data: Annotated[
        Path | None, typer.Option("--data", help="Data set folder (default: the recipe's, or synthetic data).")
    ] = None,
    cache_dir: CacheDirOption = None,
    overrides: Annotated[
        list[str] | None, typer.Argument(help="KEY=VALUE overrides of the base recipe, e.g. train.epochs=5")
    ] = None,
) -> None:
    """Search a recipe's hyper-parameters with Optuna; writes best_recipe.yaml, summary.csv and plots.

    Each trial trains a run folder (OUT/trials/trial_NNNN), reporting its validation metric each epoch for pruning.

    Re-running the same command resumes the study; processes given the same --storage and --study share it.

    Ctrl-C marks the running trial failed (exit code 130); the next run trains its values again first.
    """
    import optuna

    from dermkit.tune import TuneSettings
    from dermkit.tune import tune as run_tune

    extra = list(overrides or [])
    if data is not None:
        extra.append(f"data.path={json.dumps(str(data))}")
    if cache_dir is not None:
        extra.append(f"data.cache_dir={json.dumps(cache_dir)}")
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # every trial gets one line of ours instead
    logging.getLogger("optuna").setLevel(logging.ERROR)
    settings = TuneSettings(
        config=config,
        space=space,
        trials=trials,
        out=out,
        storage=storage,
        study=study,
        sampler=sampler,
        pruner=pruner,
        n_jobs=n_jobs,
        seed=seed,
        startup_trials=startup_trials,
        warmup_epochs=warmup_epochs,
        overrides=extra,
    )
    try:
        result = run_tune(
            settings, echo=lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True)
        )
    except KeyboardInterrupt:
        raise Interrupted(
            "the running trial is marked failed and the outputs cover the trials so far; run the same command "
            "again to resume the study (it trains the interrupted trial's parameters again first)"
        ) from None
    _print_result(result)


def _print_result(result) -> None:
    summary = result.summary
    if len(summary):
        # completed trials best first, then pruned (at the value they were stopped at), then failed
        rank = summary["state"].map({"complete": 0, "pruned": 1}).fillna(2)
        ordered = summary.assign(_rank=rank).sort_values(
            ["_rank", result.monitor], ascending=[True, result.direction == "minimize"], na_position="last"
        )
        keep = ["trial", "state", result.monitor, "epochs", *result.params]
        if ordered["retry_of"].notna().any():
            keep.append("retry_of")
        shown = ordered[keep].head(SHOWN_ROWS).set_index("trial")
        title = f"study {result.study_name}: {len(summary)} trials, best first (all in summary.csv)"
        console.print(frame_table(shown, title=title, index_name="trial"))
    for message in result.messages:
        console.print(message, markup=False, highlight=False, soft_wrap=True)
    if result.best is not None:
        console.print(f"best: trial {result.best.number}, {result.monitor} = {result.best.value:.4g}", highlight=False)
    console.print(
        f"study: {result.study_name} in {result.storage} ({result.ran} trials run by this process)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    for path in result.files:
        console.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)
