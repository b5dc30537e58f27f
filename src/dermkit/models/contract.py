"""What callers may rely on: the :class:`Classifier` protocol, :func:`classify`, :func:`check_input_size`.

* :class:`Classifier`: every registered classifier has ``num_classes``, ``use_metadata`` and
  ``forward(image, meta=None) -> ClassificationOutput``. Code that feeds classifiers checks
  ``isinstance(model, Classifier)`` instead of probing attributes with defaults.
* :func:`classify`: the one place that decides whether ``meta`` reaches the model (only when it
  was built with ``use_metadata=True``), so training, evaluation, TTA and diagnosis agree.
* :func:`check_input_size`: whether a registered model can take ``(H, W)`` images, answered at
  config time by a forward pass on the ``meta`` device (no weights loaded, no memory allocated),
  so a recipe whose model cannot take its preprocess size fails before any data is prepared.
  The suggested size comes from what models declare: ``input_stride`` (H and W multiples of
  it, every model), ``min_input_size`` (timm backbones) and ``exact_input_size`` (models that
  flatten a feature map, else None).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from dermkit.errors import ConfigError
from dermkit.models.outputs import ClassificationOutput
from dermkit.models.registry import model_info

log = logging.getLogger(__name__)


@runtime_checkable
class Classifier(Protocol):
    """A lesion classifier.

    Attributes:
        num_classes: ``C``, the width of ``class_logits``.
        use_metadata: built with the metadata branch: ``forward`` then needs ``meta``
            ``(B, metadata_dim)``; without it ``meta`` is ignored.
    """

    num_classes: int
    use_metadata: bool

    def forward(self, image: Tensor, meta: Tensor | None = None) -> ClassificationOutput:
        """``image`` (B, C, H, W), ``meta`` (B, metadata_dim) or None -> class logits (B, num_classes)."""
        ...


def classify(model: Classifier, image: Tensor, meta: Tensor | None) -> ClassificationOutput:
    """``model(image, meta)`` with ``meta`` passed only when the model uses metadata.

    Args:
        model: a :class:`Classifier`.
        image: ``(B, C, H, W)`` batch.
        meta: ``(B, metadata_dim)`` encoded metadata, or None when the data has none.

    Raises:
        TypeError: ``model`` is not a :class:`Classifier` (e.g. a segmenter was given).
    """
    if not isinstance(model, Classifier):
        raise TypeError(f"{type(model).__name__} is not a classifier (it has no num_classes / use_metadata)")
    return model(image, meta if model.use_metadata else None)


def check_input_size(
    name: str, kwargs: Mapping[str, Any], size: Sequence[int], *, in_channels: int | None = None
) -> None:
    """Raise :class:`ConfigError` when model ``name`` built with ``kwargs`` cannot take ``size`` images.

    The model is built with random weights (``pretrained=False`` where the model has weights) on
    the ``meta`` device and run once on a ``(1, in_channels, H, W)`` meta tensor: the model's own
    input checks and every layer's shape arithmetic run, but nothing is downloaded, loaded or
    allocated. A forward pass the meta device cannot run (an operator without a meta kernel) is
    not an error here; the first real batch checks it.

    Args:
        name: registry name of the model.
        kwargs: the recipe's model kwargs (``in_channels`` among them, default 3).
        size: ``(H, W)`` the images will have (the preprocess size).
        in_channels: overrides ``kwargs["in_channels"]``.

    Raises:
        ConfigError: naming the model and the size, why it fails and a size that would work;
            also for an unknown model name or kwargs the model cannot be built with.
    """
    height, width = (int(v) for v in size)
    options = dict(kwargs)
    if in_channels is not None:
        options["in_channels"] = in_channels
    channels = int(options.get("in_channels", 3))
    with torch.device("meta"):
        model = build_without_weights(name, options)
        model.model_name = name  # the model's own messages name the registry entry
        inputs = (torch.empty(1, channels, height, width), *_meta_batch(model))
        try:
            with torch.no_grad():
                model.eval()(*inputs)
        except NotImplementedError as err:  # an operator without a meta kernel: cannot tell here
            log.debug("input size of %s not checked on the meta device: %s", name, err)
        except (ValueError, RuntimeError) as err:
            raise ConfigError(
                f"model {name!r} cannot take {height}x{width} images (data.preprocess.size): {err} "
                f"{_what_would_work(model, name, (height, width))}"
            ) from None


def build_without_weights(name: str, options: dict[str, Any]) -> nn.Module:
    """The model with random weights: ``pretrained=False`` unless the model takes no such option.

    Raises:
        ConfigError: an option the model does not take, or values it cannot be built with.
    """
    entry = model_info(name).entry
    try:
        try:
            return entry(**{**options, "pretrained": False})
        except TypeError as err:
            if "unexpected keyword argument 'pretrained'" not in str(err):
                raise
            return entry(**options)  # a from-scratch model: nothing to load anyway
    except TypeError as err:
        if "unexpected keyword argument" not in str(err):
            raise
        raise ConfigError(f"model {name!r} got an unsupported argument: {err}") from err
    except ValueError as err:
        raise ConfigError(f"model {name!r} cannot be built with {options}: {err}") from err


def _meta_batch(model: nn.Module) -> tuple[Tensor, ...]:
    """``(meta,)``, a (1, metadata_dim) batch, for a classifier that uses metadata; else ``()``."""
    if isinstance(model, Classifier) and model.use_metadata:
        return (torch.empty(1, int(model.metadata_dim)),)
    return ()


def _what_would_work(model: nn.Module, name: str, size: tuple[int, int]) -> str:
    """A sentence naming a size the model takes, from what the model declares about its input."""
    exact = getattr(model, "exact_input_size", None)
    if exact is not None:
        h, w = (int(v) for v in exact)
        return (
            f"The model was built for exactly {h}x{w}: set data.preprocess.size to [{h}, {w}] "
            f"or model.kwargs.input_size to [{size[0]}, {size[1]}]."
        )
    low = int(getattr(model, "min_input_size", 1))
    stride = int(getattr(model, "input_stride", 1))
    h, w = (max(v, low) for v in size)
    h, w = -(-h // stride) * stride, -(-w // stride) * stride
    if (h, w) != size:
        return f"Use a size the model takes, e.g. data.preprocess.size: [{h}, {w}]."
    default = model_info(name).default_cfg.get("input_size")
    hint = f" (its default is {default[1]}x{default[2]})" if default else ""
    return f"Use the model's input size{hint} or change its kwargs."
