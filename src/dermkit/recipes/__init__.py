"""The YAML recipes shipped inside the package, found by name from any folder.

A recipe is one YAML file in this folder (``seg_default.yaml``, ``cls_s2_deepconvnet.yaml``, ...)
naming only what differs from the defaults in :mod:`dermkit.config`. They travel inside the wheel
(package data, read through :mod:`importlib.resources`), so ``--config seg_default`` works after a
plain ``pip install`` without a source checkout::

    recipe_path("seg_default")          # .../dermkit/recipes/seg_default.yaml
    recipe_path("my/own_recipe.yaml")   # an existing file wins over a shipped name
    [r.name for r in list_recipes()]    # ['cls_baseline', 'cls_default', ...]
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from dermkit.errors import ConfigError
from dermkit.registry import Registry

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class RecipeInfo:
    """One shipped recipe.

    Attributes:
        name: what ``--config`` takes (the file name without ``.yaml``).
        task: "segmentation" or "classification" (the recipe's ``task:`` field).
        description: one line: the ``description:`` field, else the first header comment line.
        path: the YAML file inside the installed package.
    """

    name: str
    task: str
    description: str
    path: Path


def recipes_dir() -> Path:
    """The folder holding the shipped recipes (inside the installed package).

    Raises:
        ConfigError: dermkit is imported from a zip archive, where recipes have no file path.
    """
    folder = resources.files(__name__)
    if not isinstance(folder, Path):
        raise ConfigError(
            f"{folder}: dermkit's recipes are not on the file system (imported from an archive?); "
            "install dermkit as a normal package (pip install dermkit) to use recipes by name"
        )
    return folder


def _strip_suffix(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _header_line(text: str) -> str:
    """The first non-empty ``# ...`` comment line at the top of a YAML file, without the ``#``."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        if stripped.lstrip("#").strip():
            return stripped.lstrip("#").strip()
    return ""


def read_info(path: Path) -> RecipeInfo:
    """Name, task and one-line description of the recipe file ``path``.

    Raises:
        ConfigError: the file is not valid YAML or not a mapping.
    """
    text = path.read_text()
    try:
        tree = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    description = str(tree.get("description") or _header_line(text))
    return RecipeInfo(_strip_suffix(path.name), str(tree.get("task", "?")), description, path)


def _registry() -> Registry[Path]:
    """Shipped recipe names -> files (read fresh each call: a few small files, no stale cache)."""
    table: Registry[Path] = Registry("recipe")
    for path in sorted(recipes_dir().iterdir()):
        if path.suffix in SUFFIXES and path.is_file():
            table.add(_strip_suffix(path.name), path)
    return table


def recipe_names() -> list[str]:
    """Names of the shipped recipes, sorted."""
    return _registry().names()


def list_recipes() -> list[RecipeInfo]:
    """Every shipped recipe with its task and description, sorted by name."""
    table = _registry()
    return [read_info(table.get(name)) for name in table.names()]


def shipped_recipe(name: str) -> Path:
    """The shipped recipe ``name`` (``seg_default`` or ``seg_default.yaml``), never a file of the current
    folder: for library code that means dermkit's own recipe.

    Raises:
        ConfigError: an unknown name, with a did-you-mean and the known names.
    """
    table = _registry()
    name = _strip_suffix(name)
    if name not in table:
        raise ConfigError(
            f"{table.unknown_message(name)} Give a recipe name or the path of an existing YAML "
            "file (`dermkit recipes` lists the recipes)."
        )
    return table.get(name)


def recipe_path(name_or_path: str | Path) -> Path:
    """The YAML file for ``name_or_path``: an existing file, else a shipped recipe's name.

    ``"seg_default"`` and ``"seg_default.yaml"`` both name the shipped recipe; a path with folders
    (``"configs/x.yaml"``) is only ever taken as a path, so a mistyped path of the user's own recipe
    is an error instead of silently running a shipped recipe of the same name.

    Raises:
        ConfigError: a folder; a path that does not exist; an unknown name (with a did-you-mean and
            the known names).
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.is_dir():
        raise ConfigError(
            f"{path}: is a folder, not a recipe; give a YAML file or a recipe name (`dermkit recipes` lists them)"
        )
    if len(path.parts) > 1 or path.is_absolute():
        name = _strip_suffix(path.name)
        hint = f"; a shipped recipe has that name: use --config {name}" if name in recipe_names() else ""
        raise ConfigError(
            f"{path}: config file not found{hint}. Give an existing YAML file or a recipe "
            "name (`dermkit recipes` lists them)"
        )
    return shipped_recipe(path.name)
