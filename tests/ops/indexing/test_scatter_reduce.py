"""scatter_reduce beyond the op table: values with many repeated targets for every reduction
(int and float, in-place too), gradients at ties and zeros, and a source larger than the index
(gradcheck: torch's own backward fails there)."""

import numpy as np
import pytest

import ember


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin", "max"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_scatter_reduce_values_with_repeats(torch, reduce, include_self, dtype):
    rng = np.random.default_rng(3)
    x = rng.integers(-5, 6, (4, 6))
    src = rng.integers(-5, 6, (4, 5))
    idx = rng.integers(0, 3, (4, 5))  # many repeats, columns 3..5 never written
    outs = []
    for L in (ember, torch):
        dt = getattr(L, dtype)
        r = L.tensor(x, dtype=dt).scatter_reduce(1, L.tensor(idx), L.tensor(src, dtype=dt),
                                                 reduce, include_self=include_self)
        outs.append(r)
    assert str(outs[0].dtype) == str(outs[1].dtype)
    np.testing.assert_allclose(outs[0].numpy(), outs[1].numpy(), rtol=1e-6)
    e = ember.tensor(x, dtype=getattr(ember, dtype))
    e.scatter_reduce_(1, ember.tensor(idx), ember.tensor(src, dtype=e.dtype), reduce,
                      include_self=include_self)
    np.testing.assert_allclose(e.numpy(), outs[1].numpy(), rtol=1e-6)


def test_scatter_reduce_gradients_with_ties_and_zeros(torch):
    """amax/amin split the gradient among ties; prod handles zeros in self and src."""
    x = [[1.0, 0.0, 3.0, 2.0], [0.0, 5.0, 5.0, 1.0]]
    src = [[3.0, 3.0, 0.0], [5.0, 0.0, 2.0]]
    idx = [[2, 2, 1], [1, 0, 0]]
    for reduce in ["amax", "amin", "prod", "mean", "sum"]:
        for include_self in (True, False):
            grads = []
            for L in (ember, torch):
                a = L.tensor(x, dtype=L.float64, requires_grad=True)
                b = L.tensor(src, dtype=L.float64, requires_grad=True)
                y = a.scatter_reduce(1, L.tensor(idx), b, reduce, include_self=include_self)
                g = L.autograd.grad((y * L.arange(8.0, dtype=L.float64).view(2, 4)).sum(),
                                    [a, b])
                grads.append([t.detach().numpy() for t in g])
            for ge, gt in zip(*grads):
                np.testing.assert_allclose(ge, gt, err_msg=f"{reduce} {include_self}")


def test_scatter_reduce_big_src_gradcheck():
    x = ember.randn(4, 3, dtype=ember.float64, requires_grad=True)
    s = ember.randn(5, 3, dtype=ember.float64, requires_grad=True)
    idx = ember.tensor([[0, 1, 2], [3, 3, 0]])
    assert ember.autograd.gradcheck(
        lambda a, b: ember.scatter_reduce(a, 0, idx, b, "mean", include_self=False), (x, s))

