"""Writing files safely: atomic JSON, and output folders that never touch a user's inputs.

The guards run before any work is done, so a refused command has written nothing:

* :func:`prepare_output_dir` refuses an output folder that equals, contains or lies inside an
  input folder, an existing file given as a folder, and a folder that cannot be written to
  (:func:`check_output_dir` checks the same and leaves no folder behind);
* :func:`unique_output_names` refuses inputs that would write the same output file;
* :func:`check_no_overwrite` refuses to replace existing outputs unless ``--overwrite`` is given;
* :func:`check_output_file` does the same for a command whose output is one file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dermkit.errors import DermkitError

SHOWN = 3  # offending paths named in an error message; the rest are counted


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically (temporary file, then rename): a crash never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")
    os.replace(tmp, path)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _examples(paths: Sequence[Any]) -> str:
    """'a, b, c and 7 more': a few offending items and the count of the rest."""
    shown = ", ".join(str(p) for p in paths[:SHOWN])
    return shown + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")


def input_folders(inputs: Iterable[str | Path]) -> list[Path]:
    """The folders an output must keep away from: each input folder, or a file input's folder.

    Symbolic links are resolved, and for a linked file both the link's folder and the target's
    folder count, so no spelling of a path lets an output land among the inputs. An input that does
    not exist holds nothing to protect and is skipped: treating it as a file made its parent (often
    the current folder) an input, and a mistyped data folder then got a misleading "--out lies
    inside the input folder" instead of the command's own "does not exist".
    """
    folders: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if not os.path.lexists(path):  # a broken symbolic link still counts as a file
            continue
        candidates = [path.resolve()] if path.is_dir() else [path.absolute().parent.resolve(), path.resolve().parent]
        folders += [c for c in dict.fromkeys(candidates) if c not in folders]
    return folders


def check_output_location(out: str | Path, inputs: Iterable[str | Path] = (), what: str = "--out") -> Path:
    """Refuse an output folder that is a file or overlaps an input folder; returns it resolved.

    Args:
        out: the output folder (need not exist yet).
        inputs: input files or folders (see :func:`input_folders`).
        what: how the user gave ``out`` (an option name), used in messages.

    Raises:
        DermkitError: ``out`` is an existing file, or equals, contains or lies inside an input folder.
    """
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise DermkitError(
            f"{what} {out}: is an existing file, not a folder; give the path of a folder (it is created when missing)"
        )
    target = out.resolve()
    for folder in input_folders(inputs):
        if target == folder:
            relation = "is the input folder"
        elif target.is_relative_to(folder):
            relation = f"lies inside the input folder {folder}"
        elif folder.is_relative_to(target):
            relation = f"contains the input folder {folder}"
        else:
            continue
        raise DermkitError(
            f"{what} {out}: {relation}; outputs are never written among a user's inputs: choose a folder outside it"
        )
    return target


def prepare_output_dir(out: str | Path, inputs: Iterable[str | Path] = (), what: str = "--out") -> Path:
    """Check ``out`` (see :func:`check_output_location`), create it and prove it is writable.

    Writability is tested with a temporary file, which is what counts (permissions, read-only
    mounts, full quotas), instead of guessing from mode bits.

    Returns:
        ``out`` as given (created).

    Raises:
        DermkitError: ``out`` is refused, cannot be created or cannot be written to.
    """
    check_output_location(out, inputs, what)
    out = Path(out).expanduser()
    _probe(out, what)
    return out


def check_output_dir(out: str | Path, inputs: Iterable[str | Path] = (), what: str = "--out") -> Path:
    """Everything :func:`prepare_output_dir` checks, leaving the file system as it was.

    For commands whose library code creates the folder later (a run folder, an evaluation
    folder): a refused or failing command leaves no empty folder behind. Folders created for the
    probe are removed again (only if still empty).

    Returns:
        ``out`` as given.
    """
    check_output_location(out, inputs, what)
    out = Path(out).expanduser()
    missing = [p for p in (out, *out.parents) if not os.path.lexists(p)]  # deepest first
    try:
        _probe(out, what)
    finally:
        for folder in missing:
            try:
                folder.rmdir()
            except OSError:  # not empty (someone else is using it now) or never created
                break
    return out


def _probe(out: Path, what: str) -> None:
    """Create ``out`` and write (then delete) a temporary file in it, or raise a clean error."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DermkitError(
            f"{what} {out}: cannot write there ({reason}); choose a folder you can write to or fix its permissions"
        ) from None


def check_output_file(
    out: str | Path, inputs: Iterable[str | Path] = (), overwrite: bool = False, what: str = "--out"
) -> Path:
    """Refuse an output *file* among the inputs, over an existing file or where a folder is.

    The file's folder must not be, or lie inside, an input folder (a folder that merely contains
    the data is fine: one file written there touches none of the inputs). Nothing is created.

    Args:
        out: the output file (its folder need not exist yet).
        inputs: input files or folders (see :func:`input_folders`).
        overwrite: the user's ``--overwrite``: an existing file may be replaced.
        what: how the user gave ``out`` (an option name), used in messages.

    Returns:
        ``out`` as given.

    Raises:
        DermkitError: ``out`` is a folder, lies among the inputs, exists without ``overwrite``,
            or its folder cannot be created or written to.
    """
    out = Path(out).expanduser()
    if out.is_dir():
        raise DermkitError(
            f"{what} {out}: is an existing folder, not a file; give the path of a file to write, outside the inputs"
        )
    folders = input_folders(inputs)
    for parent in dict.fromkeys([out.absolute().parent.resolve(), out.resolve().parent]):
        for folder in folders:
            if parent == folder or parent.is_relative_to(folder):
                raise DermkitError(
                    f"{what} {out}: lies inside the input folder {folder}; outputs are never written among a "
                    "user's inputs: choose a file outside it"
                )
    if os.path.lexists(out) and not overwrite:
        raise DermkitError(f"{what} {out}: already exists; pass --overwrite to replace it, or choose another file")
    check_output_dir(out.parent, what=f"the folder of {what}")
    return out


def unique_output_names(sources: Sequence[str | Path], targets: Sequence[str | Path]) -> None:
    """Refuse inputs that would write the same output file (the later would replace the earlier).

    Args:
        sources: input files, in order.
        targets: the output file of each source (same length).

    Raises:
        DermkitError: two or more sources share a target; lists a few collisions and their count.
    """
    by_target: dict[Path, list[str]] = {}
    for source, target in zip(sources, targets, strict=True):
        by_target.setdefault(Path(target).expanduser().resolve(), []).append(str(source))
    clashes = [f"{' + '.join(group)} -> {target.name}" for target, group in by_target.items() if len(group) > 1]
    if clashes:
        raise DermkitError(
            f"{len(clashes)} output files would each be written from several inputs "
            f"({_examples(clashes)}); rename the inputs or process them with separate --out folders"
        )


def check_no_overwrite(paths: Iterable[str | Path], overwrite: bool) -> None:
    """Refuse to replace existing files unless ``overwrite`` (the user's ``--overwrite``).

    Raises:
        DermkitError: some paths exist and ``overwrite`` is false; lists a few and their count.
    """
    if overwrite:
        return
    paths = list(paths)
    existing = [p for p in paths if os.path.lexists(p)]
    if existing:
        raise DermkitError(
            f"{len(existing)} of the {len(paths)} output files already exist ({_examples(existing)}); "
            "pass --overwrite to replace them, or choose another --out"
        )


#: The marker of an evaluation's output folder (see :func:`claim_output_dir`).
EVALUATION_MARKER = ".dermkit-evaluation"


def claim_output_dir(
    path: Path, marker: str, what: str, legacy: tuple[str, ...] = (), ignore: tuple[str, ...] = ()
) -> Path:
    """Create ``path``, or accept it when it is empty or was made by dermkit for the same purpose
    (it holds ``marker``, or every file named in ``legacy``, from before markers; files named in
    ``ignore``, such as the caller's own lock, do not count); then mark it.

    A non-empty folder of the user's is refused: writing dermkit's files into it would replace
    files of the same names (``config.yaml``, ``metrics.json``, ...).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DermkitError(f"{path}: is an existing file, not a folder; give a folder for the {what}")
    if path.is_dir():
        entries = sorted(p.name for p in path.iterdir() if p.name not in ignore)
        ours = marker in entries or bool(legacy and all(n in entries for n in legacy))
        if entries and not ours:
            shown = ", ".join(entries[:4]) + (f" and {len(entries) - 4} more" if len(entries) > 4 else "")
            raise DermkitError(
                f"{path} is not empty ({shown}) and is not a dermkit {what} folder; writing the {what} there would "
                "replace files of the same names. Choose a new or empty folder."
            )
    path.mkdir(parents=True, exist_ok=True)
    (path / marker).touch()
    return path
