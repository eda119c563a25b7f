"""ember.func.vjp, jvp and linearize against torch.func: values, pytrees, has_aux, repeated
calls, nesting, and PyTorch's errors."""

import numpy as np
import pytest

import ember
from ember.func import jvp, linearize

from ._util import arrays, same, same_error

X, Y, V, W = arrays((4,), (4,), (4,), (3, 4))


def t(T, a, **kw):
    return T.tensor(a, **kw)


def f2(T, x, y):
    return {"p": x.sin() * y, "s": (x * y.exp()).sum()}


def call_vjp(F, f, primals, cot, **kw):
    out = F.vjp(f, *primals, **kw)
    return (out[0], out[1](cot)) + tuple(out[2:])


@pytest.mark.parametrize("case", [
    lambda T, F: call_vjp(F, T.sin, (t(T, X),), t(T, V)),
    lambda T, F: call_vjp(F, lambda x, y: f2(T, x, y), (t(T, X), t(T, Y)),
                          {"p": t(T, V), "s": t(T, 2.0)}),
    lambda T, F: call_vjp(F, lambda w, x: (w @ x).tanh(), (t(T, W), t(T, X)), t(T, V[:3])),
    lambda T, F: call_vjp(F, lambda d: d["a"] * 2, ({"a": t(T, X)},), t(T, V)),
    lambda T, F: call_vjp(F, lambda x, y: x * 3, (t(T, X), t(T, W)), t(T, V)),  # y unused
    lambda T, F: call_vjp(F, lambda x: (x.exp(), {"aux": x * 2}), (t(T, X),), t(T, V),
                          has_aux=True),
    lambda T, F: call_vjp(F, lambda x: x.float().sin(), (t(T, X),), t(T, V, dtype=T.float32)),
    lambda T, F: F.jvp(T.sin, (t(T, X),), (t(T, V),)),
    lambda T, F: F.jvp(lambda x, y: f2(T, x, y), (t(T, X), t(T, Y)), (t(T, V), t(T, X))),
    lambda T, F: F.jvp(lambda w, x: (w @ x).tanh(), (t(T, W), t(T, X)),
                       (t(T, W[::-1].copy()), t(T, V))),
    lambda T, F: F.jvp(lambda d: d["a"].cumprod(0), ({"a": t(T, X)},), ({"a": t(T, V)},)),
    lambda T, F: F.jvp(lambda x: (x ** 3, x.sum()), (t(T, X),), (t(T, V),), has_aux=True),
    lambda T, F: F.jvp(lambda x, y: (x * 2, y.new_ones(2)), (t(T, X), t(T, Y)),
                       (t(T, V), t(T, V))),  # an output independent of the inputs
    lambda T, F: F.jvp(lambda x: x.relu() + x.abs(), (t(T, X),), (t(T, V),)),
    lambda T, F: F.jvp(lambda x: x.softmax(0).log(), (t(T, X),), (t(T, V),)),
    # a backward written through log|grad|: singular where the dummy cotangent is zero
    lambda T, F: F.jvp(lambda x: x.logcumsumexp(0), (t(T, X),), (t(T, V),)),
    lambda T, F: F.jvp(lambda x: T.linalg.inv(x @ x.T + T.eye(3, dtype=x.dtype)),
                       (t(T, W),), (t(T, W * 0.5),)),
    # forward over reverse: Hessian-vector product
    lambda T, F: F.jvp(F.grad(lambda x: (x.sin() * x ** 2).sum()), (t(T, X),), (t(T, V),)),
    # reverse over forward
    lambda T, F: F.grad(lambda x: F.jvp(lambda a: a.exp() * a, (x,), (t(T, V),))[1].sum())(
        t(T, X)),
])
def test_matches_torch(case, torch):
    same(case, torch)


def test_vjp_fn_can_be_called_many_times(torch):
    def case(T, F):
        _, fn = F.vjp(lambda x: x.tanh() * 3, t(T, X))
        return fn(t(T, V)), fn(t(T, Y)), fn(t(T, V))
    same(case, torch)


def test_vjp_fn_with_a_requires_grad_cotangent_is_differentiable(torch):
    def case(T, F):
        c = t(T, V, requires_grad=True)
        x = t(T, X, requires_grad=True)
        _, fn = F.vjp(lambda a: a.sin() * a, x)
        (g,) = fn(c)
        g.sum().backward()
        return g, c.grad, x.grad
    same(case, torch)


def test_vjp_of_a_requires_grad_primal(torch):
    def case(T, F):
        x = t(T, X, requires_grad=True)
        out, fn = F.vjp(lambda a: a ** 3, x)
        return out, fn(t(T, V))
    same(case, torch)


def test_linearize_matches_jvp_without_running_the_function_again(torch):
    calls = []

    def f(x):
        calls.append(1)
        return x.sin() * x.exp()

    out, jvp_fn = linearize(f, ember.tensor(X))
    a, b = jvp_fn(ember.tensor(V)), jvp_fn(ember.tensor(Y))
    assert len(calls) == 1
    np.testing.assert_allclose(a.numpy(), jvp(f, (ember.tensor(X),), (ember.tensor(V),))[1])
    tx = torch.tensor(X)
    tout, tfn = torch.func.linearize(lambda x: x.sin() * x.exp(), tx)
    np.testing.assert_allclose(out.numpy(), tout.numpy())
    np.testing.assert_allclose(b.numpy(), tfn(torch.tensor(Y)).numpy())


def test_linearize_checks_the_tangents():
    _, fn = linearize(lambda x: x * 2, ember.ones(3))
    with pytest.raises(RuntimeError, match="shape"):
        fn(ember.ones(4))
    with pytest.raises(RuntimeError, match="dtype"):
        fn(ember.ones(3, dtype=ember.float64))
    with pytest.raises(RuntimeError, match="argspec"):
        fn(ember.ones(3), ember.ones(3))


def test_jvp_is_computed_without_touching_grad_fields():
    w = ember.tensor(W, requires_grad=True)
    _, out = jvp(lambda x: (w @ x).sin(), (ember.tensor(X),), (ember.tensor(V),))
    assert w.grad is None and out.requires_grad  # depends on w, so stays on its graph


@pytest.mark.parametrize("case", [
    lambda T, F: F.vjp(lambda a: a, 3.0),
    lambda T, F: F.vjp(lambda a: a.long(), t(T, X)),
    lambda T, F: F.vjp(lambda a: a, t(T, X))[1]((t(T, X), t(T, X))),
    lambda T, F: F.vjp(lambda a: a * 2, t(T, X))[1](t(T, W)),
    lambda T, F: F.vjp(lambda a: 3, t(T, X)),
    lambda T, F: F.vjp(lambda a: (), t(T, X)),
    lambda T, F: F.vjp(lambda a: a, t(T, X), has_aux=True),
    lambda T, F: F.jvp(lambda a: a, t(T, X), t(T, X)),
    lambda T, F: F.jvp(lambda a: a, (t(T, X),), (t(T, X), t(T, X))),
    lambda T, F: F.jvp(lambda a: a, (t(T, X),), [t(T, X)]),
    lambda T, F: F.jvp(lambda a: 3, (t(T, X),), (t(T, X),)),
    lambda T, F: F.jvp(lambda a: t(T, X), (t(T, X),), (t(T, X),), strict=True),
    lambda T, F: F.jvp(lambda a: a, (t(T, X),), (t(T, W),)),
    lambda T, F: F.jvp(lambda a: a, (3.0,), (1.0,)),
    lambda T, F: F.jvp(lambda a: a, (), ()),
    lambda T, F: F.jvp(lambda a: a, (t(T, X),), (t(T, X),), has_aux=True),
])
def test_errors_match_torch(case, torch):
    same_error(case, torch)
