"""The run folder: one place holding everything a run produced.

Layout::

    RUN/config.yaml          resolved config (every field)
    RUN/environment.json     seed, versions, device, git commit, command line
    RUN/split.csv            which image was on which side
    RUN/data_check.*         the data check (and excluded.csv when files were excluded)
    RUN/train.log            log lines
    RUN/metrics.csv          one row per epoch; metrics.json the same as a list
    RUN/curves.png           loss and monitored-metric curves
    RUN/checkpoints/{last,best}.pt
    RUN/final_metrics.json   validation and test metrics of the best checkpoint
    RUN/data_fingerprint.json  the data's files and sizes (a resume on other data is refused)
    RUN/.lock                the pid of the process training into RUN (one at a time)
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import logging
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from dermkit import __version__
from dermkit.config import RunConfig, load_config
from dermkit.errors import ConfigError, DermkitError
from dermkit.files import claim_output_dir

log = logging.getLogger("dermkit.engine")

LOCK_FILE = ".lock"
RUN_MARKER = ".dermkit-run"  # created in every run folder: training may write into it again

#: Config keys a resumed run may change: where and how fast it runs, not what it computes.
RESUME_MAY_CHANGE: frozenset[str] = frozenset({"data.num_workers", "data.cache_dir", "train.device"})


class RunLocked(DermkitError):
    """Another live process is training into the same run folder."""


class RunLock:
    """An exclusive lock on a run folder: ``RUN/.lock``, held with ``flock`` for the life of the
    process and holding the owner's pid, host and start time.

    The operating system releases a ``flock`` when its process dies, so a lock file left by a
    killed training is recognised as stale (named in a warning and taken over) without guessing
    from pids, and two processes that find the same stale file cannot both take it: only one
    gets the ``flock``, and the other is refused. A lock held by a live process is refused.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": _dt.datetime.now().isoformat(timespec="seconds"),
            "argv": sys.argv,
        }
        for _ in range(3):
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = _read_owner(fd)
                os.close(fd)
                raise RunLocked(
                    f"{self.path.parent} is in use by process {other.get('pid', '?')} on {other.get('host', '?')} "
                    f"(started {other.get('started', '?')}); two trainings in one run folder would corrupt each "
                    "other. Wait for it to finish, stop it, or choose another --out."
                ) from None
            try:
                same_file = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same_file = False
            if not same_file:  # the previous holder removed the file while we opened it: try the new one
                os.close(fd)
                continue
            stale = _read_owner(fd)
            if stale:
                log.warning(
                    "%s: stale lock of process %s (started %s) that no longer runs; taking it over",
                    self.path,
                    stale.get("pid", "?"),
                    stale.get("started", "?"),
                )
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(owner).encode(), 0)
            self._fd = fd
            return self
        raise RunLocked(f"{self.path}: could not lock the run folder; another process keeps taking it")

    def release(self) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # before closing: nobody can lock this file once it is gone
            os.close(self._fd)  # releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_owner(fd: int) -> dict[str, Any]:
    """The owner record in an open lock file ({} when empty or unreadable)."""
    try:
        data = os.pread(fd, 65536, 0)
        owner = json.loads(data) if data.strip() else {}
    except (OSError, ValueError):
        return {"pid": "?", "started": "? (unreadable lock file)"}
    return owner if isinstance(owner, dict) else {"pid": "?"}


def claim_run_dir(run_dir: Path) -> Path:
    """:func:`claim_output_dir` for a training run (runs from before the marker hold config.yaml and
    environment.json)."""
    return claim_output_dir(run_dir, RUN_MARKER, "run", legacy=("config.yaml", "environment.json"), ignore=(LOCK_FILE,))


def config_differences(saved: RunConfig, new: RunConfig, ignore: frozenset[str] = frozenset()) -> list[str]:
    """Dotted keys (other than ``ignore``) whose values differ between two configs, as "key: saved -> new"."""
    a, b = _flatten(saved.model_dump(mode="json")), _flatten(new.model_dump(mode="json"))
    keys = sorted((set(a) | set(b)) - ignore)
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in keys if a.get(k) != b.get(k)]


def check_resume_config(run_dir: Path, new: RunConfig) -> RunConfig:
    """The run's saved config, after checking that ``new`` differs from it only in
    :data:`RESUME_MAY_CHANGE` keys; a difference elsewhere is refused, naming the keys."""
    saved = load_config(Path(run_dir) / "config.yaml")
    changed = config_differences(saved, new, ignore=RESUME_MAY_CHANGE)
    if changed:
        raise ConfigError(
            f"{run_dir}: --resume continues the run exactly as it was configured, but these keys differ from its "
            "config.yaml:\n"
            + "\n".join(f"  {d}" for d in changed)
            + f"\nDrop those overrides to resume, or start a new run (another --out). Only "
            f"{', '.join(sorted(RESUME_MAY_CHANGE))} may change on resume."
        )
    return saved


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def default_run_dir(recipe: str, root: str | Path = "runs") -> Path:
    """runs/<YYYYmmdd-HHMMSS>-<recipe>."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{stamp}-{recipe}"


def environment(seed: int, device: str) -> dict[str, Any]:
    """Versions and context that make a run reproducible."""
    import numpy
    import torch

    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=5,
                cwd=Path(__file__).resolve().parent,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        commit = None
    versions = {
        "dermkit": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
    }
    for name in ("torchvision", "timm", "segmentation_models_pytorch", "albumentations", "cv2", "sklearn"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    return {
        "seed": seed,
        "device": device,
        "versions": versions,
        "git_commit": commit,
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
        "argv": sys.argv,
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
    }


def attach_log(run_dir: Path) -> logging.Handler:
    """Send dermkit's log records to RUN/train.log (returns the handler to detach later)."""
    handler = logging.FileHandler(run_dir / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("dermkit")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
