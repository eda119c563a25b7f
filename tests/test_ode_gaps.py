"""Gaps found while writing the neural-ODE / physics programs (tests/programs/ode_*.py), each
checked against PyTorch: a convolution with a constant kernel (a finite-difference stencil, a
fixed smoothing filter) differentiated with ``create_graph=True`` gives a gradient that
PyTorch's ``ConvolutionBackward0`` records as a function of both operands, so it requires grad
and a second ``autograd.grad(..., allow_unused=True)`` returns None for the unreached operand;
ember left it off the graph and the second call raised "does not require grad". Same for
``conv_transpose``, whose gradient ops are the convolution's."""

import pytest
import torch

import ember

CONVS = {
    "conv1d": ("conv1d", (1, 2, 6), (3, 2, 3), {"padding": 1}),
    "conv2d": ("conv2d", (1, 2, 5, 5), (3, 2, 3, 3), {"stride": 2}),
    "conv_transpose1d": ("conv_transpose1d", (1, 2, 4), (2, 3, 3), {"stride": 2}),
    "conv_transpose2d": ("conv_transpose2d", (1, 2, 3, 3), (2, 1, 2, 2), {}),
}


def _second_order(lib, name, rx, rw, squared):
    fname, xs, ws, kw = CONVS[name]
    x = lib.linspace(-1, 1, int(torch.tensor(xs).prod()), dtype=lib.float64).reshape(xs)
    w = lib.linspace(-0.5, 0.7, int(torch.tensor(ws).prod()), dtype=lib.float64).reshape(ws)
    x.requires_grad_(rx)
    w.requires_grad_(rw)
    out = getattr(lib.nn.functional, fname)(x, w, **kw)
    loss = out.pow(2).sum() if squared else out.sum()
    ins = [t for t in (x, w) if t.requires_grad]
    result = []
    for g in lib.autograd.grad(loss, ins, create_graph=True):
        if not g.requires_grad:
            result.append("off the graph")
            continue
        second = lib.autograd.grad(g.pow(2).sum(), ins, allow_unused=True, retain_graph=True)
        result.append([None if s is None else s.detach().numpy() for s in second])
    return result


@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("rx,rw", [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("name", list(CONVS))
def test_conv_constant_operand_double_backward_matches_torch(name, rx, rw, squared):
    expected = _second_order(torch, name, rx, rw, squared)
    got = _second_order(ember, name, rx, rw, squared)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert isinstance(g, str) == isinstance(e, str), (g, e)
        if isinstance(e, str):
            continue
        for gs, es in zip(g, e):
            assert (gs is None) == (es is None), (gs, es)
            if es is not None:
                torch.testing.assert_close(torch.from_numpy(gs), torch.from_numpy(es))


def test_fixed_stencil_hessian_is_none_not_an_error():
    """A PDE residual from a fixed finite-difference stencil is linear in u: its gradient is
    constant, and differentiating it again gives None (allow_unused), as in PyTorch."""
    for lib in (torch, ember):
        u = lib.linspace(0, 1, 9, dtype=lib.float64).sin().view(1, 1, 9).requires_grad_(True)
        stencil = lib.tensor([[[1.0, -2.0, 1.0]]], dtype=lib.float64) * 64
        residual = lib.nn.functional.conv1d(u, stencil).sum()
        (g,) = lib.autograd.grad(residual, u, create_graph=True)
        assert g.requires_grad
        assert lib.autograd.grad(g.sum(), u, allow_unused=True) == (None,)
