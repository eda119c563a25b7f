"""Gaps found by the audio programs (tests/programs/sig_*) in ember's convolutions, compared
with PyTorch: complex convolutions (complex-valued speech-enhancement nets) take PyTorch's
gradient convention, the real rule with the other operand conjugated, on the first-order
fast path and under create_graph alike; a real tensor cast to complex gets the real part of
its gradient back without a "discards the imaginary part" warning. Complex inputs are refused
as PyTorch refuses them: dropout with 0 < p < 1 (its Bernoulli kernel has no complex form)
and clip_grad_value_ (clamp), the latter before any gradient is changed."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

CASES = [
    ("conv1d", (1, 2, 9), (3, 2, 3), dict(padding=1)),
    ("conv1d", (2, 4, 11), (4, 1, 3), dict(groups=4, dilation=2, stride=2)),
    ("conv_transpose1d", (1, 2, 7), (2, 3, 3), dict(stride=2, output_padding=1)),
    ("conv2d", (1, 2, 6, 5), (3, 2, 3, 3), dict(padding=1)),
    ("conv_transpose2d", (1, 2, 4, 4), (2, 2, 3, 3), dict(stride=2)),
]


def _grads(lib, fname, xs, ws, kw, dtype, create_graph):
    gen = np.random.default_rng(0)

    def c(shape):
        return (gen.standard_normal(shape) + 1j * gen.standard_normal(shape)).astype(dtype)

    transposed = "transpose" in fname
    bias_len = ws[1] * kw.get("groups", 1) if transposed else ws[0]
    x = lib.tensor(c(xs), requires_grad=True)
    w = lib.tensor(c(ws), requires_grad=True)
    b = lib.tensor(c(bias_len), requires_grad=True)
    y = getattr(lib.nn.functional, fname)(x, w, b, **kw)
    target = lib.tensor(c(tuple(y.shape)))
    loss = (y - target).abs().pow(2).sum()
    grads = lib.autograd.grad(loss, (x, w, b), create_graph=create_graph)
    out = [g.detach().numpy() for g in grads]
    if create_graph:  # a second-order term through the complex gradients
        second = lib.autograd.grad(grads[0].abs().sum() + grads[1].abs().sum(), (x, w))
        out += [g.numpy() for g in second]
    return out


@pytest.mark.parametrize("fname,xs,ws,kw", CASES, ids=[c[0] + str(i) for i, c in
                                                      enumerate(CASES)])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("create_graph", [False, True])
def test_complex_conv_gradients_as_torch(fname, xs, ws, kw, dtype, create_graph):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no complex-to-real cast warning on the way
        got = _grads(ember, fname, xs, ws, kw, dtype, create_graph)
    want = _grads(torch, fname, xs, ws, kw, dtype, create_graph)
    tol = 1e-3 if dtype is np.complex64 else 1e-9
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def test_real_to_complex_cast_gradient_is_real_part():
    def run(lib):
        a = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = a.to(lib.cfloat) * (1 + 2j)
        g, = lib.autograd.grad((y * y).real.sum() + y.imag.pow(3).sum(), a, create_graph=True)
        h, = lib.autograd.grad((g * g).sum(), a)
        return g.detach().numpy(), h.numpy()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = run(ember)
    for g, w in zip(got, run(torch)):
        np.testing.assert_allclose(g, w, rtol=1e-5)


@pytest.mark.parametrize("call", [
    lambda lib, x: lib.nn.functional.dropout(x, 0.3),
    lambda lib, x: lib.nn.functional.dropout1d(x.view(1, 2, 3), 0.3),
    lambda lib, x: lib.dropout(x, 0.3, True),
    lambda lib, x: lib.nn.Dropout()(x),
])
@pytest.mark.parametrize("dtype", ["cfloat", "cdouble"])
def test_complex_dropout_refused_as_torch(call, dtype):
    def message(lib):
        with pytest.raises(NotImplementedError) as info:
            call(lib, lib.ones(6, dtype=getattr(lib, dtype)))
        return str(info.value)

    assert message(ember) == message(torch)
    got = ember.nn.functional.dropout(ember.ones(3, dtype=ember.cfloat), 1.0)  # no mask drawn
    assert got.tolist() == torch.nn.functional.dropout(torch.ones(3, dtype=torch.cfloat),
                                                       1.0).tolist()


def test_clip_grad_value_refuses_complex_gradients_before_clipping():
    def run(lib):
        q = lib.tensor([1.0, -2.0], requires_grad=True)
        p = lib.tensor([1 + 1j, -2j], requires_grad=True)
        (3 * q.sum() + p.abs().sum()).backward()
        with pytest.raises(NotImplementedError) as info:
            lib.nn.utils.clip_grad_value_([q, p], 0.5)
        return str(info.value), q.grad.tolist()

    assert run(ember) == run(torch)
