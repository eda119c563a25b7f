"""ember.compile's lowering to raw arrays (ember/_compile_lower.py): each lowered op kind gives
eager's values and gradients bit for bit, graphs with an op that has no lowering replay, and
returned tensors are fresh memory on every call."""

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn


def setup_function():
    ember.manual_seed(0)


def _entry(compiled):
    comp = compiled._compiler if hasattr(compiled, "_compiler") else compiled._ember_compiler
    entries = [e for e in comp.cache.values() if e != "eager"]
    assert len(entries) == 1
    return entries[0]


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def _every_op(x, y, w, b):
    """Each op kind the no-grad lowering covers, with broadcasting."""
    h = F.linear(x, w, b)                                   # linear, 3-D input
    h = h + y[0] - y[:, None, :1] * 0.5 / (h * h + 2)      # add/sub/mul/div, broadcast
    h = F.gelu(h) + F.silu(h) + h.tanh() + h.sigmoid() - (-h).exp() * 0.01
    h = F.layer_norm(h, (h.shape[-1],))
    s = h.matmul(h.transpose(1, 2)).softmax(-1) + F.log_softmax(h, -1).mean(-1, keepdim=True)
    q = h.view(h.shape[0], h.shape[1], 2, -1).permute(0, 2, 1, 3)
    att = F.scaled_dot_product_attention(q, q, q)
    out = att.transpose(1, 2).reshape(h.shape).unsqueeze(0).squeeze(0)
    return F.relu(out + F.dropout(out, 0.3, training=False)), s.sum(-1), -h[:, 1:, ::2]


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
@pytest.mark.parametrize("contiguous", [True, False])
def test_no_grad_lowering_equals_eager_for_each_op_kind(dtype, contiguous):
    x = ember.randn(3, 5, 8, dtype=dtype)
    if not contiguous:
        x = ember.randn(5, 3, 8, dtype=dtype).transpose(0, 1)
    y = ember.randn(3, 8, dtype=dtype)
    w, b = ember.randn(8, 8, dtype=dtype), ember.randn(8, dtype=dtype)
    compiled = ember.compile(_every_op)
    with ember.no_grad():
        expected = _every_op(x, y, w, b)
        compiled(x, y, w, b)
        for _ in range(2):
            got = compiled(x, y, w, b)
            for g, e in zip(got, expected):
                _same(g, e)
                assert not g.requires_grad and g.grad_fn is None
    assert _entry(compiled).inference  # the lowered function ran, not the replay
    assert "forward(" in _entry(compiled).inference.source


def test_no_grad_outputs_are_fresh_on_every_call():
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3)).eval()
    compiled = ember.compile(model)
    a, b = ember.randn(2, 4), ember.randn(2, 4)
    with ember.no_grad():
        compiled(a)
        first = compiled(a)
        kept = first.clone()
        second = compiled(b)
    _same(first, kept)  # the next call did not write into the returned tensor
    assert not np.shares_memory(first.numpy(), second.numpy())
    assert _entry(compiled).inference


def test_an_op_without_lowering_replays_the_whole_graph():
    def f(x):
        return F.relu(x).cumsum(0) * 2  # cumsum has no lowering

    compiled = ember.compile(f)
    x = ember.randn(5, 3)
    with ember.no_grad():
        compiled(x)
        _same(compiled(x), f(x))
    assert _entry(compiled).inference is False


def test_an_output_viewing_the_input_is_not_lowered():
    compiled = ember.compile(lambda x: x.view(-1))
    x = ember.randn(2, 3)
    with ember.no_grad():
        compiled(x)
        out = compiled(x)
    out[0] = 5.0
    assert x[0, 0].item() == 5.0  # a view of the input, as eager returns
    assert _entry(compiled).inference is False


class _Net(nn.Module):
    """Linear (2-D and 3-D input), relu, broadcast add and mul, reshape, permute, a value
    used twice, and a parameter used twice."""

    def __init__(self, dtype):
        super().__init__()
        self.a = nn.Linear(6, 8).to(dtype)
        self.b = nn.Linear(8, 8).to(dtype)
        self.scale = nn.Parameter(ember.randn(8, dtype=dtype))

    def forward(self, x):
        h = F.relu(self.a(x))                     # (n, 4, 8)
        h2 = self.b(h) * self.scale + h           # h feeds two ops
        h3 = self.b(h2.reshape(-1, 8)).reshape(h2.shape).permute(1, 0, 2)
        return (h3 * 0.5 + self.scale).relu(), h2


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
@pytest.mark.parametrize("input_grad", [False, True])
def test_training_lowering_gradients_equal_eager_bitwise(dtype, input_grad):
    net, twin = _Net(dtype), _Net(dtype)
    twin.load_state_dict(net.state_dict())
    compiled = ember.compile(net)
    for step in range(3):
        x = ember.randn(3, 4, 6, dtype=dtype, requires_grad=input_grad)
        x_eager = x.detach().clone().requires_grad_(input_grad)
        out, side = compiled(x)
        e_out, e_side = twin(x_eager)
        _same(out, e_out)
        _same(side, e_side)
        ((out * out).sum() + side.sum()).backward()
        ((e_out * e_out).sum() + e_side.sum()).backward()
        for p, q in zip(net.parameters(), twin.parameters()):
            _same(p.grad, q.grad)
        if input_grad:
            _same(x.grad, x_eager.grad)
        if step:
            assert out.grad_fn.name() == "CompiledFunctionBackward"
    assert _entry(compiled).training


def test_training_with_batch_one_outer_product_and_sgd_equals_eager():
    make = lambda: nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))  # noqa: E731
    ember.manual_seed(1)
    net = make()
    ember.manual_seed(1)
    twin = make()
    compiled = ember.compile(net)
    opts = [ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (net, twin)]
    for _ in range(4):
        x, y = ember.randn(1, 12), ember.randint(0, 3, (1,))
        for model, opt in zip((compiled, twin), opts):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        for p, q in zip(net.parameters(), twin.parameters()):
            _same(p, q)
    assert _entry(compiled).training


def test_training_falls_back_for_an_op_without_a_backward_lowering():
    net = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    compiled = ember.compile(net)
    x = ember.randn(2, 4)
    compiled(x)
    out = compiled(x)
    assert out.grad_fn.name() != "CompiledFunctionBackward"
    assert _entry(compiled).training is False


def test_frozen_parameters_get_no_gradient():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    compiled = ember.compile(net)
    x = ember.randn(3, 4)
    compiled(x)
    net[0].weight.requires_grad_(False)
    compiled(x).sum().backward()
    assert net[0].weight.grad is None and net[0].bias.grad is not None
    for p in net.parameters():
        p.requires_grad_(False)
    out = compiled(x)
    assert not out.requires_grad and out.grad_fn is None


def test_changing_a_saved_parameter_before_backward_raises_as_eager():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    compiled = ember.compile(net)
    x = ember.randn(3, 4)
    compiled(x)
    for model in (net, compiled):
        loss = model(x).sum()
        with ember.no_grad():
            net[2].weight.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


def test_changing_a_saved_output_in_place_raises_as_eager():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    compiled = ember.compile(net)
    x = ember.randn(3, 4)
    compiled(x)
    for model in (net, compiled):
        out = model(x)
        out.mul_(2)  # relu's backward reads its output
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


def test_second_backward_without_retain_graph_raises():
    compiled = ember.compile(nn.Linear(3, 2))
    x = ember.randn(2, 3)
    compiled(x)
    loss = compiled(x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_create_graph_differentiates_the_graph_again():
    net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1))
    compiled = ember.compile(net)
    x = ember.randn(4, 3, requires_grad=True)
    compiled(x)
    results = []
    for model in (compiled, net):
        (gx,) = ember.autograd.grad(model(x).sum(), x, create_graph=True)
        (gx * gx).sum().backward()
        results.append((gx.detach().clone(), net[0].weight.grad.clone()))
        net.zero_grad()
        x.grad = None
    _same(results[0][0], results[1][0])
    _same(results[0][1], results[1][1])


class _SharedInput(nn.Module):
    """Three linears reading one (possibly non-contiguous, 3-D) value, their weights row
    slices of one parameter (self-attention's q, k, v from ``in_proj_weight``)."""

    def __init__(self, dtype, attention=True):
        super().__init__()
        self.w = nn.Parameter(ember.randn(12, 4, dtype=dtype))
        self.b = nn.Parameter(ember.randn(12, dtype=dtype))
        self.attention = attention
        self.qkv = nn.ModuleList(nn.Linear(4, 4).to(dtype) for _ in range(3))

    def forward(self, x):
        t = x.transpose(0, 1)  # (5, 3, 4), not contiguous: each linear's 2-D form copies
        if not self.attention:  # only ops the training lowering covers (no weight slices)
            q, k, v = (linear(t) for linear in self.qkv)
            return F.relu(q) * k + v.permute(1, 0, 2).reshape(5, 3, 4)
        q, k, v = (F.linear(t, self.w[4 * j:4 * j + 4], self.b[4 * j:4 * j + 4])
                   for j in range(3))
        return F.relu(q.transpose(0, 1).matmul(k.permute(1, 2, 0))).matmul(v.transpose(0, 1))


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_linears_sharing_an_input_copy_it_once_and_equal_eager(dtype):
    net = _SharedInput(dtype)
    compiled = ember.compile(net)
    x = ember.randn(3, 5, 4, dtype=dtype)
    with ember.no_grad():
        expected = net(x)
        compiled(x)
        got = compiled(x)
    _same(got, expected)
    source = _entry(compiled).inference.source
    assert source.count(".reshape(-1, 4)") == 1  # one 2-D copy serves the three GEMMs
    assert ".forward" not in source and "relu(" in source and "matmul(" in source


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_linears_sharing_an_input_train_bitwise_as_eager(dtype):
    net, twin = _SharedInput(dtype, attention=False), _SharedInput(dtype, attention=False)
    twin.load_state_dict(net.state_dict())
    compiled = ember.compile(net)
    for _ in range(3):
        x = ember.randn(3, 5, 4, dtype=dtype, requires_grad=True)
        x_eager = x.detach().clone().requires_grad_()
        out, e_out = compiled(x), twin(x_eager)
        _same(out, e_out)
        (out * out).sum().backward()
        (e_out * e_out).sum().backward()
        _same(x.grad, x_eager.grad)
        for p, q in zip(net.qkv.parameters(), twin.qkv.parameters()):
            _same(p.grad, q.grad)
        assert net.w.grad is None and twin.w.grad is None  # unused here, as in eager
    lowered = _entry(compiled).training
    assert lowered and lowered.forward.source.count(".reshape(-1, 4)") == 1


def test_transformer_encoder_inference_equals_eager_and_outputs_are_independent():
    layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0, batch_first=True)
    model = nn.TransformerEncoder(layer, 2).eval()
    compiled = ember.compile(model)
    a, b = ember.randn(3, 7, 16), ember.randn(3, 7, 16)
    with ember.no_grad():
        compiled(a)
        first = compiled(a)
        kept = first.clone()
        second = compiled(b)
        _same(first, kept)  # the second call wrote no memory the first output holds
        _same(second, model(b))
        _same(first, model(a))
        assert not np.shares_memory(first.numpy(), second.numpy())
    assert _entry(compiled).inference


def test_compiled_linear_backward_lifts_subnormal_gradients_as_eager_does():
    """eager's Linear.backward scales a gradient holding subnormals by a power of two before
    its GEMMs; the lowered backward must do the same, or compiled and eager gradients differ
    in the columns whose gradient is all subnormal."""
    from ember._ops.nn.linear_softmax import _subnormal_lift

    rng = np.random.default_rng(0)
    net, twin = nn.Linear(640, 64), nn.Linear(640, 64)
    twin.load_state_dict(net.state_dict())
    compiled = ember.compile(net)
    g = (rng.standard_normal((256, 64)) * 1e-3).astype(np.float32)
    g[:, :8] = (rng.random((256, 8)) * np.finfo(np.float32).tiny).astype(np.float32)
    x = rng.standard_normal((256, 640)).astype(np.float32)
    assert _subnormal_lift(g, (net.weight.detach().numpy(), x), 256) is not None
    xc, xe = ember.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    compiled(ember.tensor(x, requires_grad=True))  # the first call captures; later ones lower
    compiled(xc).backward(ember.tensor(g))
    twin(xe).backward(ember.tensor(g))
    assert _entry(compiled).training  # the lowered backward ran
    _same(xc.grad, xe.grad)
    _same(net.weight.grad, twin.weight.grad)
    _same(net.bias.grad, twin.bias.grad)
