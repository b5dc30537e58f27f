"""Training curves as a PNG (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_curves(history: list[dict[str, Any]], path: Path, monitor: str) -> None:
    """Loss (train/val) and every validation metric per epoch, monitored metric highlighted."""
    epochs = [row["epoch"] for row in history]
    metric_keys = [k for k in history[-1] if k.startswith("val_") and k != "val_loss"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for key in ("train_loss", "val_loss"):
        if key in history[-1]:
            axes[0].plot(epochs, [row.get(key) for row in history], marker="o", label=key)
    axes[0].set_xlabel("epoch")
    axes[0].set_title("loss")
    axes[0].legend()
    for key in metric_keys:
        axes[1].plot(
            epochs, [row.get(key) for row in history], marker="o", label=key, linewidth=2.5 if key == monitor else 1.0
        )
    axes[1].set_xlabel("epoch")
    axes[1].set_title("validation metrics")
    if metric_keys:
        axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
