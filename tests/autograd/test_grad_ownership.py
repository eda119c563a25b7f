"""``.grad`` never aliases another tensor and has its variable's layout, as in PyTorch: a
gradient shared by two leaves, a user-given gradient, a broadcast gradient or one a hook kept
is copied; an exclusive fresh one may be taken over (then later backwards add into it)."""

import numpy as np
import pytest

import ember


def _leaves(lib, n=2):
    return [lib.ones(3, requires_grad=True) for _ in range(n)]


@pytest.mark.parametrize("case", ["shared_upstream", "user_gradient", "broadcast_sum",
                                  "hook_keeps_grad", "same_leaf_twice"])
def test_grad_is_private_like_torch(torch, case):
    results = []
    for lib in (ember, torch):
        a, b = _leaves(lib)
        kept = []
        g = lib.tensor([1.0, 2.0, 3.0])
        if case == "shared_upstream":  # Add's backward hands one tensor to both leaves
            ((a + b) * g).sum().backward()
        elif case == "user_gradient":
            (a + b).backward(g)
        elif case == "broadcast_sum":  # sum's gradient is a broadcast of one number
            (a + b).sum().backward()
        elif case == "hook_keeps_grad":
            a.register_hook(kept.append)
            (a * g).sum().backward()
        else:
            (a * g + a).sum().backward()
        a.grad.mul_(10)  # must not reach b.grad, g or what the hook kept
        results.append([None if b.grad is None else b.grad.tolist(), g.tolist(), [k.tolist() for k in kept],
                        a.grad.tolist(), list(a.grad.stride())])
    assert results[0] == results[1]


def test_grad_takes_the_variables_layout(torch):
    res = []
    for lib in (ember, torch):
        w = lib.ones(4, 3).t().requires_grad_()  # a Fortran-ordered leaf
        (w * 2).sum().backward()
        res.append((list(w.grad.stride()), w.grad.tolist()))
    assert res[0] == res[1]


def test_later_backwards_accumulate_into_the_grad():
    lin = ember.nn.Linear(3, 2)
    x = ember.ones(4, 3)
    lin(x).sum().backward()
    first = lin.weight.grad
    first_data = first._data
    lin(x).sum().backward()
    assert lin.weight.grad is first and lin.weight.grad._data is first_data  # in place
    np.testing.assert_allclose(lin.weight.grad.numpy(), 8 * np.ones((2, 3)))
