"""Tensor hooks, retain_grad and post-accumulate hooks, against torch."""

import pytest

import ember

from ._util import same


def test_leaf_and_non_leaf_hooks_modify_and_remove(torch):
    def fn(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        h = a.register_hook(lambda g: g * 10)
        b = a * 3
        hb = b.register_hook(lambda g: g + 1)
        b.sum().backward()
        first = a.grad.clone()
        h.remove()
        hb.remove()
        a.grad = None
        (a * 3).sum().backward()
        return first, a.grad
    same(fn, torch)


def test_hook_sees_gradient_and_returning_none_keeps_it(torch):
    seen = {}

    def fn(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * a
        b.register_hook(lambda g: seen.setdefault(lib.__name__, g.tolist()) and None)
        (b * lib.tensor([3.0, 4.0])).sum().backward()
        return a.grad
    same(fn, torch)
    assert seen["ember"] == seen["torch"] == [3.0, 4.0]


def test_several_hooks_run_in_order(torch):
    def fn(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        a.register_hook(lambda g: g + 1)
        a.register_hook(lambda g: g * 2)
        (a * 1).sum().backward()
        return a.grad
    same(fn, torch)


def test_hook_on_tensor_without_grad_raises(torch):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.ones(2).register_hook(lambda g: g)


def test_retain_grad(torch):
    def fn(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 3
        b.retain_grad()
        c = b * b
        c.sum().backward()
        return b.grad, b.retains_grad, a.grad
    same(fn, torch)


def test_retain_grad_accumulates(torch):
    def fn(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 3
        b.retain_grad()
        (b * b).sum().backward(retain_graph=True)
        (b * b).sum().backward()
        return b.grad
    same(fn, torch)


def test_post_accumulate_grad_hook(torch):
    seen = {}

    def fn(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        log = seen.setdefault(lib.__name__, [])
        a.register_post_accumulate_grad_hook(lambda t: log.append(t.grad.tolist()))
        (a * a).sum().backward()
        (a * 1).sum().backward()
        return a.grad
    same(fn, torch)
    assert seen["ember"] == seen["torch"] == [[2.0, 4.0], [3.0, 5.0]]
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="non-leaf"):
            (lib.ones(1, requires_grad=True) * 2).register_post_accumulate_grad_hook(print)


def test_grad_fn_hooks(torch):
    seen = {}

    def fn(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 2
        b.grad_fn.register_hook(
            lambda gi, go: seen.setdefault(lib.__name__, [gi[0].tolist(), go[0].tolist()]) and None)
        b.grad_fn.register_prehook(lambda go: (go[0] * 10,))
        b.sum().backward()
        return a.grad
    same(fn, torch)
    assert seen["ember"] == seen["torch"]


def test_grad_fn_and_next_functions(torch):
    for lib in (ember, torch):
        a = lib.ones(2, requires_grad=True)
        y = (a * 2 + 1).sum()
        assert y.grad_fn.name() == "SumBackward0"
        (add, _), = y.grad_fn.next_functions
        assert add.name() == "AddBackward0"
        mul = add.next_functions[0][0]
        assert mul.name() == "MulBackward0"
        acc = mul.next_functions[0][0]
        assert type(acc).__name__ == "AccumulateGrad" and acc.variable is a
        assert acc.name() == "torch::autograd::AccumulateGrad"  # as PyTorch's C++ node answers
        assert repr(acc).startswith("<AccumulateGrad object at 0x")
