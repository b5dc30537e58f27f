"""Hyper-parameter search on Optuna: ``dermkit tune`` as a library.

One trial is one ordinary training run (the base recipe with the trial's values); the study lives
in an Optuna RDB storage that several processes can share; the best trial comes out as a recipe::

    from dermkit.tune import TuneSettings, tune

    result = tune(TuneSettings("cls_default", "cls_default_small", trials=20, out=Path("runs/tune")))
    result.best.params, result.out / "best_recipe.yaml"

Modules: :mod:`~dermkit.tune.space` (the YAML search space), :mod:`~dermkit.tune.recipe` (a trial's
recipe, the best recipe), :mod:`~dermkit.tune.study` (storage, sampler, pruner, resume),
:mod:`~dermkit.tune.objective` (a trial's training), :mod:`~dermkit.tune.report` (summary, plots),
:mod:`~dermkit.tune.search` (the whole command).
"""

from __future__ import annotations

from dermkit.tune.search import TuneResult, TuneSettings, tune
from dermkit.tune.space import SearchSpace, load_space, parse_space

__all__ = ["SearchSpace", "TuneResult", "TuneSettings", "load_space", "parse_space", "tune"]
