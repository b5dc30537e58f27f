"""Batch mixing: mixup blends, CutMix pastes a box whose area sets the weight, the loss decomposes,
draws are seeded by torch's generator, and only classification recipes may mix."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dermkit.config import load_config
from dermkit.data.mixing import cut_box, cutmix, mix_batch, mixed_loss, mixup
from dermkit.data.transforms import AugmentConfig, build_augment
from dermkit.errors import ConfigError


def _batch(n: int = 6):
    """Row i of the images is the constant i (3x16x20), so each pixel tells whose image it came from."""
    image = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, 16, 20).contiguous()
    meta = torch.eye(n)
    return image, meta


def test_mixup_blends_images_and_metadata_with_one_weight():
    image, meta = _batch()
    torch.manual_seed(0)
    mixed = mixup(image, meta, 0.4)
    assert 0 < mixed.lam < 1 and sorted(mixed.partner.tolist()) == list(range(6))
    expected = mixed.lam * image + (1 - mixed.lam) * image[mixed.partner]
    torch.testing.assert_close(mixed.image, expected)
    torch.testing.assert_close(mixed.meta, mixed.lam * meta + (1 - mixed.lam) * meta[mixed.partner])
    torch.manual_seed(0)
    again = mixup(image, meta, 0.4)
    assert again.lam == mixed.lam and torch.equal(again.partner, mixed.partner)


def test_cutmix_weight_is_the_share_of_own_pixels():
    image, meta = _batch()
    for seed in range(10):
        torch.manual_seed(seed)
        mixed = cutmix(image, meta, 1.0)
        for row, partner in enumerate(mixed.partner.tolist()):
            values = mixed.image[row]
            assert set(values.unique().tolist()) <= {float(row), float(partner)}
            if partner != row:
                assert (values == row).float().mean().item() == pytest.approx(mixed.lam)
        torch.testing.assert_close(mixed.meta, mixed.lam * meta + (1 - mixed.lam) * meta[mixed.partner])
    assert torch.equal(image, _batch()[0])  # the input batch is left alone


def test_cut_box_stays_inside_and_covers_about_the_asked_share():
    torch.manual_seed(0)
    for lam in (0.1, 0.5, 0.9):
        for _ in range(20):
            top, bottom, left, right = cut_box(40, 60, lam)
            assert 0 <= top <= bottom <= 40 and 0 <= left <= right <= 60
            assert (bottom - top) * (right - left) <= (1 - lam) * 40 * 60 + 1


def test_mix_batch_off_draws_nothing():
    image, meta = _batch()
    torch.manual_seed(3)
    assert mix_batch(image, meta, 0.0, 0.0, 1.0) is None
    after_off = torch.rand(())
    torch.manual_seed(3)
    assert after_off == torch.rand(())  # switched off, it does not move the generator (old runs unchanged)
    assert mix_batch(image, meta, 0.4, 0.0, 0.0) is None  # prob 0: never mixed
    assert mix_batch(image[:1], meta[:1], 0.4, 1.0, 1.0) is None  # nothing to pair with


def test_mix_batch_with_both_uses_both():
    image, meta = _batch()
    kinds = set()
    for seed in range(20):
        torch.manual_seed(seed)
        mixed = mix_batch(image, meta, 0.4, 1.0, 1.0)
        blended = not torch.equal(mixed.image, mixed.image.round())  # mixup leaves fractional pixels
        kinds.add("mixup" if blended else "cutmix")
    assert kinds == {"mixup", "cutmix"}


def test_mixed_loss_decomposes():
    torch.manual_seed(0)
    logits, labels = torch.randn(6, 7), torch.tensor([0, 1, 2, 3, 4, 5])
    image, meta = _batch()
    mixed = mixup(image, meta, 0.4)
    loss_fn = nn.CrossEntropyLoss()
    expected = mixed.lam * loss_fn(logits, labels) + (1 - mixed.lam) * loss_fn(logits, labels[mixed.partner])
    torch.testing.assert_close(mixed_loss(loss_fn, logits, labels, mixed), expected)


def test_mixing_is_no_per_image_transform():
    assert build_augment(AugmentConfig(mixup=0.4, cutmix=1.0)) is None
    assert AugmentConfig(mixup=0.4).mixing and not AugmentConfig(mixup=0.4, mix_prob=0).mixing


def test_segmentation_recipes_refuse_mixing():
    with pytest.raises(ConfigError, match="classification recipes only"):
        load_config("seg_default", ["augment.mixup=0.2"])
