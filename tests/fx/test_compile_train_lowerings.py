"""ember.compile of a whole training step (issue 14): the random and multi-output ops that
get a training lowering (the feature and alpha dropouts, attention with dropout, max pooling
with its indices and unpooling), a final short batch of an epoch, and the leaves' autograd
nodes kept between steps. The compiled runs equal eager ember's bit for bit (the same
generator stream); the non-random parts are checked against PyTorch too."""

import warnings

import numpy as np
import pytest

import ember
from ember.autograd.graph import AccumulateGrad

torch = pytest.importorskip("torch")


def _unbatched_dropout3d(F, h):
    return F.dropout3d(h.reshape(h.shape[0], 2, 2, 4), 0.3).reshape(h.shape[0], 16)


def _attention(F, h, causal):
    q = h.reshape(h.shape[0], 2, 2, 4)
    out = F.scaled_dot_product_attention(q, q, q, dropout_p=0.3, is_causal=causal)
    return out.reshape(h.shape[0], 16)


def _unpool(F, h):
    pooled, indices = F.max_pool2d(h.reshape(h.shape[0], 1, 4, 4), 2, return_indices=True)
    return F.max_unpool2d(pooled, indices, 2).reshape(h.shape[0], 16) + h


# the op between two linears, on the hidden (batch, 16) values (the same code on both libraries)
BODIES = {
    "dropout": lambda F, h: F.dropout(h, 0.3),
    "dropout1d": lambda F, h: F.dropout1d(h.reshape(h.shape[0], 4, 4), 0.3).reshape(-1, 16),
    "dropout1d-unbatched": lambda F, h: F.dropout1d(h, 0.3),
    "dropout2d": lambda F, h: F.dropout2d(h.reshape(h.shape[0], 4, 2, 2), 0.3).reshape(-1, 16),
    "dropout3d": lambda F, h: F.dropout3d(h.reshape(h.shape[0], 2, 2, 2, 2), 0.3)
    .reshape(-1, 16),
    "dropout3d-unbatched": _unbatched_dropout3d,
    "alpha_dropout": lambda F, h: F.alpha_dropout(h, 0.3, True),
    "feature_alpha_dropout": lambda F, h: F.feature_alpha_dropout(
        h.reshape(h.shape[0], 4, 2, 2), 0.3, True).reshape(-1, 16),
    "alpha_dropout-eval-by-default": lambda F, h: F.alpha_dropout(h, 0.3),
    "sdpa-dropout": lambda F, h: _attention(F, h, False),
    "sdpa-dropout-causal": lambda F, h: _attention(F, h, True),
    "max_pool-indices-unpool": _unpool,
}
# bodies whose random numbers PyTorch draws alike (alpha dropout's mask arithmetic differs in
# the last bits; PyTorch's attention dropout draws in another order)
MATCH_TORCH = ("dropout", "dropout1d", "dropout1d-unbatched", "dropout2d", "dropout3d",
               "dropout3d-unbatched", "alpha_dropout-eval-by-default", "max_pool-indices-unpool")


def _data(steps, sizes=(3,)):
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((b, 12)).astype(np.float32),
             rng.integers(0, 5, b).astype(np.int64)) for _ in range(steps) for b in sizes]


def _train(lib, body, compiled, batches, weights=None):
    """Losses and parameters after SGD-with-momentum steps of linear -> body -> linear."""
    F = lib.nn.functional
    lib.manual_seed(0)
    l1, l2 = lib.nn.Linear(12, 16), lib.nn.Linear(16, 5)
    params = list(l1.parameters()) + list(l2.parameters())
    if weights is not None:
        with lib.no_grad():
            for p, w in zip(params, weights):
                p.copy_(lib.from_numpy(w.copy()))
    opt = lib.optim.SGD(params, lr=0.1, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(l2(body(F, l1(x))), y)
        loss.backward()
        opt.step()
        return loss

    fn = lib.compile(step, fullgraph=True) if compiled else step
    losses = [fn(lib.from_numpy(x), lib.from_numpy(y)).item() for x, y in batches]
    return losses, [p.detach().numpy().copy() for p in params], fn


@pytest.mark.parametrize("name", list(BODIES))
def test_train_step_lowers_the_op_and_equals_eager_bit_for_bit(name):
    from ember._compile_train import _StepEntry

    body = BODIES[name]
    batches = _data(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no graph break: the step compiled whole
        got, params, fn = _train(ember, body, True, batches)
    entries = list(fn._ember_compiler.cache.values())
    assert len(entries) == 1 and type(entries[0]) is _StepEntry  # not run eagerly
    want, eager_params, _ = _train(ember, body, False, batches)
    assert got == want
    for a, b in zip(params, eager_params):
        np.testing.assert_array_equal(a, b)
    if name in MATCH_TORCH:
        start = _train(ember, body, False, [])[1]
        t_losses, t_params, _ = _train(torch, body, False, batches, weights=start)
        np.testing.assert_allclose(got, t_losses, rtol=1e-5, atol=1e-6)
        for a, b in zip(params, t_params):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_compiled_max_pool_with_indices_trains_through_the_lowered_node():
    """A compiled module returning max pooling's output and indices: the output's gradient
    through the one compiled node, the indices as eager's and PyTorch's."""
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 6)).astype(np.float32)
    results = []
    for lib, compiled in ((ember, True), (ember, False), (torch, False)):
        pool = lib.nn.MaxPool2d(2, return_indices=True)
        run = lib.compile(pool) if compiled else pool
        for _ in range(2):  # the second call runs the lowered graph
            inp = lib.from_numpy(x.copy()).requires_grad_()
            out, idx = run(inp)
            (out * out).sum().backward()
        if compiled:
            assert type(out.grad_fn).__name__ == "CompiledFunctionBackward"
        results.append((out.detach().numpy(), idx.numpy(), inp.grad.numpy()))
    for got in results[1:]:
        for a, b in zip(results[0], got):
            np.testing.assert_array_equal(a, b)


def _scores(lib):
    class Scores(lib.nn.Module):
        """matmul (matrix-matrix and matrix-vector) and softmax, as attention's composite."""

        def __init__(self):
            super().__init__()
            self.w = lib.nn.Parameter(lib.linspace(-1.0, 1.0, 6))
            self.W = lib.nn.Parameter(lib.linspace(-0.5, 0.7, 36).reshape(6, 6))

        def forward(self, x):
            return (x @ self.W).softmax(-1) @ self.w, (x @ self.W @ self.W.T).softmax(0)

    return Scores()


def test_compiled_matmul_and_softmax_train_through_the_lowered_node():
    x = np.random.default_rng(2).standard_normal((4, 6)).astype(np.float32)
    results = []
    for lib, compiled in ((ember, True), (ember, False), (torch, False)):
        model = _scores(lib)
        run = lib.compile(model) if compiled else model
        for _ in range(2):  # the second call runs the lowered graph
            inp = lib.from_numpy(x.copy()).requires_grad_()
            a, b = run(inp)
            (a.sum() + (b * b).sum()).backward()
        if compiled:
            assert type(a.grad_fn).__name__ == "CompiledFunctionBackward"
        results.append([t.detach().numpy().copy() for t in (a, b, inp.grad, model.w.grad,
                                                             model.W.grad)])
    for a, b in zip(results[0], results[1]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(results[0], results[2]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _loader_run(compiled, dynamic=None, epochs=3):
    """Training with a DataLoader whose last batch is short (10 samples, batches of 4)."""
    import ember._compile_train as train
    from ember.utils.data import DataLoader, TensorDataset

    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(12, 16), ember.nn.ReLU(), ember.nn.Dropout(0.2),
                                ember.nn.Linear(16, 5))
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    data = TensorDataset(ember.from_numpy(rng.standard_normal((10, 12)).astype(np.float32)),
                         ember.from_numpy(rng.integers(0, 5, 10).astype(np.int64)))
    loader = DataLoader(data, batch_size=4, shuffle=True, drop_last=False)

    def step(x, y):
        opt.zero_grad()
        loss = ember.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    fn = ember.compile(step, fullgraph=True, dynamic=dynamic) if compiled else step
    captures = []
    original = train.compile_step

    def counting(*args, **kwargs):
        captures.append(args[1])
        return original(*args, **kwargs)

    train.compile_step = counting
    try:
        losses = [fn(x, y).item() for _ in range(epochs) for x, y in loader]
    finally:
        train.compile_step = original
    return losses, [p.detach().numpy().copy() for p in model.parameters()], len(captures)


@pytest.mark.parametrize("dynamic, captured", [(None, 2), (True, 1)])
def test_short_last_batch_is_captured_at_most_once_and_replayed_every_epoch(dynamic, captured):
    """drop_last=False: by default the step is captured at its first two batch sizes (4, then
    the final 2; the two graphs give the symbolic one later sizes are made from); with
    ``dynamic=True`` once. Later epochs capture nothing; every step equals eager's."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, params, captures = _loader_run(True, dynamic)
    want, eager_params, _ = _loader_run(False)
    assert captures == captured
    assert got == want
    for a, b in zip(params, eager_params):
        np.testing.assert_array_equal(a, b)


def test_parameters_keep_their_accumulate_grad_nodes_between_compiled_steps():
    """A leaf holds its AccumulateGrad node weakly; the compiled step keeps its parameters'
    nodes, so each step's graph reuses them instead of making new ones (an eager step
    rebuilds them once the previous loss is gone)."""
    made = []
    original = AccumulateGrad.__init__

    def counting(self, variable):
        made.append(variable)
        original(self, variable)

    batches = _data(6)
    AccumulateGrad.__init__ = counting
    try:
        losses, _, fn = _train(ember, BODIES["dropout"], True, batches[:3])
        made.clear()
        more = [fn(ember.from_numpy(x), ember.from_numpy(y)).item() for x, y in batches[3:]]
    finally:
        AccumulateGrad.__init__ = original
    assert made == []
    # and the numbers stay eager's
    want, _, _ = _train(ember, BODIES["dropout"], False, batches)
    assert losses + more == want


def _cnn_run(compiled, dynamic, sizes):
    """A CNN step (convolution, batch norm, max pooling, channel dropout, Adam) over batches
    of the given sizes: losses, parameters and buffers, and how many steps were captured."""
    import ember._compile_train as train

    nn, F = ember.nn, ember.nn.functional
    ember.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Dropout2d(0.2), nn.Flatten(), nn.Linear(36, 5))
    opt = ember.optim.Adam(model.parameters(), lr=0.01)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    fn = ember.compile(step, fullgraph=True, dynamic=dynamic) if compiled else step
    rng = np.random.default_rng(0)
    captures = []
    original = train.compile_step
    train.compile_step = lambda *a, **k: captures.append(a[1]) or original(*a, **k)
    try:
        losses = [fn(ember.from_numpy(rng.standard_normal((b, 3, 6, 6)).astype(np.float32)),
                     ember.from_numpy(rng.integers(0, 5, b))).item() for b in sizes]
    finally:
        train.compile_step = original
    state = [t.detach().numpy().copy() for t in list(model.parameters()) +
             list(model.buffers())]
    return losses, state, len(captures), fn


@pytest.mark.parametrize("dynamic, captured", [(None, 2), (True, 1)])
def test_a_step_with_many_batch_sizes_is_specialized_not_captured_again(dynamic, captured):
    """More batch sizes than recompile_limit (8): the graph captured once (twice with
    ``dynamic=None``) is made again for each new size without running the function, each
    lowered whole; batch norm's statistics, dropout's masks and every number equal eager's."""
    from ember._compile_train import _StepEntry

    sizes = [4, 4, 2, 3, 1, 5, 7, 9, 6, 8, 10, 11, 2, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, state, captures, fn = _cnn_run(True, dynamic, sizes)
    want, eager_state, _, _ = _cnn_run(False, dynamic, sizes)
    assert captures == captured
    entries = list(fn._ember_compiler.cache.values())
    assert len(entries) == len(set(sizes)) and all(type(e) is _StepEntry for e in entries)
    assert got == want
    for a, b in zip(state, eager_state):
        np.testing.assert_array_equal(a, b)


def test_dynamic_module_runs_lowered_at_every_batch_size():
    """``dynamic=True``: the module's one symbolic graph is made static per batch size, so
    calls with gradients run through the one compiled node and calls without run the lowered
    forward, at every size; values and gradients equal eager's and PyTorch's."""
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((b, 12)).astype(np.float32) for b in (4, 2, 7, 1, 2)]
    results = []
    for lib, compiled in ((ember, True), (ember, False), (torch, False)):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(12, 16), lib.nn.GELU(), lib.nn.LayerNorm(16),
                                  lib.nn.Linear(16, 5))
        if lib is torch:  # ember's initial weights
            with torch.no_grad():
                for p, q in zip(model.parameters(), results[0][1]):
                    p.copy_(torch.from_numpy(q))
        run = lib.compile(model, dynamic=True) if compiled else model
        got = [[p.detach().numpy().copy() for p in model.parameters()]]
        for k, x in enumerate(xs):
            inp = lib.from_numpy(x.copy()).requires_grad_()
            out = run(inp)
            (out * out).sum().backward()
            if compiled and k:  # (the first call is the capture's own run)
                assert type(out.grad_fn).__name__ == "CompiledFunctionBackward"
            with lib.no_grad():
                plain = run(lib.from_numpy(x.copy()))
            got.append([out.detach().numpy(), plain.numpy(), inp.grad.numpy()] +
                       [p.grad.numpy().copy() for p in model.parameters()])
        results.append((got, got[0]))
    (ours, _), (eager, _), (theirs, _) = results
    for a, b, c in zip(ours[1:], eager[1:], theirs[1:]):
        for u, v, w in zip(a, b, c):
            np.testing.assert_array_equal(u, v)
            np.testing.assert_allclose(u, w, rtol=1e-4, atol=1e-5)
