"""What differs between segmentation and classification training, behind one small interface.

The trainer calls: ``prepare`` (data), ``build_model``, ``train_dataset``/``eval_dataset``,
``build_loss``, ``loss`` (one batch), ``evaluate`` (a loader -> metrics), ``final_metrics``.
Tasks are looked up in :data:`TASK_TYPES` by the config's ``task`` field, never by if/else.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from dermkit.calibration import fit_run_calibration
from dermkit.config import RunConfig
from dermkit.data.dataset import LesionDataset
from dermkit.data.mixing import mix_batch, mixed_loss
from dermkit.data.sampling import balancing_factors, class_weights, oversample_indices, sampler_weights
from dermkit.engine.data import PreparedData, prepare_data
from dermkit.errors import DataError
from dermkit.inference.data import run_dataset
from dermkit.losses import create_loss
from dermkit.metrics.classification import accuracy, balanced_accuracy, macro_auc
from dermkit.metrics.segmentation import threshold_jaccard
from dermkit.metrics.segmentation_batch import batch_stats
from dermkit.models import create_model
from dermkit.models.contract import classify
from dermkit.models.features import fit_ood_on_model, ood_training_rows
from dermkit.models.pretrained import resolve_data_config
from dermkit.models.tta import tta_class_logits
from dermkit.ood import save_ood
from dermkit.registry import Registry

log = logging.getLogger("dermkit.engine")

#: task name (the config's ``task``) -> task class
TASK_TYPES: Registry[type[BaseTask]] = Registry("task")


def create_task(cfg: RunConfig) -> BaseTask:
    return TASK_TYPES.get(cfg.task)(cfg)


def model_normalization(model: nn.Module) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) the model expects on the [0, 1] scale, from its weights' declared config."""
    data_cfg = resolve_data_config(model)  # one entry per input channel (1 for grey models)
    return tuple(data_cfg["mean"]), tuple(data_cfg["std"])


class BaseTask:
    """Shared plumbing; subclasses say what data they need and how to score it."""

    need_masks = False
    need_labels = False

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        self.normalize = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))

    def prepare(self, run_dir: Path, expect_fingerprint: dict[str, Any] | None = None) -> PreparedData:
        """Checked, split data (nothing written yet; see :meth:`PreparedData.write`), adopted by the task."""
        data = prepare_data(
            self.cfg.data,
            run_dir,
            need_masks=self.need_masks,
            need_labels=self.need_labels,
            expect_fingerprint=expect_fingerprint,
        )
        self.adopt(data)
        return data

    def adopt(self, data: PreparedData) -> None:
        """Take what the task needs from prepared data (also data prepared by another process)."""

    def model_kwargs(self) -> dict[str, Any]:
        return dict(self.cfg.model.kwargs)

    def build_model(self) -> nn.Module:
        model = create_model(self.cfg.model.name, **self.model_kwargs())
        self.normalize = model_normalization(model)
        return model

    def _dataset(self, data: PreparedData, indices: np.ndarray, train: bool) -> LesionDataset:
        return run_dataset(self.cfg, data.table, indices, self.normalize, augment=train, masks=self.need_masks)

    def train_dataset(self, data: PreparedData) -> tuple[LesionDataset, np.ndarray | None]:
        """The training dataset and optional per-sample draw weights."""
        return self._dataset(data, data.indices("train"), train=True), None

    def eval_dataset(self, data: PreparedData, side: str) -> LesionDataset:
        return self._dataset(data, data.indices(side), train=False)

    def monitor_mode(self, monitor: str) -> str:
        return "min" if monitor.endswith("loss") else "max"

    def eval_loader(self, data: PreparedData, side: str) -> DataLoader:
        ds = self.eval_dataset(data, side)
        return DataLoader(ds, batch_size=self.cfg.train.batch_size, num_workers=self.cfg.data.num_workers)

    def final_metrics(self, model, data: PreparedData, run_dir: Path, device) -> dict[str, Any]:
        """Validation and test metrics of the (best) model, at model resolution."""
        loss_fn = self.build_loss(data).to(device)
        out: dict[str, Any] = {}
        for side in ("val", "test"):
            loader = self.eval_loader(data, side)
            if len(loader.dataset):
                metrics, extra = self.score_final_side(model, loader, loss_fn, device, side, run_dir)
                out[side] = {**metrics, "images": len(loader.dataset)}
                out.update(extra)
        return out

    def score_final_side(self, model, loader, loss_fn, device, side: str, run_dir: Path) -> tuple[dict, dict]:
        """(metrics of one side, extra top-level entries of final_metrics.json)."""
        return self.evaluate(model, loader, loss_fn, device, prefix=""), {}


@TASK_TYPES.register("segmentation")
class SegmentationTask(BaseTask):
    """Binary lesion masks; metrics per image as the ISIC scorer computes them."""

    need_masks = True

    def model_kwargs(self) -> dict[str, Any]:
        return {"in_channels": 3, **self.cfg.model.kwargs}

    def build_loss(self, data: PreparedData) -> nn.Module:
        return create_loss(self.cfg.loss.name, **self.cfg.loss.kwargs)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor], loss_fn: nn.Module) -> torch.Tensor:
        return loss_fn(model(batch["image"]).mask_logits, batch["mask"])

    @torch.no_grad()
    def evaluate(self, model, loader, loss_fn, device, prefix: str = "val_") -> dict[str, float]:
        model.eval()
        total, n = 0.0, 0
        jac, dice = [], []
        for batch in loader:
            image, mask = batch["image"].to(device), batch["mask"].to(device)
            logits = model(image).mask_logits
            total += loss_fn(logits, mask).item() * len(image)
            n += len(image)
            stats = batch_stats(logits, mask)
            jac.append(stats.jaccard.cpu())
            dice.append(stats.dice.cpu())
        model.train()
        jac_all = torch.cat(jac).numpy()
        return {
            f"{prefix}loss": total / max(n, 1),
            f"{prefix}dice": float(torch.cat(dice).mean()),
            f"{prefix}jaccard": float(jac_all.mean()),
            f"{prefix}threshold_jaccard": float(threshold_jaccard(jac_all).mean()),
        }


@TASK_TYPES.register("classification")
class ClassificationTask(BaseTask):
    """Diagnosis classes; imbalance handled on the training side only; BMA selects checkpoints."""

    need_labels = True

    def adopt(self, data: PreparedData) -> None:
        self.classes = data.table.classes
        self.labels = data.table.label_indices()
        self.table, self.train_rows = data.table, data.indices("train")

    def model_kwargs(self) -> dict[str, Any]:
        return {"num_classes": len(self.classes), "in_channels": 3, **self.cfg.model.kwargs}

    def train_labels(self, data: PreparedData) -> np.ndarray:
        return self.labels[data.indices("train")]

    def build_loss(self, data: PreparedData) -> nn.Module:
        weights = class_weights(self.train_labels(data), len(self.classes), self.cfg.imbalance.class_weights)
        kwargs = dict(self.cfg.loss.kwargs)
        if self.cfg.imbalance.class_weights != "none":
            kwargs["class_weights"] = weights.tolist()
        return create_loss(self.cfg.loss.name, **kwargs)

    def train_dataset(self, data: PreparedData) -> tuple[LesionDataset, np.ndarray | None]:
        """Training rows, over-sampled (S1/S2 factors) and/or drawn with class-balancing weights."""
        imb = self.cfg.imbalance
        indices = data.indices("train")
        labels = self.labels[indices]
        if imb.oversample is not None:
            factors = balancing_factors(labels, self.classes) if imb.oversample == "balance" else imb.oversample
            picked = oversample_indices(labels, self.classes, factors, seed=self.cfg.train.seed)
            indices, labels = indices[picked], labels[picked]
        weights = sampler_weights(labels, len(self.classes)) if imb.sampler == "weighted" else None
        return self._dataset(data, indices, train=True), weights

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor], loss_fn: nn.Module) -> torch.Tensor:
        aug = self.cfg.augment
        mixed = mix_batch(batch["image"], batch["meta"], aug.mixup, aug.cutmix, aug.mix_prob)  # None: not mixed
        if mixed is None:
            return loss_fn(classify(model, batch["image"], batch["meta"]).class_logits, batch["label"])
        return mixed_loss(loss_fn, classify(model, mixed.image, mixed.meta).class_logits, batch["label"], mixed)

    @torch.no_grad()
    def collect(self, model, loader, device, tta: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(logits (N, C), labels (N,), table rows (N,)) over a loader; TTA-averaged when ``tta``."""
        model.eval()
        logits, labels, rows = [], [], []
        for batch in loader:
            batch = {k: v.to(device) for k, v in batch.items()}
            logits.append(tta_class_logits(model, batch["image"], batch["meta"], tta).cpu())
            labels.append(batch["label"].cpu())
            rows.append(batch["index"].cpu())
        model.train()
        return torch.cat(logits).numpy(), torch.cat(labels).numpy(), torch.cat(rows).numpy()

    def evaluate(self, model, loader, loss_fn, device, prefix: str = "val_") -> dict[str, float]:
        logits, labels, _ = self.collect(model, loader, device)
        return self.metrics(logits, labels, loss_fn, device, prefix)

    def metrics(self, logits: np.ndarray, labels: np.ndarray, loss_fn, device, prefix: str) -> dict[str, float]:
        """Loss, accuracy, BMA and macro AUC of collected logits (argmax decisions, no calibration)."""
        with torch.no_grad():
            loss = loss_fn(torch.from_numpy(logits).to(device), torch.from_numpy(labels).to(device)).item()
        proba = torch.softmax(torch.from_numpy(logits), 1).numpy()
        pred = proba.argmax(1)
        return {
            f"{prefix}loss": loss,
            f"{prefix}accuracy": accuracy(labels, pred),
            f"{prefix}bma": balanced_accuracy(labels, pred, len(self.classes)),
            f"{prefix}macro_auc": macro_auc(labels, proba),
        }

    def fit_ood(self, model, val_loader, device, run_dir: Path) -> dict[str, Any]:
        """Fit the OOD detector on at most :data:`~dermkit.models.features.OOD_TRAIN_IMAGES` training
        images (seeded subset, eval mode, no augmentation) and threshold it on ``val_loader``; save
        it in ``run_dir``. Returns ``{"ood": summary}`` (``{}`` when the data are too few, with a warning)."""
        rows = ood_training_rows(self.train_rows, seed=self.cfg.train.seed)
        train_ds = run_dataset(self.cfg, self.table, rows, self.normalize, augment=False)
        train_loader = DataLoader(train_ds, batch_size=self.cfg.train.batch_size, num_workers=self.cfg.data.num_workers)
        try:
            detector = fit_ood_on_model(model, train_loader, val_loader, device, self.classes)
        except DataError as err:
            log.warning("no out-of-distribution detector fitted: %s", err)
            return {}
        save_ood(detector, run_dir)
        keys = ("threshold", "energy_threshold", "quantile", "components", "train_images", "val_images")
        return {"ood": {k: v for k, v in detector.summary().items() if k in keys}}

    def score_final_side(self, model, loader, loss_fn, device, side: str, run_dir: Path) -> tuple[dict, dict]:
        """Metrics of the best checkpoint on one side, with the recipe's test-time augmentation; on
        validation, from the same pass, the calibration (:func:`~dermkit.calibration.fit_calibration`,
        with the malignant operating point) goes to ``RUN/calibration.json`` for evaluation to apply
        when asked to, and the OOD detector (:meth:`fit_ood`) to ``RUN/ood.npz`` + ``ood.json``."""
        tta = self.cfg.inference.tta
        logits, labels, rows = self.collect(model, loader, device, tta=tta)
        extra: dict[str, Any] = {}
        if side == "val":
            calibration = fit_run_calibration(self.cfg, self.table, self.train_rows, rows, logits, self.classes, tta)
            calibration.save(run_dir)
            extra["calibration"] = {"temperature": calibration.temperature}
            if calibration.uses_metadata:
                extra["calibration"]["metadata_weight"] = calibration.metadata_weight
            if calibration.malignant is not None:
                extra["malignant_operating_point"] = calibration.malignant.to_json()
            extra.update(self.fit_ood(model, loader, device, run_dir))
        return {**self.metrics(logits, labels, loss_fn, device, ""), "tta": tta}, extra
