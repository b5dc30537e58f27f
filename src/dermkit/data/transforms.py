"""Random augmentation of (image, mask) pairs, built from a recipe's ``augment`` section.

Albumentations applies every geometric transform to the image and its mask together. Each call
takes an explicit seed (derived by the dataset from run seed, epoch and position), so an epoch's
augmentations are a pure function of the seed: a resumed run sees exactly the images an
uninterrupted one would, whatever the number of DataLoader workers.
"""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class AugmentConfig(BaseModel):
    """Augmentations (all off by default). Angles in degrees, shifts/zoom as fractions of size."""

    model_config = ConfigDict(extra="forbid")

    hflip: bool = False
    vflip: bool = False
    rotate: float = Field(0.0, ge=0, le=180, description="rotate by U(-rotate, rotate) degrees")
    rotate90: bool = Field(False, description="random multiples of 90 degrees")
    shift: float = Field(0.0, ge=0, le=0.5, description="translate by up to this fraction")
    zoom: float = Field(0.0, ge=0, le=0.5, description="scale by U(1-zoom, 1+zoom)")
    shear: float = Field(0.0, ge=0, le=45, description="shear by up to this many degrees")
    elastic: bool = Field(False, description="elastic deformation (S3)")
    brightness: float = Field(0.0, ge=0, le=1, description="brightness/contrast jitter")
    hue: float = Field(0.0, ge=0, le=0.5, description="hue/saturation jitter fraction")
    mixup: float = Field(0.0, ge=0, description="classification: mixup of batch pairs, Beta(a, a) weights; 0 = off")
    cutmix: float = Field(0.0, ge=0, description="classification: CutMix of batch pairs, Beta(a, a) areas; 0 = off")
    mix_prob: float = Field(1.0, ge=0, le=1, description="share of training batches mixed (mixup or cutmix)")

    @property
    def enabled(self) -> bool:
        """Whether any per-image transform is on (batch mixing is the training step's, not the dataset's)."""
        return any(bool(v) for k, v in self.model_dump().items() if k not in BATCH_MIXING)

    @property
    def mixing(self) -> bool:
        return self.mix_prob > 0 and (self.mixup > 0 or self.cutmix > 0)


#: AugmentConfig fields that act on whole batches in the training step (dermkit.data.mixing).
BATCH_MIXING = ("mixup", "cutmix", "mix_prob")


def build_augment(cfg: AugmentConfig) -> PairAugment | None:
    """An (image, mask, seed) -> (image, mask) callable, or None when nothing is enabled."""
    if not cfg.enabled:
        return None
    ops: list[A.BasicTransform] = []
    if cfg.hflip:
        ops.append(A.HorizontalFlip(p=0.5))
    if cfg.vflip:
        ops.append(A.VerticalFlip(p=0.5))
    if cfg.rotate90:
        ops.append(A.RandomRotate90(p=0.5))
    if cfg.rotate or cfg.shift or cfg.zoom or cfg.shear:
        ops.append(
            A.Affine(
                rotate=(-cfg.rotate, cfg.rotate),
                translate_percent=(-cfg.shift, cfg.shift),
                scale=(1 - cfg.zoom, 1 + cfg.zoom),
                shear=(-cfg.shear, cfg.shear),
                border_mode=cv2.BORDER_REFLECT_101,
                p=0.9,
            )
        )
    if cfg.elastic:
        ops.append(A.ElasticTransform(alpha=30, sigma=6, border_mode=cv2.BORDER_REFLECT_101, p=0.5))
    if cfg.brightness:
        ops.append(A.RandomBrightnessContrast(cfg.brightness, cfg.brightness, p=0.5))
    if cfg.hue:
        ops.append(A.HueSaturationValue(int(180 * cfg.hue), int(255 * cfg.hue), int(255 * cfg.hue), p=0.5))
    return PairAugment(A.Compose(ops, seed=0))


class PairAugment:
    """Applies one albumentations pipeline to an image and (optionally) its mask."""

    def __init__(self, compose: A.Compose) -> None:
        self.compose = compose

    def __call__(self, image: np.ndarray, mask: np.ndarray | None, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        self.compose.set_random_seed(seed)
        if mask is None:
            return self.compose(image=image)["image"], None
        out = self.compose(image=image, mask=mask)
        return out["image"], out["mask"]


#: Independent random streams derived from one run seed.
STREAM_AUGMENT, STREAM_ORDER, STREAM_TORCH = 0, 1, 2


def item_seed(seed: int, epoch: int, position: int, stream: int = STREAM_AUGMENT) -> int:
    """A 32-bit seed unique to (stream, run seed, epoch, position in the epoch); all >= 0."""
    return int(np.random.SeedSequence([stream, seed, epoch, position]).generate_state(1)[0])
