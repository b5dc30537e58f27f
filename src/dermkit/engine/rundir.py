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
"""

from __future__ import annotations

import datetime as _dt
import logging
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from dermkit import __version__


def default_run_dir(recipe: str, root: str | Path = "runs") -> Path:
    """runs/<YYYYmmdd-HHMMSS>-<recipe>."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{stamp}-{recipe}"


def environment(seed: int, device: str) -> dict[str, Any]:
    """Versions and context that make a run reproducible."""
    import numpy
    import torch

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    versions = {"dermkit": __version__, "python": platform.python_version(), "torch": torch.__version__,
                "numpy": numpy.__version__}
    for name in ("torchvision", "timm", "segmentation_models_pytorch", "albumentations", "cv2", "sklearn"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    return {
        "seed": seed, "device": device, "versions": versions, "git_commit": commit,
        "platform": platform.platform(), "torch_threads": torch.get_num_threads(),
        "argv": sys.argv, "started": _dt.datetime.now().isoformat(timespec="seconds"),
    }


def attach_log(run_dir: Path) -> logging.Handler:
    """Send dermkit's log records to RUN/train.log (returns the handler to detach later)."""
    handler = logging.FileHandler(run_dir / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("dermkit")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
