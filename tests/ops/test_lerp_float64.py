"""float64 lerp rounds once per side, as PyTorch's vectorised kernel (a fused multiply-add):
NumPy's separate multiply and add gave a different last bit for ~25% of elements, which moved
float64 EMA weights (AveragedModel, _foreach_lerp_) off PyTorch's."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("weight", [0.3, 0.7, 0.5, -0.2, 1.3, "tensor"])
def test_float64_lerp_bit_identical(weight):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(4096), rng.standard_normal(4096)
    w = rng.random(4096) * 1.4 - 0.2 if weight == "tensor" else weight

    def run(lib):
        wt = lib.from_numpy(w) if weight == "tensor" else w
        out = lib.lerp(lib.from_numpy(a), lib.from_numpy(b), wt).numpy()
        inplace = lib.from_numpy(a.copy())
        inplace.lerp_(lib.from_numpy(b), wt)
        listed = [lib.from_numpy(a.copy())]
        lib._foreach_lerp_(listed, [lib.from_numpy(b)], wt if weight != "tensor" else 0.25)
        return out, inplace.numpy(), listed[0].numpy()

    for got, want in zip(run(ember), run(torch)):
        np.testing.assert_array_equal(got, want)


def test_float64_lerp_gradients_unchanged():
    a = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
    b = ember.tensor([3.0, -1.0], dtype=ember.float64, requires_grad=True)
    w = ember.tensor([0.25, 0.75], dtype=ember.float64, requires_grad=True)
    ember.lerp(a, b, w).sum().backward()
    assert a.grad.tolist() == [0.75, 0.25] and b.grad.tolist() == [0.25, 0.75]
    assert w.grad.tolist() == [2.0, -3.0]
