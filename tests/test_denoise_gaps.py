"""Gaps found while writing the denoising programs (tests/programs/denoise_*.py), each checked
against PyTorch: the error a grouped convolution (forward or transposed, as in SSIM's
conv2d(groups=C) window) raises when the weight's output channels do not divide by ``groups``,
and the node behind a circular pad (``padding_mode="circular"``), which PyTorch builds from
slice copies (CopySlices)."""

import numpy as np
import pytest
import torch

import ember


def _conv_error(lib, op, input_shape, weight_shape, groups):
    fn = getattr(lib.nn.functional, op)
    with pytest.raises(RuntimeError) as info:
        fn(lib.rand(*input_shape), lib.rand(*weight_shape), groups=groups)
    return str(info.value)


@pytest.mark.parametrize("op,input_shape,weight_shape,groups", [
    ("conv1d", (2, 3, 8), (3, 1, 3), 2),
    ("conv2d", (2, 3, 8, 8), (3, 1, 3, 3), 2),
    ("conv3d", (1, 3, 4, 4, 4), (3, 1, 2, 2, 2), 2),
    ("conv_transpose1d", (2, 3, 8), (3, 1, 3), 2),
    ("conv_transpose2d", (2, 3, 8, 8), (3, 1, 3, 3), 2),
    ("conv2d", (2, 8, 8, 8), (3, 2, 3, 3), 4),            # fewer filters than groups
    ("conv_transpose2d", (2, 4, 8, 8), (4, 1, 3, 3), 8),
])
def test_grouped_conv_weight_error_matches_torch(op, input_shape, weight_shape, groups):
    mine = _conv_error(ember, op, input_shape, weight_shape, groups)
    assert mine == _conv_error(torch, op, input_shape, weight_shape, groups)


def _circular_pad_node(lib, shape, pad):
    x = lib.rand(*shape, requires_grad=True)
    node = lib.nn.functional.pad(x, pad, mode="circular").grad_fn
    return type(node).__name__, node.name()


@pytest.mark.parametrize("shape,pad", [
    ((3, 4), (1, 1)), ((2, 3, 5), (2, 0)), ((2, 3, 5, 5), (1, 1, 1, 1)),
    ((2, 3, 5, 5), (0, 0, 0, 0)), ((2, 3, 5, 5), (-1, 2, 0, 1)),
    ((1, 2, 3, 4, 4), (1, 1, 1, 1, 1, 1)),
])
def test_circular_pad_node_matches_torch(shape, pad):
    assert _circular_pad_node(ember, shape, pad) == _circular_pad_node(torch, shape, pad)


def test_circular_padding_mode_conv_gradient_matches_torch():
    weight = torch.rand(2, 3, 3, 3)
    x = torch.rand(1, 3, 5, 5, requires_grad=True)
    torch.nn.functional.conv2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="circular"),
                               weight).sum().backward()
    mine_x = ember.tensor(x.detach().numpy(), requires_grad=True)
    padded = ember.nn.functional.pad(mine_x, (1, 1, 1, 1), mode="circular")
    ember.nn.functional.conv2d(padded, ember.tensor(weight.numpy())).sum().backward()
    np.testing.assert_allclose(mine_x.grad.numpy(), x.grad.numpy(), rtol=1e-5, atol=1e-6)
