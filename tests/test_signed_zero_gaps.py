"""Signed zeros in values and derivatives, checked against PyTorch (issue 13): users compare
printed gradients and Hessians, where ``-0.`` and ``0.`` show. Each case compares the values
and the sign bits (``np.signbit``) of a forward output, of a first gradient taken with a
grad_output of ones and of -ones, and where it matters of a second derivative.

Root causes fixed: NumPy's ``maximum``/``minimum`` return their second operand on a tie
(relu, clamp keep ``x``: ``relu(-0.0)`` is -0.0); ``grad * 0`` where PyTorch's derivative is
``zeros_like`` (floor, sign, rounding division, ``x ** 0``, copysign's ``other``: also no NaN
from a NaN gradient); NumPy's remainder gives a zero the divisor's sign, PyTorch the
dividend's; ``i1(-0.0)`` is +0.0 in PyTorch (negated where ``x < 0``); a zero takes ELU's
linear branch; composite backward formulas where PyTorch has one derivative node with its
own double backward (ELU, GELU, Hardswish, PReLU, GLU: the sign of a zero, and ELU's and
PReLU's second derivative at x = 0); ``xlogy``'s gradient is ``xlogy(grad, y)``, not
``grad * log(y)``.
"""

import numpy as np
import pytest
import torch

import ember

X = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 6.0, -6.0, 0.4, -0.4, 3.0, -3.0, 40.0, -40.0]


def _np(t):
    return None if t is None else t.detach().numpy(force=True) if hasattr(t, "numpy") else t


def _run(lib, expr, x, dtype, order):
    """``[forward, grad(go=1), grad(go=-1)]`` (and with order 2, the derivative of each
    gradient with a grad_output of ones) as NumPy arrays."""
    F = lib.nn.functional
    t = lib.tensor(x, dtype=getattr(lib, dtype), requires_grad=True)
    y = eval(expr, {"lib": lib, "F": F, "x": t})
    out = [_np(y)]
    for sign in (1.0, -1.0):
        g, = lib.autograd.grad(y, t, lib.full_like(y, sign), create_graph=order == 2,
                               retain_graph=True)
        out.append(_np(g))
        if order == 2:
            gg, = lib.autograd.grad(g, t, lib.ones_like(g), retain_graph=True)
            out.append(_np(gg))
    return out


def _assert_same_bits(mine, theirs):
    for m, t in zip(mine, theirs):
        # values to rounding (libm's exp and erf differ by an ulp), NaN where NaN; every
        # sign bit, a zero's included
        np.testing.assert_allclose(m, t, rtol=1e-5, atol=1e-6, equal_nan=True)
        both = ~np.isnan(t)
        assert (np.signbit(m)[both] == np.signbit(t)[both]).all(), (
            f"sign bits differ: ember {np.signbit(m).astype(int)}, "
            f"torch {np.signbit(t).astype(int)}")


FIRST_ORDER = [
    "lib.relu(x)", "F.relu(x)", "x.relu()", "x.clamp(0)", "x.clamp(min=0.0, max=1.0)",
    "x.clamp(max=0.0)", "lib.clamp_min(x, 0.0)", "x.clamp(-1.0, 0.0)",
    # (tensor bounds: torch's vectorised kernel gives the bound on a tie, not x; a guard)
    "lib.clamp(x, lib.zeros(16), lib.ones(16))", "F.elu(x)", "F.elu(x, 0.0)",
    "F.selu(x)", "F.celu(x, 1.5)", "x.floor()", "x.ceil()", "x.round()", "x.trunc()",
    "x.sign()", "x.round(decimals=1)", "lib.div(x, 0.7, rounding_mode='floor')",
    "lib.div(x, lib.tensor(0.7), rounding_mode='trunc')", "x ** 0", "x.pow(0.0)",
    "lib.copysign(lib.tensor(1.5), x)", "lib.remainder(x, 0.7)", "lib.remainder(x, -0.7)",
    "x % 0.5", "x % -0.5", "lib.special.i1(x)", "lib.special.i1e(x)", "lib.special.i0(x)",
    "lib.special.i0e(x)", "lib.xlogy(x, lib.tensor(0.0))", "lib.xlogy(x, x.detach() * 0)",
    "F.glu(x.view(2, 8), 0)", "F.glu(x.view(8, 2), 1)",
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("expr", FIRST_ORDER)
def test_signed_zeros_first_order_match_torch(expr, dtype):
    _assert_same_bits(_run(ember, expr, X, dtype, 1), _run(torch, expr, X, dtype, 1))


SECOND_ORDER = [
    "x.abs()", "F.elu(x)", "F.selu(x)", "F.celu(x, 1.5)", "F.gelu(x)",
    "F.hardswish(x)", "F.hardswish(x * 3)",
    "F.prelu(x.view(4, 4), lib.tensor([0.25], dtype=x.dtype))", "F.relu6(x)",
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("expr", SECOND_ORDER)
def test_signed_zeros_second_order_match_torch(expr, dtype):
    mine, theirs = _run(ember, expr, X, dtype, 2), _run(torch, expr, X, dtype, 2)
    if expr == "F.gelu(x)" and dtype == "float32":
        # torch's float32 GELU kernel gives +0.0 for -0.0 in its vectorised part (a fused
        # multiply-add), -0.0 in its scalar tail: not compared
        mine, theirs = mine[1:], theirs[1:]
    _assert_same_bits(mine, theirs)


def test_elu_negative_alpha_keeps_zero_sign():
    """A zero takes the linear branch: elu(+0.0, alpha=-0.5) is +0.0 (expm1(0) * -0.5 would
    be -0.0) and elu(-0.0) is -0.0, for any alpha."""
    for alpha in (-0.5, 0.0, 1.0):
        outs = [lib.nn.functional.elu(lib.tensor([0.0, -0.0, -1.0, 2.0]), alpha).numpy()
                for lib in (ember, torch)]
        _assert_same_bits([outs[0]], [outs[1]])


def test_zero_derivative_ignores_nan_gradient():
    """PyTorch's zeros_like: a NaN or negative grad_output still gives +0.0."""
    for name in ("floor", "sign", "round"):
        outs = []
        for lib in (torch, ember):
            x = lib.tensor([1.5, -2.0], requires_grad=True)
            g, = lib.autograd.grad(getattr(x, name)(), x, lib.tensor([float("nan"), -1.0]))
            outs.append(g.numpy())
        _assert_same_bits([outs[1]], [outs[0]])


@pytest.mark.parametrize("fn", [
    lambda L, x: L.nn.functional.gelu(x).sum(),
    lambda L, x: L.nn.functional.elu(x).sum(),
    lambda L, x: L.nn.functional.celu(x, 0.5).sum(),
], ids=["gelu", "elu", "celu"])
@pytest.mark.parametrize("xs", [[1.0, 2.0, 3.0], [0.0, -0.0, 1.0], [0.5, -1.5, 0.0]])
def test_hessian_zeros_match_torch(fn, xs):
    """torch.autograd.functional.hessian: off-diagonal zeros carry the sign of PyTorch's
    double-backward products; ELU's second derivative at 0 is 0 (the linear branch)."""
    hs = [lib.autograd.functional.hessian(lambda t, L=lib: fn(L, t),
                                          lib.tensor(xs, dtype=lib.float64)).numpy()
          for lib in (ember, torch)]
    _assert_same_bits([hs[0]], [hs[1]])


def test_prelu_second_derivative_at_zero_matches_torch():
    """PyTorch's prelu double backward takes the positive branch at x = 0 (``x >= 0``)."""
    outs = []
    for lib in (torch, ember):
        x = lib.tensor([[0.0, -0.0, 1.0, -1.0], [2.0, -2.0, 0.5, -0.5]], dtype=lib.float64,
                       requires_grad=True)
        w = lib.tensor([0.25, 0.5, 0.1, 0.3], dtype=lib.float64, requires_grad=True)
        gx, gw = lib.autograd.grad(lib.nn.functional.prelu(x, w), (x, w),
                                   -lib.ones(2, 4, dtype=lib.float64), create_graph=True)
        per = [gx.grad_fn.name()]
        for outs_, gos in (((gx, gw), (1.0, 1.0)), ((gx,), (-1.0,)), ((gw,), (-1.0,))):
            r = lib.autograd.grad(outs_, (x, w), [lib.full_like(o, s) for o, s in zip(outs_, gos)],
                                  retain_graph=True, allow_unused=True)
            per.extend(_np(t) for t in r)
        outs.append(per)
    assert outs[1][0] == outs[0][0] == "PreluKernelBackwardBackward0"
    _assert_same_bits(outs[1][1:], outs[0][1:])


def test_glu_is_one_node_with_torch_values():
    """GluBackward0, and PyTorch's rounding for 2-byte floats (sigmoid rounded first)."""
    rng = np.random.default_rng(0)
    xs = (rng.standard_normal((4, 8)) * 4).astype(np.float32)
    for dtype in ("float64", "float16", "bfloat16"):
        res = []
        for lib in (ember, torch):
            x = lib.tensor(xs).to(getattr(lib, dtype)).requires_grad_()
            y = lib.nn.functional.glu(x, 1)
            g, = lib.autograd.grad(y, x, lib.full_like(y, 0.7))
            res.append((y.grad_fn.name(), y.detach().float().numpy(), g.float().numpy()))
        assert res[0][0] == res[1][0]
        np.testing.assert_array_equal(res[0][1], res[1][1])
        np.testing.assert_array_equal(res[0][2], res[1][2])


@pytest.mark.parametrize("expr", [
    "-x.max()", "-x.min()", "-x.max(0).values", "-x.view(2, 2).max(1).values",
    "-x.view(2, 2).min(0, keepdim=True).values", "-x.median()", "-x.mode().values",
    "-x.amax()", "-(x * lib.tensor([1.0, 1.0, 1.0, 1.5])).max()", "-x.view(2, 2).trace()",
])
def test_value_selecting_reductions_scatter_into_zeros(expr):
    """max()/min() (evenly_distribute_backward: zeros filled at the ties with grad / count) and
    max/min/median/mode with a dim (zeros scattered with grad), trace (grad filled along the
    diagonal): +0.0 at the other elements for a negative grad; amax keeps its
    ``(grad / count) * mask`` (-0.0), as PyTorch's."""
    outs = []
    for lib in (ember, torch):
        x = lib.tensor([1.0, 3.0, 2.0, 3.0], requires_grad=True)
        y = eval(expr, {"lib": lib, "x": x})
        g, = lib.autograd.grad(y.sum(), x)
        outs.append(g.numpy())
    _assert_same_bits([outs[0]], [outs[1]])


@pytest.mark.parametrize("expr", [
    "F.nll_loss(x, t)", "F.nll_loss(x, t, reduction='sum')", "-F.nll_loss(x, t)",
    "F.nll_loss(x, t, ignore_index=2)", "(F.nll_loss(x, t, reduction='none') * "
    "lib.tensor([1.0, -1.0, 2.0])).sum()", "F.nll_loss(x.view(3, 3, 1), t.view(3, 1))",
    "F.nll_loss(x, t, weight=lib.tensor([1.0, 2.0, 0.5]))",
])
def test_nll_loss_gradient_is_zero_off_the_targets(expr):
    """PyTorch scatters ``-w * grad`` into zeros: +0.0 off the targets and at ignored ones
    (ember printed ``-0.`` there, the negated zero coefficient)."""
    outs = []
    for lib in (ember, torch):
        x = lib.tensor([[0.1, -0.2, 0.3], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], requires_grad=True)
        t = lib.tensor([0, 2, 1])
        y = eval(expr, {"lib": lib, "F": lib.nn.functional, "x": x, "t": t})
        g, = lib.autograd.grad(y, x)
        outs.append(g.numpy())
    _assert_same_bits([outs[0]], [outs[1]])
