"""The model registry: every dermkit model is built through :func:`create_model`.

Models are registered by tiny entry functions (the timm pattern)::

    @register_model(task="segmentation", default_cfg={"input_size": (3, 224, 224)})
    def unet_s2(**kwargs) -> UNet:
        return UNet(**kwargs)

and built by name::

    model = create_model("unet_s2", in_channels=3)

The registry is task-agnostic: segmentation and classification models share it, and
``list_models(task=...)`` filters by task. The table is a generic :class:`~dermkit.registry.Registry`
(:data:`MODELS`): registering a name twice is an error (timm only warns), so two files cannot
silently shadow each other, and an unknown name gets a did-you-mean.

Every created model records how it was made in ``model.model_name`` and
``model.model_kwargs`` so that a checkpoint can store them beside the weights and
``create_model(model.model_name, **model.model_kwargs)`` rebuilds the same network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from torch import nn

from dermkit.errors import ConfigError
from dermkit.registry import Registry
from dermkit.task import TASKS, Task

EntryFn = TypeVar("EntryFn", bound=Callable[..., nn.Module])

#: name -> entry function; info: ``task``, ``default_cfg`` (read-only), ``summary``
MODELS: Registry[Callable[..., nn.Module]] = Registry("model")


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model.

    Attributes:
        name: Registry name, e.g. ``"unet_s2"``.
        task: ``"segmentation"`` or ``"classification"``.
        entry: The entry function that builds the model from keyword arguments.
        default_cfg: Read-only metadata declared at registration (input size, paper, ...).
        module: Python module that defines the entry function.
        summary: First line of the entry function's docstring.
    """

    name: str
    task: Task
    entry: Callable[..., nn.Module] = field(repr=False)
    default_cfg: Mapping[str, Any]
    module: str
    summary: str


def register_model(
    name: str | Callable[..., nn.Module] | None = None,
    task: Task = "segmentation",
    default_cfg: dict[str, Any] | None = None,
) -> Any:
    """Register a model entry function under ``name`` (default: the function's name).

    Usable as ``@register_model(task="classification")`` or bare ``@register_model``.

    Args:
        name: Registry name; defaults to the decorated function's ``__name__``.
        task: ``"segmentation"`` or ``"classification"``.
        default_cfg: Metadata stored read-only in :class:`ModelInfo` (e.g. ``input_size``).

    Returns:
        The decorator (or, used bare, the unchanged function).

    Raises:
        ValueError: ``task`` is unknown or the name is already registered.
    """
    if callable(name):  # used bare: @register_model
        return register_model()(name)
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}; got {task!r}")

    def decorator(fn: EntryFn) -> EntryFn:
        doc = (fn.__doc__ or "").strip()
        MODELS.add(
            name or fn.__name__,
            fn,
            task=task,
            default_cfg=MappingProxyType(dict(default_cfg or {})),
            summary=doc.splitlines()[0] if doc else "",
        )
        return fn

    return decorator


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model by name: the single public constructor.

    Args:
        name: Registry name (see :func:`list_models`).
        **kwargs: Passed to the model's entry function (e.g. ``in_channels=1``,
            ``pretrained=False``).

    Returns:
        The model, with ``model_name`` and ``model_kwargs`` attributes recording this call.

    Raises:
        ConfigError: Unknown model name (with close matches suggested) or a keyword the
            model does not accept.
    """
    entry = MODELS.get(name)
    try:
        model = entry(**kwargs)
    except TypeError as err:
        # Only a bad keyword is the user's mistake; any other TypeError is a bug to surface.
        if "unexpected keyword argument" not in str(err):
            raise
        raise ConfigError(f"model {name!r} got an unsupported argument: {err}") from err
    model.model_name = name
    model.model_kwargs = dict(kwargs)
    return model


def list_models(task: Task | None = None) -> list[str]:
    """Sorted registry names, optionally only those of one task.

    Raises:
        ValueError: ``task`` is not ``None``, ``"segmentation"`` or ``"classification"``.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be None or one of {TASKS}; got {task!r}")
    return sorted(MODELS.names() if task is None else MODELS.names(task=task))


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a registered model.

    Raises:
        ConfigError: Unknown model name (with close matches suggested).
    """
    entry = MODELS.entry(name)
    return ModelInfo(
        name=entry.name,
        task=entry.info["task"],
        entry=entry.obj,
        default_cfg=entry.info["default_cfg"],
        module=entry.module,
        summary=entry.info["summary"],
    )
