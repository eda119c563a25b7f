"""ember.compile of whole training steps as tutorials write them (issue 14): a nanoGPT block
(``masked_fill`` on a registered ``tril`` buffer, ``F.softmax``, dropout,
``.transpose(1, 2).contiguous().view(B, T, C)``), a CNN with ``F.adaptive_avg_pool2d``,
``torch.flatten``, ``F.log_softmax`` and ``F.nll_loss``, an LSTM tagger, a ResNet basic block
(batch norm, residual ``+=``), an RNN whose zero initial state is made per batch size,
label-smoothed cross-entropy, ``mse_loss``, ``smooth_l1_loss``, ``BCEWithLogitsLoss``, GELU
(tanh) and ``clip_grad_norm_`` between the backward and the step. Each compiles whole (no
graph break, ``fullgraph=True``), runs through one ``CompiledFunctionBackward`` node and
equals eager ember bit for bit (losses step by step, parameters and buffers after); the
steps without random numbers equal PyTorch's too."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _nanogpt(lib):
    nn, F = lib.nn, lib.nn.functional
    vocab, C, T, heads = 11, 16, 6, 2

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, C)
            self.ln1, self.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
            self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
            self.fc, self.fc2, self.head = nn.Linear(C, 4 * C), nn.Linear(4 * C, C), \
                nn.Linear(C, vocab)
            self.drop = nn.Dropout(0.1)
            self.register_buffer("bias", lib.tril(lib.ones(T, T)).view(1, 1, T, T))

        def forward(self, idx):
            B, T_ = idx.size()
            x = self.emb(idx)
            q, k, v = self.c_attn(self.ln1(x)).split(C, dim=2)
            q = q.view(B, T_, heads, C // heads).transpose(1, 2)
            k = k.view(B, T_, heads, C // heads).transpose(1, 2)
            v = v.view(B, T_, heads, C // heads).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / (C // heads) ** 0.5)
            att = att.masked_fill(self.bias[:, :, :T_, :T_] == 0, float("-inf"))
            att = self.drop(F.softmax(att, dim=-1))
            y = (att @ v).transpose(1, 2).contiguous().view(B, T_, C)
            x = x + self.drop(self.c_proj(y))
            x = x + self.fc2(F.gelu(self.fc(self.ln2(x))))
            return self.head(x)

    model = Block()
    opt = lib.optim.AdamW(model.parameters(), lr=1e-2)

    def step(idx, targets):
        opt.zero_grad(set_to_none=True)
        logits = model(idx)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        loss.backward()
        opt.step()
        return loss

    rng = np.random.default_rng(0)
    return model, step, [(rng.integers(0, vocab, (3, T)), rng.integers(0, vocab, (3, T)))
                         for _ in range(4)]


def _cnn(lib):
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 8, 3)
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.adaptive_avg_pool2d(F.relu(self.conv2(x)), 1)
            return F.log_softmax(self.fc(lib.flatten(x, 1)), dim=1)

    model = Net()
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        loss = F.nll_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    rng = np.random.default_rng(1)
    return model, step, [(rng.standard_normal((4, 1, 8, 8)).astype(np.float32),
                          rng.integers(0, 5, 4)) for _ in range(4)]


def _lstm_tagger(lib):
    nn, F = lib.nn, lib.nn.functional

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.lstm = nn.Embedding(10, 6), nn.LSTM(6, 8, batch_first=True)
            self.out = nn.Linear(8, 4)

        def forward(self, sentence):
            hidden, _ = self.lstm(self.emb(sentence))
            return F.log_softmax(self.out(hidden), dim=-1)

    model = Tagger()
    opt = lib.optim.SGD(model.parameters(), lr=0.1)

    def step(sentence, tags):
        model.zero_grad()
        loss = F.nll_loss(model(sentence).view(-1, 4), tags.view(-1))
        loss.backward()
        opt.step()
        return loss

    rng = np.random.default_rng(2)
    return model, step, [(rng.integers(0, 10, (2, 5)), rng.integers(0, 4, (2, 5)))
                         for _ in range(4)]


def _resnet_block(lib):
    nn, F = lib.nn, lib.nn.functional

    class BasicBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.bn0 = nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
            self.conv1, self.bn1 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
            self.conv2, self.bn2 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
            self.relu, self.fc = nn.ReLU(inplace=True), nn.Linear(4, 3)

        def forward(self, x):
            x = self.relu(self.bn0(self.stem(x)))
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += identity
            out = self.relu(out)
            return self.fc(lib.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1))

    model = BasicBlock()
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        opt.step()
        return loss

    rng = np.random.default_rng(4)
    return model, step, [(rng.standard_normal((4, 3, 6, 6)).astype(np.float32),
                          rng.integers(0, 3, 4)) for _ in range(4)]


def _rnn_zero_state(lib, sizes=(4, 4, 3, 4, 2, 5)):
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell, self.out = nn.RNNCell(3, 6), nn.Linear(6, 2)

        def forward(self, x):
            h = lib.zeros(x.size(0), 6)  # the initial state follows the batch size
            for t in range(x.size(1)):
                h = self.cell(x[:, t], h)
            return self.out(h)

    model = Net()
    opt = lib.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    rng = np.random.default_rng(3)
    return model, step, [(rng.standard_normal((b, 4, 3)).astype(np.float32),
                          rng.integers(0, 2, b)) for b in sizes]


def _mlp(lib, kind):
    nn, F = lib.nn, lib.nn.functional
    act = (lambda h: F.gelu(h, approximate="tanh")) if kind == "gelu-tanh" else F.relu
    model = nn.Sequential(nn.Linear(5, 8), nn.Identity(), nn.Linear(8, 3))
    bce = nn.BCEWithLogitsLoss()
    opt = lib.optim.Adam(model.parameters(), lr=1e-2)
    losses = {
        "label-smoothing": lambda out, y, yf: F.cross_entropy(out, y, label_smoothing=0.1),
        "mse": lambda out, y, yf: F.mse_loss(out, yf),
        "smooth-l1": lambda out, y, yf: F.smooth_l1_loss(out, yf),
        "bce-with-logits": lambda out, y, yf: bce(out, (yf > 0).float()),
        "gelu-tanh": lambda out, y, yf: F.cross_entropy(out, y),
        "clip-grad-norm": lambda out, y, yf: F.cross_entropy(out, y),
    }

    def step(x, y, yf):
        opt.zero_grad()
        loss = losses[kind](model[2](act(model[0](x))), y, yf)
        loss.backward()
        if kind == "clip-grad-norm":
            lib.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        return loss

    rng = np.random.default_rng(5)
    return model, step, [(rng.standard_normal((4, 5)).astype(np.float32), rng.integers(0, 3, 4),
                          rng.standard_normal((4, 3)).astype(np.float32)) for _ in range(4)]


STEPS = {"nanogpt-block": _nanogpt, "cnn-nll": _cnn, "lstm-tagger": _lstm_tagger,
         "resnet-basic-block": _resnet_block, "rnn-zero-state-per-batch": _rnn_zero_state}
for _kind in ("label-smoothing", "mse", "smooth-l1", "bce-with-logits", "gelu-tanh",
              "clip-grad-norm"):
    STEPS[_kind] = (lambda kind: lambda lib: _mlp(lib, kind))(_kind)
RANDOM = ("nanogpt-block",)  # dropout: PyTorch draws other masks


def _run(lib, name, compiled, weights=None):
    """Losses step by step, the model's state after, the compiled function and the names of
    the losses' grad_fn."""
    lib.manual_seed(0)
    model, step, batches = STEPS[name](lib)
    if weights is not None:  # PyTorch starts from ember's weights
        with lib.no_grad():
            for p, w in zip(model.state_dict().values(), weights):
                p.copy_(lib.from_numpy(w.copy()))
    fn = ember.compile(step, fullgraph=True) if compiled else step
    losses, nodes = [], []
    for batch in batches:
        loss = fn(*(lib.from_numpy(np.ascontiguousarray(b)) for b in batch))
        losses.append(loss.item())
        nodes.append(loss.grad_fn.name())
    state = [t.detach().numpy().copy() for t in model.state_dict().values()]
    return losses, state, fn, nodes


@pytest.mark.parametrize("name", list(STEPS))
def test_tutorial_step_compiles_whole_and_equals_eager_bit_for_bit(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no graph break (fullgraph=True raises on one)
        got, state, fn, nodes = _run(ember, name, True)
    want, eager_state, _, _ = _run(ember, name, False)
    # every call ran the lowered step (the first one eagerly, its loss given the same node)
    assert nodes == ["CompiledFunctionBackward"] * len(got)
    assert got == want
    for a, b in zip(state, eager_state, strict=True):
        np.testing.assert_array_equal(a, b)
    if name not in RANDOM:
        ember.manual_seed(0)
        start = [t.detach().numpy().copy() for t in STEPS[name](ember)[0].state_dict().values()]
        reference, torch_state, _, _ = _run(torch, name, False, weights=start)
        np.testing.assert_allclose(got, reference, rtol=2e-5, atol=1e-6)
        for a, b in zip(state, torch_state, strict=True):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("dynamic, captured", [(None, 2), (True, 1)])
def test_zero_state_made_per_batch_size_is_specialized_not_captured_again(dynamic, captured):
    """``torch.zeros(x.size(0), H)`` inside forward: a constant whose shape follows the batch.
    The graph is captured once (twice with ``dynamic=None``) and made again at each new batch
    size, its zeros at the new shape."""
    import ember._compile_train as train
    from ember._compile_train import _StepEntry

    sizes = (4, 4, 3, 4, 2, 5, 1)
    ember.manual_seed(0)
    model, step, batches = _rnn_zero_state(ember, sizes)
    fn = ember.compile(step, fullgraph=True, dynamic=dynamic)
    captures = []
    original = train.compile_step
    train.compile_step = lambda *a, **k: captures.append(a[1]) or original(*a, **k)
    try:
        got = [fn(*map(ember.from_numpy, b)).item() for b in batches]
    finally:
        train.compile_step = original
    ember.manual_seed(0)
    model2, eager, _ = _rnn_zero_state(ember, sizes)
    want = [eager(*map(ember.from_numpy, b)).item() for b in batches]
    assert len(captures) == captured
    entries = list(fn._ember_compiler.cache.values())
    assert len(entries) == len(set(sizes)) and all(type(e) is _StepEntry for e in entries)
    assert got == want
    for p, q in zip(model.parameters(), model2.parameters(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_contiguous_then_view_trains_through_the_lowered_node():
    """``.transpose(1, 2).contiguous().view(...)`` (a Clone, then a view of the copy): values
    and gradients equal eager's and PyTorch's."""
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    w0 = rng.standard_normal((5 * 4, 3)).astype(np.float32)
    results = []
    for lib, compiled in ((ember, True), (ember, False), (torch, False)):
        x, w = lib.from_numpy(x0.copy()), lib.from_numpy(w0.copy()).requires_grad_()
        opt = lib.optim.SGD([w], lr=0.1)

        def step(x, w=w, opt=opt):
            opt.zero_grad()
            loss = (x.transpose(1, 2).contiguous().view(2, 3, 20) @ w).tanh().sum()
            loss.backward()
            opt.step()
            return loss

        fn = ember.compile(step, fullgraph=True) if compiled else step
        losses = [fn(x).item() for _ in range(3)]
        results.append((losses, w.detach().numpy().copy()))
    (got, w_got), (want, w_want), (ref, w_ref) = results
    assert got == want
    np.testing.assert_array_equal(w_got, w_want)
    np.testing.assert_allclose(got, ref, rtol=1e-5)
    np.testing.assert_allclose(w_got, w_ref, rtol=1e-5, atol=1e-6)


def test_a_step_that_cannot_compile_names_the_op_in_its_warning():
    """An op still without a training form (a sparse embedding's gradient is not an array)
    runs the step eagerly, and the warning says which op."""
    nn, F = ember.nn, ember.nn.functional
    ember.manual_seed(0)
    emb, out = nn.Embedding(10, 4, sparse=True), nn.Linear(4, 2)
    opt = ember.optim.SGD(list(emb.parameters()) + list(out.parameters()), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(out(emb(x)), y)
        loss.backward()
        opt.step()
        return loss

    fn = ember.compile(step)
    with pytest.warns(UserWarning, match=r"an op of its forward or loss \(embedding, "):
        fn(ember.tensor([1, 2, 3]), ember.tensor([0, 1, 0]))


def _noisy_run(compiled):
    """A step that adds fresh noise to its input (``torch.randn_like``) each call."""
    nn, F = ember.nn, ember.nn.functional
    ember.manual_seed(0)
    lin = nn.Linear(4, 3)
    opt = ember.optim.SGD(lin.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(lin(x + 0.1 * ember.randn_like(x)), y)
        loss.backward()
        opt.step()
        return loss

    fn = ember.compile(step) if compiled else step
    rng = np.random.default_rng(0)
    x = ember.from_numpy(rng.standard_normal((5, 4)).astype(np.float32))
    y = ember.from_numpy(rng.integers(0, 3, 5))
    return [fn(x, y).item() for _ in range(4)], lin.weight.detach().numpy().copy()


def test_random_numbers_drawn_outside_recorded_ops_run_the_step_eagerly():
    """The noise tensor would enter the graph as a constant (the first call's numbers reused
    by every replay): the step runs eagerly after one warning, each call drawing anew."""
    with pytest.warns(UserWarning, match="draws random numbers outside the recorded ops"):
        got, weight = _noisy_run(True)
    want, eager_weight = _noisy_run(False)
    assert got == want
    np.testing.assert_array_equal(weight, eager_weight)
