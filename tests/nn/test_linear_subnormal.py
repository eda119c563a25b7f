"""linear's backward with subnormal numbers in the incoming gradient (a cross-entropy gradient
whose softmax underflowed): the GEMMs run on the gradient scaled by a power of two and scale
back, which must give torch's gradients, the plain GEMM's bits where no subnormal is involved,
and never overflow."""

import numpy as np
import pytest

import ember
from ember._ops.nn import linear_softmax as L

TINY32 = np.finfo(np.float32).tiny


def _grad_with_subnormals(rows, cols, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((rows, cols)).astype(np.float32) * np.float32(1e-3)
    mask = rng.random((rows, cols)) < 0.3
    g[mask] = (rng.random(mask.sum()) * TINY32).astype(np.float32)  # subnormal (or 0)
    return g


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("lead", [(), (4,)])
def test_linear_backward_with_subnormal_gradient_matches_torch(torch, bias, lead):
    rng = np.random.default_rng(1)
    rows = 256
    x = rng.standard_normal((*lead, rows, 640)).astype(np.float32)  # big enough to be lifted
    w = rng.standard_normal((64, 640)).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    g = _grad_with_subnormals(int(np.prod(lead, dtype=int)) * rows, 64).reshape(*lead, rows, 64)
    assert ((g != 0) & (np.abs(g) < TINY32)).any()
    assert L._subnormal_lift(g.reshape(-1, 64), (w, x.reshape(-1, 640)), 256) is not None
    grads = []
    for lib in (ember, torch):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        bt = lib.tensor(b, requires_grad=True) if bias else None
        lib.nn.functional.linear(xt, wt, bt).backward(lib.tensor(g))
        grads.append([t.grad.numpy() for t in (xt, wt, bt) if t is not None])
    for e, t in zip(*grads):
        assert e.dtype == t.dtype and e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-6)
    # the plain float64 product: the lift loses nothing to the subnormals
    g2 = g.reshape(-1, 64).astype(np.float64)
    np.testing.assert_allclose(grads[0][0].reshape(-1, 640), g2 @ w, rtol=1e-4, atol=1e-6)


def test_lift_gives_the_plain_gemm_bits_without_subnormal_products():
    rng = np.random.default_rng(2)
    g = rng.standard_normal((512, 64)).astype(np.float32)
    g[:, 0] = np.float32(1e-40)  # subnormal, but every product with it vanishes in the sums
    w = rng.standard_normal((64, 512)).astype(np.float32)
    scale = L._subnormal_lift(g, (w,), 512)
    assert scale is not None and np.log2(scale) == int(np.log2(scale))
    lifted = L._unlift((g * scale) @ w, scale)
    g_flushed = g.copy()
    g_flushed[:, 0] = 0
    np.testing.assert_array_equal(lifted, g_flushed @ w)


def test_lift_only_when_there_are_subnormals():
    rng = np.random.default_rng(3)
    g = rng.standard_normal((512, 64)).astype(np.float32)
    w = rng.standard_normal((64, 512)).astype(np.float32)
    assert L._subnormal_lift(g, (w,), 512) is None  # all normal
    g[::2] = 0
    assert L._subnormal_lift(g, (w,), 512) is None  # zeros are not subnormal
    g[0, 0] = np.float32(1e-40)
    assert L._subnormal_lift(g, (w,), 512) is not None
    g[1, 0] = np.nan
    assert L._subnormal_lift(g, (w,), 512) is None  # NaN: left to BLAS as it is
    assert L._subnormal_lift(g, (w[:, :8],), 512) is None  # too little work to matter
    assert L._subnormal_lift(g.astype(np.float16), (w,), 512) is None  # no GEMM kernel issue


def test_lift_never_overflows():
    g = _grad_with_subnormals(512, 64)
    g[0, 0] = np.float32(1e10)
    w = np.full((64, 512), 1e8, np.float32)
    scale = L._subnormal_lift(g, (w,), 512)
    if scale is not None:
        assert np.isfinite(L._unlift((g * scale) @ w, scale)).all()
    w[0, 0] = np.float32(3e38)
    assert L._subnormal_lift(g, (w,), 512) is None  # no power of two keeps it finite
