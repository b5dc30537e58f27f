"""dermkit models: build every network with :func:`create_model`.

Importing this package registers the model families: ``segmentation`` here, and
``classification`` when that package is present (its ``__init__`` must import its model
modules so their ``@register_model`` entry functions run).
"""

from importlib import import_module
from importlib.util import find_spec

from dermkit.models.outputs import ClassificationOutput, SegmentationOutput
from dermkit.models.registry import (
    ModelInfo,
    create_model,
    list_models,
    model_info,
    register_model,
)

import_module("dermkit.models.segmentation")
if find_spec("dermkit.models.classification") is not None:
    import_module("dermkit.models.classification")

__all__ = [
    "ClassificationOutput",
    "ModelInfo",
    "SegmentationOutput",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
]
