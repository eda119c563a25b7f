"""ember.utils.checkpoint against torch.utils.checkpoint: gradients equal to an unchecked run
(reentrant and not, several inputs and outputs, non-tensor arguments, autocast, dropout's RNG
replay), checkpoint_sequential, warnings and errors."""

import warnings

import numpy as np
import pytest

import ember
from ember.utils.checkpoint import checkpoint, checkpoint_sequential

torch = pytest.importorskip("torch")
from torch.utils import checkpoint as tc  # noqa: E402


def block(L):
    m = L.nn.Sequential(L.nn.Linear(4, 6), L.nn.GELU(), L.nn.Linear(6, 4))
    with L.no_grad():
        for i, p in enumerate(m.parameters()):
            p.copy_(L.tensor(np.sin(np.arange(p.numel()) * (0.7 + i)).reshape(tuple(p.shape)),
                             dtype=L.float32))
    return m


def x(L):
    return L.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=L.float32, requires_grad=True)


def grads(L, ckpt, use_reentrant):
    m, inp = block(L), x(L)

    def fn(a, scale, b):  # two tensors, a number, two outputs
        h = m(a) * scale
        return h + b, h.sum()

    b = L.ones(4, requires_grad=True)
    out, total = (ckpt(fn, inp, 2.0, b, use_reentrant=use_reentrant) if ckpt
                  else fn(inp, 2.0, b))
    (out.pow(2).sum() + total).backward()
    return [t.grad.numpy() for t in (inp, b, *m.parameters())]


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_gradients_match_an_unchecked_run_and_torch(use_reentrant):
    plain = grads(ember, None, use_reentrant)
    ours = grads(ember, checkpoint, use_reentrant)
    theirs = grads(torch, tc.checkpoint, use_reentrant)
    for a, b, c in zip(plain, ours, theirs):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(b, c, rtol=1e-5, atol=1e-6)


def test_dropout_mask_is_replayed():
    m = ember.nn.Sequential(ember.nn.Linear(4, 4), ember.nn.Dropout(0.5))
    ember.manual_seed(0)
    a = x(ember)
    checkpoint(m, a, use_reentrant=True).sum().backward()
    ember.manual_seed(0)
    b = x(ember)
    m(b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    ember.manual_seed(1)  # the recomputation leaves the caller's RNG where it was
    c = x(ember)
    out = checkpoint(m, c, use_reentrant=True)
    state = ember.get_rng_state()
    out.sum().backward()
    assert ember.equal(ember.get_rng_state(), state)


def test_autocast_state_is_replayed():
    m = block(ember)
    a = x(ember)
    with ember.autocast("cpu", dtype=ember.bfloat16):
        out = checkpoint(m, a, use_reentrant=True)
    assert out.dtype == ember.bfloat16
    out.float().sum().backward()
    assert a.grad.dtype == ember.float32


def test_checkpoint_sequential_matches_torch():
    out = []
    for L, fn in ((ember, checkpoint_sequential), (torch, tc.checkpoint_sequential)):
        seq = L.nn.Sequential(*[block(L) for _ in range(3)])
        a = x(L)
        y = fn(seq, 2, a, use_reentrant=True)
        y.sum().backward()
        out.append((y.detach().numpy(), a.grad.numpy(), y.grad_fn.name()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-5, atol=1e-6)
    assert out[0][2] == out[1][2]


def messages(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            call()
        except (RuntimeError, ValueError) as err:
            return [type(err).__name__, str(err)]
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("case", ["default", "no_grad_inputs", "kwargs", "context_fn",
                                  "autograd_grad", "backward_inputs", "no_outputs"])
def test_warnings_and_errors_match_torch(case):
    def run(L, ckpt):
        m, a = block(L), x(L)
        if case == "default":
            return lambda: ckpt(m, a)
        if case == "no_grad_inputs":
            return lambda: ckpt(m, a.detach(), use_reentrant=True)
        if case == "kwargs":
            return lambda: ckpt(m, a, use_reentrant=True, extra=1)
        if case == "context_fn":
            return lambda: ckpt(m, a, use_reentrant=True, debug=True)
        if case == "autograd_grad":
            return lambda: L.autograd.grad(ckpt(m, a, use_reentrant=True).sum(), a)
        if case == "backward_inputs":
            return lambda: ckpt(m, a, use_reentrant=True).sum().backward(inputs=[a])
        return lambda: ckpt(lambda t: t.detach(), a, use_reentrant=True).sum().backward()

    assert messages(run(ember, checkpoint)) == messages(run(torch, tc.checkpoint))
