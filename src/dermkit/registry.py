"""One small generic registry: models, data-set readers, training tasks and losses all use it.

A :class:`Registry` maps names to entries (a factory function plus read-only facts about it).
Registering a name twice is an error (timm only warns, which lets two files silently shadow
each other), and an unknown name gets a did-you-mean with the known names listed (MONAI's
``look_up_option``)::

    LOSSES = Registry("loss")

    @LOSSES.register("dice", task="segmentation")
    class DiceLoss(nn.Module): ...

    LOSSES.get("dcie")   # ConfigError: unknown loss 'dcie'. Did you mean 'dice'? Known: dice, ...
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from dermkit.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered name.

    Attributes:
        name: the registry name.
        obj: what was registered (usually a factory function or a class).
        info: read-only facts given at registration (task, input size, what files it expects, ...).
        module: the Python module that registered it (named when a duplicate is refused).
    """

    name: str
    obj: T
    info: Mapping[str, Any] = field(default_factory=dict)
    module: str = ""


class Registry(Generic[T]):
    """Names -> registered objects, with duplicates refused and did-you-mean on unknown names.

    Args:
        kind: what the entries are ("model", "loss", "data-set layout", ...), used in messages.
        error: the exception raised for an unknown name (a :class:`ConfigError` by default, so
            the CLI shows it as a clean usage error).
    """

    def __init__(self, kind: str, error: type[Exception] = ConfigError) -> None:
        self.kind = kind
        self.error = error
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str | None = None, **info: Any) -> Callable[[T], T]:
        """Decorator registering its target under ``name`` (default: the target's ``__name__``).

        Raises:
            ValueError: the name is taken (the message names both modules).
        """

        def decorator(obj: T) -> T:
            self.add(name or obj.__name__, obj, **info)  # type: ignore[attr-defined]
            return obj

        return decorator

    def add(self, name: str, obj: T, **info: Any) -> Entry[T]:
        """Register ``obj`` under ``name``; see :meth:`register`."""
        module = getattr(obj, "__module__", "") or ""
        if name in self._entries:
            raise ValueError(
                f"{self.kind} {name!r} is already registered by {self._entries[name].module}; "
                f"got a second registration from {module}. Pick a unique name."
            )
        entry = Entry(name, obj, MappingProxyType(dict(info)), module)
        self._entries[name] = entry
        return entry

    def remove(self, name: str) -> None:
        """Drop a registration (tests that register throw-away entries)."""
        self._entries.pop(name, None)

    def entry(self, name: str) -> Entry[T]:
        """The :class:`Entry` of ``name``.

        Raises:
            ``self.error``: unknown name, with close matches suggested and the known names listed.
        """
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise self.error(self.unknown_message(name)) from None

    def get(self, name: str) -> T:
        """The object registered as ``name`` (see :meth:`entry` for the error)."""
        return self.entry(name).obj

    def unknown_message(self, name: object) -> str:
        """ "unknown loss 'dcie'. Did you mean 'dice'? Known: ..." for an unregistered name."""
        close = difflib.get_close_matches(str(name), list(self._entries), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(self.names())}."

    def names(self, **match: Any) -> list[str]:
        """Registered names in registration order, optionally only those whose info matches
        every ``key=value`` given (e.g. ``task="segmentation"``)."""
        return [n for n, e in self._entries.items() if all(e.info.get(k) == v for k, v in match.items())]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
