"""What a graph node (``tensor.grad_fn``) shows, and a second backward, against PyTorch.

PyTorch's nodes are classes named after their backward: ``type(y.grad_fn).__name__`` is
``"SinBackward0"`` and equals ``y.grad_fn.name()``. A second ``backward()`` through a graph
whose saved values were freed raises only where a node needs a freed saved tensor: ``x + c``,
views and sums run again, ``x * c``, ``x.exp()`` and indexing raise. Each case runs the same
code on ember and on torch and compares what comes out.
"""

import gc
import re
import weakref

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _grad_fn(lib, code):
    lib.manual_seed(0)
    x = lib.randn(3, 4, requires_grad=True)
    w = lib.randn(4, 5, requires_grad=True)
    c = lib.randn(3, 4)
    t = lib.tensor([0, 2, 1])
    F = lib.nn.functional
    return eval(code, {"x": x, "w": w, "c": c, "t": t, "F": F, "lib": lib}).grad_fn


NAMED = ["x.sin()", "x * c", "x + 1", "x - c", "x / 2", "x @ w", "x[0] @ w", "x.sum()",
         "x.mean(1)", "x.view(12)", "x.t()", "x.permute(1, 0)", "x[1:]", "x[t]", "x.exp()",
         "x.relu()", "x.sigmoid()", "x.tanh()", "F.gelu(x)", "x.softmax(1)",
         "F.log_softmax(x, 1)", "F.mse_loss(x, c)", "F.cross_entropy(x, t)",
         "F.linear(x, w.t())", "lib.cat([x, c])", "lib.stack([x, c])", "x.clone()",
         "x.double()", "x.clamp(-0.5, 0.5)", "x.max()", "x.amax(1)", "F.layer_norm(x, (4,))",
         "x.pow(2)", "x.norm()", "x.var()", "x.cumsum(1)", "lib.where(c > 0, x, c)",
         "x.masked_fill(c > 0, 0.0)", "x.gather(1, t[:, None])", "x.unsqueeze(0)",
         # torch capitalises a letter after a digit; rounding division has its own node
         "x.log1p()", "x.deg2rad()", "lib.special.i0e(x)", "x.div(c, rounding_mode='floor')",
         "lib.igammac(x.abs(), c.abs())"]


@pytest.mark.parametrize("code", NAMED)
def test_node_class_carries_torch_name(code):
    e, t = _grad_fn(ember, code), _grad_fn(torch, code)
    assert e.name() == t.name()
    for attr in ("__name__", "__qualname__", "__module__"):
        assert getattr(type(e), attr) == getattr(type(t), attr), attr
    assert repr(type(e)) == repr(type(t))  # <class 'SinBackward0'>
    pattern = r"<(\w+) object at 0x[0-9a-f]+>"
    assert re.fullmatch(pattern, repr(e)).group(1) == re.fullmatch(pattern, repr(t)).group(1)


def test_every_op_table_node_is_named_by_its_class():
    from tests.ops.op_table import OPS
    from tests.ops.spec import as_list, make_arrays, to_lib

    checked = 0
    for spec in OPS:
        if not spec.grad:
            continue
        arrays = make_arrays(spec, spec.shapes[0], np.random.default_rng(0))
        idx = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"
               and (spec.grad_inputs is None or k in spec.grad_inputs)]
        outs = as_list(spec.fn(ember, *to_lib(ember, arrays, "float64", requires_grad=True,
                                              grad_inputs=idx)))
        for out in outs:
            node = getattr(out, "grad_fn", None)
            if node is None:
                continue
            # PyTorch's C++ nodes (CopySlices, AccumulateGrad) leave the prefix off the class
            assert type(node).__name__ == node.name().replace("torch::autograd::", ""), \
                spec.name
            assert repr(node).startswith(f"<{type(node).__name__} object at 0x"), spec.name
            checked += 1
    assert checked > 500


def test_named_classes_are_made_once_per_name():
    x = ember.randn(3, requires_grad=True)
    a, b = x.sin(), x.cos().sin()
    assert type(a.grad_fn) is type(b.grad_fn)
    # an op that picks its node's name per call (matmul: by the operands' ranks)
    m = ember.randn(2, 3, requires_grad=True)
    mv, mm = m @ ember.randn(3), m @ ember.randn(3, 2)
    assert type(mv.grad_fn).__name__ == mv.grad_fn.name() == "MvBackward0"
    assert type(mm.grad_fn).__name__ == mm.grad_fn.name() == "MmBackward0"
    assert type(mv.grad_fn) is type((m @ ember.randn(3)).grad_fn)
    # the ember op class stays a base: isinstance and the op's own name still work
    from ember._ops.linalg.matmul import Matmul

    sin = a.grad_fn._op_class
    assert sin.__name__ == "Sin" and type(a.grad_fn).__bases__ == (sin,)
    assert isinstance(mv.grad_fn, Matmul) and mv.grad_fn._op_class is Matmul
    assert isinstance(a.grad_fn, ember.autograd.graph.Node)


def test_leaf_and_copy_nodes_match_torch():
    def probe(lib):
        x = lib.randn(3, requires_grad=True)
        acc = (x * 2).grad_fn.next_functions[0][0]
        y = x.clone()
        y[:2].mul_(2)
        z = lib.zeros(3)
        z.copy_(x)
        return [(type(n).__name__, n.name(), repr(n).split(" object")[0])
                for n in (acc, y.grad_fn, z.grad_fn)]

    assert probe(ember) == probe(torch)


# -- a second backward through a freed graph ---------------------------------------------------

TWICE = ["x * 2", "x * c", "x * x", "x + c", "x + 2", "x - c", "-x", "x / 2", "c / x",
         "x ** 2", "x.sum()", "x.sum(1)", "x.mean()", "x.mean(1)", "x.view(12)",
         "x.reshape(4, 3)", "x.t()", "x.permute(1, 0)", "x[1:]", "x[0]", "x[t]",
         "x[None].expand(2, 3, 4)", "x.unsqueeze(0)", "x @ w", "x.exp()", "x.sin()",
         "x.tanh()", "x.sigmoid()", "x.relu()", "x.abs()", "F.gelu(x)", "x.softmax(1)",
         "x.log_softmax(1)", "F.mse_loss(x, c)", "F.l1_loss(x, c)", "F.cross_entropy(x, t)",
         "F.nll_loss(x, t)", "F.binary_cross_entropy_with_logits(x, c)", "F.linear(x, w.t())",
         "lib.cat([x, x])", "lib.stack([x, c])", "x.clone()", "lib.where(c > 0, x, c)",
         "x.max()", "x.amax(1)", "x.clamp(-0.5, 0.5)", "F.leaky_relu(x)",
         "F.layer_norm(x, (4,))", "x.pow(c)", "x.double()", "x.t().contiguous()",
         "x.flatten()", "x[None].squeeze(0)", "x.transpose(0, 1)", "x.chunk(2, 1)[0]",
         "x.var()", "x.norm()", "x.cumsum(1)", "x.gather(1, t[:, None])",
         "x.masked_fill(c > 0, 0.0)", "F.silu(x)", "F.softplus(x)", "F.elu(x)",
         "F.hardtanh(x)", "x.add(c, alpha=3)", "x.remainder(0.7)", "lib.einsum('ij,jk->ik', x, w)",
         "x.sort(1).values", "x.index_select(1, t)", "x.nansum()",
         "F.adaptive_avg_pool2d(x[None], (2, 3))", "F.adaptive_avg_pool2d(x[None], (3, 2))",
         "x.div(c, rounding_mode='floor')", "lib.fft.rfft(x).abs()", "lib.lerp(x, c, w[:3, :4])"]


def _twice(lib, code):
    lib.manual_seed(0)
    x = lib.randn(3, 4, requires_grad=True)
    w = lib.randn(4, 5, requires_grad=True)
    env = {"x": x, "w": w, "c": lib.randn(3, 4), "t": lib.tensor([0, 2, 1]),
           "F": lib.nn.functional, "lib": lib}
    s = eval(code, env).sum()
    s.backward()
    first = x.grad.clone()
    try:
        s.backward()
    except RuntimeError as err:
        return str(err), None
    return None, (x.grad - first).numpy()  # the second pass's gradient


@pytest.mark.parametrize("code", TWICE)
def test_second_backward_raises_where_torch_does(code):
    e_err, e_grad = _twice(ember, code)
    t_err, t_grad = _twice(torch, code)
    assert e_err == t_err  # both None, or the same message
    if t_grad is not None:
        np.testing.assert_allclose(e_grad, t_grad, rtol=1e-5, atol=1e-6)


def _function_twice(lib, save, read):
    class Twice(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            if save:
                ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            if read:
                _ = ctx.saved_tensors  # only the access matters
            return g * 2

    x = lib.ones(3, requires_grad=True)
    s = Twice.apply(x).sum()
    s.backward()
    try:
        s.backward()
    except RuntimeError as err:
        return str(err)
    return x.grad.tolist()


@pytest.mark.parametrize("save,read", [(False, False), (True, False), (True, True),
                                       (False, True)])
def test_second_backward_through_a_custom_function(save, read):
    # a Function's node raises only when its backward reads what was freed
    assert _function_twice(ember, save, read) == _function_twice(torch, save, read)


def test_retain_graph_still_allows_any_second_backward():
    x = ember.randn(3, requires_grad=True)
    s = (x.exp() * x[[0, 2, 1]]).sum()
    s.backward(retain_graph=True)
    g1 = x.grad.clone()
    s.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * g1.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        s.backward()


def test_a_node_that_saved_nothing_lets_its_inputs_go():
    # AddBackward0 holds no tensor in PyTorch; after backward ember's keeps only metadata,
    # so an intermediate the user dropped is not kept alive by a graph the user still holds
    x = ember.randn(1000, requires_grad=True)
    a = x + 1  # (x * 2 would not do: MulBackward0 saves the 2, and raises a second time)
    y = a + ember.randn(1000)
    y.sum().backward()
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is None
    y.sum().backward()  # and it still runs again, with the same gradient
    np.testing.assert_allclose(x.grad.numpy(), np.full(1000, 2.0))


def test_second_backward_through_broadcast_add_keeps_shapes():
    def run(lib):
        x = lib.ones(3, 1, requires_grad=True)
        b = lib.ones(4, requires_grad=True)
        s = (x + b).sum() + (x - b).sum()
        s.backward()
        s.backward()
        return x.grad.numpy(), b.grad.numpy()

    for e, t in zip(run(ember), run(torch)):
        np.testing.assert_array_equal(e, t)


# -- calling a node, sequence numbers, saved-field listing -------------------------------------

def _call_probe(lib):
    lib.manual_seed(0)
    out = []
    x = lib.randn(3, requires_grad=True)
    g = x.sin().grad_fn
    r = g(lib.ones(3))
    out.append((type(r).__name__, r.grad_fn is not None, r.detach().numpy().round(5).tolist()))
    for args in [(), (lib.ones(3), lib.ones(3))]:
        with pytest.raises(TypeError) as info:
            g(*args)
        out.append(str(info.value))
    r = (x * 2).grad_fn(lib.ones(3))
    out.append((type(r).__name__, len(r), r[1]))
    ran = []
    g.register_hook(lambda gi, go: ran.append("post"))
    g.register_prehook(lambda go: ran.append("pre"))
    g(lib.ones(3))
    out.append(ran)  # a direct call runs no hooks
    e = x.exp()
    e.sum().backward()
    with pytest.raises(RuntimeError) as info:
        e.grad_fn(lib.ones(3))
    out.append(str(info.value)[:60])
    acc = g.next_functions[0][0]
    before = x.grad.clone()
    out.append((acc(lib.ones(3)), (x.grad - before).tolist()))
    parts = x.split(1)
    out.append(parts[0].grad_fn(lib.ones(1), lib.ones(1), lib.ones(1)).tolist())
    out.append(g(None))
    with lib.no_grad():
        out.append(g(lib.ones(3)).requires_grad)
    out.append((acc._sequence_nr(), type(g._sequence_nr()).__name__,
                x.cos().grad_fn._sequence_nr() > g._sequence_nr()))
    return out


def test_calling_a_node_matches_torch():
    assert _call_probe(ember) == _call_probe(torch)


@pytest.mark.parametrize("code", ["x * x", "x.exp()", "x + 1", "x.pow(2)"])
def test_saved_fields_listed_by_dir(code):
    def listed(lib):
        x = lib.randn(3, requires_grad=True)
        node = eval(code, {"x": x}).grad_fn
        return {a for a in dir(node) if re.fullmatch(r"_(raw_)?saved_(self|other|result|"
                                                     r"exponent|alpha)", a)}

    assert listed(ember) == listed(torch)
