"""Training losses: functional core, thin modules, one by-name factory for every task.

Segmentation losses live in ``segmentation.py``, classification losses in ``classification.py``;
each registers itself, tagged with its task, in the one :data:`~dermkit.losses.registry.LOSSES`
registry behind ``create_loss`` (a name defined twice is an error, an unknown one gets a did-you-mean).
"""

from dermkit.losses.classification import (
    CrossEntropyLoss,
    FocalLoss,
    cross_entropy,
    focal_loss,
)
from dermkit.losses.registry import LOSSES, create_loss, list_losses
from dermkit.losses.segmentation import (
    BCEDiceLoss,
    BinaryCrossEntropyLoss,
    DiceLoss,
    JaccardDistanceLoss,
    bce_dice_loss,
    bce_loss,
    dice_loss,
    jaccard_distance_loss,
)

__all__ = [
    "BCEDiceLoss",
    "BinaryCrossEntropyLoss",
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalLoss",
    "JaccardDistanceLoss",
    "LOSSES",
    "bce_dice_loss",
    "bce_loss",
    "create_loss",
    "cross_entropy",
    "dice_loss",
    "focal_loss",
    "jaccard_distance_loss",
    "list_losses",
]
