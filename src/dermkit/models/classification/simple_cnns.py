"""The small from-scratch classifiers of S1 and S2.

* ``cnn_s1`` (Sene et al., on segmented 224x224 images): three blocks of
  (3x3 conv, He-normal init, ReLU) x2 + 2x2 max pooling, then dense 64, 64, 16, 16 (ReLU)
  and the class layer. The paper gives no filter counts: we use 32/64/128 (doubling per
  block, the common choice, like S1's own segmenter). Convolutions use "same" padding
  (not stated), so 224 -> 112 -> 56 -> 28 and the flatten has 28*28*128 = 100,352 features.
* ``deepconvnet_s2`` (Elgohary et al., 28x28 inputs): conv 16 -> max-pool -> conv 32 ->
  max-pool -> conv 64 -> max-pool -> conv 128 -> flatten -> dense 64 -> dense 32 -> class
  layer; 3x3 "same" convs with ReLU, 2x2 pooling with Keras's default "valid" padding
  (28 -> 14 -> 7 -> 3, flatten 3*3*128). The paper's "twelve layers" is this list of eleven
  Keras layers (4 conv, 3 pool, flatten, 3 dense) plus the input layer.

Initialisation follows Keras: S1's convs He-normal (truncated normal, std sqrt(2 / fan_in)),
every other kernel Glorot-uniform, biases zero. The softmax lives in the loss: models return
logits.

Both flatten, so the input size is fixed at construction (``input_size``); another size at
``forward`` raises ``ValueError``. With ``use_metadata=True`` the metadata branch
(:class:`~dermkit.models.classification.metadata.MetadataFusionHead`) joins before the class
layer; its width defaults to the last image dense layer's (16 for S1, 32 for S2) so neither
branch dominates (the papers use no metadata).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from dermkit.data.metadata import METADATA_DIM
from dermkit.models.classification.metadata import MetadataFusionHead, check_classifier_inputs
from dermkit.models.outputs import ClassificationOutput
from dermkit.models.registry import register_model


def _he_normal_(conv: nn.Conv2d) -> None:
    """Keras ``he_normal``: truncated normal (cut at 2 std), std = sqrt(2 / fan_in)."""
    fan_in = conv.in_channels * math.prod(conv.kernel_size)
    std = math.sqrt(2.0 / fan_in)
    nn.init.trunc_normal_(conv.weight, std=std, a=-2 * std, b=2 * std)
    nn.init.zeros_(conv.bias)


def _glorot_(layer: nn.Conv2d | nn.Linear) -> None:
    """Keras defaults: Glorot-uniform kernel, zero bias."""
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)


def _check_sizes(in_channels: int, input_size: Sequence[int], min_size: int) -> tuple[int, int]:
    if in_channels not in (1, 3):
        raise ValueError(f"in_channels must be 1 or 3; got {in_channels}")
    size = tuple(int(s) for s in input_size)
    if len(size) != 2 or min(size) < min_size:
        raise ValueError(f"input_size must be (H, W) with H, W >= {min_size}; got {tuple(input_size)}")
    return size  # type: ignore[return-value]


class FlattenCNN(nn.Module):
    """Conv trunk -> flatten -> dense stack -> :class:`MetadataFusionHead`.

    Shared wiring of S1 and S2; the entry functions build the trunk.

    Attributes:
        features: The convolutional trunk.
        dense: Dense ReLU layers after the flatten.
        head: Metadata fusion + class layer.
        input_size: The fixed ``(H, W)``.
    """

    def __init__(
        self,
        features: nn.Sequential,
        feature_shape: tuple[int, int, int],
        dense_widths: Sequence[int],
        *,
        num_classes: int,
        in_channels: int,
        input_size: tuple[int, int],
        use_metadata: bool,
        metadata_dim: int,
        metadata_hidden: int | None,
        metadata_dropout: float,
    ):
        super().__init__()
        self.features = features
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(feature_shape)
        for out in dense_widths:
            linear = nn.Linear(width, out)
            _glorot_(linear)
            layers += [linear, nn.ReLU()]
            width = out
        self.dense = nn.Sequential(*layers)
        self.head = MetadataFusionHead(
            width,
            num_classes,
            use_metadata,
            metadata_hidden or width,
            metadata_dropout,
            metadata_dim,
        )
        _glorot_(self.head.classifier)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.input_size = input_size
        self.input_stride = 1  # any H, W, but exactly input_size (checked in forward)
        self.exact_input_size: tuple[int, int] | None = input_size  # the flatten layer fixes it
        self.use_metadata = use_metadata
        self.metadata_dim = metadata_dim
        self.pretrained_cfg = None  # trained from scratch

    def forward(self, image: Tensor, meta: Tensor | None = None) -> ClassificationOutput:
        """``image`` (B, C, H, W) at ``input_size``, ``meta`` (B, metadata_dim) or None."""
        check_classifier_inputs(self, image, meta, exact_size=self.exact_input_size)
        features = self.dense(self.features(image))  # (B, last dense width)
        return ClassificationOutput(class_logits=self.head(features, meta))


def _conv(in_ch: int, out_ch: int, he_normal: bool) -> nn.Conv2d:
    conv = nn.Conv2d(in_ch, out_ch, 3, padding=1)
    if he_normal:
        _he_normal_(conv)
    else:
        _glorot_(conv)
    return conv


def build_cnn_s1(
    num_classes: int = 7,
    in_channels: int = 3,
    input_size: Sequence[int] = (224, 224),
    filters: Sequence[int] = (32, 64, 128),
    dense_widths: Sequence[int] = (64, 64, 16, 16),
    use_metadata: bool = False,
    metadata_dim: int = METADATA_DIM,
    metadata_hidden: int | None = None,
    metadata_dropout: float = 0.0,
) -> FlattenCNN:
    """S1's classifier (see module doc). ``filters``: one width per block."""
    size = _check_sizes(in_channels, input_size, 2 ** len(filters))
    layers: list[nn.Module] = []
    prev = in_channels
    for width in filters:
        layers += [_conv(prev, width, True), nn.ReLU(), _conv(width, width, True), nn.ReLU()]
        layers.append(nn.MaxPool2d(2))
        prev = width
    scale = 2 ** len(filters)
    shape = (prev, size[0] // scale, size[1] // scale)
    return FlattenCNN(
        nn.Sequential(*layers),
        shape,
        dense_widths,
        num_classes=num_classes,
        in_channels=in_channels,
        input_size=size,
        use_metadata=use_metadata,
        metadata_dim=metadata_dim,
        metadata_hidden=metadata_hidden,
        metadata_dropout=metadata_dropout,
    )


def build_deepconvnet_s2(
    num_classes: int = 7,
    in_channels: int = 3,
    input_size: Sequence[int] = (28, 28),
    filters: Sequence[int] = (16, 32, 64, 128),
    dense_widths: Sequence[int] = (64, 32),
    use_metadata: bool = False,
    metadata_dim: int = METADATA_DIM,
    metadata_hidden: int | None = None,
    metadata_dropout: float = 0.0,
) -> FlattenCNN:
    """S2's DeepConvNet (see module doc): a max-pool between consecutive convs."""
    size = _check_sizes(in_channels, input_size, 2 ** (len(filters) - 1))
    layers: list[nn.Module] = []
    prev = in_channels
    height, width_px = size
    for i, width in enumerate(filters):
        if i:
            layers.append(nn.MaxPool2d(2))  # Keras "valid": floor
            height, width_px = height // 2, width_px // 2
        layers += [_conv(prev, width, False), nn.ReLU()]
        prev = width
    return FlattenCNN(
        nn.Sequential(*layers),
        (prev, height, width_px),
        dense_widths,
        num_classes=num_classes,
        in_channels=in_channels,
        input_size=size,
        use_metadata=use_metadata,
        metadata_dim=metadata_dim,
        metadata_hidden=metadata_hidden,
        metadata_dropout=metadata_dropout,
    )


@register_model(task="classification", default_cfg={"input_size": (3, 224, 224), "paper": "S1"})
def cnn_s1(**kwargs: Any) -> FlattenCNN:
    """S1 custom CNN: 3 x (2 x conv3x3 + max-pool), dense 64-64-16-16, 224x224 input."""
    return build_cnn_s1(**kwargs)


@register_model(task="classification", default_cfg={"input_size": (3, 28, 28), "paper": "S2"})
def deepconvnet_s2(**kwargs: Any) -> FlattenCNN:
    """S2 DeepConvNet: conv 16-32-64-128 with max-pools, dense 64-32, 28x28 input."""
    return build_deepconvnet_s2(**kwargs)
