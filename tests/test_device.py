"""Channels-last placement works for every model, including ones with weights of other ranks."""

from __future__ import annotations

import torch

from dermkit.device import to_device
from dermkit.models import create_model


def test_channels_last_takes_a_model_with_a_five_dimensional_kernel():
    model = create_model("softattention_s4", backbone="test_efficientnet", pretrained=False, num_heads=2)
    assert any(p.dim() == 5 for p in model.parameters())  # what Module.to(memory_format=...) refuses
    to_device(model, torch.device("cpu"), channels_last=True)
    convs = [p for p in model.parameters() if p.dim() == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    out = model(torch.randn(1, 3, 64, 64))
    assert out.class_logits.shape[0] == 1


def test_contiguous_layout_is_left_alone():
    model = create_model("unet_s2", base_filters=2)
    to_device(model, torch.device("cpu"), channels_last=False)
    assert all(p.is_contiguous() for p in model.parameters())
