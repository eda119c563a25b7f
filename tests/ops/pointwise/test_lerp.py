"""``lerp`` with a number weight keeps the input's precision."""

import numpy as np
import pytest

import ember


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_number_weight_is_not_rounded_to_float32(torch, dtype):
    """Regression: a Python float weight went through the default dtype (float32) before the
    cast to the input's dtype, so ``lerp(1., 3., 0.3)`` in float64 gave 1.600000023841858."""

    def run(L):
        a = L.tensor([1.0, -2.0], dtype=getattr(L, dtype), requires_grad=True)
        b = L.tensor([3.0, 5.0], dtype=getattr(L, dtype), requires_grad=True)
        out = L.lerp(a, b, 0.3)
        out.real.sum().backward()
        return [t.detach().resolve_conj().numpy() for t in (out, a.grad, b.grad)]

    for e, t in zip(run(ember), run(torch)):
        np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-15)
