"""Gaps found by the music and audio programs (tests/programs/music_*), compared with
PyTorch: ``torch.polar`` on a tensor that requires grad records PyTorch's node,
``PolarBackward0`` (shown when the spectrogram is printed, and by ``grad_fn.name()``), with
PyTorch's gradients through it; ``Tensor.bernoulli_`` refuses a probability outside [0, 1]
(a number, NaN, or a tensor holding one; an integer tensor) with PyTorch's errors instead of
drawing, and ``torch.bernoulli``'s message carries PyTorch's full words."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("grad_of", ["abs", "angle", "both"])
def test_polar_node_and_gradients_as_torch(grad_of):
    def run(lib):
        r = lib.tensor([1.0, 2.0, 0.5], requires_grad=grad_of in ("abs", "both"))
        t = lib.tensor([0.5, -1.0, 2.0], requires_grad=grad_of in ("angle", "both"))
        z = lib.polar(r, t)
        (z * lib.tensor([1 + 2j, -1j, 0.5])).real.sum().backward()
        grads = [g.grad.numpy() for g in (r, t) if g.grad is not None]
        return z.grad_fn.name(), repr(z), z.detach().numpy(), grads

    got, want = run(ember), run(torch)
    assert got[:2] == want[:2]
    np.testing.assert_allclose(got[2], want[2], rtol=1e-6)
    assert len(got[3]) == len(want[3])
    for g, w in zip(got[3], want[3]):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)


def test_polar_without_grad_has_no_node():
    z = ember.polar(ember.tensor([1.0]), ember.tensor([0.0]))
    assert z.grad_fn is None and not z.requires_grad


BERNOULLI_CALLS = {
    "bernoulli_ p above one": lambda lib: lib.empty(2).bernoulli_(1.5),
    "bernoulli_ int p": lambda lib: lib.empty(2).bernoulli_(2),
    "bernoulli_ negative p": lambda lib: lib.empty(2).bernoulli_(-0.5),
    "bernoulli_ nan p": lambda lib: lib.empty(2).bernoulli_(float("nan")),
    "bernoulli_ p just above one": lambda lib: lib.empty(2).bernoulli_(1.0000001),
    "bernoulli_ tensor p out of range": lambda lib: lib.empty(2).bernoulli_(
        lib.tensor([0.1, 2.0])),
    "bernoulli_ tensor p nan": lambda lib: lib.empty(2).bernoulli_(lib.tensor(float("nan"))),
    "bernoulli_ float64 tensor p negative": lambda lib: lib.empty(2).bernoulli_(
        lib.tensor([0.5, -0.1], dtype=lib.float64)),
    "bernoulli_ integer tensor p": lambda lib: lib.empty(2).bernoulli_(lib.tensor([1, 3])),
    "bernoulli out of range": lambda lib: lib.bernoulli(lib.tensor([0.2, 1.5])),
}


def _error_of(lib, call):
    try:
        call(lib)
    except Exception as e:  # the point is to compare the error type and message
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("name", sorted(BERNOULLI_CALLS))
def test_bernoulli_refuses_probabilities_outside_0_1_as_torch(name):
    want = _error_of(torch, BERNOULLI_CALLS[name])
    assert want is not None
    assert _error_of(ember, BERNOULLI_CALLS[name]) == want


def test_bernoulli_in_range_still_draws_as_torch():
    def run(lib):
        g = lib.Generator().manual_seed(3)
        a = lib.empty(6).bernoulli_(0.3, generator=g)
        b = lib.empty(6).bernoulli_(lib.linspace(0, 1, 6), generator=g)
        return np.concatenate([a.numpy(), b.numpy()])

    np.testing.assert_array_equal(run(ember), run(torch))
