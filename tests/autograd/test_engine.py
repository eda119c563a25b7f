"""Engine semantics against torch: accumulation, retain_graph, grad(), higher order."""

import warnings

import pytest

import ember

from ._util import same


def test_grads_accumulate_across_backward_calls(torch):
    def fn(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (x * x).sum().backward()
        first = x.grad.clone()
        (x * 2).sum().backward()
        return first, x.grad
    same(fn, torch)


def test_retain_graph_and_second_backward_message(torch):
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        assert x.grad.tolist() == [6.0, 24.0]
        with pytest.raises(RuntimeError,
                           match="Trying to backward through the graph a second time"):
            y.backward()


def test_backward_of_non_scalar_needs_gradient(torch):
    for lib in (ember, torch):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError,
                           match="grad can be implicitly created only for scalar outputs"):
            (x * 2).backward()

    def fn(lib):
        x = lib.ones(3, requires_grad=True)
        (x * 2).backward(lib.tensor([1.0, 10.0, 100.0]))
        return x.grad
    same(fn, torch)


def test_gradient_shape_mismatch(torch):
    for lib in (ember, torch):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="Mismatch in shape"):
            (x * 2).backward(lib.ones(2))


def test_backward_without_grad_raises(torch):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
            lib.ones(2).sum().backward()


def test_backward_inputs_restricts_accumulation(torch):
    def fn(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0], requires_grad=True)
        (a * b).sum().backward(inputs=[a])
        return a.grad, b.grad
    same(fn, torch)

    def non_leaf(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        h = a * 3
        (h * h).sum().backward(inputs=[h])
        return h.grad, a.grad
    same(non_leaf, torch)


def test_grad_allow_unused_and_materialize(torch):
    def fn(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0], requires_grad=True)
        return lib.autograd.grad((a * a).sum(), [a, b], allow_unused=True)
    assert same(fn, torch)[1] is None

    def materialized(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0], requires_grad=True)
        return lib.autograd.grad((a * a).sum(), [a, b], materialize_grads=True)
    same(materialized, torch)

    for lib in (ember, torch):
        a = lib.ones(2, requires_grad=True)
        b = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="index 1 appears to not have been used"):
            lib.autograd.grad((a * a).sum(), [a, b])


def test_grad_does_not_touch_dot_grad(torch):
    for lib in (ember, torch):
        a = lib.ones(2, requires_grad=True)
        (g,) = lib.autograd.grad((a * a).sum(), a)
        assert a.grad is None and not g.requires_grad


def test_grad_outputs(torch):
    def fn(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        return lib.autograd.grad([a * a, b @ b], [a, b],
                                 grad_outputs=[lib.tensor([1.0, 10.0]), lib.ones(2, 2)])
    same(fn, torch)


def test_hessian_vector_product(torch):
    def fn(lib):
        a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = (a * a * a).sum() + (a * a).sum()
        (g,) = lib.autograd.grad(y, a, create_graph=True)
        assert g.requires_grad
        (h,) = lib.autograd.grad((g * lib.tensor([1.0, 0.0, 1.0])).sum(), a)
        return g, h
    same(fn, torch)


def test_gradient_penalty(torch):
    def fn(lib):
        w = lib.tensor([[1.0, 2.0], [3.0, -4.0]], requires_grad=True)
        inp = lib.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
        out = ((inp @ w) * (inp @ w)).sum()
        (g,) = lib.autograd.grad(out, inp, create_graph=True)
        penalty = (g * g).sum()
        penalty.backward()
        return penalty, w.grad, inp.grad
    same(fn, torch)


def test_third_order(torch):
    def fn(lib):
        x = lib.tensor([0.5, -2.0], requires_grad=True)
        y = (x * x * x * x).sum()
        (g1,) = lib.autograd.grad(y, x, create_graph=True)
        (g2,) = lib.autograd.grad(g1.sum(), x, create_graph=True)
        (g3,) = lib.autograd.grad(g2.sum(), x)
        return g1, g2, g3
    same(fn, torch)


def test_shared_subgraph_gradients_sum(torch):
    def fn(lib):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        h = x * 2
        y = (h * h).sum() + (h * 3).sum() + h.sum() * h.sum()
        y.backward()
        return x.grad
    same(fn, torch)


def test_non_leaf_grad_is_none_with_warning(torch):
    for lib in (ember, torch):
        a = lib.ones(2, requires_grad=True)
        b = a * 2
        b.sum().backward()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert b.grad is None
        assert any("not a leaf" in str(w.message) for w in caught)
        assert b.is_leaf is False and a.is_leaf is True


def test_requires_grad_on_integer_tensor_raises(torch):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
            lib.tensor([1, 2]).requires_grad_()
        with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
            lib.tensor([1, 2], requires_grad=True)


def test_requires_grad_flag_on_non_leaf(torch):
    for lib in (ember, torch):
        b = lib.ones(2, requires_grad=True) * 2
        with pytest.raises(RuntimeError, match="leaf variables"):
            b.requires_grad_(False)
        b.requires_grad_(True)  # allowed: already requires grad


def test_detach_shares_memory_and_version(torch):
    def fn(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 2
        d = b.detach()
        assert not d.requires_grad and d.grad_fn is None and d.is_leaf
        d.add_(1)  # visible through b, and b's saved-version check would now fire
        return b.detach().clone(), d._version if lib is torch else d._version_counter
    same(fn, torch)


def test_detach_in_place(torch):
    def fn(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 2
        b.detach_()
        return b, b.is_leaf, b.requires_grad, b.grad_fn is None
    same(fn, torch)


def test_grad_setter_checks(torch):
    for lib in (ember, torch):
        a = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match=r"gradient of size '\[3\]' to a "):
            a.grad = lib.ones(3)
        a.grad = lib.full((2,), 5.0)
        (a * 1).sum().backward()
        assert a.grad.tolist() == [6.0, 6.0]
