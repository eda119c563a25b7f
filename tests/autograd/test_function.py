"""ember.autograd.Function against torch.autograd.Function: the same class body runs in both."""

import numpy as np
import pytest

import ember


def _square(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    return Square


def _scale(lib):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            return x * k

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.k, None

    return Scale


def _cube(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x * x * grad

    return Cube


def _both(torch, data):
    return (ember.tensor(data, requires_grad=True),
            torch.tensor(data, requires_grad=True))


def test_forward_backward_and_grad_fn_name(torch):
    xe, xt = _both(torch, [1.0, -2.0, 3.0])
    ye, yt = _square(ember).apply(xe), _square(torch).apply(xt)
    assert repr(ye) == repr(yt)  # tensor([1., 4., 9.], grad_fn=<SquareBackward>)
    assert ye.grad_fn.name() == yt.grad_fn.name() == "SquareBackward"
    assert type(ye.grad_fn).__name__ == "SquareBackward"
    # the node itself prints with its module: <torch.autograd.function.SquareBackward ...>
    assert repr(ye.grad_fn).split(" object")[0].replace("ember", "torch") == \
        repr(yt.grad_fn).split(" object")[0]
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy())


def test_non_tensor_arguments_get_none(torch):
    xe, xt = _both(torch, [1.0, 2.0])
    _scale(ember).apply(xe, 3.0).sum().backward()
    _scale(torch).apply(xt, 3.0).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy())
    assert len(_scale(ember).apply(xe, 2).grad_fn.next_functions) == 1


def test_needs_input_grad(torch):
    seen = {}
    for lib in (ember, torch):
        class Probe(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b, k):
                seen[lib.__name__] = ctx.needs_input_grad  # noqa: B023
                return a * b * k

            @staticmethod
            def backward(ctx, g):
                return g, g, None

        Probe.apply(lib.ones(2, requires_grad=True), lib.ones(2), 2.0)
    assert seen["ember"] == seen["torch"] == (True, False, False)


@pytest.mark.parametrize("returned, message", [
    ("one", "returned an incorrect number of gradients (expected 2, got 1)"),
    ("three_not_none", "returned an incorrect number of gradients (expected 2, got 3)"),
    ("grad_for_int", "returned a gradient different than None at position 2"),
    ("bad_shape", "returned an invalid gradient at index 0 - got [1] but expected shape "
                  "compatible with [2]"),
    ("not_tensor", "expected Variable or None (got int)"),
])
def test_bad_backward_results_raise_like_torch(torch, returned, message):
    for lib in (ember, torch):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

            @staticmethod
            def backward(ctx, g):
                return {"one": (g,), "three_not_none": (g, None, g), "grad_for_int": (g, g),
                        "bad_shape": (g[:1] if lib is torch else g.sum().reshape(1), None),  # noqa: B023
                        "not_tensor": (5, None)}[returned]

        x = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError) as info:
            Bad.apply(x, 3).sum().backward()
        assert message in str(info.value), (lib.__name__, str(info.value))


def test_extra_none_gradients_are_allowed():
    class Extra(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None

    x = ember.ones(2, requires_grad=True)
    Extra.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_broadcast_gradient_is_summed_to_the_input_shape(torch):
    for lib in (ember, torch):
        class Widen(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 1

            @staticmethod
            def backward(ctx, g):
                return g.expand(3, 2) * 1

        x = lib.ones(2, requires_grad=True)
        Widen.apply(x).sum().backward()
        np.testing.assert_allclose(np.asarray(x.grad.tolist()), [3.0, 3.0])


def test_double_backward_through_custom_function(torch):
    results = []
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0, -1.5], requires_grad=True)
        (g,) = lib.autograd.grad(_cube(lib).apply(x).sum(), x, create_graph=True)
        assert g.requires_grad
        (gg,) = lib.autograd.grad(g.sum(), x)
        results.append((g.detach().tolist(), gg.tolist()))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_saved_tensor_modified_in_place_raises(torch):
    for lib in (ember, torch):
        x = lib.ones(2, requires_grad=True)
        z = x * 1
        y = _square(lib).apply(z)
        z.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_second_backward_without_retain_graph(torch):
    for lib in (ember, torch):
        x = lib.ones(2, requires_grad=True)
        y = _square(lib).apply(x).sum()
        y.backward(retain_graph=True)
        y.backward()
        assert x.grad.tolist() == [4.0, 4.0]
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.backward()


def test_no_graph_under_no_grad_or_without_requires_grad(torch):
    for lib in (ember, torch):
        with lib.no_grad():
            y = _square(lib).apply(lib.ones(2, requires_grad=True))
        assert not y.requires_grad and y.grad_fn is None
        y = _square(lib).apply(lib.ones(2))
        assert not y.requires_grad and y.grad_fn is None


def test_forward_runs_without_grad_mode(torch):
    for lib in (ember, torch):
        class Probe(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.mode = lib.is_grad_enabled()  # noqa: B023
                inner = x * 2
                ctx.inner_requires_grad = inner.requires_grad
                return inner

            @staticmethod
            def backward(ctx, g):
                return g * 2

        y = Probe.apply(lib.ones(2, requires_grad=True))
        assert y.grad_fn.mode is False and y.grad_fn.inner_requires_grad is False


def test_mark_non_differentiable_and_materialized_zero_grads(torch):
    seen = {}
    for lib in (ember, torch):
        class Split(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                a, b = x * 2, x.sum()
                ctx.mark_non_differentiable(b)
                return a, b

            @staticmethod
            def backward(ctx, ga, gb):
                seen[lib.__name__] = gb.tolist()  # noqa: B023
                return ga * 2

        x = lib.ones(3, requires_grad=True)
        a, b = Split.apply(x)
        assert a.requires_grad and not b.requires_grad and b.grad_fn is None
        a.sum().backward()
        assert x.grad.tolist() == [2.0, 2.0, 2.0]
    assert seen["ember"] == seen["torch"] == 0.0


def test_set_materialize_grads_false_passes_none(torch):
    seen = {}
    for lib in (ember, torch):
        class Two(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, ga, gb):
                seen[lib.__name__] = gb  # noqa: B023
                return ga * 2

        a, _ = Two.apply(lib.ones(2, requires_grad=True))
        a.sum().backward()
    assert seen["ember"] is None and seen["torch"] is None


def test_mark_dirty_in_place_function(torch):
    outs = []
    for lib in (ember, torch):
        class Double_(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        leaf = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            Double_.apply(leaf)
        a = leaf * 3
        y = Double_.apply(a)
        assert y is a and a.grad_fn.name() == "Double_Backward"
        (a * a).sum().backward()
        outs.append((a.tolist(), leaf.grad.tolist()))
    assert outs[0] == outs[1]


def test_returning_an_input_gives_a_new_tensor(torch):
    for lib in (ember, torch):
        class Identity(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g

        x = lib.ones(2, requires_grad=True)
        y = Identity.apply(x)
        assert y is not x and y.grad_fn is not None
        with lib.no_grad():
            y.add_(1)
        assert x.tolist() == [2.0, 2.0]  # same memory


def test_once_differentiable(torch):
    for lib in (ember, torch):
        once = lib.autograd.function.once_differentiable

        class Sq(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @once
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (g,) = lib.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
        assert g.grad_fn is None and g.tolist() == [2.0, 4.0]
        # With a grad_output that requires grad, differentiating again must fail loudly.
        y = Sq.apply(x)
        go = lib.ones(2, requires_grad=True)
        (g,) = lib.autograd.grad(y, x, go, create_graph=True)
        with pytest.raises(RuntimeError, match="once_differentiable"):
            g.sum().backward()


def test_setup_context_style(torch):
    results = []
    for lib in (ember, torch):
        class Mul3(lib.autograd.Function):
            @staticmethod
            def forward(x, k):
                return x * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = inputs[1]

            @staticmethod
            def backward(ctx, g):
                return g * ctx.k, None

        x = lib.ones(2, requires_grad=True)
        y = Mul3.apply(x, 3.0)
        y.sum().backward()
        results.append((x.grad.tolist(), y.grad_fn.name()))
    assert results[0] == results[1]


def test_instance_call_is_refused():
    with pytest.raises(RuntimeError, match=r"\.apply"):
        _square(ember)()(ember.ones(2))


def test_saved_tensors_after_free():
    x = ember.ones(2, requires_grad=True)
    y = _square(ember).apply(x)
    node = y.grad_fn
    y.sum().backward()
    with pytest.raises(RuntimeError, match="already been freed"):
        _ = node.saved_tensors


def test_custom_function_gradcheck():
    x = ember.tensor(np.random.default_rng(0).standard_normal(4), requires_grad=True)
    assert ember.autograd.gradcheck(_cube(ember).apply, (x,))
    assert ember.autograd.gradgradcheck(_cube(ember).apply, (x,))
