"""Plain-tensor model outputs for exporters that cannot take dataclasses (``torch.onnx``, ``torch.jit``).

dermkit models return :class:`~dermkit.models.SegmentationOutput` / :class:`~dermkit.models.ClassificationOutput`.
``torch.export.export`` takes those directly (they are registered pytree nodes); ONNX graphs and
TorchScript traces want tensors in a fixed order, which :class:`ExportWrapper` gives:

==============================  =========================  ==========================================
model                           inputs (``input_names``)   outputs (``output_names``)
==============================  =========================  ==========================================
segmenter                       ``image`` (B, C, H, W)     ``mask_logits`` (B, 1, H, W)
classifier                      ``image``                  ``class_logits`` (B, K), ``attention``
classifier, ``use_metadata``    ``image``, ``meta``        ``class_logits``, ``attention``
==============================  =========================  ==========================================

``meta`` is (B, metadata_dim) encoded metadata (:func:`dermkit.data.metadata.encode_metadata`).
``attention`` is always a (B, 1, h, w) tensor so the output signature does not depend on the
model: the model's attention map in [0, 1] where it has one, else zeros of shape (B, 1, 1, 1).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dermkit.models.contract import Classifier
from dermkit.task import Task


class ExportWrapper(nn.Module):
    """A dermkit model whose ``forward`` returns the plain tensors of the module table.

    The wrapped model is used as given (put it in ``eval()`` mode before exporting); the wrapper
    holds no state of its own, so its ``state_dict`` is the model's under the ``model.`` prefix.

    Args:
        model: a dermkit segmenter or :class:`~dermkit.models.contract.Classifier`.

    Attributes:
        task: ``"classification"`` for a :class:`Classifier`, else ``"segmentation"``.
        input_names: names of ``forward``'s inputs, in order (for ``torch.onnx.export``).
        output_names: names of ``forward``'s outputs, in order.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.task: Task = "classification" if isinstance(model, Classifier) else "segmentation"
        uses_meta = self.task == "classification" and bool(model.use_metadata)
        self.input_names: tuple[str, ...] = ("image", "meta") if uses_meta else ("image",)
        self.output_names: tuple[str, ...] = (
            ("class_logits", "attention") if self.task == "classification" else ("mask_logits",)
        )

    def forward(self, image: Tensor, meta: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
        """``image`` (B, C, H, W) [, ``meta`` (B, metadata_dim)] -> the outputs of ``output_names``."""
        if self.task == "segmentation":
            return self.model(image).mask_logits  # (B, 1, H, W)
        out = self.model(image, meta if len(self.input_names) == 2 else None)
        attention = out.attention if out.attention is not None else image.new_zeros(image.shape[0], 1, 1, 1)
        return out.class_logits, attention  # (B, K), (B, 1, h, w)

    def example_inputs(self, height: int, width: int, batch: int = 1) -> tuple[Tensor, ...]:
        """Random inputs matching ``input_names`` (for tracing), on the model's device."""
        device = next(self.model.parameters()).device
        image = torch.randn(batch, int(self.model.in_channels), height, width, device=device)
        if len(self.input_names) == 1:
            return (image,)
        return image, torch.rand(batch, int(self.model.metadata_dim), device=device)
