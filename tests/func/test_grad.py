"""ember.func.grad and grad_and_value against torch.func: values, pytrees, argnums, has_aux,
nesting, composition with autograd, and the errors of common mistakes."""

import pytest

import ember
from ember.func import grad

from ._util import arrays, same, same_error

X, Y, W = arrays((4,), (4,), (3, 4))


def t(T, a, **kw):
    return T.tensor(a, **kw)


def loss(T, w, x):
    return (T.tanh(w @ x) ** 2).sum()


@pytest.mark.parametrize("case", [
    lambda T, F: F.grad(lambda x: (x.sin() * x).sum())(t(T, X)),
    lambda T, F: F.grad(lambda x: (x.sin() * x).sum())(t(T, X, dtype=T.float32)),
    lambda T, F: F.grad(lambda w, x: loss(T, w, x))(t(T, W), t(T, X)),
    lambda T, F: F.grad(lambda w, x: loss(T, w, x), argnums=1)(t(T, W), t(T, X)),
    lambda T, F: F.grad(lambda w, x: loss(T, w, x), argnums=(1, 0))(t(T, W), t(T, X)),
    lambda T, F: F.grad(lambda w, x: loss(T, w, x), argnums=-1)(t(T, W), t(T, X)),
    # pytrees: a dict of parameters, a tuple inside a list
    lambda T, F: F.grad(lambda p, x: loss(T, p["w"], x) + p["b"].sum())(
        {"w": t(T, W), "b": t(T, Y)}, t(T, X)),
    lambda T, F: F.grad(lambda p: (p[0][0] * p[0][1]).sum() * p[1])(
        [(t(T, X), t(T, Y)), t(T, 2.0)]),
    # inputs the function ignores get zero gradients
    lambda T, F: F.grad(lambda x, y: x.sum() * 3, argnums=(0, 1))(t(T, X), t(T, Y)),
    lambda T, F: F.grad(lambda x: T.tensor(2.0))(t(T, X)),
    # keyword arguments pass through, undifferentiated
    lambda T, F: F.grad(lambda x, *, scale: (x * scale).pow(2).sum())(t(T, X), scale=t(T, Y)),
    # has_aux: aux comes back detached, any pytree of tensors
    lambda T, F: F.grad(lambda x: ((x ** 2).sum(), {"y": x * 2, "n": [x.sum()]}),
                        has_aux=True)(t(T, X)),
    lambda T, F: F.grad_and_value(lambda x: (x ** 3).sum())(t(T, X)),
    lambda T, F: F.grad_and_value(lambda x: ((x ** 3).sum(), x.mean()), has_aux=True)(t(T, X)),
    lambda T, F: F.grad_and_value(lambda w, x: loss(T, w, x), argnums=(0, 1))(t(T, W), t(T, X)),
    # higher order
    lambda T, F: F.grad(F.grad(lambda x: x ** 3 * x.sin()))(t(T, 0.7)),
    lambda T, F: F.grad(F.grad(F.grad(lambda x: x.exp() * x ** 4)))(t(T, 0.3)),
    lambda T, F: F.grad(lambda x: F.grad(lambda y: (y * x).sin().sum())(x).sum())(t(T, X)),
    lambda T, F: F.vmap(F.grad(lambda x: (x ** 3).sum()))(t(T, W)),
    lambda T, F: F.vmap(F.grad(lambda w, x: loss(T, w, x)), in_dims=(None, 0))(t(T, W),
                                                                            t(T, W[:, :4])),
])
def test_grad_matches_torch(case, torch):
    same(case, torch)


def test_grad_of_a_requires_grad_input_is_differentiable(torch):
    # the result stays on the caller's graph, as in PyTorch (and so does the value)
    def case(T, F):
        x = t(T, X, requires_grad=True)
        g, v = F.grad_and_value(lambda a: (a.sin() * a ** 2).sum())(x)
        (gg,) = T.autograd.grad(g.sum() + v, x)
        return g, v, gg
    same(case, torch)


def test_grad_through_a_closed_over_parameter(torch):
    def case(T, F):
        w = t(T, Y, requires_grad=True)
        g = F.grad(lambda a: (a * w).tanh().sum())(t(T, X))
        g.sum().backward()
        return g, w.grad
    same(case, torch)


def test_aux_that_depends_on_a_closed_over_parameter_keeps_its_graph(torch):
    def case(T, F):
        w = t(T, Y, requires_grad=True)
        g, aux = F.grad(lambda a: ((a ** 2).sum(), (w * 2).sum()), has_aux=True)(t(T, X))
        aux.backward()
        return g, aux, w.grad
    same(case, torch)


def test_grad_under_no_grad_still_differentiates_and_returns_plain_tensors(torch):
    def case(T, F):
        x = t(T, X, requires_grad=True)
        with T.no_grad():
            return F.grad(lambda a: (a ** 3).sum())(x)
    got = same(case, torch)
    assert not got.requires_grad


def test_grad_touches_no_grad_field(torch):
    def case(T, F):
        model = T.nn.Linear(4, 2)
        with T.no_grad():
            model.weight.copy_(T.tensor(W[:2]))
            model.bias.copy_(T.tensor(Y[:2]))
        x = T.tensor(X, dtype=T.float32)
        params = dict(model.named_parameters())  # not detached: they require grad
        g = F.grad(lambda p: F.functional_call(model, p, (x,)).tanh().sum())(params)
        assert model.weight.grad is None and model.bias.grad is None
        return g["weight"]  # connected to the real parameters, as in PyTorch
    assert same(case, torch, atol=1e-6).requires_grad


def test_grad_keeps_no_graph_when_nothing_outside_needs_it():
    x = ember.tensor(X)
    g = grad(lambda a: (a.sin() ** 2).sum())(x)
    assert g.grad_fn is None and not g.requires_grad and not x.requires_grad


def test_grad_returns_gradients_in_the_input_dtype(torch):
    same(lambda T, F: F.grad(lambda a: a.double().sum() * 2)(t(T, X, dtype=T.float32)), torch)


def test_wrapped_function_keeps_its_name():
    def my_loss(x):
        return x.sum()
    assert grad(my_loss).__name__ == "my_loss"
    assert ember.func.vmap(my_loss).__name__ == "my_loss"


@pytest.mark.parametrize("case", [
    lambda T, F: F.grad(lambda a: a)(t(T, X)),                       # not a scalar
    lambda T, F: F.grad(lambda a: 3.0)(t(T, X)),                     # not a tensor
    lambda T, F: F.grad(lambda a: a.sum())(t(T, [1, 2])),            # integer input
    lambda T, F: F.grad(lambda a: a.sum())(3.0),                     # not a tensor input
    lambda T, F: F.grad(lambda a: a.sum(), argnums=1)(t(T, X)),
    lambda T, F: F.grad(lambda a: a.sum(), argnums=())(t(T, X)),
    lambda T, F: F.grad(lambda a: a.sum(), argnums=[0])(t(T, X)),
    lambda T, F: F.grad(lambda a: a.sum(), argnums=(0, 0))(t(T, X)),
    lambda T, F: F.grad(lambda a: a.sum(), argnums=0.5)(t(T, X)),
    lambda T, F: F.grad(lambda a: a.sum(), has_aux=True)(t(T, X)),   # no (output, aux)
    lambda T, F: F.grad(lambda a: (a.sum(), 3), has_aux=True)(t(T, X)),
    lambda T, F: F.grad(lambda a: (a.add_(1)).sum())(t(T, X)),        # in-place on the input
])
def test_grad_errors_match_torch(case, torch):
    same_error(case, torch)


def test_grad_error_names_the_fix_for_vector_outputs():
    with pytest.raises(RuntimeError, match="vjp or jacrev"):
        grad(lambda a: a * 2)(ember.ones(3))

