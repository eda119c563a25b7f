"""ember.func.jacrev, jacfwd and hessian against torch.func: layouts for pytree outputs and
argnums tuples, has_aux, nesting with vmap and each other, and PyTorch's errors."""

import numpy as np
import pytest

import ember
from ember.func import jacfwd, jacrev

from ._util import arrays, same, same_error

X, Y, V, W = arrays((4,), (4,), (4,), (3, 4))
S = arrays((2, 3))[0]


def t(T, a, **kw):
    return T.tensor(a, **kw)


def mlp(T, w, x):
    return (w @ x).tanh()


def multi(T, x, y):
    return {"p": x.sin() * y, "s": (x * y.exp()).sum(), "m": T.outer(x, y)[:2]}


@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("case", [
    lambda T, J: J(T.sin)(t(T, X)),
    lambda T, J: J(T.sin)(t(T, X, dtype=T.float32)),
    lambda T, J: J(lambda w, x: mlp(T, w, x))(t(T, W), t(T, X)),
    lambda T, J: J(lambda w, x: mlp(T, w, x), argnums=1)(t(T, W), t(T, X)),
    lambda T, J: J(lambda w, x: mlp(T, w, x), argnums=(0, 1))(t(T, W), t(T, X)),
    lambda T, J: J(lambda x, y: multi(T, x, y), argnums=(1, 0))(t(T, X), t(T, Y)),
    lambda T, J: J(lambda x, y: multi(T, x, y))(t(T, X), t(T, Y)),
    lambda T, J: J(lambda d: (d["a"] @ d["b"], d["a"].sum()))(
        {"a": t(T, S), "b": t(T, W[:, :2])}),
    lambda T, J: J(lambda x: x.sum())(t(T, S)),                  # scalar output
    lambda T, J: J(lambda x: x.reshape(()) * 3)(t(T, [2.0])),     # 0-d output of 1 element
    lambda T, J: J(lambda x: (x * 2).reshape(2, 2))(t(T, X)),    # more outputs than inputs
    lambda T, J: J(lambda x: x.sum() * T.ones(5, dtype=x.dtype))(t(T, X[:2])),
    lambda T, J: J(lambda x: x[:0])(t(T, X)),                    # empty output
    lambda T, J: J(lambda x, y: x * 2, argnums=1)(t(T, X), t(T, Y)),  # independent
    lambda T, J: J(lambda x: (x.exp(), {"aux": x.sum()}), has_aux=True)(t(T, X)),
    lambda T, J: J(lambda x: T.linalg.det(x @ x.T))(t(T, W)),
])
def test_jacobians_match_torch(case, jac, torch):
    same(lambda T, F: case(T, getattr(F, jac)), torch)


@pytest.mark.parametrize("case", [
    lambda T, F: F.hessian(lambda x: (x.sin() * x ** 3).sum())(t(T, X)),
    lambda T, F: F.hessian(lambda x: (x ** 2).sum() * x.prod())(t(T, S)),
    lambda T, F: F.hessian(lambda w, x: mlp(T, w, x).sum(), argnums=(0, 1))(t(T, W), t(T, X)),
    lambda T, F: F.hessian(lambda w, x: mlp(T, w, x).sum(), argnums=1)(t(T, W), t(T, X)),
    lambda T, F: F.jacrev(F.jacrev(lambda x: x.sin().sum() * x))(t(T, X)),
    lambda T, F: F.jacfwd(F.jacfwd(lambda x: x.exp() * x.sum()))(t(T, X)),
    lambda T, F: F.jacrev(F.jacfwd(lambda x: (x ** 3).cumsum(0)))(t(T, X)),
    lambda T, F: F.vmap(F.jacrev(lambda x: x.sin() * x.sum()))(t(T, W)),
    lambda T, F: F.vmap(F.jacfwd(lambda w, x: mlp(T, w, x)), in_dims=(None, 0))(
        t(T, W), t(T, W[:, :4])),
    lambda T, F: F.vmap(F.hessian(lambda x: (x ** 3).sum()))(t(T, W)),
    lambda T, F: F.jacrev(F.vmap(lambda x: x.sin() * 2))(t(T, W)),
    lambda T, F: F.jacrev(lambda x: x.sin(), chunk_size=2)(t(T, X)),
    lambda T, F: F.jacfwd(lambda x: x * T.rand(4, dtype=x.dtype), randomness="same")(
        t(T, X)).shape.numel(),
])
def test_compositions_match_torch(case, torch):
    same(case, torch)


def test_jacobian_of_a_requires_grad_input_is_differentiable(torch):
    def case(T, F):
        x = t(T, X, requires_grad=True)
        j = F.jacrev(lambda a: a.sin() * a.sum())(x)
        (g,) = T.autograd.grad(j.sum(), x)
        return j, g
    same(case, torch)


def test_jacfwd_takes_columns_when_outputs_outnumber_inputs():
    calls = []

    def f(x):
        calls.append(1)
        return ember.outer(x, x).flatten()
    x = ember.tensor(X[:2])
    j = jacfwd(f)(x)
    assert len(calls) == 1 and j.shape == (4, 2)
    np.testing.assert_allclose(j.numpy(), jacrev(f)(x).numpy())


def test_jacobians_leave_no_grad_fields_set():
    w = ember.tensor(W, requires_grad=True)
    jacrev(lambda x: (w @ x).sin())(ember.tensor(X))
    jacfwd(lambda x: (w @ x).sin())(ember.tensor(X))
    assert w.grad is None


@pytest.mark.parametrize("case", [
    lambda T, F: F.jacrev(lambda a: a, chunk_size=0),
    lambda T, F: F.jacrev(lambda a: a)(t(T, X).to(T.complex64)),
    lambda T, F: F.jacfwd(lambda a: a)(t(T, X).to(T.complex64)),
    lambda T, F: F.jacrev(lambda a: a.long())(t(T, X)),
    lambda T, F: F.jacrev(lambda a: a, argnums=2)(t(T, X)),
    lambda T, F: F.jacrev(lambda a: 3)(t(T, X)),
    lambda T, F: F.jacfwd(lambda a: 3)(t(T, X)),
    lambda T, F: F.jacrev(lambda a: a, has_aux=True)(t(T, X)),
    lambda T, F: F.jacfwd(lambda a: a, has_aux=True)(t(T, X)),
    lambda T, F: F.jacfwd(lambda a: T.randn(4, dtype=a.dtype) * a)(t(T, X)),
    lambda T, F: F.jacfwd(lambda a: a, randomness="bad")(t(T, X)),
])
def test_errors_match_torch(case, torch):
    same_error(case, torch)
