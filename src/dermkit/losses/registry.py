"""The one loss registry: every training loss is built by name through :func:`create_loss`.

Losses register themselves where they are defined, tagged with their task::

    @LOSSES.register("dice", task="segmentation")
    class DiceLoss(nn.Module): ...

Registering a name twice is an error and an unknown name gets a did-you-mean (the generic
:class:`~dermkit.registry.Registry`), so a recipe's loss can be checked before any data is read
(``LOSSES.entry(name).info["task"]``).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from dermkit.errors import ConfigError
from dermkit.registry import Registry
from dermkit.task import TASKS, Task

#: name -> loss factory (a module class or a preset function); info: ``task``
LOSSES: Registry[Callable[..., nn.Module]] = Registry("loss")


def list_losses(task: Task | None = None) -> list[str]:
    """Sorted names accepted by :func:`create_loss`, optionally only those of one task.

    Raises:
        ValueError: ``task`` is not None, "segmentation" or "classification".
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be None or one of {TASKS}; got {task!r}")
    return sorted(LOSSES.names() if task is None else LOSSES.names(task=task))


def create_loss(name: str, **kwargs: object) -> nn.Module:
    """Build a loss module by name.

    Args:
        name: segmentation: "jaccard", "dice", "weighted_dice", "bce", "bce_dice";
            classification: "cross_entropy", "focal" (see :func:`list_losses`).
        **kwargs: options of the module (e.g. ``smooth=1.0``, ``class_weights=[...]``).

    Raises:
        ConfigError: unknown name (with a suggestion) or unsupported option.
    """
    factory = LOSSES.get(name)
    try:
        return factory(**kwargs)
    except TypeError as err:
        # Only a bad keyword is the user's mistake; any other TypeError is a bug to surface.
        if "unexpected keyword argument" not in str(err):
            raise
        raise ConfigError(f"loss {name!r} got an unsupported option: {err}") from err
