"""``inference.precision``: the TTA functions run the network under bf16 autocast and return float32."""

from __future__ import annotations

import torch
from torch import nn

from dermkit.models.outputs import ClassificationOutput, SegmentationOutput
from dermkit.models.tta import tta_class_logits, tta_mask_proba


class _Seg(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 3, padding=1)
        self.seen: list[torch.dtype] = []

    def forward(self, x):
        out = self.conv(x)
        self.seen.append(out.dtype)
        return SegmentationOutput(out)


class _Cls(nn.Module):
    num_classes, use_metadata = 3, False

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3 * 8 * 8, 3)
        self.seen: list[torch.dtype] = []

    def forward(self, x, meta=None):
        out = self.fc(x.flatten(1))
        self.seen.append(out.dtype)
        return ClassificationOutput(out)


def test_bf16_runs_the_network_in_bf16_and_agrees_with_fp32():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 8, 8)
    seg, cls = _Seg(), _Cls()
    full = tta_mask_proba(seg, x, True), tta_class_logits(cls, x, None, True)
    assert set(seg.seen) == set(cls.seen) == {torch.float32}
    seg.seen.clear(), cls.seen.clear()
    half = tta_mask_proba(seg, x, True, torch.bfloat16), tta_class_logits(cls, x, None, True, torch.bfloat16)
    assert set(seg.seen) == set(cls.seen) == {torch.bfloat16}
    for a, b in zip(full, half, strict=True):
        assert b.dtype == torch.float32
        assert torch.allclose(a, b, atol=0.03)
        assert not torch.equal(a, b)  # bf16 really ran: its rounding shows
