"""A trial's recipe: the study's base recipe (file + overrides) with the trial's values set at their keys.

The base is kept as the YAML tree the user wrote (not the resolved config), so the best trial can
be written out as a short recipe naming only what differs from dermkit's defaults, exactly like a
shipped one, and loaded by ``dermkit train --config``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dermkit.config import RunConfig, recipe_tree, set_dotted
from dermkit.engine.checks import check_recipe
from dermkit.errors import ConfigError
from dermkit.tune.space import SearchSpace

#: Top-level sections whose values decide whether a recipe can be built (model, loss, input size):
#: a parameter there is checked by building its model and loss at each end of its range.
_BUILD_SECTIONS = ("model.", "loss.", "data.preprocess.", "data.focus.", "task")

#: Recipe keys holding paths (made absolute when a config is read, relative to the current folder).
PATH_KEYS = ("data.path", "data.split.file", "data.focus.run")


def base_tree(config: str | Path, overrides: list[str]) -> dict[str, Any]:
    """The recipe file's YAML mapping with ``overrides`` (KEY=VALUE strings) applied, ``recipe`` set.

    Raises:
        ConfigError: the file is missing, not YAML or not a mapping; a bad override.
    """
    return recipe_tree(config, overrides)


def with_params(tree: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``tree`` with each dotted key of ``params`` set to its value."""
    out = copy.deepcopy(tree)
    for key, value in params.items():
        set_dotted(out, key, copy.deepcopy(value))
    return out


def resolve(tree: dict[str, Any], source: str) -> RunConfig:
    """The validated run config of a recipe tree (``source`` is named in errors)."""
    try:
        return RunConfig.model_validate(copy.deepcopy(tree))
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()]
        raise ConfigError(f"{source}: invalid configuration\n" + "\n".join(lines)) from None


def check_space(space: SearchSpace, tree: dict[str, Any]) -> RunConfig:
    """Check every parameter's extreme values (low and high, or every choice) against the base recipe
    before any trial runs; returns the base config.

    Each value is set alone into the base and validated (types, ranges, unknown keys inside a
    section); values of model, loss and input-size keys also build the model and loss
    (:func:`~dermkit.engine.checks.check_recipe`), so an option the model does not take fails here.

    Raises:
        ConfigError: naming the space file, the key and the value.
    """
    base = resolve(tree, "the recipe")
    check_recipe(base)
    for key, spec in space.params.items():
        for value in spec.corners():
            try:
                cfg = resolve(with_params(tree, {key: value}), f"{space.source}: {key}={value!r}")
                if key.startswith(_BUILD_SECTIONS):
                    check_recipe(cfg)
            except ConfigError as exc:
                message = str(exc)
                if not message.startswith(space.source):
                    message = f"{space.source}: {key}={value!r}: {message}"
                raise ConfigError(message) from None
    return base


def best_recipe_text(tree: dict[str, Any], params: dict[str, Any], header: list[str]) -> str:
    """The YAML of the base recipe with ``params`` set, under ``header`` comment lines.

    Path keys the recipe sets (``data.path``, ...) are written as the absolute paths the trials used,
    so the recipe means the same from any folder.

    Raises:
        ConfigError: the result would not load (never expected: every trial's config was valid).
    """
    tuned = with_params(tree, params)
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    described = f"{tree.get('description', '')} (tuned: {shown})".strip()
    rest = {k: v for k, v in tuned.items() if k not in ("recipe", "description")}
    tuned = {"recipe": f"{tree.get('recipe', 'custom')}_tuned", "description": described, **rest}
    cfg = resolve(tuned, "the best recipe")
    resolved = cfg.model_dump(mode="json")
    for key in PATH_KEYS:
        if _get_dotted(tuned, key) is not None:
            set_dotted(tuned, key, _get_dotted(resolved, key))
    lines = [f"# {line}" for line in header]
    return "\n".join(lines) + "\n" + yaml.safe_dump(tuned, sort_keys=False)


def _get_dotted(tree: dict[str, Any], key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
