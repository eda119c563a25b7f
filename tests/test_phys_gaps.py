"""Gaps found by the differentiable-physics programs (tests/programs/phys_*), compared with
PyTorch: the index ops a message-passing simulator scatters with (``index_add_``,
``index_fill_``, ``index_copy_``) raise PyTorch's exception types and words for an index out
of range (``index_add_`` on a 2-D tensor with an int64 index and ``alpha == 1``, PyTorch's
fast path, a RuntimeError naming the index, dimension and size, otherwise an IndexError; ``index_fill_`` an IndexError naming them) and for an index of more than
one dimension, and ``index_fill_`` wraps negative indices as PyTorch does instead of
refusing them."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def outcome(lib, call):
    """The value (as NumPy) or the (type name, message) of the error ``call(lib)`` gives."""
    try:
        return call(lib).numpy()
    except Exception as e:  # the point is to compare the error type and message
        return type(e).__name__, str(e)


CALLS = {
    "index_add_ past the end": lambda lib: lib.zeros(2, 2).index_add_(
        0, lib.tensor([0, 5]), lib.ones(2, 2)),
    "index_add_ several bad": lambda lib: lib.zeros(2, 2).index_add_(
        0, lib.tensor([1, 7, 9]), lib.ones(3, 2)),
    "index_add_ negative": lambda lib: lib.zeros(2, 2).index_add_(
        0, lib.tensor([-1]), lib.ones(1, 2)),
    "index_add_ dim 1": lambda lib: lib.zeros(2, 2).index_add_(
        1, lib.tensor([0, 2]), lib.ones(2, 2)),
    "index_add out of place": lambda lib: lib.zeros(3).index_add(
        0, lib.tensor([0, 3]), lib.ones(2)),
    "index_add_ alpha": lambda lib: lib.zeros(2, 2).index_add_(
        0, lib.tensor([0, 5]), lib.ones(2, 2), alpha=2),
    "index_add_ 2-d index": lambda lib: lib.zeros(2, 2).index_add_(
        0, lib.tensor([[0, 1]]), lib.ones(2, 2)),
    "index_add_ 2-d int32 index": lambda lib: lib.zeros(2, 2).index_add_(
        0, lib.tensor([[0, 1]], dtype=lib.int32), lib.ones(2, 2)),
    "index_add_ int32 index past the end": lambda lib: lib.zeros(2, 2).index_add_(
        0, lib.tensor([0, 5], dtype=lib.int32), lib.ones(2, 2)),
    "index_add_ 3-d past the end": lambda lib: lib.zeros(2, 2, 2).index_add_(
        1, lib.tensor([0, 5]), lib.ones(2, 2, 2)),
    "index_add_ float64 past the end": lambda lib: lib.zeros(2, 2, dtype=lib.float64).index_add_(
        0, lib.tensor([0, 5]), lib.ones(2, 2, dtype=lib.float64)),
    "index_fill_ past the end": lambda lib: lib.zeros(2, 2).index_fill_(
        0, lib.tensor([1, 7, 9]), 1.0),
    "index_fill_ negative wraps": lambda lib: lib.zeros(2, 3).index_fill_(
        1, lib.tensor([-1, 0]), 1.0),
    "index_fill negative wraps": lambda lib: lib.arange(6.0).view(3, 2).index_fill(
        0, lib.tensor([-3]), -1.0),
    "index_fill_ too negative": lambda lib: lib.zeros(2, 2).index_fill_(
        0, lib.tensor([-3]), 1.0),
    "index_fill_ 2-d index": lambda lib: lib.zeros(2, 2).index_fill_(
        0, lib.tensor([[0, 1]]), 1.0),
    "index_copy_ 2-d index": lambda lib: lib.zeros(2, 2).index_copy_(
        0, lib.tensor([[0, 1]]), lib.ones(2, 2)),
    "index_select 2-d index": lambda lib: lib.zeros(2, 2).index_select(
        0, lib.tensor([[0, 1]])),
    "index_select past the end": lambda lib: lib.zeros(2, 2).index_select(
        0, lib.tensor([0, 5])),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_index_op_errors_and_wrapping_as_torch(name):
    got, want = outcome(ember, CALLS[name]), outcome(torch, CALLS[name])
    if isinstance(want, tuple):
        assert got == want
    else:
        np.testing.assert_array_equal(got, want)


def test_index_fill_negative_index_backward_as_torch():
    def run(lib):
        x = lib.arange(6.0).view(2, 3).requires_grad_()
        y = x.index_fill(1, lib.tensor([-1]), 0.0)
        (y * lib.arange(1.0, 7.0).view(2, 3)).sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    for got, want in zip(run(ember), run(torch)):
        np.testing.assert_array_equal(got, want)


def _hooked_branch_run(lib, older_branch, use_backward):
    """``u = Both(x, y)``, a Function that returns gradients for both inputs, differentiated
    for ``x`` only: ``y`` (hooked) leads to no input, so its hook must not run."""

    class Both(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y, g * x

    a = lib.tensor([1.0, 2.0], requires_grad=True)
    if older_branch:  # y made before x: the walk for x's gradient never reaches it
        y, x = a * 3, a + 1
    else:
        x, y = a + 1, a * 3
    seen = []
    y.register_hook(lambda g: seen.append(g.tolist()))
    u = Both.apply(x, y).sum()
    if use_backward:
        u.backward(inputs=[x])
        grad = x.grad
    else:
        (grad,) = lib.autograd.grad(u, x)
    return grad.tolist(), seen


@pytest.mark.parametrize("older_branch", [True, False])
@pytest.mark.parametrize("use_backward", [True, False])
def test_hooks_off_the_inputs_paths_do_not_run(older_branch, use_backward):
    got = _hooked_branch_run(ember, older_branch, use_backward)
    assert got == _hooked_branch_run(torch, older_branch, use_backward)
    assert got[1] == []


def test_grad_of_each_step_in_a_long_rollout_as_torch():
    """autograd.grad of each step's energy with respect to that step's state (the walk stops
    at the state: the history below it is not visited), then backward through it all."""

    def run(lib):
        k = lib.tensor([3.0, 5.0], requires_grad=True)
        x, v = lib.tensor([0.4, -0.1]).requires_grad_(), lib.zeros(2)
        for _ in range(12):
            energy = 0.5 * (k * x ** 2).sum() + 0.1 * (x[0] - x[1]) ** 4
            (force,) = lib.autograd.grad(-energy, x, create_graph=True)
            v = v + 0.05 * force
            x = x + 0.05 * v
        x.pow(2).sum().backward()
        return x.detach().numpy(), k.grad.numpy()

    for got, want in zip(run(ember), run(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
