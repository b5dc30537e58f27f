"""Training losses: functional core, thin modules, one by-name factory for every task.

Segmentation losses live in ``segmentation.py`` (which holds the registry ``LOSSES`` and
``create_loss``), classification losses in ``classification.py``; their names are merged here
into the same registry, and a name defined twice is an error.
"""

from dermkit.losses.classification import (
    CLASSIFICATION_LOSSES,
    CrossEntropyLoss,
    FocalLoss,
    cross_entropy,
    focal_loss,
)
from dermkit.losses.segmentation import (
    LOSSES,
    BCEDiceLoss,
    BinaryCrossEntropyLoss,
    DiceLoss,
    JaccardDistanceLoss,
    bce_dice_loss,
    bce_loss,
    create_loss,
    dice_loss,
    jaccard_distance_loss,
    list_losses,
)

for _name, _factory in CLASSIFICATION_LOSSES.items():
    if _name in LOSSES and LOSSES[_name] is not _factory:
        raise RuntimeError(f"loss name {_name!r} is registered twice")
    LOSSES[_name] = _factory

__all__ = [
    "BCEDiceLoss",
    "BinaryCrossEntropyLoss",
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalLoss",
    "JaccardDistanceLoss",
    "bce_dice_loss",
    "bce_loss",
    "create_loss",
    "cross_entropy",
    "dice_loss",
    "focal_loss",
    "jaccard_distance_loss",
    "list_losses",
]
