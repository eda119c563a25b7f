"""Gaps found while writing the domain-adaptation and fairness programs (tests/programs/fair_*.py),
each checked against PyTorch: the second derivative through ``sigmoid`` follows PyTorch's
``sigmoid_backward`` derivative (signed zeros of a Hessian included) and its node is named
``SigmoidBackwardBackward0``."""

import math

import numpy as np
import pytest
import torch

import ember


def _hessian_logistic(lib, dtype):
    c = lib.tensor([1.0, 2.0], dtype=dtype)
    w = lib.tensor([0.3, -0.2], dtype=dtype)
    return lib.autograd.functional.hessian(lambda v: (c * v).sigmoid().log().sum(), w)


def _signs(values):
    return [math.copysign(1.0, v) for v in np.asarray(values, dtype=np.float64).ravel()]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_hessian_signed_zeros_match_torch(dtype):
    mine = _hessian_logistic(ember, getattr(ember, dtype)).tolist()
    theirs = _hessian_logistic(torch, getattr(torch, dtype)).tolist()
    np.testing.assert_allclose(mine, theirs, rtol=1e-6)
    assert _signs(mine) == _signs(theirs)  # torch gives -0.0 below the diagonal
    assert repr(_hessian_logistic(ember, getattr(ember, dtype))).replace("ember", "torch") == \
        repr(_hessian_logistic(torch, getattr(torch, dtype)))


def _double_backward(lib):
    w = lib.tensor([0.3, -0.2, 1.5], dtype=lib.float64, requires_grad=True)
    y = w.sigmoid()
    g, = lib.autograd.grad((y * lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64)).sum(), w,
                           create_graph=True)
    h, = lib.autograd.grad(g, w, lib.tensor([0.0, 1.0, -3.0], dtype=lib.float64))
    return g, h


def test_sigmoid_double_backward_node_and_values():
    g_e, h_e = _double_backward(ember)
    g_t, h_t = _double_backward(torch)
    assert type(g_e.grad_fn).__name__ == type(g_t.grad_fn).__name__ == "SigmoidBackwardBackward0"
    assert [type(f).__name__ for f, _ in g_e.grad_fn.next_functions] == \
        [type(f).__name__ for f, _ in g_t.grad_fn.next_functions]
    np.testing.assert_allclose(g_e.tolist(), g_t.tolist(), rtol=1e-12)
    np.testing.assert_allclose(h_e.tolist(), h_t.tolist(), rtol=1e-12)
    assert _signs(h_e.tolist()) == _signs(h_t.tolist())


def test_sigmoid_third_derivative_matches_torch():
    def third(lib):
        w = lib.tensor([0.4, -1.1], dtype=lib.float64, requires_grad=True)
        g, = lib.autograd.grad(w.sigmoid().sum(), w, create_graph=True)
        h, = lib.autograd.grad(g.sum(), w, create_graph=True)
        t, = lib.autograd.grad(h.sum(), w)
        return t.tolist()
    np.testing.assert_allclose(third(ember), third(torch), rtol=1e-12)


def test_sigmoid_backward_without_create_graph_is_unchanged():
    x = ember.tensor([0.3, -2.0, 4.0], requires_grad=True)
    x.sigmoid().sum().backward()
    xt = torch.tensor([0.3, -2.0, 4.0], requires_grad=True)
    xt.sigmoid().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
    y = x.detach().sigmoid().numpy()
    np.testing.assert_array_equal(x.grad.numpy(), (1 - y) * y)  # grad * (1 - y) * y, grad = 1
    assert x.grad.grad_fn is None and not x.grad.requires_grad
