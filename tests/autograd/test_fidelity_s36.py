"""Autograd fidelity (issue 13), each checked against torch 2.13 running the same code:

1. a custom ``autograd.Function``'s ctx: ``to_save``, ``dirty_tensors`` and
   ``non_differentiable`` while forward runs (None after), tensors saved once forward returns,
   ``vjp`` as the backward's other name, keyword arguments as inputs (``setup_context`` style
   binding defaults);
2. ``grad_fn.next_functions`` lists what torch's node lists: no entry for a Python number given
   to a Scalar overload (``x.pow(2)``, ``clamp(x, 0, 1)``) nor for ``where``'s condition,
   ``(None, 0)`` for a tensor needing no gradient, one node for ``addcmul``;
3. under ``create_graph`` the first-order gradients of ``grid_sample`` with a constant grid and
   of ``batch_norm`` (eval, no affine; a bias) require grad, as torch's double-backward nodes
   make them, and the second derivatives agree;
4. ``softplus`` at ``beta * x == threshold``: forward, first and second derivatives as torch's.
"""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

LIBS = [ember, torch]


def _kinds(values):
    """Type names (None kept) of a tuple the ctx holds, or the value itself."""
    if isinstance(values, tuple):
        return tuple(None if v is None else type(v).__name__ for v in values)
    return values


def _run(fn):
    """fn()'s result, or its exception's type and message: torch's and ember's are compared."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 (the exception is the answer compared)
        return type(err).__name__, str(err)


# -- 1. Function's ctx ------------------------------------------------------------------------

def _ctx_record(lib):
    seen = {}

    class Probe(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            seen["before"] = (ctx.to_save, ctx.dirty_tensors, ctx.non_differentiable,
                              ctx.saved_tensors)
            ctx.save_for_backward(x)
            ctx.save_for_backward(x, None)  # the last call counts
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            seen["during"] = (_kinds(ctx.to_save), _kinds(ctx.non_differentiable),
                              ctx.dirty_tensors, ctx.saved_tensors, ctx.needs_input_grad)
            return x * k, idx

        @staticmethod
        def backward(ctx, grad, grad_idx):
            seen["backward"] = (ctx.to_save, ctx.dirty_tensors, ctx.non_differentiable,
                                _kinds(ctx.saved_tensors))
            return grad * 2, None

    x = lib.tensor([1.0, 3.0, 2.0], requires_grad=True)
    y, _ = Probe.apply(x, 2)
    seen["after_apply"] = (y.grad_fn.to_save, y.grad_fn.dirty_tensors)
    y.sum().backward()
    seen["freed"] = _run(lambda: y.grad_fn.saved_tensors)
    return seen


def test_ctx_declarations_visible_during_forward_and_cleared_after():
    assert _ctx_record(ember) == _ctx_record(torch)


def _dirty_record(lib):
    seen = {}

    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            seen["forward"] = _kinds(ctx.dirty_tensors)
            ctx.save_for_backward(x)  # saved after the in-place change and mark_dirty
            return x

        @staticmethod
        def backward(ctx, grad):
            seen["backward"] = ctx.dirty_tensors
            (x,) = ctx.saved_tensors
            seen["saved"] = x.tolist()
            return grad * 2

    a = lib.ones(2, requires_grad=True).clone()
    Double.apply(a).sum().backward()
    return seen


def test_mark_dirty_sets_dirty_tensors_and_a_dirty_input_can_be_saved():
    assert _dirty_record(ember) == _dirty_record(torch)


def _saved_then_changed(lib):
    class Keep(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            ctx.save_for_backward(y)
            y.add_(1)  # still inside forward: torch saves (and versions) y after forward
            return x * 3

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y

    x = lib.ones(2, requires_grad=True)
    return lib.autograd.grad(Keep.apply(x).sum(), x)[0].tolist()


def test_tensor_changed_in_forward_after_save_for_backward_is_saved_as_changed():
    assert _saved_then_changed(ember) == _saved_then_changed(torch)


def test_save_for_backward_of_a_non_tensor_raises_as_torch():
    def run(lib):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, 3)
                return x * 1

            @staticmethod
            def backward(ctx, grad):
                return grad

        return _run(lambda: Bad.apply(lib.ones(2, requires_grad=True)))

    assert run(ember) == run(torch)


def _vjp_only(lib):
    class Triple(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 3

        @staticmethod
        def vjp(ctx, grad):
            return grad * 3

    x = lib.ones(2, requires_grad=True)
    return lib.autograd.grad(Triple.apply(x).sum(), x)[0].tolist()


def test_function_with_only_vjp_uses_it_as_backward():
    assert _vjp_only(ember) == _vjp_only(torch)


def test_function_with_both_backward_and_vjp_raises_as_torch():
    def run(lib):
        class Both(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 3

            @staticmethod
            def vjp(ctx, grad):
                return grad * 3

            @staticmethod
            def backward(ctx, grad):
                return grad * 3

        return _run(lambda: Both.apply(lib.ones(2, requires_grad=True)).sum().backward())

    ember_result, torch_result = run(ember), run(torch)
    assert ember_result == torch_result and ember_result[0] == "RuntimeError"


def _keyword_inputs(lib):
    seen = []

    class Mix(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y=None, s=1.0):
            seen.append(ctx.needs_input_grad)
            return x * y * s

        @staticmethod
        def backward(ctx, grad):
            return grad * 2, grad * 3, None

    x = lib.ones(2, requires_grad=True)
    y = lib.ones(2, requires_grad=True)
    out = Mix.apply(x, s=2.0, y=y)
    grads = [g.tolist() for g in lib.autograd.grad(out.sum(), (x, y))]
    return seen, len(out.grad_fn.next_functions), grads


def test_keyword_arguments_are_inputs_in_forward_order():
    assert _keyword_inputs(ember) == _keyword_inputs(torch)


@pytest.mark.parametrize("call", ["unknown_keyword", "gap", "twice"])
def test_keyword_argument_errors_match_torch(call):
    def run(lib):
        class Mix(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y=None, s=1.0):
                return x * 2

            @staticmethod
            def backward(ctx, grad):
                return grad, None, None

        x = lib.ones(2)
        args = {"unknown_keyword": ((x,), {"t": 1}), "gap": ((x,), {"s": 3.0}),
                "twice": ((x, x), {"y": x})}[call]
        return _run(lambda: Mix.apply(*args[0], **args[1]))

    ember_result, torch_result = run(ember), run(torch)
    assert ember_result[0] == torch_result[0] == "TypeError"
    if call != "twice":  # (torch words a repeated argument its own way)
        assert ember_result == torch_result


def _setup_context_inputs(lib):
    seen = []

    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(x, scale=2.0):
            return x * scale

        @staticmethod
        def setup_context(ctx, inputs, output):
            seen.append((len(inputs), inputs[1:], ctx.needs_input_grad))
            ctx.scale = inputs[1]

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.scale, None

    x = lib.ones(2, requires_grad=True)
    grads = [lib.autograd.grad(Scale.apply(x, **kw).sum(), x)[0].tolist()
             for kw in ({}, {"scale": 3.0})]
    return seen, grads


def test_setup_context_receives_bound_inputs_with_defaults():
    assert _setup_context_inputs(ember) == _setup_context_inputs(torch)


def _materialize(lib):
    seen = []

    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 1, x * 2

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append((g1 is None, g2 is None))
            return g2 if g1 is None else g1

    x = lib.ones(2, requires_grad=True)
    Two.apply(x)[1].sum().backward()
    return seen


def test_set_materialize_grads_false_gives_none_for_unused_outputs():
    assert _materialize(ember) == _materialize(torch)


def test_saved_variables_warns_as_torch():
    def run(lib):
        class Sq(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, grad):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    (x,) = ctx.saved_variables
                run.caught = [(w.category, str(w.message)) for w in caught]
                return 2 * x * grad

        Sq.apply(lib.ones(2, requires_grad=True)).sum().backward()
        return run.caught

    assert run(ember) == run(torch)


# -- 2. next_functions ------------------------------------------------------------------------

def _structure(node, depth=2):
    """A node's name and its next_functions, ``depth`` levels down (names and Nones)."""
    name = node.name().replace("torch::autograd::", "")
    if depth == 0:
        return name
    return name, tuple((None if fn is None else _structure(fn, depth - 1), nr)
                       for fn, nr in node.next_functions)


def _leaves(lib):
    rng = np.random.default_rng(0)
    a, b, c = (lib.tensor(rng.uniform(0.1, 1.0, 3), requires_grad=True) for _ in range(3))
    n = lib.tensor(rng.uniform(0.1, 1.0, 3))
    mask = lib.tensor([True, False, True])
    return a, b, c, n, mask


GRAPH_CASES = {
    "clamp_numbers": lambda L, a, b, c, n, m: L.clamp(a, 0, 1),
    "clamp_min_number": lambda L, a, b, c, n, m: L.clamp_min(a, 0.2),
    "clamp_max_tensor": lambda L, a, b, c, n, m: L.clamp_max(a, n),
    "clamp_tensor_min_only": lambda L, a, b, c, n, m: L.clamp(a, min=b),
    "clip_max": lambda L, a, b, c, n, m: a.clip(max=0.5),
    "where_number_other": lambda L, a, b, c, n, m: L.where(m, a, 0.5),
    "where_number_self": lambda L, a, b, c, n, m: L.where(m, 0.5, a),
    "where_tensors": lambda L, a, b, c, n, m: L.where(m, a, n),
    "pow_number": lambda L, a, b, c, n, m: a.pow(2),
    "square": lambda L, a, b, c, n, m: a.square(),
    "number_pow": lambda L, a, b, c, n, m: 2 ** a,
    "pow_tensor": lambda L, a, b, c, n, m: a.pow(n),
    "float_power": lambda L, a, b, c, n, m: L.float_power(a, 2),
    "lerp_number": lambda L, a, b, c, n, m: L.lerp(a, b, 0.3),
    "lerp_number_const_end": lambda L, a, b, c, n, m: L.lerp(a, n, 0.3),
    "lerp_tensor": lambda L, a, b, c, n, m: L.lerp(a, b, c),
    "addcmul": lambda L, a, b, c, n, m: L.addcmul(a, b, c, value=2),
    "addcmul_const_input": lambda L, a, b, c, n, m: L.addcmul(n, b, c, value=2),
    "addcmul_const_tensor2": lambda L, a, b, c, n, m: L.addcmul(a, b, n, value=0),
    "rsub": lambda L, a, b, c, n, m: 1 - a,
    "sub_number": lambda L, a, b, c, n, m: a - 1,
    "mul_number": lambda L, a, b, c, n, m: a * 2,
    "fmod_number": lambda L, a, b, c, n, m: L.fmod(a, 0.3),
    "remainder_number": lambda L, a, b, c, n, m: L.remainder(a, 0.3),
    "remainder_tensor": lambda L, a, b, c, n, m: L.remainder(a, b),
    "masked_fill_number": lambda L, a, b, c, n, m: a.masked_fill(m, 0.5),
    "scatter_value": lambda L, a, b, c, n, m: a.scatter(0, L.tensor([0, 2]), 0.5),
    "scatter_tensor": lambda L, a, b, c, n, m: a.scatter(0, L.tensor([0, 2]), n),
    "xlogy_number_other": lambda L, a, b, c, n, m: L.xlogy(a, 2.0),
    "xlogy_number_self": lambda L, a, b, c, n, m: L.xlogy(2.0, a),
    "copysign_number": lambda L, a, b, c, n, m: L.copysign(a, -1.0),
    "conv1d": lambda L, a, b, c, n, m: L.nn.functional.conv1d(
        a.reshape(1, 1, 3), n.reshape(1, 1, 3), b[:1]),
    "conv1d_no_bias": lambda L, a, b, c, n, m: L.nn.functional.conv1d(
        n.reshape(1, 1, 3), a.reshape(1, 1, 3)),
    "maximum": lambda L, a, b, c, n, m: L.maximum(n, a),
    "outer": lambda L, a, b, c, n, m: L.outer(a, n),
    "softplus": lambda L, a, b, c, n, m: L.nn.functional.softplus(a, 2, 10),
}


@pytest.mark.parametrize("case", sorted(GRAPH_CASES))
def test_next_functions_list_what_torch_lists(case):
    fn = GRAPH_CASES[case]
    assert _structure(fn(ember, *_leaves(ember)).grad_fn) == \
        _structure(fn(torch, *_leaves(torch)).grad_fn)


def test_gradients_still_reach_inputs_past_unlisted_numbers():
    """The engine pairs backward's per-input gradients with the listed edges."""
    def grads(lib):
        a, b, c, n, mask = _leaves(lib)
        out = (L_clamp(lib, a) + lib.where(mask, b, 0.5) + 2 ** c + lib.lerp(a, b, 0.3)
               + (1 - c) + a.pow(3) + lib.xlogy(2.0, b))
        return [g.tolist() for g in lib.autograd.grad(out.sum(), (a, b, c))]

    def L_clamp(lib, a):
        return lib.clamp(a, 0.2, 0.8)

    np.testing.assert_allclose(grads(ember), grads(torch), rtol=1e-6)


def test_calling_a_node_answers_per_listed_edge():
    def call(lib):
        a = lib.tensor([0.5, 2.0], requires_grad=True)
        return lib.clamp(a, 0, 1).grad_fn(lib.ones(2)).tolist()

    assert call(ember) == call(torch)


# -- 3. second-order graphs -------------------------------------------------------------------

def _first_and_second(lib, fn, inputs, seed=1):
    """First-order gradients with create_graph (requires_grad and node name of each) and the
    gradient of their weighted sum (None where unused)."""
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    weight = lib.tensor(rng.standard_normal(tuple(out.shape)))
    first = lib.autograd.grad((out * weight).sum(), inputs, create_graph=True)
    described = [(g.requires_grad, g.grad_fn.name() if g.grad_fn is not None else None)
                 for g in first]
    total = sum((g * lib.tensor(rng.standard_normal(tuple(g.shape)))).sum() for g in first)
    second = lib.autograd.grad(total, inputs, allow_unused=True)
    return described, [None if g is None else g.detach().numpy() for g in second]


def _same(ember_run, torch_run, named=True):
    (e_first, e_second), (t_first, t_second) = ember_run, torch_run
    if named:
        assert e_first == t_first
    else:
        assert [r for r, _ in e_first] == [r for r, _ in t_first]
    for e, t in zip(e_second, t_second):
        assert (e is None) == (t is None)
        if t is not None:
            np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-12)


def _image(lib, seed=0):
    rng = np.random.default_rng(seed)
    return lib.tensor(rng.standard_normal((1, 2, 4, 5)), requires_grad=True)


def _grid(lib, requires_grad=False, dims=2, seed=0):
    rng = np.random.default_rng(seed + 1)
    return lib.tensor(rng.uniform(-1.1, 1.1, (1, 3, 3, dims) if dims == 2 else
                                  (1, 2, 2, 2, 3)), requires_grad=requires_grad)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_constant_grid_gradient_is_in_the_graph(mode, padding_mode):
    def run(lib):
        grid = _grid(lib)
        return _first_and_second(lib, lambda x: lib.nn.functional.grid_sample(
            x, grid, mode=mode, padding_mode=padding_mode, align_corners=False), [_image(lib)])

    _same(run(ember), run(torch))


def test_grid_sample_3d_constant_grid_gradient_is_in_the_graph():
    def run(lib):
        grid = _grid(lib, dims=3)
        x = lib.tensor(np.random.default_rng(2).standard_normal((1, 2, 3, 4, 5)),
                       requires_grad=True)
        return _first_and_second(lib, lambda x: lib.nn.functional.grid_sample(
            x, grid, align_corners=True), [x])

    _same(run(ember), run(torch))


def test_grid_sample_grid_and_input_second_derivatives_match_torch():
    def run(lib):
        return _first_and_second(lib, lambda x, g: lib.nn.functional.grid_sample(
            x, g, align_corners=False), [_image(lib), _grid(lib, requires_grad=True)])

    _same(run(ember), run(torch))


def test_gradient_penalty_through_grid_sample_with_constant_grid_runs():
    def run(lib):
        x = _image(lib)
        out = lib.nn.functional.grid_sample(x, _grid(lib), align_corners=False)
        (g,) = lib.autograd.grad(out.sum(), x, create_graph=True)
        (g * g).sum().backward()  # torch: no error, and nothing reaches x
        return x.grad

    assert run(ember) is None and run(torch) is None


def _bn_stats(lib):
    rng = np.random.default_rng(3)
    return lib.tensor(rng.standard_normal(4)), lib.tensor(rng.uniform(0.5, 2.0, 4))


def _bn_params(lib):
    rng = np.random.default_rng(4)
    return [lib.tensor(rng.standard_normal(4), requires_grad=True) for _ in range(2)]


@pytest.mark.parametrize("shape", [(3, 4, 2), (5, 4), (2, 4, 3, 3)])
def test_batch_norm_eval_double_backward_matches_torch(shape):
    def run(lib):
        rm, rv = _bn_stats(lib)
        x = lib.tensor(np.random.default_rng(5).standard_normal(shape), requires_grad=True)
        return _first_and_second(lib, lambda x, w, b: lib.nn.functional.batch_norm(
            x, rm, rv, w, b, training=False), [x, *_bn_params(lib)])

    _same(run(ember), run(torch))


def test_batch_norm_eval_without_affine_gradient_is_in_the_graph():
    def run(lib):
        rm, rv = _bn_stats(lib)
        x = lib.tensor(np.random.default_rng(5).standard_normal((3, 4, 2)), requires_grad=True)
        return _first_and_second(lib, lambda x: lib.nn.functional.batch_norm(
            x, rm, rv, training=False), [x])

    _same(run(ember), run(torch))


def test_batch_norm_train_bias_gradient_is_in_the_graph():
    def run(lib):
        x = lib.tensor(np.random.default_rng(6).standard_normal((3, 4, 2)), requires_grad=True)
        return _first_and_second(lib, lambda x, w, b: lib.nn.functional.batch_norm(
            x, None, None, w, b, training=True), [x, *_bn_params(lib)])

    _same(run(ember), run(torch))


def test_instance_norm_bias_gradient_requires_grad_as_torch():
    def run(lib):
        x = lib.tensor(np.random.default_rng(7).standard_normal((3, 4, 2)), requires_grad=True)
        return _first_and_second(lib, lambda x, w, b: lib.nn.functional.instance_norm(
            x, weight=w, bias=b), [x, *_bn_params(lib)])

    _same(run(ember), run(torch), named=False)  # torch's is a composite: other node names


# -- 4. softplus at its threshold -------------------------------------------------------------

def _softplus_values(lib, dtype, beta, threshold):
    """Forward, first and second derivative (bit patterns) at beta * x == threshold and the
    representable numbers beside it."""
    np_dtype = np.float32 if dtype == "float32" else np.float64
    edge = np_dtype(threshold / beta)
    xs = [edge, np.nextafter(edge, np_dtype(-np.inf)), np.nextafter(edge, np_dtype(np.inf))]
    x = lib.tensor(np.array(xs, dtype=np_dtype), requires_grad=True)
    y = lib.nn.functional.softplus(x, beta, threshold)
    (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = lib.autograd.grad(g.sum(), x)
    (plain,) = lib.autograd.grad(lib.nn.functional.softplus(x, beta, threshold).sum(), x)
    return [t.detach().numpy() for t in (y, g, gg, plain)]


SOFTPLUS_SETTINGS = [(1.0, 20.0), (2.0, 10.0), (0.5, 3.0), (3.0, 1.0), (1.0, 0.0), (-1.0, 5.0),
                     (2.0, -4.0), (0.3, 1.0)]


@pytest.mark.parametrize("beta,threshold", SOFTPLUS_SETTINGS)
def test_softplus_at_threshold_float64_bitwise(beta, threshold):
    for e, t in zip(_softplus_values(ember, "float64", beta, threshold),
                    _softplus_values(torch, "float64", beta, threshold)):
        np.testing.assert_array_equal(e.view(np.int64), t.view(np.int64))


@pytest.mark.parametrize("beta,threshold", SOFTPLUS_SETTINGS)
def test_softplus_at_threshold_float32(beta, threshold):
    ember_values = _softplus_values(ember, "float32", beta, threshold)
    torch_values = _softplus_values(torch, "float32", beta, threshold)
    for k, (e, t) in enumerate(zip(ember_values, torch_values)):
        if k == 2:  # the second derivative goes through sigmoid, whose last bit may differ
            np.testing.assert_allclose(e, t, rtol=1e-6, atol=0)
            assert np.array_equal(e == 0, t == 0)  # the branch taken: the same
        else:
            np.testing.assert_array_equal(e.view(np.int32), t.view(np.int32))
