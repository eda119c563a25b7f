"""fake_quantize_per_tensor_affine / _per_channel_affine against PyTorch: values to the bit
(ties included), the straight-through gradient mask, node names and argument errors."""

import numpy as np
import pytest

import ember


def test_per_tensor_bit_exact_and_mask(torch, rng):
    for _ in range(30):
        x = (rng.standard_normal(2000) * 3).astype(np.float32)
        scale = float(rng.uniform(0.002, 0.2))
        x[:4] = np.float32([0.5, 1.5, -2.5, 127.5]) * np.float32(scale)  # ties
        zp = int(rng.integers(-20, 20))
        outs, grads = [], []
        for L in (ember, torch):
            t = L.tensor(x, requires_grad=True)
            y = L.fake_quantize_per_tensor_affine(t, scale, zp, -128, 127)
            y.sum().backward()
            outs.append(y.detach().numpy())
            grads.append(t.grad.numpy())
        np.testing.assert_array_equal(outs[0], outs[1])
        np.testing.assert_array_equal(grads[0], grads[1])


def test_per_channel_bit_exact(torch, rng):
    x = (rng.standard_normal((3, 4, 5)) * 2).astype(np.float32)
    scale = rng.uniform(0.01, 0.1, 4).astype(np.float32)
    zp = rng.integers(0, 20, 4).astype(np.int32)
    outs = []
    for L in (ember, torch):
        t = L.tensor(x, requires_grad=True)
        y = L.fake_quantize_per_channel_affine(t, L.tensor(scale), L.tensor(zp), 1, 0, 63)
        (y * y).sum().backward()
        outs.append((y.detach().numpy(), t.grad.numpy(), y.grad_fn.name()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-6)
    assert outs[0][2] == outs[1][2]


def test_node_names(torch):
    for L in (ember, torch):
        x = L.tensor([0.3, 2.0], requires_grad=True)
        names = [L.fake_quantize_per_tensor_affine(x, 0.1, 0, 0, 255).grad_fn.name(),
                 L.fake_quantize_per_tensor_affine(x, L.tensor(0.1), L.tensor(0, dtype=L.int32),
                                                   0, 255).grad_fn.name()]
        assert names == ["FakeQuantizePerTensorAffineCachemaskBackward0",
                         "FakeQuantizePerTensorAffineCachemaskTensorQparamsBackward0"]


def test_errors(torch):
    for L in (ember, torch):
        with pytest.raises(NotImplementedError, match="fake_quantize_tensor_cachemask_kernel_"
                           "type_handling\" not implemented for 'Long'"):
            L.fake_quantize_per_tensor_affine(L.ones(3, dtype=L.long), 0.1, 0, 0, 255)
        x = L.ones(3, 2)
        with pytest.raises(RuntimeError, match="`quant_min` should be less than"):
            L.fake_quantize_per_tensor_affine(x, 0.1, 0, 5, 2)
        with pytest.raises(RuntimeError, match="`zero_point` must be between"):
            L.fake_quantize_per_tensor_affine(x, 0.1, 300, 0, 255)
        with pytest.raises(RuntimeError, match="Zero-point must be Int32, Float or Half, found "
                           "Long"):
            L.fake_quantize_per_channel_affine(x, L.ones(3), L.zeros(3, dtype=L.long), 0, 0, 9)
        with pytest.raises(RuntimeError, match="Scale must be Float or BFloat16, found Double"):
            L.fake_quantize_per_channel_affine(x, L.ones(3, dtype=L.float64),
                                               L.zeros(3, dtype=L.int32), 0, 0, 9)
        with pytest.raises(RuntimeError, match="not consistent with input tensor"):
            L.fake_quantize_per_channel_affine(x, L.ones(2), L.zeros(2, dtype=L.int32), 0, 0, 9)
        with pytest.raises(IndexError, match="Dimension out of range"):
            L.fake_quantize_per_channel_affine(x, L.ones(3), L.zeros(3, dtype=L.int32), 2, 0, 9)
