"""Fewer passes on the GPT benchmark's training step (issue 13), each giving the bits of the
code it replaced: GELU's derivative finished in forward's cache-sized blocks (backward is one
multiplication), and an embedding's gradient rows added as passes of distinct rows instead of
``np.add.at``."""

import numpy as np
import pytest

import ember
from ember import _backend as B
from ember._ops.nn import activation as A


def _reference_gelu(x, g):
    """GELU and its first-order gradient as the unfused code computes them."""
    cdf, pdf = A._normal_cdf_pdf(x)
    d = np.empty_like(cdf)
    A._gelu_grad(d, x, cdf, pdf, g)
    return cdf * x, d


@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 5), (A._CDF_BLOCK * 2 + 9,)])
def test_gelu_forward_keeps_one_slope_and_gives_the_unfused_bits(shape):
    rng = np.random.default_rng(0)
    x = np.asarray(rng.standard_normal(shape) * 5, dtype=np.float32)
    g = np.asarray(rng.standard_normal(shape), dtype=np.float32)
    if x.size >= 6:
        x.reshape(-1)[:6] = [0.0, -0.0, np.inf, -np.inf, 30.0, -30.0]
    t = ember.from_numpy(x.copy()).requires_grad_()
    y = ember.nn.functional.gelu(t)
    node = y.grad_fn
    # one x-sized array kept for backward (Phi + x phi), not Phi and phi apart
    assert node.__dict__.get("slope") is not None and "pdf" not in node.__dict__
    y.backward(ember.from_numpy(g), retain_graph=True)
    first = t.grad.numpy().copy()
    want_y, want_d = _reference_gelu(x, g)
    np.testing.assert_array_equal(y.detach().numpy(), want_y)
    np.testing.assert_array_equal(first, want_d)
    t.grad = None
    y.backward(ember.from_numpy(g))  # the kept slope is not spent by the first backward
    np.testing.assert_array_equal(t.grad.numpy(), want_d)


def test_fused_gelu_gradient_matches_torch(torch):
    x = (np.random.default_rng(1).standard_normal((8, 64, 512)) * 3).astype(np.float32)
    got = []
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.gelu(t)
        (y * y).sum().backward()
        got.append((y.detach().numpy(), t.grad.numpy()))
    for e, t in zip(*got):  # torch's float32 erf is good to ~1e-7 absolute
        np.testing.assert_allclose(e, t, rtol=1e-6, atol=5e-6)


def test_gelu_double_backward_still_matches_torch(torch):
    x = np.linspace(-4, 4, 33, dtype=np.float32)
    got = []
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        (g,) = lib.autograd.grad(lib.nn.functional.gelu(t).sum(), t, create_graph=True)
        g.sum().backward()
        got.append((g.detach().numpy(), t.grad.numpy()))
    for e, t in zip(*got):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)


def test_grouped_row_add_gives_the_bits_of_add_at():
    rng = np.random.default_rng(2)
    for trial in range(200):
        rows, n, width = int(rng.integers(1, 30)), int(rng.integers(1, 90)), int(rng.integers(1, 4))
        idx = rng.integers(0, rows, n)
        vals = (rng.standard_normal((n, width))
                * 10.0 ** rng.integers(-30, 30, (n, width))).astype(np.float32)
        vals[rng.random((n, width)) < 0.1] = -0.0  # a zero's sign depends on the order
        want = np.zeros((rows, width), np.float32) if trial % 2 else \
            rng.standard_normal((rows, width)).astype(np.float32)
        got = want.copy()
        np.add.at(want, idx, vals)
        done = B._add_rows_grouped(got, idx.astype(np.intp), vals)
        if done:
            np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))
        else:
            assert np.bincount(idx).max() > B._GROUPED_MAX_REPEATS


def test_grouped_row_add_declines_many_repeats_and_overlap():
    t = np.zeros((2, 3), np.float32)
    many = np.zeros(B._GROUPED_MAX_REPEATS + 1, np.intp)
    assert not B._add_rows_grouped(t, many, np.ones((many.size, 3), np.float32))
    assert not B._add_rows_grouped(t, np.array([1, 0]), t)  # values are target's memory
    assert not t.any()


def test_embedding_gradient_with_repeats_matches_torch(torch):
    rng = np.random.default_rng(3)
    weight = rng.standard_normal((256, 16)).astype(np.float32)
    idx = rng.integers(0, 256, (8, 64))
    g = rng.standard_normal((8, 64, 16)).astype(np.float32)
    got = []
    for lib in (ember, torch):
        w = lib.tensor(weight, requires_grad=True)
        lib.nn.functional.embedding(lib.tensor(idx), w).backward(lib.tensor(g))
        got.append(w.grad.numpy())
    np.testing.assert_allclose(got[0], got[1], rtol=1e-6, atol=1e-6)

