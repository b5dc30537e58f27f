"""What a study leaves in its output folder: ``summary.csv``, ``best_recipe.yaml`` and PNG plots.

Everything is read back from the storage, so any process of a shared study writes the whole
study's picture, not only its own trials. Plots use Optuna's matplotlib backend (Agg, no display).
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
import pandas as pd  # noqa: E402
from optuna.exceptions import ExperimentalWarning  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from dermkit.tune.recipe import best_recipe_text  # noqa: E402
from dermkit.tune.space import SearchSpace, encode_choice  # noqa: E402
from dermkit.tune.study import ATTR_FAILED, ATTR_RUN_DIR, retried_from, trial_outcome  # noqa: E402

SUMMARY_FILE = "summary.csv"
BEST_FILE = "best_recipe.yaml"


def _temporary_name(path: Path) -> Path:
    """A sibling name of ``path`` no other process of the study uses at the same time."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: processes of a shared study writing the same
    output at once leave one whole file, never a mix."""
    tmp = _temporary_name(Path(path))
    tmp.write_text(text)
    os.replace(tmp, path)


def summary_frame(study: optuna.Study, space: SearchSpace, monitor: str) -> pd.DataFrame:
    """One row per trial: number, state, value (named after the monitor), epochs reported, seconds, params."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.state in (TrialState.WAITING,):
            continue
        seconds = t.duration.total_seconds() if t.duration is not None else None
        row: dict[str, Any] = {
            "trial": t.number,
            "state": trial_outcome(t),
            monitor: t.value,
            "epochs": len(t.intermediate_values) if t.intermediate_values else None,
            "seconds": round(seconds, 1) if seconds is not None else None,
        }
        row.update({key: t.params.get(key) for key in space.params})
        row["retry_of"] = retried_from(t)
        row["note"] = t.user_attrs.get(ATTR_FAILED, "")
        row["run_dir"] = t.user_attrs.get(ATTR_RUN_DIR, "")
        rows.append(row)
    columns = ["trial", "state", monitor, "epochs", "seconds", *space.params, "retry_of", "note", "run_dir"]
    return pd.DataFrame(rows, columns=columns)


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The best completed trial, or None when none has completed."""
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    return study.best_trial


def write_best_recipe(
    study: optuna.Study, tree: dict[str, Any], space: SearchSpace, monitor: str, path: Path
) -> optuna.trial.FrozenTrial | None:
    """Write the best completed trial as a recipe YAML (the base recipe with its values); None if no trial completed."""
    best = best_trial(study)
    if best is None:
        return None
    params = {key: _decoded(space, key, value) for key, value in best.params.items() if key in space.params}
    header = [
        f"Best trial {best.number} of study {study.study_name!r}: {monitor} = {best.value:.6g} "
        f"({study.direction.name.lower()}), {len(study.trials)} trials in the study "
        f"(written {_dt.date.today().isoformat()}).",
        f"Its run folder: {best.user_attrs.get(ATTR_RUN_DIR, '?')}",
        f"Train it with: dermkit train {'seg' if tree.get('task') == 'segmentation' else 'cls'} --config {path}",
    ]
    write_text_atomic(Path(path), best_recipe_text(tree, params, header))
    return best


def _decoded(space: SearchSpace, key: str, stored: Any) -> Any:
    """A stored parameter value as the recipe takes it (a JSON-encoded list choice back to the list)."""
    spec = space.params[key]
    choices = getattr(spec, "choices", None)
    if choices is None:
        return stored
    for choice in choices:
        if encode_choice(choice) == stored:
            return choice
    return stored


def _save(ax, path: Path) -> None:
    fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure  # one Axes, or an array of them
    tmp = _temporary_name(path)
    try:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)


def write_plots(study: optuna.Study, out: Path) -> tuple[list[Path], list[str]]:
    """history.png, intermediate.png, parallel_coordinate.png and importance.png in ``out``.

    Returns:
        (files written, messages for plots left out and why).
    """
    from optuna.visualization import matplotlib as ovm

    out = Path(out)
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    names = sorted({k for t in completed for k in t.params})
    written: list[Path] = []
    skipped: list[str] = []
    if not completed:
        return [], ["no trial has completed yet: no plots"]
    plots = {
        "history.png": ovm.plot_optimization_history,
        "intermediate.png": ovm.plot_intermediate_values,
        "parallel_coordinate.png": ovm.plot_parallel_coordinate,
    }
    if len(completed) >= 2 and len(names) > 1:
        plots["importance.png"] = ovm.plot_param_importances
    else:
        skipped.append(
            f"importance.png left out: parameter importance needs at least 2 completed trials and more than 1 "
            f"parameter (the study has {len(completed)} completed, {len(names)} parameter(s))"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)  # matplotlib on a flat axis (every trial at one value)
        for name, plot in plots.items():
            try:
                _save(plot(study), out / name)
            except (ValueError, RuntimeError, ZeroDivisionError) as exc:  # e.g. every trial had the same values
                plt.close("all")
                skipped.append(f"{name} left out: Optuna could not draw it ({' '.join(str(exc).split())[:200]})")
                continue
            written.append(out / name)
    return written, skipped
