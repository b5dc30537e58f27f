"""The one inference path: a trained run folder applied to images at their original size.

``load_run`` rebuilds the model from its checkpoint (name + kwargs + weights) and the
preprocessing from the run's config; ``predict_mask`` maps an image of any size to a lesion
mask of the same size. Evaluation, ``dermkit segment``, the demo and the web app all call these.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy import ndimage
from torch import nn

from dermkit.config import RunConfig
from dermkit.data.records import LesionTable
from dermkit.engine.checkpoint import load_checkpoint
from dermkit.engine.trainer import resolve_device
from dermkit.errors import DermkitError
from dermkit.preprocess.pipeline import preprocess, restore_mask

log = logging.getLogger("dermkit.inference")


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

    def tta(self, override: bool | None = None) -> bool:
        """Whether to use test-time augmentation: ``override`` when given, else the recipe's ``inference.tta``."""
        return self.cfg.inference.tta if override is None else override

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
    """Mean lesion probability over the flip views, all views in one batch (one forward pass)."""
    x = run.to_tensor(image)
    flips = [(), (3,), (2,), (2, 3)] if tta else [()]
    views = torch.cat([torch.flip(x, dims) if dims else x for dims in flips])
    p = torch.sigmoid(run.model(views).mask_logits.float())
    back = [torch.flip(p[i:i + 1], dims) if dims else p[i:i + 1] for i, dims in enumerate(flips)]
    return torch.cat(back).mean(0)[0].cpu().numpy()


def predict_mask_proba(run: LoadedRun, image: np.ndarray, tta: bool | None = None) -> np.ndarray:
    """(H, W) lesion probability for an (H, W, 3) uint8 image, at the image's own size."""
    tta = run.tta(tta)
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


def lesion_box(mask: np.ndarray, margin: float) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the lesion's bounding box grown by ``margin`` of its size; None if empty."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    h, w = mask.shape
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    dy, dx = int(round((y1 - y0) * margin)), int(round((x1 - x0) * margin))
    return max(0, y0 - dy), min(h, y1 + dy), max(0, x0 - dx), min(w, x1 + dx)


def apply_focus(image: np.ndarray, mask: np.ndarray, mode: str, margin: float) -> np.ndarray:
    """Segment-then-classify input: ``mask`` blacks out the background (S1), ``crop`` cuts the
    lesion's box with a margin (S2). An empty mask leaves the image whole (nothing to focus on)."""
    if mode == "mask":
        return image * (mask[..., None] > 0).astype(image.dtype) if mask.any() else image
    box = lesion_box(mask, margin)
    if box is None:
        return image
    y0, y1, x0, x1 = box
    return np.ascontiguousarray(image[y0:y1, x0:x1])


class LesionFocus:
    """Callable image -> focused image, loading the segmentation run on first use (per worker)."""

    def __init__(self, run_dir: str | Path, mode: str, margin: float) -> None:
        from dermkit.config import stable_hash

        self.run_dir, self.mode, self.margin = Path(run_dir), mode, margin
        ckpt = self.run_dir / "checkpoints" / "best.pt"
        if not ckpt.exists():
            raise DermkitError(f"{ckpt}: data.focus.run must be a finished segmentation run folder")
        self.key = stable_hash([str(self.run_dir.resolve()), ckpt.stat().st_mtime_ns, mode, margin])
        self._run: LoadedRun | None = None

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if self._run is None:
            self._run = load_run(self.run_dir, device="cpu")
        return apply_focus(image, predict_mask(self._run, image), self.mode, self.margin)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_run": None}  # workers load their own copy


# --- classification ----------------------------------------------------------------------------

#: Test-time augmentation views: (flip dims, quarter turns). Quarter turns need square inputs.
FLIP_VIEWS = [((), 0), ((3,), 0), ((2,), 0), ((2, 3), 0)]
DIHEDRAL_VIEWS = FLIP_VIEWS + [((), 1), ((3,), 1), ((2,), 1), ((2, 3), 1)]


def tta_views(height: int, width: int) -> list[tuple[tuple[int, ...], int]]:
    """The 8 dihedral views for square inputs, the 4 flips otherwise (rotating would change the size)."""
    return DIHEDRAL_VIEWS if height == width else FLIP_VIEWS


@torch.no_grad()
def tta_logits(model: nn.Module, images: torch.Tensor, meta: torch.Tensor | None, tta: bool) -> torch.Tensor:
    """(B, C) logits of ``model`` for a normalised batch, averaged over TTA views when ``tta``.

    Logits (not probabilities) are averaged so that temperature scaling applies afterwards; the
    trainer fits the calibration on logits made the same way, so the two match.
    """
    use_meta = getattr(model, "use_metadata", False)
    views = tta_views(*images.shape[-2:]) if tta else [((), 0)]
    total = None
    for dims, turns in views:
        x = torch.flip(images, dims) if dims else images
        x = torch.rot90(x, turns, (2, 3)) if turns else x
        out = model(x, meta if use_meta else None).class_logits.float()
        total = out if total is None else total + out
    return total / len(views)


def class_logits(run: LoadedRun, images: torch.Tensor, meta: torch.Tensor | None, tta: bool) -> torch.Tensor:
    """:func:`tta_logits` of a loaded run's model."""
    return tta_logits(run.model, images, meta, tta)


IDENTITY_CALIBRATION = {"temperature": 1.0, "bias": None, "thresholds": None}
CALIBRATION_FILE = "calibration.json"

#: Validation images every class needs before a per-class calibration bias is fitted.
MIN_IMAGES_FOR_BIAS = 10


def fit_calibration(logits: np.ndarray, labels: np.ndarray, classes: list[str], method: str,
                    metadata_prior: dict | None = None, meta: np.ndarray | None = None,
                    decision: str = "prior") -> dict:
    """A run's calibration (the ``RUN/calibration.json`` payload) fitted on validation logits.

    ``method`` is ``inference.calibration``: plain temperature scaling, or bias-corrected
    temperature scaling (class-weighted training shifts the class priors). The bias needs
    :data:`MIN_IMAGES_FOR_BIAS` validation images of every class, else the temperature alone is
    fitted (and ``method`` says so). With a ``metadata_prior`` (a training-side metadata expert,
    :func:`~dermkit.models.classification.metadata_prior.fit_metadata_prior`) and the validation
    images' encoded ``meta``, its log-probabilities join the fit with a weight (``metadata_weight``)
    chosen by the same validation NLL. ``decision`` (``inference.decision``) sets the per-class
    divisors applied to the calibrated probabilities: ``"prior"`` their validation mean (so the
    decision is ``argmax p(y|x) / pi(y)``, the Bayes rule for balanced accuracy), ``"thresholds"``
    fitted for validation BMA, ``"argmax"`` none.
    """
    from dermkit.metrics.calibration import fit_logit_fusion

    counts = np.bincount(labels, minlength=len(classes))
    if method == "bias_corrected" and counts.min() < MIN_IMAGES_FOR_BIAS:
        # A class with (almost) no validation images would get an unbounded bias: never predicted.
        log.warning("calibration: class %s has %d validation images (< %d); fitting the temperature only",
                    classes[int(counts.argmin())], int(counts.min()), MIN_IMAGES_FOR_BIAS)
        method = "temperature"
    prior_log_proba = None
    if metadata_prior is not None:
        from dermkit.models.classification.metadata_prior import metadata_log_proba

        if meta is None:
            raise ValueError("fit_calibration: a metadata_prior needs the validation images' meta")
        prior_log_proba = metadata_log_proba(metadata_prior, meta)
    temperature, bias, weight = fit_logit_fusion(logits, labels, prior_log_proba, bias=method == "bias_corrected")
    calibration = {"temperature": temperature, "bias": None if bias is None else [float(b) for b in bias]}
    if metadata_prior is not None:
        calibration.update(metadata_prior=metadata_prior, metadata_weight=weight)
    thresholds = decision_divisors(decision, labels, calibrated_proba(logits, calibration, meta))
    return {"fitted_on": "val", "images": len(labels), "method": method, **calibration, "decision": decision,
            "thresholds": [float(t) for t in thresholds], "classes": list(classes)}


def decision_divisors(decision: str, labels: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """(C,) per-class divisors (:func:`~dermkit.metrics.classification.predict_with_thresholds`)
    of an ``inference.decision`` rule, from calibrated validation probabilities and labels."""
    from dermkit.metrics.classification import fit_thresholds_for_bma

    if decision == "prior":  # argmax p(y|x) / pi(y): the Bayes decision for balanced accuracy
        return proba.mean(0)
    if decision == "thresholds":
        return fit_thresholds_for_bma(labels, proba)
    if decision == "argmax":
        return np.ones(proba.shape[1])
    raise ValueError(f"unknown decision rule {decision!r}; use 'prior', 'thresholds' or 'argmax'")


def fit_run_calibration(cfg: RunConfig, table: LesionTable, train_rows: np.ndarray, val_rows: np.ndarray,
                        logits: np.ndarray, classes: list[str], tta: bool) -> dict:
    """:func:`fit_calibration` as a run's config asks for it: validation ``logits`` of the rows
    ``val_rows`` (made with test-time augmentation when ``tta``, recorded so that evaluation can
    warn of a mismatch), and with ``inference.metadata_prior`` a metadata expert fitted on ``train_rows``."""
    from dermkit.data.metadata import metadata_matrix

    prior = None
    if cfg.inference.metadata_prior:
        from dermkit.models.classification.metadata_prior import fit_metadata_prior

        prior = fit_metadata_prior(metadata_matrix(table, train_rows), table.label_indices()[train_rows], len(classes))
    calibration = fit_calibration(logits, table.label_indices()[val_rows], classes, cfg.inference.calibration,
                                  prior, metadata_matrix(table, val_rows), cfg.inference.decision)
    return {**calibration, "tta": bool(tta)}


def calibration_of(run: LoadedRun, tta: bool | None = None) -> dict:
    """The run's validation-fitted temperature, class bias, metadata expert and thresholds
    (identity when absent). With ``tta``, warns when the calibration was fitted on validation
    logits made the other way (files without a ``tta`` entry were fitted without TTA)."""
    import json

    path = run.run_dir / CALIBRATION_FILE
    if not path.exists():
        return dict(IDENTITY_CALIBRATION)
    calibration = {**IDENTITY_CALIBRATION, **json.loads(path.read_text())}
    fitted = bool(calibration.get("tta", False))
    if tta is not None and fitted != tta:
        log.warning("%s: calibration fitted on validation logits %s test-time augmentation, applied to logits %s "
                    "it; evaluate with the run's own setting (inference.tta), or refit it with "
                    "dermkit.evaluation.classification.refit_calibration(..., tta=...)",
                    path, "with" if fitted else "without", "with" if tta else "without")
    return calibration


def calibrated_proba(logits: torch.Tensor | np.ndarray, calibration: dict, meta: np.ndarray | None = None) -> np.ndarray:
    """``softmax(logits / T + w * log p_meta + b)`` with a run's :func:`calibration_of`.

    ``b`` absent: no bias; no ``metadata_prior`` in the calibration: no metadata term. A
    calibration with a metadata expert needs the images' encoded ``meta`` (N, METADATA_DIM).
    """
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64) / calibration["temperature"]
    if calibration.get("bias") is not None:
        z = z + torch.as_tensor(calibration["bias"], dtype=torch.float64)
    if calibration.get("metadata_prior") is not None:
        from dermkit.models.classification.metadata_prior import metadata_log_proba

        if meta is None:
            raise ValueError("this run's calibration fuses a metadata expert: pass the images' metadata")
        if len(meta) != len(z):
            raise ValueError(f"metadata has {len(meta)} rows for {len(z)} images; pass one row per image")
        z = z + calibration["metadata_weight"] * torch.as_tensor(
            metadata_log_proba(calibration["metadata_prior"], np.asarray(meta)), dtype=torch.float64)
    return torch.softmax(z, 1).numpy()


@dataclass
class Diagnosis:
    """One image's classification: probabilities per class and the attention map if any."""

    classes: list[str]
    probabilities: np.ndarray  # (C,) calibrated when the run has calibration.json
    predicted: str
    confidence: float
    attention: np.ndarray | None  # (H, W) in [0, 1] at the image's size, or None


@torch.no_grad()
def diagnose(run: LoadedRun, image: np.ndarray, meta=None, tta: bool | None = None, calibrated: bool = True) -> Diagnosis:
    """Classify one (H, W, 3) uint8 image with optional :class:`~dermkit.data.records.Metadata`.

    Without ``meta`` the network sees "unknown" age, sex and site, and a calibration's metadata
    expert is left out (in the training data "unknown" is a recording artefact, not evidence)."""
    from dermkit.data.metadata import encode_metadata
    from dermkit.data.records import Metadata

    tta = run.tta(tta)
    pre = preprocess(image, run.cfg.data.preprocess)
    x = run.to_tensor(pre.image)
    given = meta is not None
    meta = meta or Metadata(image_id="image", lesion_id="image")
    m = torch.from_numpy(encode_metadata(meta))[None].to(run.device)
    logits = class_logits(run, x, m, tta)
    cal = calibration_of(run, tta) if calibrated else IDENTITY_CALIBRATION
    if not given:  # no age, sex or site: the metadata expert has nothing to say about this lesion
        cal = {**cal, "metadata_prior": None}
    proba = calibrated_proba(logits.cpu(), cal, m.cpu().numpy())[0]
    from dermkit.metrics.classification import predict_with_thresholds

    pred = int(predict_with_thresholds(proba[None], cal.get("thresholds"))[0])
    attention = None
    out = run.model(x, m if getattr(run.model, "use_metadata", False) else None)
    if out.attention is not None:
        att = out.attention[0, 0].float().cpu().numpy()
        att = cv2.resize(att, (pre.image.shape[1], pre.image.shape[0]), interpolation=cv2.INTER_LINEAR)
        attention = restore_mask(att.astype(np.float32), pre)
    return Diagnosis(run.classes, proba, run.classes[pred], float(proba[pred]), attention)
