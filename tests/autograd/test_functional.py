"""ember.autograd.functional against torch.autograd.functional: values, result nesting
(tuple / list / Tensor), dtypes, requires_grad, create_graph and torch's errors."""

import numpy as np
import pytest

import ember
import ember.autograd.functional as EF

X = [0.5, -1.0, 2.0]
Y = [1.5, 0.25, -0.75]


def _lib_fn(lib):
    return ember.autograd.functional if lib is ember else lib.autograd.functional


def _check_same(got, want, requires_grad=True):
    """Same nesting (types), shapes, dtypes, values (and requires_grad) in both results."""
    if isinstance(want, (tuple, list)):
        assert type(got) is type(want), (type(got), type(want))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _check_same(g, w, requires_grad)
        return
    assert isinstance(got, ember.Tensor), type(got)
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype) == str(want.dtype)
    if requires_grad:
        assert got.requires_grad == want.requires_grad
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def same(fn, torch, requires_grad=True):
    got, want = fn(ember), fn(torch)
    _check_same(got, want, requires_grad)
    return got, want


def _x(lib, data=X, requires_grad=False, dtype=None):
    return lib.tensor(data, requires_grad=requires_grad,
                      dtype=dtype if dtype is not None else lib.float32)


# -- vjp / jvp ---------------------------------------------------------------------------------

def test_vjp_single_and_tuple_structures(torch):
    same(lambda lib: _lib_fn(lib).vjp(lambda x: x.exp() * x, _x(lib), lib.ones(3)), torch)
    same(lambda lib: _lib_fn(lib).vjp(lambda x: (x ** 2).sum(), _x(lib)), torch)
    same(lambda lib: _lib_fn(lib).vjp(lambda x, y: (x * y, x.sin()), (_x(lib), _x(lib, Y)),
                                      (lib.ones(3), _x(lib, Y))), torch)
    same(lambda lib: _lib_fn(lib).vjp(lambda x: (x * 3,), (_x(lib),), (_x(lib, Y),)), torch)


def test_vjp_unused_input_gives_zeros_and_strict_raises(torch):
    same(lambda lib: _lib_fn(lib).vjp(lambda x, y: x * 2, (_x(lib), _x(lib, Y)), lib.ones(3)),
         torch)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        EF.vjp(lambda x, y: x * 2, (_x(ember), _x(ember, Y)), ember.ones(3), strict=True)
    with pytest.raises(RuntimeError, match="Output 1 of the user-provided function does not "
                                           "require gradients"):
        EF.vjp(lambda x: (x * 2, ember.ones(2)), _x(ember), (ember.ones(3), ember.ones(2)),
               strict=True)


def test_jvp_values_and_structures(torch):
    same(lambda lib: _lib_fn(lib).jvp(lambda x: x.exp().sum(0, keepdim=True) * x, _x(lib),
                                      _x(lib, Y)), torch)
    same(lambda lib: _lib_fn(lib).jvp(lambda x, y: (x * y, (x - y).tanh()),
                                      (_x(lib), _x(lib, Y)), (lib.ones(3), _x(lib, Y))), torch)
    same(lambda lib: _lib_fn(lib).jvp(lambda x: x.sum() * 3, lib.tensor([2.0])), torch)
    # an output independent of the input: zeros (strict raises)
    same(lambda lib: _lib_fn(lib).jvp(lambda x: (x * 2, lib.ones(2)), (_x(lib),),
                                      (_x(lib, Y),)), torch)


def test_create_graph_keeps_results_differentiable(torch):
    def fn(lib):
        x = _x(lib, requires_grad=True)
        out, g = _lib_fn(lib).vjp(lambda t: (t ** 3).sum(), x, create_graph=True)
        assert out.requires_grad and g.requires_grad
        # d/dx sum(3 x^2 * y) = 6 x y: a second derivative through the vjp result
        (second,) = lib.autograd.grad((g * _x(lib, Y)).sum(), x)
        return out, g, second

    same(fn, torch)

    def fn_jvp(lib):
        x = _x(lib, requires_grad=True)
        out, t = _lib_fn(lib).jvp(lambda z: z.sin() * z, x, _x(lib, Y), create_graph=True)
        (second,) = lib.autograd.grad(t.sum(), x)
        return out, t, second

    same(fn_jvp, torch)


def test_results_are_detached_without_create_graph(torch):
    def fn(lib):
        x = _x(lib, requires_grad=True)
        return _lib_fn(lib).vjp(lambda t: t * t, x, lib.ones(3))

    got, _ = same(fn, torch)
    assert not got[0].requires_grad and not got[1].requires_grad


# -- jacobian / hessian ------------------------------------------------------------------------

def test_jacobian_shapes_and_nesting(torch):
    same(lambda lib: _lib_fn(lib).jacobian(lambda x: x.sin() * x.sum(), _x(lib)), torch)
    same(lambda lib: _lib_fn(lib).jacobian(lambda x: (x ** 2).sum(), _x(lib)), torch)
    same(lambda lib: _lib_fn(lib).jacobian(lambda x: x.reshape(3, 1) * x, _x(lib)), torch)
    same(lambda lib: _lib_fn(lib).jacobian(lambda x, y: (x * y, y.sum()),
                                           (_x(lib), _x(lib, Y))), torch)
    same(lambda lib: _lib_fn(lib).jacobian(lambda x: (x * 2,), _x(lib)), torch)
    same(lambda lib: _lib_fn(lib).jacobian(lambda x: x * 2, (_x(lib),)), torch)
    same(lambda lib: _lib_fn(lib).jacobian(lambda x: x.exp(), _x(lib, dtype=lib.float64)),
         torch)


def test_jacobian_vectorize_and_forward_mode_give_torchs_results(torch):
    def f(x, y):
        return x * y.cos(), (x + y).sum()

    same(lambda lib: _lib_fn(lib).jacobian(f, (_x(lib), _x(lib, Y)), vectorize=True), torch)
    # forward mode returns lists of lists, as in torch
    same(lambda lib: _lib_fn(lib).jacobian(f, (_x(lib), _x(lib, Y)), vectorize=True,
                                           strategy="forward-mode"), torch)
    same(lambda lib: _lib_fn(lib).jacobian(lambda x: x.sin(), _x(lib, requires_grad=True),
                                           vectorize=True, strategy="forward-mode"), torch)


def test_jacobian_create_graph_second_derivative(torch):
    def fn(lib):
        x = _x(lib, requires_grad=True)
        jac = _lib_fn(lib).jacobian(lambda t: t ** 3, x, create_graph=True)
        (second,) = lib.autograd.grad(jac.sum(), x)
        return jac, second

    same(fn, torch)


def test_hessian_values_and_nesting(torch):
    same(lambda lib: _lib_fn(lib).hessian(lambda x: (x ** 3).sum() + x.prod(), _x(lib)),
         torch)
    same(lambda lib: _lib_fn(lib).hessian(lambda x, y: (x ** 2 * y.exp()).sum(),
                                          (_x(lib), _x(lib, Y))), torch)
    same(lambda lib: _lib_fn(lib).hessian(lambda x, y: (x ** 2 * y.exp()).sum(),
                                          (_x(lib), _x(lib, Y)), vectorize=True), torch)
    # forward-over-reverse: torch's list nesting (its result keeps a graph; ember's does not)
    same(lambda lib: _lib_fn(lib).hessian(lambda x, y: (x ** 2 * y.exp()).sum(),
                                          (_x(lib), _x(lib, Y)), vectorize=True,
                                          outer_jacobian_strategy="forward-mode"),
         torch, requires_grad=False)


def test_hessian_create_graph(torch):
    def fn(lib):
        x = _x(lib, requires_grad=True)
        h = _lib_fn(lib).hessian(lambda t: (t ** 4).sum(), x, create_graph=True)
        (third,) = lib.autograd.grad(h.sum(), x)
        return h, third

    same(fn, torch)


@pytest.mark.parametrize("name", ["vhp", "hvp"])
def test_vhp_and_hvp(torch, name):
    def f(x, y):
        return (x ** 3 * y + y.sin() * x).sum()

    def product(lib, *args, **kwargs):
        return getattr(_lib_fn(lib), name)(*args, **kwargs)

    same(lambda lib: product(lib, lambda x: (x ** 3).sum(), _x(lib), _x(lib, Y)), torch)
    same(lambda lib: product(lib, f, (_x(lib), _x(lib, Y)), (lib.ones(3), _x(lib, Y))), torch)
    same(lambda lib: product(lib, lambda x: (x ** 3).sum(), lib.tensor([2.0])), torch)

    def with_graph(lib):
        x = _x(lib, requires_grad=True)
        out, r = product(lib, lambda t: (t ** 3).sum(), x, _x(lib, Y), create_graph=True)
        (third,) = lib.autograd.grad(r.sum(), x)
        return out, r, third

    same(with_graph, torch)


# -- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("call, exc, match", [
    (lambda F, lib: F.jacobian(lambda x: x, 3), TypeError,
     "The inputs given to jacobian must be either a Tensor or a tuple of Tensors"),
    (lambda F, lib: F.jacobian(lambda x: x, [lib.ones(2)]), TypeError,
     "has type <class 'list'>"),
    (lambda F, lib: F.jacobian(lambda x: 3.0, lib.ones(2)), TypeError,
     "The outputs of the user-provided function given to jacobian must be"),
    (lambda F, lib: F.jacobian(lambda x: x, lib.ones(2), strategy="fwd"), AssertionError,
     'Expected strategy to be either "forward-mode" or "reverse-mode"'),
    (lambda F, lib: F.jacobian(lambda x: x, lib.ones(2), strategy="forward-mode"),
     NotImplementedError, "only implemented for `vectorize=True`"),
    (lambda F, lib: F.jacobian(lambda x: x, lib.ones(2), strategy="forward-mode",
                               create_graph=True), NotImplementedError,
     "`create_graph=True` and `strategy=\"forward-mode\"` are not supported"),
    (lambda F, lib: F.jacobian(lambda x: x, lib.ones(2), strategy="forward-mode",
                               strict=True, vectorize=True), RuntimeError,
     "`strict=True` and `strategy=\"forward-mode\"` are not supported"),
    (lambda F, lib: F.jacobian(lambda x: x, lib.ones(2), vectorize=True, strict=True),
     RuntimeError, "`strict=True` and `vectorized=True` are not supported together"),
    (lambda F, lib: F.jacobian(lambda x: lib.ones(2), lib.ones(2), strict=True), RuntimeError,
     "Output 0 of the user-provided function does not require gradients"),
    (lambda F, lib: F.jacobian(lambda x, y: x * 2, (lib.ones(2), lib.ones(2)), strict=True),
     RuntimeError, "Output 0 of the user-provided function is independent of input 1"),
    (lambda F, lib: F.jacobian(lambda x: x * 2, lib.ones(2), strict=True, create_graph=True),
     RuntimeError, "independent of input 0. This is not allowed in strict mode when "
                   "create_graph=True"),
    (lambda F, lib: F.vjp(lambda x: x * 2, lib.ones(3), lib.ones(2)), RuntimeError,
     r"v has invalid size: should be torch.Size\(\[3\]\) but got torch.Size\(\[2\]\)"),
    (lambda F, lib: F.vjp(lambda x: (x, x), lib.ones(3), (lib.ones(3),)), RuntimeError,
     "v is a tuple of invalid length: should be 2 but got 1"),
    (lambda F, lib: F.vjp(lambda x: (x, x), lib.ones(3), (lib.ones(3), lib.ones(2))),
     RuntimeError, "Entry 1 in v has invalid size"),
    (lambda F, lib: F.vjp(lambda x: x, lib.ones(3), (lib.ones(3), lib.ones(2))), RuntimeError,
     "The given v should contain a single Tensor"),
    (lambda F, lib: F.vjp(lambda x: x, lib.ones(3), [lib.ones(3)]), TypeError,
     "The v given to vjp must be either a Tensor or a tuple of Tensors"),
    (lambda F, lib: F.vjp(lambda x: x * 2, lib.ones(3)), RuntimeError,
     "The vector v can only be None if the user-provided function returns a single Tensor"),
    (lambda F, lib: F.jvp(lambda x: x * 2, lib.ones(3)), RuntimeError,
     "The vector v can only be None if the input to the user-provided function"),
    (lambda F, lib: F.jvp(lambda x: (x * 2, lib.ones(2)), lib.ones(3), lib.ones(3),
                          strict=True), RuntimeError, "Output 1 of the user-provided function"),
    (lambda F, lib: F.hessian(lambda x: x * 2, lib.ones(3)), RuntimeError,
     "The Tensor returned by the function given to hessian should contain a single element"),
    (lambda F, lib: F.hessian(lambda x: (x.sum(),), lib.ones(3)), RuntimeError,
     "The function given to hessian should return a single Tensor"),
    (lambda F, lib: F.hessian(lambda x: (x * 2).sum(), lib.ones(3), strict=True), RuntimeError,
     "While computing the hessian, found that the jacobian of the user-provided function"),
    (lambda F, lib: F.hvp(lambda x: x * 2, lib.ones(3), lib.ones(3)), RuntimeError,
     "The Tensor returned by the function given to hvp should contain a single element"),
    (lambda F, lib: F.vhp(lambda x: (x.sum(),), lib.ones(3), lib.ones(3)), RuntimeError,
     "The function given to vhp should return a single Tensor"),
    (lambda F, lib: F.vhp(lambda x: (x * 2).sum(), lib.ones(3), lib.ones(3), strict=True),
     RuntimeError, "found that the jacobian of the user-provided function with respect to "
                   "input 0 is independent"),
])
def test_errors_match_torch(torch, call, exc, match):
    for lib in (torch, ember):
        with pytest.raises(exc, match=match):
            call(_lib_fn(lib), lib)


def test_module_exports_and_docstrings(torch):
    assert ember.autograd.functional.__all__ == torch.autograd.functional.__all__
    for name in EF.__all__:
        assert "Example:" in getattr(EF, name).__doc__
