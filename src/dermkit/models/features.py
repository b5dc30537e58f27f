"""Class logits and the features they are computed from, in one forward pass, for every classifier.

The features of an image are the input of the classifier's final classification layer (the
``nn.Linear`` that outputs ``num_classes`` logits; with metadata, the fused image + metadata
vector), as out-of-distribution scores use them (:mod:`dermkit.ood`). They are captured by a
forward pre-hook on that layer, held only for the call, so the model itself is not changed and
the same code runs eagerly, under ``torch.jit.trace`` and under ``torch.onnx.export``
(:class:`FeatureExportWrapper` returns both tensors from one graph).

Which layer: :data:`FEATURE_LAYERS` (model registry name -> function returning the layer) where a
model registers an override, else the generic rule of :func:`classification_layer`: the last
``nn.Linear`` in module order whose ``out_features`` is the model's ``num_classes``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from dermkit.models.contract import Classifier, classify
from dermkit.models.outputs import display_name
from dermkit.ood import OODDetector, fit_ood
from dermkit.registry import Registry

#: Training images an OOD detector is fitted on at most (:func:`ood_training_rows`).
OOD_TRAIN_IMAGES = 2000

#: model registry name -> function(model) -> its final classification layer (overrides the generic rule)
FEATURE_LAYERS: Registry[Callable[[nn.Module], nn.Linear]] = Registry("feature layer")


def classification_layer(model: nn.Module) -> nn.Linear:
    """The layer whose input is the model's feature vector (module doc).

    Raises:
        TypeError: ``model`` is not a classifier, or has no such layer (register an override in
            :data:`FEATURE_LAYERS`).
    """
    if not isinstance(model, Classifier):
        raise TypeError(f"{type(model).__name__} is not a classifier (it has no num_classes / use_metadata)")
    name = getattr(model, "model_name", None)
    if name is not None and name in FEATURE_LAYERS:
        return FEATURE_LAYERS.get(name)(model)
    layers = [m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features == model.num_classes]
    if not layers:
        raise TypeError(
            f"{display_name(model)}: no nn.Linear with out_features == num_classes ({model.num_classes}); "
            "register its classification layer in dermkit.models.features.FEATURE_LAYERS"
        )
    return layers[-1]


def logits_and_features(model: nn.Module, image: Tensor, meta: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``(logits (B, C), features (B, D))`` of one forward pass (``meta`` reaches the model as in
    :func:`~dermkit.models.contract.classify`)."""
    layer = classification_layer(model)
    captured: list[Tensor] = []

    def keep_input(_module: nn.Module, args: tuple[Tensor, ...]) -> None:
        captured.append(args[0])

    handle = layer.register_forward_pre_hook(keep_input)
    try:
        logits = classify(model, image, meta).class_logits
    finally:
        handle.remove()
    if len(captured) != 1:
        raise RuntimeError(f"{display_name(model)}: its classification layer ran {len(captured)} times in one pass")
    features = captured[0]
    return logits, features.reshape(features.shape[0], -1)


class FeatureExportWrapper(nn.Module):
    """A classifier whose ``forward`` returns ``(class_logits, features)`` as plain tensors, for
    ``torch.onnx.export`` / ``torch.jit.trace`` (one graph yields both).

    Attributes:
        input_names: ``("image",)`` or ``("image", "meta")`` for a model that uses metadata.
        output_names: ``("class_logits", "features")``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        classification_layer(model)  # fail here, not inside an exporter
        self.model = model
        self.input_names: tuple[str, ...] = ("image", "meta") if model.use_metadata else ("image",)
        self.output_names: tuple[str, ...] = ("class_logits", "features")

    def forward(self, image: Tensor, meta: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return logits_and_features(self.model, image, meta)


@torch.no_grad()
def collect_features(
    model: nn.Module, batches: Iterable[Mapping[str, Tensor]], device: torch.device | str, max_images: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(logits (N, C), features (N, D), labels (N,)) of data-set batches (``image``, ``meta``,
    ``label``) in eval mode, without test-time augmentation; stops after ``max_images``.
    The model's train/eval mode is restored afterwards."""
    was_training = model.training
    model.eval()
    logits, features, labels, seen = [], [], [], 0
    try:
        for batch in batches:
            take = len(batch["image"]) if max_images is None else min(len(batch["image"]), max_images - seen)
            if take <= 0:
                break
            meta = batch.get("meta")
            z, f = logits_and_features(
                model, batch["image"][:take].to(device), None if meta is None else meta[:take].to(device)
            )
            logits.append(z.float().cpu())
            features.append(f.float().cpu())
            if "label" in batch:
                labels.append(batch["label"][:take].cpu())
            seen += take
    finally:
        model.train(was_training)
    if not logits:
        raise ValueError("collect_features: no images in the batches")
    label_array = torch.cat(labels).numpy() if labels else np.full(seen, -1)
    return torch.cat(logits).numpy(), torch.cat(features).numpy(), label_array


def ood_training_rows(rows: np.ndarray, max_images: int = OOD_TRAIN_IMAGES, seed: int = 0) -> np.ndarray:
    """The training rows an OOD detector is fitted on: all of them, or a seeded random
    ``max_images`` of them (sorted) when there are more (one eval pass over them is the cost)."""
    rows = np.asarray(rows)
    if len(rows) <= max_images:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, max_images, replace=False))


def fit_ood_on_model(
    model: nn.Module,
    train_batches: Iterable[Mapping[str, Tensor]],
    val_batches: Iterable[Mapping[str, Tensor]],
    device: torch.device | str,
    classes: tuple[str, ...] | list[str],
) -> OODDetector:
    """:func:`~dermkit.ood.fit_ood` on the model's features of training batches (eval mode, no
    augmentation) and its thresholds on validation batches' features and (non-TTA) logits."""
    _, train_features, train_labels = collect_features(model, train_batches, device)
    val_logits, val_features, _ = collect_features(model, val_batches, device)
    return fit_ood(train_features, train_labels, val_features, val_logits, classes)
