"""``sigmoid`` (and ``special.expit``) in float16/bfloat16 round like torch's CPU kernels.

torch evaluates the forward in float32 and rounds once; composing exp, add and divide in the
half type rounded three times and missed by an ulp on about a third of a grid. Backward: the
bfloat16 kernel also rounds once from float32, the float16 one rounds after each product.
"""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

XS = np.linspace(-6, 6, 97).astype(np.float32)
GS = np.linspace(0.1, 2, 97).astype(np.float32)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
@pytest.mark.parametrize("fn", ["sigmoid", "special.expit", "nn.functional.sigmoid"])
def test_sigmoid_reduced_precision_matches_torch(name, fn):
    def resolve(lib):
        obj = lib
        for part in fn.split("."):
            obj = getattr(obj, part)
        return obj

    tx = torch.from_numpy(XS).to(getattr(torch, name)).requires_grad_()
    ex = ember.from_numpy(XS).to(getattr(ember, name)).requires_grad_()
    ty, ey = resolve(torch)(tx), resolve(ember)(ex)
    assert ey.dtype == getattr(ember, name)
    np.testing.assert_array_equal(ey.detach().float().numpy(), ty.detach().float().numpy())
    ty.backward(torch.from_numpy(GS).to(tx.dtype))
    ey.backward(ember.from_numpy(GS).to(ex.dtype))
    np.testing.assert_array_equal(ex.grad.float().numpy(), tx.grad.float().numpy())


def test_sigmoid_bfloat16_double_backward_still_works():
    x = ember.tensor([0.5, -1.0], dtype=ember.bfloat16, requires_grad=True)
    (g,) = ember.autograd.grad(x.sigmoid().sum(), x, create_graph=True)
    g.sum().backward()
    t = torch.tensor([0.5, -1.0], dtype=torch.bfloat16, requires_grad=True)
    (tg,) = torch.autograd.grad(t.sigmoid().sum(), t, create_graph=True)
    tg.sum().backward()
    np.testing.assert_allclose(x.grad.float().numpy(), t.grad.float().numpy(), atol=1e-2)
