"""Run configuration: one pydantic schema for every recipe, read from YAML with CLI overrides.

A recipe (one shipped in :mod:`dermkit.recipes`, or any YAML file) names only what differs from the
defaults below; the resolved config (every field) is written into the run folder so the run can be
rebuilt exactly.
Overrides use dotted keys: ``train.epochs=3 model.kwargs.base=16 data.path=/data/HAM10000``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dermkit.data.transforms import AugmentConfig
from dermkit.errors import ConfigError
from dermkit.preprocess.pipeline import PreprocessConfig
from dermkit.recipes import recipe_path
from dermkit.task import Task

CACHE_ENV = "DERMKIT_CACHE"  # overrides where the cache lives (data.cache_dir: auto)
CACHE_OFF = ("", "off", "none")  # data.cache_dir values (besides null) that disable the cache


def default_cache_dir() -> Path:
    """Where ``data.cache_dir: auto`` caches: ``$DERMKIT_CACHE``, else ``$XDG_CACHE_HOME/dermkit``, else
    ``~/.cache/dermkit``; never the current folder, so a command run from a data folder leaves it clean."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():  # the XDG spec says to ignore a relative value
        return Path(xdg) / "dermkit"
    return Path.home() / ".cache" / "dermkit"


def resolve_cache_dir(value: str | Path | None) -> str | None:
    """A ``data.cache_dir`` value as the folder to use: "auto" -> :func:`default_cache_dir`, null/"off" -> None."""
    if value is None or str(value).strip().lower() in CACHE_OFF:
        return None
    if str(value).strip() == "auto":
        return str(default_cache_dir())
    return str(Path(value).expanduser())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SyntheticConfig(_Strict):
    """The embedded default data set, used when ``data.path`` is empty."""

    n: int = Field(600, ge=14)
    seed: int = 0
    size: tuple[int, int] = (150, 200)
    balance: Literal["ham10000", "balanced"] = "ham10000"
    hair_prob: float = Field(0.3, ge=0, le=1)
    frame_prob: float = Field(0.2, ge=0, le=1)


def absolute_path(value: Any) -> Any:
    """A path field as an absolute path (``~`` expanded), so a run folder records where its data
    are and can be resumed or evaluated from any folder; empty values stay None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str | Path):
        return str(Path(value).expanduser().absolute())
    return value


class SplitConfig(_Strict):
    """Lesion-grouped split; ``file`` reuses a saved split CSV instead of making one."""

    val: float = Field(0.15, ge=0, lt=1)
    test: float = Field(0.15, ge=0, lt=1)
    seed: int = 0
    test_fold: int = Field(0, ge=0, description="which of the seed's disjoint test sides (0 ... round(1/test)-1)")
    file: str | None = None

    _absolute_file = field_validator("file", mode="before")(absolute_path)

    @model_validator(mode="after")
    def _fold_or_file(self) -> SplitConfig:
        if self.file and self.test_fold:
            raise ValueError(
                f"data.split.test_fold={self.test_fold} has no effect with data.split.file "
                f"({self.file}): the file fixes the split; drop one of them"
            )
        return self


class FocusConfig(_Strict):
    """Segment-then-classify (S1, S2): classify the lesion found by a trained segmentation run."""

    run: str | None = Field(None, description="segmentation run folder; empty = classify whole images")
    _absolute_run = field_validator("run", mode="before")(absolute_path)
    mode: Literal["mask", "crop"] = Field("crop", description="mask: black out non-lesion (S1); crop: lesion box (S2)")
    margin: float = Field(0.1, ge=0, le=1, description="crop: extra border as a fraction of the box size")


class DataConfig(_Strict):
    path: str | None = Field(None, description="data set folder; empty = synthetic data")
    _absolute_path = field_validator("path", mode="before")(absolute_path)
    layout: str = "auto"
    synthetic: SyntheticConfig = SyntheticConfig()
    split: SplitConfig = SplitConfig()
    preprocess: PreprocessConfig = PreprocessConfig(size=(128, 160))
    cache_dir: str | None = Field(
        "auto",
        validate_default=True,
        description="preprocessed-image cache folder; auto: $DERMKIT_CACHE, else "
        "$XDG_CACHE_HOME/dermkit, else ~/.cache/dermkit (resolved when the config is read); null or off: no cache",
    )
    on_bad_files: Literal["fail", "exclude"] = Field(
        "fail", description="fail: stop with the data check report; exclude: drop listed files and record them"
    )
    num_workers: int = Field(2, ge=0)
    focus: FocusConfig = FocusConfig()

    @field_validator("cache_dir", mode="before")
    @classmethod
    def _resolve_cache(cls, value: Any) -> Any:
        if isinstance(value, bool):  # YAML reads a bare off/on (no/yes) as a boolean
            value = "auto" if value else None
        return resolve_cache_dir(value) if value is None or isinstance(value, str | Path) else value


class ModelConfig(_Strict):
    name: str
    kwargs: dict[str, Any] = {}


class LossConfig(_Strict):
    name: str
    kwargs: dict[str, Any] = {}


class OptimConfig(_Strict):
    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)


class ScheduleConfig(_Strict):
    name: Literal["none", "plateau", "cosine"] = "none"
    factor: float = Field(0.2, gt=0, lt=1, description="plateau: multiply lr by this")
    patience: int = Field(5, ge=0, description="plateau: epochs without improvement")
    threshold: float = Field(1e-4, ge=0, description="plateau: minimum change that counts")
    min_lr: float = Field(1e-7, ge=0)


class ImbalanceConfig(_Strict):
    """Class-imbalance handling, computed on the training side only (classification)."""

    class_weights: Literal["balanced", "inverse", "none"] = "none"
    oversample: dict[str, int] | Literal["balance"] | None = None
    sampler: Literal["none", "weighted"] = "none"


class InferenceConfig(_Strict):
    """How a trained model is applied (``evaluate``, ``segment``, the demo)."""

    threshold: float = Field(0.5, gt=0, lt=1, description="segmentation: probability cut-off")
    precision: Literal["fp32", "bf16"] = Field(
        "fp32",
        description="the networks' precision in evaluate, segment and predict: bf16 autocast is 1.4-1.7x faster "
        "on CPUs with AVX-512 BF16 (benchmarks/RESULTS.md), but fp32 is what the ONNX model package computes",
    )
    tta: bool = Field(False, description="average predictions over flips (test-time augmentation)")
    postprocess: bool = Field(False, description="segmentation: keep the largest lesion, fill its holes")
    calibration: Literal["temperature", "bias_corrected"] = Field(
        "bias_corrected",
        description="classification: fitted on validation; temperature only, or "
        "temperature + per-class bias (undoes the prior shift of class-weighted training)",
    )
    decision: Literal["prior", "thresholds", "argmax"] = Field(
        "prior",
        description="classification: how calibrated probabilities become a diagnosis; prior: "
        "argmax p(y|x) / pi(y) with pi the mean calibrated probability on validation (the Bayes decision for "
        "balanced accuracy); thresholds: per-class divisors fitted for BMA on validation; argmax",
    )
    metadata_prior: bool = Field(
        False,
        description="classification: fuse a metadata-only expert (logistic regression on the training "
        "side's age, sex and site) with the image model, weighted on validation with the calibration",
    )


class TrainConfig(_Strict):
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(16, ge=1, description="the global batch: split across processes under torchrun")
    seed: int = 0
    early_stop_patience: int | None = Field(None, ge=1, description="epochs without monitor gain")
    monitor: str | None = Field(None, description="validation metric to select checkpoints; task default if empty")
    grad_clip: float | None = Field(None, gt=0)
    amp: bool = Field(True, description="with precision=auto: float16 mixed precision on CUDA (fp32 when false)")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="autocast of training steps and validation: auto (fp16 on CUDA with amp, fp32 on the CPU), "
        "fp32, bf16 (CPUs with AVX-512 BF16/AMX, recent GPUs) or fp16 (CUDA only)",
    )
    channels_last: bool = Field(True, description="NHWC memory format (about 30% faster convolutions on CPU)")
    sync_batchnorm: bool = Field(
        True, description="under torchrun on CUDA: BatchNorm statistics over the global batch (no effect on CPUs)"
    )
    ema: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="keep an exponential moving average of the weights with at most this decay (e.g. 0.999; "
        "warmed up as 1 - (1 + step)^(-2/3)); validation, checkpoint selection and the saved weights use it",
    )
    max_batches_per_epoch: int | None = Field(None, ge=1, description="cap for quick runs")
    checkpoint_every: int = Field(0, ge=0, description="also checkpoint every N steps (0 = epoch ends only)")
    device: str = Field("auto", description="auto (CUDA when available), cpu or cuda[:N]")


class RunConfig(_Strict):
    """Everything that defines a training run."""

    task: Task
    recipe: str = "custom"
    description: str = ""
    data: DataConfig = Field(default_factory=DataConfig)  # built per config: reads $DERMKIT_CACHE now
    model: ModelConfig
    loss: LossConfig
    optim: OptimConfig = OptimConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    train: TrainConfig = TrainConfig()
    augment: AugmentConfig = AugmentConfig()
    imbalance: ImbalanceConfig = ImbalanceConfig()
    inference: InferenceConfig = InferenceConfig()

    @model_validator(mode="after")
    def _check(self) -> RunConfig:
        if self.data.split.val <= 0 and self.train.early_stop_patience:
            raise ValueError("early stopping needs a validation side: set data.split.val > 0")
        if self.task == "segmentation" and self.data.focus.run:
            raise ValueError("data.focus (segment-then-classify) applies to classification recipes only")
        if self.task == "segmentation" and self.augment.mixing:
            raise ValueError("augment.mixup and augment.cutmix apply to classification recipes only")
        return self

    @property
    def monitor(self) -> str:
        return self.train.monitor or ("val_dice" if self.task == "segmentation" else "val_bma")


def stable_hash(payload: Any, length: int = 12) -> str:
    """Short SHA-1 of a JSON-able value (sorted keys): a cache key that survives restarts."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    """Set ``tree["a"]["b"] = value`` for key "a.b", creating levels as needed."""
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {key!r}: {part!r} is not a section")
    node[parts[-1]] = value


def parse_overrides(overrides: list[str]) -> list[tuple[str, Any]]:
    """["train.epochs=3", "data.path=/x"] -> [("train.epochs", 3), ("data.path", "/x")] (YAML values).

    Values are read with ``yaml.safe_load``: plain YAML only, so a tag such as
    ``!!python/object/apply`` is refused and never runs code.

    Raises:
        ConfigError: an item is not KEY=VALUE, or its value is not plain YAML (names the override).
    """
    pairs = []
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not KEY=VALUE, e.g. train.epochs=3")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            reason = " ".join(str(getattr(exc, "problem", None) or type(exc).__name__).split())
            raise ConfigError(
                f"override {item!r}: the value after '=' is not plain YAML ({reason}); write a number, a word, "
                "a quoted string or a list/mapping such as [1, 2], e.g. train.epochs=3 or data.preprocess.size=[64,64]"
            ) from None
        pairs.append((key.strip(), value))
    return pairs


def _format_validation(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        lines.append(f"  {loc}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def recipe_tree(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """A recipe's YAML mapping (a shipped recipe's name or a file), ``recipe`` set to its name, with
    dotted ``overrides`` applied; not validated.

    Raises:
        ConfigError: no such recipe or file, not YAML, not a mapping, or a bad override.
    """
    path = recipe_path(path)  # an existing file, else a shipped recipe's name
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    tree.setdefault("recipe", path.stem)
    for key, value in parse_overrides(list(overrides)):
        set_dotted(tree, key, value)
    return tree


def load_config(
    path: str | Path | None = None, overrides: list[str] | None = None, base: dict | None = None
) -> RunConfig:
    """Read a YAML recipe, apply dotted overrides, validate.

    Args:
        path: a shipped recipe's name (``seg_default``) or a YAML file (None: start from ``base``).
        overrides: "key.sub=value" strings; values are parsed as YAML.
        base: a starting dict (e.g. a resolved config from a run folder).
    """
    source = str(path) if path else "config"
    if path is not None:
        tree = recipe_tree(path, overrides or [])
    else:
        tree = dict(base or {})
        for key, value in parse_overrides(overrides or []):
            set_dotted(tree, key, value)
    try:
        return RunConfig.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, source)) from None


def dump_config(cfg: RunConfig) -> str:
    """The resolved config as YAML (every field, defaults included)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
