"""``x ** 3``, ``x ** -2`` and ``x ** -0.5`` as PyTorch's CPU pow kernel computes them
(``x * x * x``, ``1 / (x * x)``, rsqrt: two roundings where NumPy's power rounds once), bit
for bit in float32 and float64; the gradients that build on them (``x ** 4``'s) follow."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _data(dtype, positive):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(4096) * 10 ** rng.uniform(-3, 3, 4096)).astype(dtype)
    return np.abs(x) if positive else x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exponent", [3, -2, -0.5, 2, -1])
def test_scalar_exponent_matches_torch_bit_for_bit(dtype, exponent):
    x = _data(dtype, exponent == -0.5)
    expected = torch.from_numpy(x).pow(exponent).numpy()
    for got in (ember.from_numpy(x).pow(exponent), ember.from_numpy(x) ** exponent,
                ember.pow(ember.from_numpy(x), exponent)):
        np.testing.assert_array_equal(got.numpy(), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fourth_power_gradient_uses_the_cube(dtype):
    x = _data(dtype, False)
    t = torch.from_numpy(x.copy()).requires_grad_()
    t.pow(4).sum().backward()
    e = ember.from_numpy(x.copy()).requires_grad_()
    e.pow(4).sum().backward()
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())
