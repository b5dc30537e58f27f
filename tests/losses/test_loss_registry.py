"""The loss registry: built on the generic Registry, every loss tagged with its task."""

from __future__ import annotations

import pytest
from torch import nn

from dermkit.errors import ConfigError
from dermkit.losses import LOSSES, create_loss, list_losses
from dermkit.registry import Registry


def test_losses_use_the_generic_registry_with_a_task_each():
    assert isinstance(LOSSES, Registry)
    assert sorted(LOSSES) == list_losses()
    assert {LOSSES.entry(n).info["task"] for n in LOSSES} == {"segmentation", "classification"}
    assert set(list_losses("segmentation")) | set(list_losses("classification")) == set(list_losses())


def test_duplicate_loss_name_is_refused():
    with pytest.raises(ValueError, match="'dice' is already registered by dermkit.losses.segmentation"):
        LOSSES.register("dice", task="segmentation")(nn.L1Loss)
    assert create_loss("dice").__class__.__name__ == "DiceLoss"  # the original entry stays


def test_unknown_loss_and_task():
    with pytest.raises(ConfigError, match=r"unknown loss 'focla'\. Did you mean 'focal'\?.*Known: .*cross_entropy"):
        create_loss("focla")
    with pytest.raises(ValueError, match="task must be None or one of"):
        list_losses("detection")  # type: ignore[arg-type]
