"""Gaps found by the 'extending PyTorch' programs (tests/programs/ext_*.py), each against torch."""

import importlib

import numpy as np
import pytest

import ember


def _linear_then_modify(lib, x_grad, modify):
    """F.linear's backward after an in-place change (under no_grad) of its bias or weight:
    torch's addmm keeps only what each gradient needs, so some changes are no error."""
    F = importlib.import_module(lib.__name__ + ".nn.functional")
    x = lib.tensor(np.arange(8.0).reshape(2, 4) / 8, dtype=lib.float32, requires_grad=x_grad)
    w = lib.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=lib.float32, requires_grad=True)
    b = lib.tensor([0.1, 0.2, 0.3], requires_grad=True)
    out = F.linear(x, w, b)
    with lib.no_grad():
        (b if modify == "bias" else w).add_(1.0)
    try:
        out.pow(2).sum().backward()
    except RuntimeError as e:
        return type(e).__name__, "modified by an inplace operation" in str(e)
    return w.grad.tolist(), b.grad.tolist(), None if x.grad is None else x.grad.tolist()


@pytest.mark.parametrize("x_grad,modify", [(False, "bias"), (True, "bias"),
                                           (False, "weight"), (True, "weight")])
def test_linear_backward_after_inplace_change_of_what_it_does_not_save(torch, x_grad, modify):
    got = _linear_then_modify(ember, x_grad, modify)
    want = _linear_then_modify(torch, x_grad, modify)
    if isinstance(want[0], str):
        assert got == want
    else:
        for g, w in zip(got, want):
            assert (g is None) == (w is None)
            if w is not None:
                np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)


def _saved_by_linear(lib, x_grad, w_grad, ndim):
    """Element counts of what F.linear hands to the saved-tensor pack hook."""
    F = importlib.import_module(lib.__name__ + ".nn.functional")
    graph = importlib.import_module(lib.__name__ + ".autograd.graph")
    x = lib.ones((2, 3, 4)[-ndim:], requires_grad=x_grad)
    w = lib.ones(5, 4, requires_grad=w_grad)
    b = lib.ones(5, requires_grad=True)
    sizes = []
    with graph.saved_tensors_hooks(lambda t: sizes.append(t.numel()) or t, lambda t: t):
        out = F.linear(x, w, b)
    out.sum().backward()
    return sorted(sizes), None if w.grad is None else w.grad.tolist()


@pytest.mark.parametrize("x_grad,w_grad", [(True, True), (False, True), (True, False)])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_linear_saves_what_torch_saves(torch, x_grad, w_grad, ndim):
    assert _saved_by_linear(ember, x_grad, w_grad, ndim) == \
        _saved_by_linear(torch, x_grad, w_grad, ndim)


def test_linear_double_backward_through_saved_weight(torch):
    def fn(lib):
        x = lib.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
        w = lib.tensor([[0.3, 0.2, -0.4], [1.0, -0.5, 0.25]], requires_grad=True)
        F = importlib.import_module(lib.__name__ + ".nn.functional")
        gx, = lib.autograd.grad(F.linear(x, w).tanh().sum(), x, create_graph=True)
        gx.pow(2).sum().backward()
        return w.grad.tolist(), x.grad.tolist()

    got, want = fn(ember), fn(torch)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-6)


def _inplace_module_with_full_backward_hook(lib):
    nn = lib.nn
    x = lib.tensor([[-1.0, 2.0, 0.5]], requires_grad=True) * 1
    relu = nn.ReLU(inplace=True)
    relu.register_full_backward_hook(lambda *a: None)
    try:
        relu(x)
        first = "ok"
    except RuntimeError as e:
        first = str(e)
    net = nn.Sequential(nn.Linear(3, 3), nn.ReLU(inplace=True))  # in place on Linear's output
    net.register_full_backward_hook(lambda *a: None)
    return first, tuple(net(x).shape)


def test_inplace_module_under_a_full_backward_hook_is_refused(torch):
    assert _inplace_module_with_full_backward_hook(ember) == \
        _inplace_module_with_full_backward_hook(torch)
