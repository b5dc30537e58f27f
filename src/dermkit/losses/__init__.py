"""Training losses (binary segmentation for now): functional core, thin modules, by-name factory."""

from dermkit.losses.segmentation import (
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

__all__ = [
    "BCEDiceLoss",
    "BinaryCrossEntropyLoss",
    "DiceLoss",
    "JaccardDistanceLoss",
    "bce_dice_loss",
    "bce_loss",
    "create_loss",
    "dice_loss",
    "jaccard_distance_loss",
    "list_losses",
]
