"""``grad_fn`` names as ``repr`` prints them, against torch's, for common expressions.

ember prints ``grad_fn=<{node.name()}>``; torch prints its node class name. Where the op lives
in a module still being optimised elsewhere (nn ops, conv, pooling, norms, losses), the
difference is listed in ``NAME_GAPS`` and expected to fail until that node is renamed.
"""

import warnings

import numpy as np
import pytest

import ember

EXPRS = [
    # matmul family: torch names the node after the kernel matmul dispatches to
    "x2 @ w", "x1 @ x1", "x2 @ x1", "x1 @ w", "x3 @ w", "x3 @ x3.transpose(1, 2)", "x2 @ x3.mT",
    "L.mm(x2, w)", "L.bmm(x3, x3.transpose(1, 2))", "L.mv(x2, x1)", "L.dot(x1, x1)",
    "L.addmm(x1[:2], x2, w)",
    # views and shape ops
    "x2.reshape(3, 2)", "x2.reshape(-1)", "x2.t().reshape(-1)", "x2.view(3, 2)", "x2.view(-1)",
    "x2.t()", "x1.t()", "x2.transpose(0, 1)", "x2.mT", "x2.T", "x3.permute(2, 0, 1)",
    "x3.movedim(0, 2)", "x2.swapaxes(0, 1)", "x1.unsqueeze(0)", "x21.squeeze()", "x21.squeeze(1)",
    "x21.squeeze(-1)", "x21.squeeze((0, 1))", "x21.expand(2, 4)", "x2.expand_as(x2)",
    "x2.flatten()", "x3.flatten(1)", "x2.unflatten(1, (3, 1))", "x2.view_as(x2)",
    "x2.reshape_as(x2)", "x2.t().contiguous()", "x2.clone()",
    "x2.narrow(1, 0, 2)", "x2.select(0, 1)", "x2.unbind(0)[0]", "x2.unbind(1)[2]",
    "x2.split(1)[0]", "x2.split(2, 1)[1]", "x2.split([1, 2], 1)[0]", "x2.chunk(2, 1)[0]",
    "x2.diagonal()", "x2.flip(0)", "x2.roll(1)", "x2.tril()", "x2.triu(1)", "x2.repeat(2, 1)",
    "x2.tile(2)", "x2.unfold(1, 2, 1)", "L.cat([x2, x2])", "L.hstack([x2, x2])",
    "L.stack([x2, x2])", "F.pad(x2, (1, 1))",
    # dtype moves
    "x2.to(L.float64)", "x2.double()", "x2.half()",
    # indexing
    "x2[0]", "x2[1:3]", "x2[:, 1]", "x2[0, 1]", "x2[..., None]", "x2[None]", "x2[:]",
    "x2[1:, 0]", "x2[::2]", "x2[L.tensor([0, 1])]", "x2[x2 > 0]", "x2[[0, 1]]",
    "x2.gather(1, L.tensor([[0], [1]]))", "x2.index_select(0, L.tensor([0]))",
    "x2.masked_select(x2 > 0)", "x2.take(L.tensor([0]))", "x2.masked_fill(x2 > 0, 0)",
    "x2.sort()[0]", "x2.topk(2)[0]", "x2.kthvalue(2)[0]",
    # reductions
    "x2.sum()", "x2.sum(0)", "x2.sum(dim=1, keepdim=True)", "x2.sum((0, 1))", "x2.mean()",
    "x2.mean(1)", "x2.max()", "x2.max(1)[0]", "x2.amax(1)", "x2.min()", "x2.prod()",
    "x2.var()", "x2.std()", "x2.norm()", "x2.logsumexp(1)", "x2.cumsum(0)",
    # elementwise
    "x2.pow(2)", "x2 ** 2", "x2.pow(0.5)", "x2 ** x2", "x2 / 2", "x2 / x2", "x2 * 2", "x2 * x2",
    "x2 + 1", "x2 + x2", "x2 - 1", "1 - x2", "x2 - x2", "-x2", "x2.exp()", "x2.log()", "x2.abs()",
    "x2.sqrt()", "x2.sin()", "x2.tanh()", "x2.sigmoid()", "x2.relu()", "x2.clamp(0, 1)",
    "x2.clamp(min=0)", "x2.clamp_min(0)", "x2.clamp_max(0)", "x2.clamp(L.zeros(3))",
    "x2.maximum(x2)", "L.where(x2 > 0, x2, 0.)", "x2.square()",
    "x2.round()", "x2.round(decimals=0)", "x2.round(decimals=2)", "L.round(x2, decimals=-1)",
    # in-place writes
    "(x2 * 1).copy_(w.t())", "(x2 * 1).fill_(1.)", "(x2 * 1).zero_()", "(x2 * 1).add_(1)",
    # nn
    "F.linear(x2, w.t(), x1[:2])", "F.relu(x2)", "F.softmax(x2, 1)", "F.log_softmax(x2, 1)",
    "F.cross_entropy(x2, L.tensor([0, 1]))", "F.nll_loss(x2, L.tensor([0, 1]))",
    "F.tanh(x2)", "F.sigmoid(x2)", "F.silu(x2)", "F.embedding(L.tensor([0, 1]), w)",
    "F.dropout(x2, 0.5)", "F.l1_loss(x2, x2.detach())", "F.normalize(x2)", "F.elu(x2)",
    "F.softplus(x2)", "2 ** x2", "F.mse_loss(x2, x2.detach())",
    "F.binary_cross_entropy(x2.sigmoid(), x2.detach().sigmoid())",
    "F.binary_cross_entropy_with_logits(x2, x2.detach())", "F.smooth_l1_loss(x2, x2.detach())",
    "F.mse_loss(x2, x2.detach(), reduction='none')", "F.huber_loss(x2, x2.detach())",
    "F.soft_margin_loss(x2, x2.detach())", "F.batch_norm(img, None, None, training=True)",
    "F.layer_norm(x2, (3,))", "F.group_norm(img, 1)", "F.linear(x2, w.t())",
    "F.interpolate(img, scale_factor=2)",
    "F.interpolate(img, scale_factor=2, mode='bilinear', align_corners=False)",
    "F.interpolate(img, size=(5, 7), mode='nearest-exact')",
    "F.gelu(x2)", "F.leaky_relu(x2)", "F.rrelu(x2)", "F.rrelu(x2, training=True)",
    "F.rrelu(x2 * 1, inplace=True)", "L.rrelu(x2)", "L.nn.RReLU()(x2)", "F.hardtanh(x2)", "F.relu6(x2)", "F.conv2d(img, k)",
    "F.max_pool2d(img, 2)", "F.avg_pool2d(img, 2)", "F.adaptive_avg_pool2d(img, 2)",
    "F.conv1d(img[:, :, 0], k[:, :, 0])", "F.max_pool1d(img[:, :, 0], 2)", "F.adaptive_max_pool2d(img, 2)",
    "F.conv_transpose2d(img, k.transpose(0, 1))", "F.adaptive_avg_pool2d(img, 1)",
    "F.adaptive_avg_pool3d(img, (1, 2, 3))", "F.adaptive_avg_pool3d(img, 1)",
    "F.adaptive_max_pool3d(img, (1, 3, 2))", "F.max_pool2d_with_indices(img, 2)[0]",
    # activations of one piecewise-linear op, in place or not
    "F.threshold(x2, 0.1, 2.)", "F.threshold(x2 * 1, 0.1, 2., inplace=True)",
    "F.threshold_(x2 * 1, 0.1, 2.)", "F.hardshrink(x2)", "F.softshrink(x2)", "F.hardsigmoid(x2)",
    "F.hardsigmoid(x2 * 1, inplace=True)", "x2.hardshrink()", "F.celu(x2)",
    "F.celu(x2 * 1, inplace=True)", "F.elu(x2 * 1, inplace=True)", "F.selu(x2 * 1, inplace=True)",
    "F.elu_(x2 * 1)",
]

# Nodes still named differently; the ops live in files being optimised by others.
NAME_GAPS: list = []


def _env(L):
    rng = np.random.default_rng(0)

    def t(*shape):
        return L.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)

    return dict(L=L, F=L.nn.functional, nn=L.nn, x1=t(3), x2=t(2, 3), x3=t(2, 2, 3), w=t(3, 2),
                x21=t(2, 1), img=t(1, 2, 4, 4), k=t(3, 2, 3, 3), y2=t(2, 3))


def _printed_name(lib, expr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = eval(expr, _env(lib))
    text = repr(out)
    start = text.find("grad_fn=<")
    return text[start + 9:text.index(">", start)] if start >= 0 else None


def test_lists_are_disjoint():
    assert not set(EXPRS) & set(NAME_GAPS) and len(set(EXPRS)) == len(EXPRS)


@pytest.mark.parametrize("expr", EXPRS)
def test_grad_fn_name_matches_torch(torch, expr):
    expected = _printed_name(torch, expr)
    assert expected is not None
    assert _printed_name(ember, expr) == expected


@pytest.mark.parametrize("expr", NAME_GAPS)
def test_grad_fn_name_gaps(torch, expr):
    if _printed_name(ember, expr) != _printed_name(torch, expr):
        pytest.xfail("node not yet named as torch names it")


# The whole graph down to the leaves, as a user walking ``grad_fn.next_functions`` sees it
# (torchviz-style drawings): ops PyTorch records as one node are one ember node too.
CHAIN_EXPRS = [
    "F.mse_loss(x2, w.t())", "F.mse_loss(x2, w.t(), reduction='sum')",
    "F.mse_loss(x2, w.t(), reduction='none')", "F.mse_loss(x2, x2.detach() * 0.5)",
    "F.huber_loss(x2, w.t(), delta=0.5)", "F.huber_loss(x2, w.t(), reduction='none')",
    "F.smooth_l1_loss(x2, w.t(), beta=0.5)", "F.smooth_l1_loss(x2, w.t(), reduction='sum')",
    "F.l1_loss(x2, w.t())", "F.l1_loss(x2, w.t(), reduction='none')", "F.softsign(x2)",
    "F.binary_cross_entropy_with_logits(x2, w.t().sigmoid())",
    "F.binary_cross_entropy_with_logits(x2, w.t().detach().sigmoid(), reduction='sum')",
    "F.binary_cross_entropy_with_logits(x2, w.t().sigmoid(), pos_weight=x1.detach().exp())",
    "F.binary_cross_entropy_with_logits(x2, w.t().sigmoid(), x2.detach().abs(), "
    "reduction='none')",
    "nn.MSELoss()(x2, w.t())", "nn.BCEWithLogitsLoss()(x2, w.t().detach().sigmoid())",
    "nn.SmoothL1Loss()(x2, w.t())", "nn.HuberLoss()(x2, w.t())", "nn.L1Loss()(x2, w.t())",
    "F.threshold(x2, 0.1, 2.)", "F.hardshrink(x2)", "F.softshrink(x2)", "x2.hardshrink()",
    "F.binary_cross_entropy(x2.sigmoid(), y2.sigmoid())",
    "F.binary_cross_entropy(x2.sigmoid(), y2.detach().sigmoid(), reduction='sum')",
    "F.binary_cross_entropy(x2.sigmoid(), y2.sigmoid(), x1.detach().exp())",
    "F.binary_cross_entropy(x2.sigmoid(), y2.sigmoid(), x2.detach().exp(), reduction='none')",
    "nn.BCELoss()(x2.sigmoid(), y2.detach().sigmoid())",
    "F.soft_margin_loss(x2, w.t().detach())", "F.soft_margin_loss(x2, y2.detach(), reduction='none')",
    "nn.SoftMarginLoss(reduction='sum')(x2, y2.detach().sign())",
]

# The graph of a first gradient taken with create_graph=True (gradient penalties, Hessians):
# PyTorch's derivative nodes (TanhBackwardBackward0, MseLossBackwardBackward0 ...).
SECOND_ORDER_EXPRS = [
    "x2.tanh()", "L.tanh(x2)", "F.tanh(x2)", "F.sigmoid(x2)", "x2.relu()", "F.relu(x2)",
    "F.leaky_relu(x2, 0.2)", "F.hardtanh(x2, -0.5, 0.5)", "F.relu6(x2 * 4)",
    "F.threshold(x2, 0.1, 2.)", "F.hardshrink(x2, 0.3)", "F.softshrink(x2, 0.3)",
    "x2.hardshrink(0.3)", "F.mse_loss(x2, y2)", "F.mse_loss(x2, y2, reduction='none')",
    "F.mse_loss(x2, y2, reduction='sum')", "F.huber_loss(x2, y2, delta=0.5)",
    "F.smooth_l1_loss(x2, y2, beta=0.5)", "F.smooth_l1_loss(x2, y2, reduction='none')",
    "F.huber_loss(x2, y2.detach(), reduction='sum')", "(x2 * 2).tanh().sum()",
    "F.mse_loss((x2 * 3).relu(), y2)", "F.mse_loss(x2.sigmoid(), y2.tanh())",
    "F.softmax(x2, 1)", "x2.softmax(0)", "F.log_softmax(x2, 1)", "x2.log_softmax(0)",
    "F.softmax(x2 * 2, -1) * y2",
]

# Composite graphs still drawn differently from torch's (one fused node where torch has two,
# or torch's decomposition into views and batched products).
CHAIN_GAPS = [
    "F.cross_entropy(x2, L.tensor([0, 1]))",  # torch: NllLossBackward0 -> LogSoftmaxBackward0
    "L.einsum('ij,jk->ik', x2, w)",  # torch: ViewBackward0 -> BmmBackward0 -> ...
    "F.normalize(x2)",  # torch: DivBackward0 -> ExpandBackward0 -> ClampMinBackward0 -> ...
    "F.gelu(x2, approximate='tanh')",  # torch: one GeluBackward0
]
SECOND_ORDER_GAPS = [
    "F.layer_norm(x2, (3,))",  # torch: NativeLayerNormBackwardBackward0
    "F.cross_entropy(x2, L.tensor([0, 1]))",  # torch: LogSoftmaxBackwardDataBackward0
]


def _graph_names(fn) -> list:
    """Node class names of the graph below ``fn``, depth first in next_functions order."""
    out, stack, seen = [], [fn], set()
    while stack:
        node = stack.pop()
        if node is None:
            out.append(None)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        out.append(type(node).__name__)
        stack.extend(f for f, _ in reversed(tuple(node.next_functions)))
    return out


def _chain(lib, expr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = eval(expr, _env(lib))
    return _graph_names(out.grad_fn)


def _second_order(lib, expr):
    """The graphs of d(out)/d(leaf) for every leaf the expression uses, built with
    create_graph=True, and their values."""
    env = _env(lib)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = eval(expr, env)
    leaves = [env[n] for n in ("x1", "x2", "w", "y2")]
    grads = lib.autograd.grad(out, leaves, lib.ones_like(out), create_graph=True,
                              allow_unused=True)
    return ([None if g is None or g.grad_fn is None else _graph_names(g.grad_fn)
             for g in grads], [None if g is None else g.detach().numpy() for g in grads])


def test_graph_lists_are_disjoint():
    assert not set(CHAIN_EXPRS) & set(CHAIN_GAPS)
    assert not set(SECOND_ORDER_EXPRS) & set(SECOND_ORDER_GAPS)


@pytest.mark.parametrize("expr", CHAIN_EXPRS)
def test_graph_names_match_torch(torch, expr):
    assert _chain(ember, expr) == _chain(torch, expr)


@pytest.mark.parametrize("expr", CHAIN_GAPS)
def test_graph_name_gaps(torch, expr):
    if _chain(ember, expr) != _chain(torch, expr):
        pytest.xfail("graph not yet drawn as torch's")


@pytest.mark.parametrize("expr", SECOND_ORDER_EXPRS)
def test_second_order_graph_names_match_torch(torch, expr):
    (e_names, e_vals), (t_names, t_vals) = _second_order(ember, expr), _second_order(torch, expr)
    assert e_names == t_names
    for e, t in zip(e_vals, t_vals):
        assert (e is None) == (t is None)
        if e is not None:
            np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("expr", SECOND_ORDER_GAPS)
def test_second_order_graph_name_gaps(torch, expr):
    if _second_order(ember, expr)[0] != _second_order(torch, expr)[0]:
        pytest.xfail("derivative graph not yet drawn as torch's")


@pytest.mark.parametrize("expr", ["F.mse_loss(x2, w.t())", "F.huber_loss(x2, w.t(), delta=0.5)",
                                  "F.smooth_l1_loss(x2, w.t(), beta=0.5)", "F.relu(x2)",
                                  "x2.tanh()", "F.tanh(x2)",
                                  "F.binary_cross_entropy_with_logits(x2, w.t().sigmoid(), "
                                  "pos_weight=x1.detach().exp())"])
def test_one_node_ops_third_order_values(torch, expr):
    """The new derivative nodes are differentiable again: third-order values as torch's."""
    vals = []
    for L in (torch, ember):
        env = _env(L)
        out = eval(expr, env)
        x2, w = env["x2"], env["w"]
        g = L.autograd.grad(out.sum(), (x2, w), create_graph=True, allow_unused=True)
        s = sum((a * a * a).sum() for a in g if a is not None)
        h = L.autograd.grad(s, (x2, w), create_graph=True, allow_unused=True)
        s2 = sum((a * a).sum() for a in h if a is not None)
        third = L.autograd.grad(s2, (x2, w), allow_unused=True)
        vals.append([None if a is None else a.detach().numpy() for a in (*h, *third)])
    for e, t in zip(*vals):
        if e is None or t is None:  # a zero derivative: undefined in one, zeros in the other
            assert all(v is None or not v.any() for v in (e, t))
            continue
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-5)


def test_renamed_nodes_keep_their_gradients(torch):
    """Renaming must not change what flows back: a few of the renamed paths against torch."""
    exprs = ["(x3 @ w).sum() + (x1 @ x1) + x2.t()[0].sum() + x21.squeeze(1).sum()",
             "(x2[1:, 0] * 3).sum() + x2.clamp(0, 1).sum() + (1 - x2).pow(2).sum()",
             "sum(p.sum() * (i + 1) for i, p in enumerate(x2.split(1, 1)))"]
    for expr in exprs:
        grads = []
        for L in (ember, torch):
            env = _env(L)
            out = eval(expr, env)
            out.backward()
            grads.append([env[n].grad for n in ("x1", "x2", "x3", "w", "x21")])
        for e, t in zip(*grads):
            assert (e is None) == (t is None)
            if e is not None:
                np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)
