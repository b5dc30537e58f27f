"""Search spaces: a YAML mapping from recipe keys (dotted, as in overrides) to Optuna distributions.

A space file names what to vary and how; everything else comes from the recipe::

    optim.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
    optim.weight_decay: {type: float, low: 1.0e-6, high: 1.0e-3, log: true}
    train.batch_size: {type: categorical, choices: [16, 32, 64]}
    model.kwargs.dense_widths: {type: categorical, choices: [[64, 64, 16, 16], [128, 64]]}
    augment.rotate: {type: int, low: 0, high: 90, step: 15}

Keys must be recipe keys (the fields of :class:`dermkit.config.RunConfig`, or any key below a
free-form mapping such as ``model.kwargs``); an unknown key is refused with a did-you-mean before
any trial runs. Categorical choices may be lists or mappings: Optuna stores only scalars, so those
are kept in the study as their JSON text and decoded when a trial is configured.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from dermkit.config import RunConfig
from dermkit.errors import ConfigError
from dermkit.recipes import recipes_dir

#: Keys a study cannot vary: they decide what the study optimises, or which run a trial is.
FIXED_KEYS = {
    "task": "the task decides the model, the data and the metric; make one study per task",
    "train.monitor": "it is the metric the study optimises; set it in the recipe or as an override",
    "recipe": "it is the recipe's name, not a training setting",
}

SUFFIXES = (".yaml", ".yml")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FloatParam(_Spec):
    """A real number in [low, high]; ``log`` samples its logarithm uniformly, ``step`` makes it discrete."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _range(self) -> FloatParam:
        _check_range(self.low, self.high, self.log, self.step is not None)
        if self.log and self.low <= 0:
            raise ValueError(f"log: true needs low > 0 (got {self.low}); give a positive low or drop log")
        return self

    def suggest(self, trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log, step=self.step)

    def corners(self) -> list[float]:
        return [self.low, self.high]


class IntParam(_Spec):
    """An integer in [low, high] (both included), every ``step``-th, or log-uniform."""

    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _range(self) -> IntParam:
        _check_range(self.low, self.high, self.log, self.step != 1)
        if self.log and self.low < 1:
            raise ValueError(f"log: true needs low >= 1 (got {self.low}); give a positive low or drop log")
        return self

    def suggest(self, trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log, step=self.step)

    def corners(self) -> list[int]:
        return [self.low, self.low + (self.high - self.low) // self.step * self.step]


class CategoricalParam(_Spec):
    """One of ``choices`` (scalars, lists or mappings)."""

    type: Literal["categorical"]
    choices: list[Any] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CategoricalParam:
        encoded = [encode_choice(c) for c in self.choices]
        repeated = sorted({str(c) for c in encoded if encoded.count(c) > 1})
        if repeated:
            raise ValueError(f"choices must differ; repeated: {', '.join(repeated)}")
        return self

    def suggest(self, trial, name: str) -> Any:
        encoded = [encode_choice(c) for c in self.choices]
        picked = trial.suggest_categorical(name, encoded)
        return self.choices[encoded.index(picked)]

    def corners(self) -> list[Any]:
        return list(self.choices)


Param = Annotated[Union[FloatParam, IntParam, CategoricalParam], Field(discriminator="type")]  # noqa: UP007
_PARAM = TypeAdapter(Param)


def _check_range(low: float, high: float, log: bool, stepped: bool) -> None:
    if low >= high:
        raise ValueError(f"low ({low}) must be below high ({high})")
    if log and stepped:
        raise ValueError("log and step cannot be combined (Optuna samples a log scale continuously)")


def encode_choice(choice: Any) -> Any:
    """A categorical choice as Optuna stores it: scalars as they are, lists and mappings as JSON text."""
    if choice is None or isinstance(choice, bool | int | float | str):
        return choice
    return json.dumps(choice, sort_keys=True)


@dataclass(frozen=True)
class SearchSpace:
    """Recipe key -> distribution, in file order.

    Attributes:
        params: the parameters.
        source: the file they were read from (named in messages).
    """

    params: dict[str, FloatParam | IntParam | CategoricalParam]
    source: str

    def suggest(self, trial) -> dict[str, Any]:
        """The trial's value of every parameter (decoded: lists stay lists)."""
        return {key: spec.suggest(trial, key) for key, spec in self.params.items()}

    def as_json(self) -> dict[str, Any]:
        """A JSON-able description, stored with the study to recognise the same space on resume."""
        return {key: spec.model_dump(mode="json", exclude_defaults=True) for key, spec in self.params.items()}


# -- recipe keys ----------------------------------------------------------------------------------
def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _takes_mapping(annotation: Any) -> bool:
    """Whether a field may hold a free-form mapping (``dict[str, Any]``, possibly in a union)."""
    origin = typing.get_origin(annotation)
    if origin is dict or annotation is dict:
        return True
    if origin in (Union, types.UnionType):
        return any(_takes_mapping(a) for a in typing.get_args(annotation))
    return False


def recipe_keys(model: type[BaseModel] = RunConfig, prefix: str = "") -> dict[str, bool]:
    """Every dotted leaf key of the recipe schema -> whether keys below it are free-form (a mapping)."""
    keys: dict[str, bool] = {}
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        if _is_model(info.annotation):
            keys.update(recipe_keys(info.annotation, key + "."))
        else:
            keys[key] = _takes_mapping(info.annotation)
    return keys


def check_key(key: str, source: str) -> None:
    """Refuse ``key`` unless it is a recipe key (or below a free-form mapping key such as ``model.kwargs``).

    Raises:
        ConfigError: unknown key (with the closest keys), a section instead of a value, or a key a
            study cannot vary (:data:`FIXED_KEYS`).
    """
    if key in FIXED_KEYS:
        raise ConfigError(f"{source}: {key} cannot be tuned: {FIXED_KEYS[key]}")
    keys = recipe_keys()
    if key in keys:
        return
    if any(key.startswith(k + ".") for k, free in keys.items() if free):
        return
    below = sorted(k for k in keys if k.startswith(key + "."))
    if below:
        raise ConfigError(
            f"{source}: {key} is a section of the recipe, not a value; tune one of its keys "
            f"({', '.join(below[:6])}{', ...' if len(below) > 6 else ''})"
        )
    last = key.rsplit(".", 1)[-1]
    close = [k for k in keys if k.rsplit(".", 1)[-1] == last]  # the right name in the wrong section
    close = close or difflib.get_close_matches(key, list(keys), n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close[:3])}?" if close else ""
    raise ConfigError(
        f"{source}: {key} is not a recipe key.{hint} Keys are dotted paths of the recipe schema, "
        "as in overrides (optim.lr, train.batch_size, loss.kwargs.label_smoothing, ...)."
    )


# -- reading --------------------------------------------------------------------------------------
def shipped_spaces_dir() -> Path:
    """The example spaces shipped with dermkit (``dermkit/recipes/tune``)."""
    return recipes_dir() / "tune"


def shipped_space_names() -> list[str]:
    folder = shipped_spaces_dir()
    return sorted(p.stem for p in folder.iterdir() if p.suffix in SUFFIXES) if folder.is_dir() else []


def space_path(name_or_path: str | Path) -> Path:
    """An existing file, else the shipped example space of that name (``cls_default_small``).

    Raises:
        ConfigError: neither (the shipped names are listed).
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    stem = path.name.removesuffix(path.suffix) if path.suffix in SUFFIXES else path.name
    if len(path.parts) == 1 and stem in shipped_space_names():
        return shipped_spaces_dir() / f"{stem}.yaml"
    raise ConfigError(
        f"--space {name_or_path}: no such file, and no shipped search space of that name "
        f"(shipped: {', '.join(shipped_space_names()) or 'none'})"
    )


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"][1:])  # the first item is the union member's tag
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc + ': ' if loc else ''}{msg}")
    return "; ".join(parts)


def parse_space(tree: Any, source: str) -> SearchSpace:
    """A :class:`SearchSpace` from a parsed YAML mapping (see the module doc).

    Raises:
        ConfigError: not a non-empty mapping, a bad key or a bad distribution; the message names
            ``source``, the key and what to write instead.
    """
    if not isinstance(tree, dict) or not tree:
        raise ConfigError(
            f"{source}: a search space is a non-empty mapping of recipe keys to distributions, e.g. "
            "optim.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}"
        )
    params = {}
    for key, spec in tree.items():
        if not isinstance(key, str):
            raise ConfigError(f"{source}: key {key!r} is not a dotted recipe key such as optim.lr")
        check_key(key, source)
        if not isinstance(spec, dict) or spec.get("type") not in ("float", "int", "categorical"):
            raise ConfigError(
                f"{source}: {key}: give a mapping with type float, int or categorical, e.g. "
                "{type: float, low: 0.0, high: 0.2} or {type: categorical, choices: [16, 32]} (got "
                f"{spec!r})"
            )
        try:
            params[key] = _PARAM.validate_python(spec)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {key}: {_validation_message(exc)}") from None
    return SearchSpace(params, source)


def load_space(name_or_path: str | Path) -> SearchSpace:
    """Read and check a search-space YAML file (or a shipped one by name); see :func:`parse_space`."""
    path = space_path(name_or_path)
    try:
        tree = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    return parse_space(tree, str(path))
