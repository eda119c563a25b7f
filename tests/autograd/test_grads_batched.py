"""``autograd.grad(..., is_grads_batched=True)`` compared with torch: each row of every
grad_output is its own vector-Jacobian product, stacked along a new first dimension."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _both(fn):
    """Run ``fn(lib)`` on torch and ember; return both results as tuples of arrays/None."""
    def arr(r):
        return tuple(None if t is None else t.detach().numpy() for t in r)

    return arr(fn(torch)), arr(fn(ember))


def _check(fn):
    want, got = _both(fn)
    assert len(want) == len(got)
    for w, g in zip(want, got):
        if w is None:
            assert g is None
        else:
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-6)


def test_rows_of_a_jacobian():
    def fn(L):
        x = L.tensor([0.5, -1.0, 2.0], requires_grad=True)
        return L.autograd.grad(L.sin(x) * x, x, L.eye(3), is_grads_batched=True)
    _check(fn)


def test_scalar_output_and_several_inputs_and_outputs():
    def fn(L):
        y = L.tensor([1.0, 2.0], requires_grad=True)
        z = L.tensor(3.0, requires_grad=True)
        return L.autograd.grad((y * y, y.sum() * z), (y, z),
                               (L.eye(2), L.tensor([1.0, 5.0])), is_grads_batched=True)
    _check(fn)

    def scalar(L):
        y = L.tensor([1.0, 2.0], requires_grad=True)
        return L.autograd.grad((y * y).sum(), y, L.tensor([1.0, 2.0, 3.0]),
                               is_grads_batched=True)
    _check(scalar)


def test_unused_inputs_allowed_materialized_or_refused():
    def unused(L, **kw):
        y = L.tensor([1.0, 2.0], requires_grad=True)
        z = L.tensor(3.0, requires_grad=True)
        return L.autograd.grad(y * y, (y, z), L.eye(2), is_grads_batched=True, **kw)
    _check(lambda L: unused(L, allow_unused=True))
    _check(lambda L: unused(L, materialize_grads=True))   # torch: zeros_like(z), unbatched
    with pytest.raises(RuntimeError, match="index 1 appears to not have been used"):
        unused(ember)


def test_create_graph_gives_hessian_rows():
    def fn(L):
        y = L.tensor([1.0, 2.0], requires_grad=True)
        z = L.tensor(3.0, requires_grad=True)
        (g,) = L.autograd.grad((y ** 3).sum() * z, y, create_graph=True)
        h = L.autograd.grad(g, (y, z), L.eye(2), is_grads_batched=True, create_graph=True)
        return h + L.autograd.grad(h[0].sum(), y)
    _check(fn)


def test_graph_freed_unless_retained_and_shape_errors():
    y = ember.tensor([1.0, 2.0], requires_grad=True)
    w = y * y
    ember.autograd.grad(w, y, ember.eye(2), is_grads_batched=True, retain_graph=True)
    ember.autograd.grad(w.sum(), y)
    w = y * y
    ember.autograd.grad(w, y, ember.eye(2), is_grads_batched=True)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        ember.autograd.grad(w.sum(), y)
    with pytest.raises(RuntimeError, match="first dimension of each grad_output"):
        ember.autograd.grad(y * y, y, ember.ones(3, 3), is_grads_batched=True)
    with pytest.raises(ValueError, match="in_dim"):
        ember.autograd.grad((y * y).sum(), y, is_grads_batched=True)
