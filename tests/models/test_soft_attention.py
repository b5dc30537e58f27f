"""Soft attention (S4 / Datta et al. 2021): the functional core on hand-checkable tensors, the
Conv3d equivalence, the S4 block and the learnable gamma."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dermkit.models import create_model
from dermkit.models.classification import (
    SoftAttention,
    SoftAttentionBlock,
    normalize_attention,
    soft_attention,
)


def test_zero_kernel_gives_uniform_maps_by_hand():
    t = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).view(2, 3, 2, 2)  # (B, d, h, w)
    weight = torch.zeros(4, 1, 3, 3, 3)  # K=4 heads
    out = soft_attention(t, weight, torch.zeros(4), torch.tensor(0.5))
    # every logit is 0, so each softmax map is 1/4 everywhere and alpha = K * 1/4 = 1
    torch.testing.assert_close(out.maps, torch.full((2, 4, 2, 2), 0.25))
    torch.testing.assert_close(out.alpha, torch.ones(2, 1, 2, 2))
    torch.testing.assert_close(out.features, torch.cat([t, 0.5 * t], dim=1))


def test_maps_are_spatial_softmaxes_and_features_are_t_then_scaled_attention():
    torch.manual_seed(0)
    module = SoftAttention(channels=5, num_heads=3)
    t = torch.randn(2, 5, 4, 6)
    features, alpha, maps = module(t)
    assert maps.shape == (2, 3, 4, 6) and alpha.shape == (2, 1, 4, 6)
    torch.testing.assert_close(maps.sum(dim=(2, 3)), torch.ones(2, 3))
    assert (maps >= 0).all()
    torch.testing.assert_close(alpha, maps.sum(dim=1, keepdim=True))
    assert features.shape == (2, 10, 4, 6)
    torch.testing.assert_close(features[:, :5], t)
    torch.testing.assert_close(features[:, 5:], module.gamma * alpha * t)


def test_conv2d_computation_equals_the_reference_conv3d():
    torch.manual_seed(0)
    module = SoftAttention(channels=6, num_heads=2)
    torch.nn.init.normal_(module.conv.bias)
    t = torch.randn(2, 6, 5, 5)
    # the Keras layer: Conv3d over the (1, d, h, w) volume, kernel (d, 3, 3), "same" in h, w
    logits = F.conv3d(t.unsqueeze(1), module.conv.weight, module.conv.bias, padding=(0, 1, 1))
    assert logits.shape == (2, 2, 1, 5, 5)  # one depth slice
    expected = F.relu(logits.squeeze(2)).flatten(2).softmax(-1).view(2, 2, 5, 5)
    torch.testing.assert_close(module(t).maps, expected)


def test_gamma_is_learnable_and_starts_at_reference_value():
    module = SoftAttention(channels=4, num_heads=2)
    assert isinstance(module.gamma, torch.nn.Parameter) and module.gamma.requires_grad
    assert module.gamma.item() == pytest.approx(0.01)
    module(torch.randn(1, 4, 3, 3)).features.sum().backward()
    assert module.gamma.grad is not None and module.gamma.grad.abs() > 0


def test_block_is_relu_pool_concat_relu_with_ceil_pooling():
    torch.manual_seed(0)
    block = SoftAttentionBlock(channels=4, num_heads=2, dropout=0.5).eval()  # dropout off
    t = torch.randn(2, 4, 5, 7)  # odd sizes: Keras "same" pooling gives ceil(5/2), ceil(7/2)
    features, alpha = block(t)
    assert features.shape == (2, 8, 3, 4) and alpha.shape == (2, 1, 5, 7)
    relu_t = F.relu(t)
    attended = block.attention(relu_t)
    path_a = F.max_pool2d(relu_t, 2, ceil_mode=True)
    path_b = F.max_pool2d(block.attention.gamma * attended.alpha * relu_t, 2, ceil_mode=True)
    torch.testing.assert_close(features, F.relu(torch.cat([path_a, path_b], dim=1)))
    assert block.train()(t)[0].eq(0).float().mean() > 0.4  # dropout 0.5 in training


def test_normalized_attention_is_in_unit_interval_with_max_one():
    alpha = torch.rand(3, 1, 4, 4) * 5 + 0.1
    shown = normalize_attention(alpha)
    assert shown.min() > 0 and shown.max() <= 1
    torch.testing.assert_close(shown.amax(dim=(2, 3)), torch.ones(3, 1))


def test_classifier_gamma_gets_gradient_and_map_is_at_stride_16():
    torch.manual_seed(0)
    model = create_model("softattention_s4", backbone="test_efficientnet", pretrained=False, num_heads=4)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.attention.shape == (2, 1, 4, 4)
    torch.testing.assert_close(out.attention.amax(dim=(2, 3)), torch.ones(2, 1))
    out.class_logits.sum().backward()
    assert model.block.attention.gamma.grad is not None


def test_without_soft_attention_the_block_is_its_max_pool_path_alone():
    """The S4 ablation: same backbone and head, the block keeps only pool(t), and no map comes out."""
    torch.manual_seed(0)
    on = create_model("softattention_s4", backbone="test_efficientnet", pretrained=False, num_heads=4)
    off = create_model("softattention_s4", backbone="test_efficientnet", pretrained=False, soft_attention=False)
    assert not any(isinstance(m, SoftAttention) for m in off.modules())
    assert off.block.out_channels * 2 == on.block.out_channels
    off.eval()
    t = torch.randn(2, off.block.out_channels, 5, 6)
    features, alpha = off.block(t)
    assert alpha is None
    torch.testing.assert_close(features, F.relu(F.max_pool2d(F.relu(t), 2, ceil_mode=True)))
    out = off(torch.randn(2, 3, 64, 64))
    assert out.attention is None and out.class_logits.shape == (2, 7)
