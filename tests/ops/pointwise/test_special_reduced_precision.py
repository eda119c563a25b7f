"""torch.special in float16/bfloat16, compared with torch's CPU kernels.

``sinc`` is evaluated in float32 and rounded once (rounding ``pi * x`` to half first gave
``sinc(-4) = -3e-4`` instead of 0); ``erfcx``, ``ndtri`` and ``log_ndtr`` have no
reduced-precision CPU kernel in torch and refuse with its NotImplementedError.
"""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

XS = np.linspace(-4, 4, 33).astype(np.float32)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
@pytest.mark.parametrize("fn", ["special.sinc", "sinc"])
def test_sinc_reduced_precision_forward_matches_torch(name, fn):
    def resolve(lib):
        obj = lib
        for part in fn.split("."):
            obj = getattr(obj, part)
        return obj

    want = resolve(torch)(torch.from_numpy(XS).to(getattr(torch, name)))
    got = resolve(ember)(ember.from_numpy(XS).to(getattr(ember, name)))
    assert got.dtype == getattr(ember, name)
    np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())


def test_sinc_reduced_precision_keeps_its_grad_fn_and_gradient():
    x = ember.from_numpy(XS).to(ember.bfloat16).requires_grad_()
    y = ember.special.sinc(x)
    assert y.grad_fn.name() == "SincBackward0"
    y.sum().backward()
    t = torch.from_numpy(XS).to(torch.bfloat16).requires_grad_()
    torch.special.sinc(t).sum().backward()
    assert x.grad.dtype == ember.bfloat16
    # torch's backward composes in bfloat16 itself: agree to a couple of its ulps
    np.testing.assert_allclose(x.grad.float().numpy(), t.grad.float().numpy(), atol=1e-2)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
@pytest.mark.parametrize("fn", ["erfcx", "ndtri", "log_ndtr"])
def test_no_reduced_precision_kernel_raises_like_torch(name, fn):
    with pytest.raises(NotImplementedError) as want:
        getattr(torch.special, fn)(torch.tensor([0.5], dtype=getattr(torch, name)))
    with pytest.raises(NotImplementedError) as got:
        getattr(ember.special, fn)(ember.tensor([0.5], dtype=getattr(ember, name)))
    assert str(got.value) == str(want.value)
