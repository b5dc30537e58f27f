"""Patient-metadata fusion (S4) and the input checks every classifier shares.

S4 feeds the metadata vector (:func:`dermkit.data.metadata.encode_metadata`: age/100, an
age-missing flag, sex one-hot, site one-hot) through a dense layer of 4096 ReLU units and
concatenates the result with the image features before the softmax layer.
:class:`MetadataFusionHead` is that last stage, reused by every dermkit classifier: with
``use_metadata=False`` it is a plain linear classifier on the image features.

Convention shared by all classifiers: ``forward(image, meta=None)``. A model built with
``use_metadata=True`` requires ``meta`` (``ValueError`` otherwise); a model built without it
ignores ``meta``, so one data pipeline can feed every model.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dermkit.data.metadata import METADATA_DIM
from dermkit.models.outputs import check_image_batch, display_name


class MetadataFusionHead(nn.Module):
    """Image features (+ metadata branch) -> class logits.

    ``logits = Linear(concat(f, Dropout(ReLU(Linear(meta)))))`` with metadata, else
    ``Linear(f)``; the softmax lives in the loss.

    Args:
        image_dim: Length of the image feature vector ``f``.
        num_classes: Number of classes.
        use_metadata: Build the metadata branch; ``forward`` then requires ``meta``.
        metadata_hidden: Units of the metadata dense layer (S4: 4096).
        dropout: Dropout after the metadata dense layer (0 disables it).
        metadata_dim: Length of the metadata vector (default :data:`METADATA_DIM`).
    """

    def __init__(
        self,
        image_dim: int,
        num_classes: int,
        use_metadata: bool = False,
        metadata_hidden: int = 4096,
        dropout: float = 0.0,
        metadata_dim: int = METADATA_DIM,
    ):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1; got {num_classes}")
        if use_metadata and (metadata_hidden < 1 or metadata_dim < 1):
            raise ValueError(f"metadata_hidden and metadata_dim must be >= 1; got {metadata_hidden}, {metadata_dim}")
        self.use_metadata = use_metadata
        self.metadata_dim = metadata_dim
        self.meta_branch: nn.Module | None = None
        fused_dim = image_dim
        if use_metadata:
            self.meta_branch = nn.Sequential(nn.Linear(metadata_dim, metadata_hidden), nn.ReLU(), nn.Dropout(dropout))
            fused_dim += metadata_hidden
        self.classifier = nn.Linear(fused_dim, num_classes)

    def forward(self, features: Tensor, meta: Tensor | None = None) -> Tensor:
        """``features`` (B, image_dim), ``meta`` (B, metadata_dim) or None -> (B, num_classes)."""
        if self.meta_branch is not None:
            if meta is None:
                raise ValueError("the head was built with use_metadata=True; pass meta")
            features = torch.cat([features, self.meta_branch(meta)], dim=1)  # (B, fused)
        return self.classifier(features)


def check_classifier_inputs(
    model: nn.Module,
    image: Tensor,
    meta: Tensor | None,
    *,
    min_size: int = 1,
    exact_size: tuple[int, int] | None = None,
) -> None:
    """Validate ``forward(image, meta)`` arguments against the model's construction.

    Reads ``model.in_channels``, ``model.input_stride``, ``model.use_metadata`` and
    ``model.metadata_dim``.

    Args:
        model: The classifier (for its attributes and name).
        image: ``(B, C, H, W)`` batch.
        meta: ``(B, metadata_dim)`` float batch or ``None``.
        min_size: Smallest H and W the network supports.
        exact_size: ``(H, W)`` the model was built for (flattening models), or ``None``.

    Raises:
        ValueError: Naming what was expected, what was got and how to fix it.
    """
    name = display_name(model)
    check_image_batch(image, model.in_channels, model.input_stride, name)
    height, width = image.shape[-2:]
    if exact_size is not None and (height, width) != tuple(exact_size):
        raise ValueError(
            f"{name}: built for input_size={tuple(exact_size)} (its flatten layer fixes the "
            f"size); got images of {(height, width)}. Resize the images or build the model "
            f"with input_size={(height, width)}."
        )
    if min(height, width) < min_size:
        raise ValueError(
            f"{name}: images must be at least {min_size}x{min_size}; got {(height, width)}. Resize the images."
        )
    if not model.use_metadata:
        return  # meta, if given, is ignored: one pipeline feeds every model
    if meta is None:
        raise ValueError(
            f"{name}: built with use_metadata=True, so forward needs meta of shape "
            f"(B, {model.metadata_dim}) (see dermkit.data.metadata.encode_metadata); got None. "
            "Pass meta or build the model with use_metadata=False."
        )
    expected = (image.shape[0], model.metadata_dim)
    if meta.ndim != 2 or tuple(meta.shape) != expected:
        raise ValueError(
            f"{name}: expected meta of shape {expected} (one metadata vector per image); got {tuple(meta.shape)}"
        )
    if not meta.is_floating_point():
        raise ValueError(f"{name}: meta must be a float tensor; got dtype {meta.dtype}")
