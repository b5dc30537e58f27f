"""The table of data-set layouts: ``register_reader`` and layout detection, on :class:`~dermkit.registry.Registry`.

Each layout has one ``read_<layout>(root) -> LesionTable`` function registered with a cheap
``detect(root) -> bool`` test (directory listings of the root and its children and CSV headers
only; no image is opened) and a one-line description of the files it expects. Registering a
name twice is an error; an unknown layout name gets a did-you-mean.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dermkit.data.readers._scan import check_root
from dermkit.data.records import LesionTable
from dermkit.errors import DataError
from dermkit.registry import Registry

ReaderFn = Callable[..., LesionTable]
DetectFn = Callable[[Path], bool]

#: layout name -> reader function; each entry's info holds ``detect`` and ``expects``.
READERS: Registry[ReaderFn] = Registry("data-set layout", error=DataError)

#: Detection tries layouts in this order (most specific first: a HAM10000 folder also holds
#: ``_segmentation.png`` masks, so it must win over ISIC Task 1; folder-per-class is the fallback).
#: Layouts registered by users and not named here are tried after these, in registration order.
DETECTION_ORDER: tuple[str, ...] = (
    "ham10000",
    "ph2",
    "isic2018_task3",
    "isic2017",
    "isic2018_task1",
    "folder",
)


def register_reader(name: str, detect: DetectFn, expects: str = "") -> Callable[[ReaderFn], ReaderFn]:
    """Register ``read_<layout>`` under ``name``.

    Args:
        name: layout name used by ``load_table(root, layout=name)`` and in error messages.
        detect: ``detect(root) -> bool``; must be cheap (listings and CSV headers only).
        expects: one line describing the files the layout needs, shown when detection fails
            (default: the first line of the reader's docstring).

    Raises:
        ValueError: ``name`` is already registered (silently replacing a reader hides bugs).
    """

    def decorator(fn: ReaderFn) -> ReaderFn:
        doc_lines = (fn.__doc__ or "").strip().splitlines()
        summary = expects or (doc_lines[0] if doc_lines else name)
        READERS.add(name, fn, detect=detect, expects=summary)
        return fn

    return decorator


def available_layouts() -> list[str]:
    """Registered layouts in detection order."""
    known = [n for n in DETECTION_ORDER if n in READERS]
    return known + [n for n in READERS if n not in known]


def get_reader(layout: str) -> ReaderFn:
    """The reader registered as ``layout``.

    Raises:
        DataError: unknown layout, with close names suggested and every layout listed.
    """
    if layout not in READERS:
        raise DataError(f"{READERS.unknown_message(layout)} Or pass layout='auto' to detect it.")
    return READERS.get(layout)


def detect_layout(root: str | Path) -> str:
    """Name of the first layout (in :data:`DETECTION_ORDER`) whose files are found under ``root``.

    Raises:
        DataError: ``root`` is missing, or no layout fits; the message lists every layout with
            the files it expects.
    """
    path = check_root(root)
    for name in available_layouts():
        if READERS.entry(name).info["detect"](path):
            return name
    lines = "\n".join(f"  - {n}: {READERS.entry(n).info['expects']}" for n in available_layouts())
    raise DataError(
        f"cannot tell which data-set layout {path} holds; none of the known layouts fits:\n{lines}\n"
        "Rearrange the files into one of these layouts, or pass layout=... explicitly."
    )
