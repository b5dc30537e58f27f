"""The input/output contract of every dermkit model.

A model's ``forward`` always returns exactly one of these dataclasses, whatever its options
(smp returns a tensor or a tuple depending on ``aux_params``; users then hit ``TypeError``s).
Shapes are checked on construction, so a wrongly wired model fails where it is built.

:func:`check_image_batch` is the matching input check every model calls first in ``forward``.

Both dataclasses are registered as pytree nodes when this module is imported, so
``torch.export.export`` traces a model returning them (``attention=None`` included); for
``torch.onnx`` and ``torch.jit``, which want plain tensors, wrap the model in
:class:`dermkit.models.export.ExportWrapper`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class SegmentationOutput:
    """Binary segmentation logits.

    Attributes:
        mask_logits: ``(B, 1, H, W)`` lesion logits at input resolution; apply ``sigmoid``
            for probabilities (losses take the logits directly).
    """

    mask_logits: Tensor  # (B, 1, H, W)

    def __post_init__(self) -> None:
        shape = tuple(self.mask_logits.shape)
        if self.mask_logits.ndim != 4 or shape[1] != 1:
            raise ValueError(f"mask_logits must have shape (B, 1, H, W); got {shape}")


@dataclass(frozen=True)
class ClassificationOutput:
    """Class logits plus an optional spatial attention map.

    Attributes:
        class_logits: ``(B, C)`` unnormalised class scores.
        attention: ``(B, 1, h, w)`` attention weights in ``[0, 1]`` for models that have
            them (soft attention, spatial attention), else ``None``.
    """

    class_logits: Tensor  # (B, C)
    attention: Tensor | None = None  # (B, 1, h, w) in [0, 1], or None

    def __post_init__(self) -> None:
        if self.class_logits.ndim != 2:
            raise ValueError(f"class_logits must have shape (B, C); got {tuple(self.class_logits.shape)}")
        if self.attention is not None:
            shape = tuple(self.attention.shape)
            if self.attention.ndim != 4 or shape[1] != 1 or shape[0] != self.class_logits.shape[0]:
                raise ValueError(
                    f"attention must have shape (B, 1, h, w) with B={self.class_logits.shape[0]}; got {shape}"
                )


# Pytree nodes for torch.export (a None field, e.g. no attention, is kept as None). Done once, here,
# so every importer of the outputs gets exportable models.
torch.export.register_dataclass(SegmentationOutput, serialized_type_name="dermkit.models.SegmentationOutput")
torch.export.register_dataclass(ClassificationOutput, serialized_type_name="dermkit.models.ClassificationOutput")


def check_image_batch(x: Tensor, in_channels: int, input_stride: int, model: str) -> None:
    """Validate a model input: ``(B, C, H, W)``, ``C == in_channels``, ``H, W % input_stride == 0``.

    Args:
        x: The input batch.
        in_channels: Channels the model was built for (1 or 3).
        input_stride: The model's total down-sampling factor; H and W must be multiples.
        model: Model name used in the message.

    Raises:
        ValueError: Naming what was expected, what was got, and how to fix it.
    """
    shape = tuple(x.shape)
    if x.ndim != 4:
        raise ValueError(
            f"{model}: expected a 4-D batch (B, C, H, W) with C={in_channels}; got shape {shape}. "
            "Add a batch dimension with x.unsqueeze(0) for a single image."
        )
    _, channels, height, width = shape
    if channels != in_channels:
        raise ValueError(
            f"{model}: expected (B, C, H, W) with C={in_channels} (the model's in_channels); "
            f"got shape {shape}. Build the model with in_channels={channels} or convert the images."
        )
    if height % input_stride or width % input_stride:
        fit_h = -(-height // input_stride) * input_stride
        fit_w = -(-width // input_stride) * input_stride
        raise ValueError(
            f"{model}: expected H and W divisible by the model's input_stride {input_stride}; "
            f"got shape {shape}. Resize or pad to ({fit_h}, {fit_w})."
        )


def display_name(model: object) -> str:
    """Registry name if the model came from create_model, else its class name (for messages)."""
    return getattr(model, "model_name", type(model).__name__)
