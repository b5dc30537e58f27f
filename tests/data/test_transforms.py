"""Augmentation: image and mask move together; a seed fixes the result."""

from __future__ import annotations

import numpy as np

from dermkit.data.transforms import AugmentConfig, build_augment, item_seed


def _pair():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    mask = np.zeros((48, 64), np.uint8)
    mask[10:30, 20:50] = 1
    image[mask > 0] = 255  # the lesion is white, so image and mask can be compared after warping
    return image, mask


def test_nothing_enabled_gives_none():
    assert build_augment(AugmentConfig()) is None


def test_geometry_applies_to_mask_and_is_seeded():
    aug = build_augment(AugmentConfig(hflip=True, vflip=True, rotate=40, shift=0.1, zoom=0.1, elastic=True))
    image, mask = _pair()
    a_img, a_mask = aug(image, mask, 123)
    b_img, b_mask = aug(image, mask, 123)
    np.testing.assert_array_equal(a_img, b_img)
    np.testing.assert_array_equal(a_mask, b_mask)
    assert set(np.unique(a_mask)) <= {0, 1}
    inside = a_img[a_mask > 0].mean()
    assert inside > 230  # the mask still covers the (white) lesion after warping
    outs = [aug(image, mask, s)[1].sum() for s in range(8)]
    assert len(set(outs)) > 1  # different seeds, different augmentations


def test_item_seed_distinct():
    seeds = {item_seed(0, e, i) for e in range(3) for i in range(100)}
    assert len(seeds) == 300
    assert item_seed(1, 0, 0) != item_seed(0, 0, 0)
