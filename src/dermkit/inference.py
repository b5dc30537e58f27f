"""The one inference path: a trained run folder applied to images at their original size.

``load_run`` rebuilds the model from its checkpoint (name + kwargs + weights) and the
preprocessing from the run's config; ``predict_mask`` maps an image of any size to a lesion
mask of the same size. Evaluation, ``dermkit segment``, the demo and the web app all call these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy import ndimage
from torch import nn

from dermkit.config import RunConfig
from dermkit.engine.checkpoint import load_checkpoint
from dermkit.engine.trainer import resolve_device
from dermkit.errors import DermkitError
from dermkit.preprocess.pipeline import preprocess, restore_mask


@dataclass
class LoadedRun:
    """A trained model with everything needed to apply it."""

    run_dir: Path
    cfg: RunConfig
    model: nn.Module
    classes: list[str]
    mean: np.ndarray
    std: np.ndarray
    device: torch.device

    def to_tensor(self, image: np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 -> (1, C, H, W) normalised float tensor on the run's device."""
        if len(self.mean) == 1:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None]
        x = (image.astype(np.float32) / 255.0 - self.mean) / self.std
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].to(self.device)


def load_run(run_dir: str | Path, checkpoint: str = "best", device: str = "auto") -> LoadedRun:
    """Rebuild a run's model from ``RUN/checkpoints/<checkpoint>.pt`` (no code edits needed)."""
    from dermkit.models import create_model

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DermkitError(f"{run_dir}: no such run folder; train one with `dermkit train seg|cls`")
    dev = resolve_device(device)
    payload = load_checkpoint(run_dir / "checkpoints" / f"{checkpoint}.pt", map_location=dev)
    cfg = RunConfig.model_validate(payload["config"])
    model = create_model(payload["model_name"], **{**payload["model_kwargs"], **_no_download(payload)})
    model.load_state_dict(payload["model"])
    model.to(dev, memory_format=torch.channels_last if cfg.train.channels_last else torch.contiguous_format).eval()
    norm = payload["normalize"]
    mean, std = norm["mean"], norm["std"]
    return LoadedRun(run_dir, cfg, model, list(payload["classes"]), np.asarray(mean, np.float32),
                     np.asarray(std, np.float32), dev)


def _no_download(payload: dict) -> dict:
    """Weights come from the checkpoint: never fetch or load pretrained weights again."""
    return {"pretrained": False} if "pretrained" in payload["model_kwargs"] else {}


def clean_mask(mask: np.ndarray) -> np.ndarray:
    """Keep the largest connected lesion and fill its holes (one lesion per dermoscopic image)."""
    labels, n = ndimage.label(mask > 0)
    if n == 0:
        return mask.astype(np.uint8)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, n + 1))
    largest = labels == (int(np.argmax(sizes)) + 1)
    return ndimage.binary_fill_holes(largest).astype(np.uint8)


@torch.no_grad()
def _mask_proba_model_size(run: LoadedRun, image: np.ndarray, tta: bool) -> np.ndarray:
    x = run.to_tensor(image)
    flips = [(), (3,), (2,), (2, 3)] if tta else [()]
    total = torch.zeros(x.shape[-2:], device=run.device)
    for dims in flips:
        xi = torch.flip(x, dims) if dims else x
        p = torch.sigmoid(run.model(xi).mask_logits)
        total += (torch.flip(p, dims) if dims else p)[0, 0]
    return (total / len(flips)).cpu().numpy()


def predict_mask_proba(run: LoadedRun, image: np.ndarray, tta: bool | None = None) -> np.ndarray:
    """(H, W) lesion probability for an (H, W, 3) uint8 image, at the image's own size."""
    tta = run.cfg.inference.tta if tta is None else tta
    pre = preprocess(image, run.cfg.data.preprocess)
    proba = _mask_proba_model_size(run, pre.image, tta)
    return restore_mask(proba.astype(np.float32), pre)


def predict_mask(run: LoadedRun, image: np.ndarray, tta: bool | None = None,
                 postprocess: bool | None = None) -> np.ndarray:
    """(H, W) uint8 {0, 1} lesion mask at the image's size, with the run's inference settings."""
    inf = run.cfg.inference
    mask = (predict_mask_proba(run, image, tta) > inf.threshold).astype(np.uint8)
    if inf.postprocess if postprocess is None else postprocess:
        mask = clean_mask(mask)
    return mask
