"""dermkit models: build every network with :func:`create_model`.

Importing this package registers the model families: ``segmentation`` here, and
``classification`` when that package is present (its ``__init__`` must import its model
modules so their ``@register_model`` entry functions run).

``registry`` builds models by name; ``outputs`` holds what they return; ``contract`` what
callers may rely on (the :class:`Classifier` protocol, :func:`classify`, :func:`check_input_size`);
``export`` the plain-tensor wrapper for ONNX / TorchScript.
"""

from importlib import import_module
from importlib.util import find_spec

from dermkit.models.contract import Classifier, check_input_size, classify
from dermkit.models.export import ExportWrapper
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
    "Classifier",
    "ExportWrapper",
    "ModelInfo",
    "SegmentationOutput",
    "check_input_size",
    "classify",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
]
