"""ember.compile of a whole training step (ember/_compile_train.py): forward, loss, backward
and the optimizer's step replayed, equal to eager ember bit for bit step after step, and to
PyTorch's numbers; what the replay cannot be sure of runs eagerly."""

import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn

torch = pytest.importorskip("torch")


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(12, 16), lib.nn.ReLU(), lib.nn.Linear(16, 16),
                             lib.nn.ReLU(), lib.nn.Linear(16, 5))


def _batches(n, batch=1):
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((batch, 12)).astype(np.float32),
             rng.integers(0, 5, batch).astype(np.int64)) for _ in range(n)]


def _setup(make_opt, seed=0):
    ember.manual_seed(seed)
    model = _mlp(ember)
    opt = make_opt(ember, model.parameters())
    return model, opt


def _step_fn(model, opt, extra=None):
    def train_step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if extra is not None:
            extra(model)
        opt.step()
        return loss

    return train_step


def _run(make_opt, compiled, steps=6, batch=1, extra=None, sched=None):
    model, opt = _setup(make_opt)
    scheduler = sched(opt) if sched else None

    def step(x, y):
        loss = _step_fn(model, opt, extra)(x, y)
        if scheduler is not None:
            scheduler.step()
        return loss

    fn = ember.compile(step) if compiled else step
    losses = []
    for x, y in _batches(steps, batch):
        losses.append(fn(ember.from_numpy(x), ember.from_numpy(y)))
    return losses, [p.detach().numpy().copy() for p in model.parameters()], fn


def _entry(fn):
    entries = [e for e in fn._ember_compiler.cache.values() if e != "eager"]
    return entries[0] if entries else None


SGD = lambda lib, params: lib.optim.SGD(params, lr=0.1, momentum=0.9)  # noqa: E731
ADAM = lambda lib, params: lib.optim.Adam(params, lr=0.01)  # noqa: E731


@pytest.mark.parametrize("make_opt", [SGD, ADAM], ids=["sgd-momentum", "adam"])
@pytest.mark.parametrize("batch", [1, 4])
def test_compiled_train_step_equals_eager_bit_for_bit_and_torch(make_opt, batch):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no graph break, no eager fallback
        got, params, fn = _run(make_opt, True, batch=batch)
    want, eager_params, _ = _run(make_opt, False, batch=batch)
    from ember._compile_train import _StepEntry

    assert isinstance(_entry(fn), _StepEntry)
    for g, w in zip(got, want):
        assert g.item() == w.item() or (np.isnan(g.item()) and np.isnan(w.item()))
    for p, q in zip(params, eager_params):
        np.testing.assert_array_equal(p, q)
    # the same training in PyTorch from the same weights gives the same losses
    ember.manual_seed(0)
    ref = _mlp(ember)
    tmodel = _mlp(torch)
    with torch.no_grad():
        for tp, ep in zip(tmodel.parameters(), ref.parameters()):
            tp.copy_(torch.from_numpy(ep.detach().numpy()))
    topt = make_opt(torch, tmodel.parameters())
    for (x, y), g in zip(_batches(6, batch), got):
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        topt.step()
        assert abs(loss.item() - g.item()) < 1e-5
    for tp, p in zip(tmodel.parameters(), params):
        np.testing.assert_allclose(tp.detach().numpy(), p, rtol=1e-5, atol=1e-6)


def test_returned_loss_prints_and_refuses_a_second_backward_as_torch_compile():
    losses, _, fn = _run(SGD, True, steps=3)
    # what torch.compile's train step returns (recorded from PyTorch 2.13)
    assert repr(losses[-1]).endswith("grad_fn=<CompiledFunctionBackward>)")
    assert losses[-1].requires_grad
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        losses[-1].backward()


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_lr_changed_by_a_scheduler_between_steps_is_read_at_each_step(optimizer):
    sched = lambda opt: ember.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)  # noqa: E731
    make = SGD if optimizer == "sgd" else (
        lambda lib, params: lib.optim.AdamW(params, lr=0.01, weight_decay=0.05))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, params, fn = _run(make, True, sched=sched)
    want, eager_params, _ = _run(make, False, sched=sched)
    assert _entry(fn) is not None
    if optimizer == "adamw":  # the planned update ran under the scheduler's step wrapper
        assert len(_fast_optimizer(fn).plans) == 1
    assert [g.item() for g in got] == [w.item() for w in want]
    for p, q in zip(params, eager_params):
        np.testing.assert_array_equal(p, q)


def test_lr_set_by_hand_between_compiled_steps():
    model, opt = _setup(SGD)
    fn = ember.compile(_step_fn(model, opt))
    model2, opt2 = _setup(SGD)
    eager = _step_fn(model2, opt2)
    for k, (x, y) in enumerate(_batches(6)):
        for o in (opt, opt2):
            o.param_groups[0]["lr"] = 0.1 / (k + 1)
        a = fn(ember.from_numpy(x), ember.from_numpy(y))
        b = eager(ember.from_numpy(x), ember.from_numpy(y))
        assert a.item() == b.item()
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_gradient_clipping_inside_the_step_is_replayed_as_a_logged_call():
    clip = lambda model: nn.utils.clip_grad_norm_(model.parameters(), 0.1)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, params, fn = _run(SGD, True, extra=clip)
    want, eager_params, _ = _run(SGD, False, extra=clip)
    assert _entry(fn) is not None
    assert [g.item() for g in got] == [w.item() for w in want]
    for p, q in zip(params, eager_params):
        np.testing.assert_array_equal(p, q)


HALVE = {  # a gradient changed by hand between the backward and the step
    "in-place": lambda p: p.grad.mul_(0.5),  # (no op recorded: the in-place fast path)
    "through-data": lambda p: p.grad.data.mul_(0.5),  # (no version change either)
    "assigned": lambda p: setattr(p, "grad", p.grad * 0.5),
}


@pytest.mark.parametrize("how", list(HALVE))
def test_a_gradient_changed_by_hand_after_the_backward_runs_eagerly_with_one_warning(how):
    def halve(model):
        for p in model.parameters():
            HALVE[how](p)

    with pytest.warns(UserWarning, match="applies ops after the backward"):
        got, params, fn = _run(SGD, True, extra=halve)
    want, eager_params, _ = _run(SGD, False, extra=halve)
    assert _entry(fn) is None
    assert [g.item() for g in got] == [w.item() for w in want]
    for p, q in zip(params, eager_params):
        np.testing.assert_array_equal(p, q)
    assert [g.item() for g in got] == [w.item() for w in want]
    for p, q in zip(params, eager_params):
        np.testing.assert_array_equal(p, q)


def test_tensor_hooks_and_step_hooks_still_run():
    model, opt = _setup(SGD)
    seen = []
    model[0].weight.register_hook(lambda g: seen.append("grad") or g * 2)
    opt.register_step_post_hook(lambda o, a, k: seen.append("step"))
    fn = ember.compile(_step_fn(model, opt))
    model2, opt2 = _setup(SGD)
    model2[0].weight.register_hook(lambda g: g * 2)
    eager = _step_fn(model2, opt2)
    for x, y in _batches(4):
        assert fn(ember.from_numpy(x), ember.from_numpy(y)).item() == \
            eager(ember.from_numpy(x), ember.from_numpy(y)).item()
    assert seen == ["grad", "step"] * 4
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_a_target_out_of_range_later_raises_eagers_error():
    model, opt = _setup(SGD)
    fn = ember.compile(_step_fn(model, opt))
    x, y = _batches(1)[0]
    for _ in range(2):
        fn(ember.from_numpy(x), ember.from_numpy(y))
    bad = ember.tensor([7])
    with pytest.raises(IndexError) as got:
        fn(ember.from_numpy(x), bad)
    with pytest.raises(IndexError) as want:
        F.cross_entropy(model(ember.from_numpy(x)), bad)
    assert str(got.value) == str(want.value)
    with pytest.raises(IndexError) as ref:
        torch.nn.functional.cross_entropy(torch.zeros(1, 5), torch.tensor([7]))
    assert str(got.value) == str(ref.value)


def test_compiled_loss_function_gradients_equal_eager():
    """The cross_entropy lowering in a compiled function whose backward runs outside."""
    ember.manual_seed(0)
    model = _mlp(ember)
    fn = ember.compile(lambda x, y: F.cross_entropy(model(x), y))
    x, y = (ember.from_numpy(a) for a in _batches(1, 3)[0])
    grads = []
    for f in (fn, fn, lambda x, y: F.cross_entropy(model(x), y)):
        model.zero_grad()
        loss = f(x, y)
        loss.backward()
        grads.append([p.grad.numpy().copy() for p in model.parameters()])
    assert type(loss.grad_fn).__name__ == "NllLossBackward0"
    assert _entry(fn).training  # the lowered forward and backward ran, not the op replay
    for a, b in zip(grads[1], grads[2]):
        np.testing.assert_array_equal(a, b)


def test_compiled_module_output_prints_compiled_function_backward():
    model = ember.compile(nn.Linear(3, 2))
    tmodel = torch.nn.Linear(3, 2)
    for _ in range(2):
        out = model(ember.ones(1, 3))
    # PyTorch 2.13's torch.compile'd module output shows AOTAutograd's node
    assert repr(out).endswith("grad_fn=<CompiledFunctionBackward>)")
    assert type(out.grad_fn).__name__ == "CompiledFunctionBackward"
    assert out.grad_fn.name() == "CompiledFunctionBackward"
    assert tmodel(torch.ones(1, 3)).grad_fn is not None


def test_sgd_update_runs_the_precomputed_kernels():
    _, _, fn = _run(SGD, True, steps=3)
    fast = [f.__self__ for f, *_ in _entry(fn).post if hasattr(f, "__self__")]
    assert len(fast) == 1 and len(fast[0].known) == 6  # every parameter planned once


def test_zero_grad_after_the_step_and_module_zero_grad():
    for order in ("after", "module"):
        results = []
        for compiled in (True, False):
            model, opt = _setup(SGD)

            def step(x, y, model=model, opt=opt, order=order):
                if order == "module":
                    model.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                if order == "after":
                    opt.zero_grad()
                return loss

            fn = ember.compile(step, fullgraph=True) if compiled else step
            losses = [fn(ember.from_numpy(x), ember.from_numpy(y)).item()
                      for x, y in _batches(5)]
            results.append((losses, [p.detach().numpy().copy() for p in model.parameters()],
                            [p.grad for p in model.parameters()]))
        (l1, p1, g1), (l2, p2, g2) = results
        assert l1 == l2
        for a, b in zip(p1, p2):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(g1, g2):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_dropout_in_training_compiles_with_eagers_masks():
    from ember._compile_train import _StepEntry

    results = []
    for compiled in (True, False):
        ember.manual_seed(0)
        model = nn.Sequential(nn.Linear(12, 16), nn.Dropout(0.5), nn.Linear(16, 5))
        opt = SGD(ember, model.parameters())
        fn = _step_fn(model, opt)
        if compiled:
            fn = ember.compile(fn, fullgraph=True)
        losses = [fn(ember.from_numpy(x), ember.from_numpy(y)).item()
                  for x, y in _batches(6, 3)]
        if compiled:
            assert isinstance(_entry(fn), _StepEntry)
        # the generator is where eager leaves it: the next draw is the same
        results.append((losses, [p.detach().numpy().copy() for p in model.parameters()],
                        ember.rand(3).numpy()))
    (l1, p1, r1), (l2, p2, r2) = results
    assert l1 == l2
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(r1, r2)


def test_first_call_returns_a_loss_printing_as_torch_compiles():
    losses, _, fn = _run(SGD, True, steps=2)
    # torch.compile's first call (PyTorch 2.13) already returns the compiled node's output
    assert repr(losses[0]).endswith("grad_fn=<CompiledFunctionBackward>)")
    assert type(losses[0].grad_fn).__name__ == "CompiledFunctionBackward"
    assert losses[0].requires_grad and not losses[0].is_leaf
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        losses[0].backward()


def _item_step(model, opt, functional=F):
    def train_step(x, y):
        opt.zero_grad()
        loss = functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return train_step


def test_return_loss_item_stays_compiled_and_equals_eager():
    from ember._compile_train import _StepEntry

    results = []
    for compiled in (True, False):
        model, opt = _setup(SGD)
        fn = _item_step(model, opt)
        if compiled:
            fn = ember.compile(fn, fullgraph=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no graph break
            losses = [fn(ember.from_numpy(x), ember.from_numpy(y)) for x, y in _batches(5)]
        if compiled:
            assert isinstance(_entry(fn), _StepEntry)
        results.append((losses, [p.detach().numpy().copy() for p in model.parameters()]))
    (got, p1), (want, p2) = results
    assert all(type(v) is float for v in got)
    assert got == want
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)
    # PyTorch's train step returning loss.item() gives Python floats too, the same numbers
    tmodel = _mlp(torch)
    ember.manual_seed(0)
    with torch.no_grad():
        for tp, ep in zip(tmodel.parameters(), _mlp(ember).parameters()):
            tp.copy_(torch.from_numpy(ep.detach().numpy()))
    ref = _item_step(tmodel, SGD(torch, tmodel.parameters()), torch.nn.functional)
    for (x, y), g in zip(_batches(5), got):
        value = ref(torch.from_numpy(x), torch.from_numpy(y))
        assert type(value) is float and abs(value - g) < 1e-5


def test_returning_another_tensors_item_still_runs_eagerly():
    model, opt = _setup(SGD)

    def step(x, y):
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, y)
        total = out.sum()
        loss.backward()
        opt.step()
        return total.item()

    with pytest.warns(UserWarning, match="something other than the loss"):
        fn = ember.compile(step)
        fn(*(ember.from_numpy(a) for a in _batches(1)[0]))
    assert _entry(fn) is None


ADAM_CASES = {
    "adam": lambda lib, params: lib.optim.Adam(params, lr=0.01),
    "adam-l2": lambda lib, params: lib.optim.Adam(params, lr=0.01, weight_decay=0.1),
    "adam-maximize": lambda lib, params: lib.optim.Adam(params, lr=0.01, maximize=True),
    "adamw": lambda lib, params: lib.optim.AdamW(params, lr=0.01, weight_decay=0.05),
    "adamw-amsgrad": lambda lib, params: lib.optim.AdamW(params, lr=0.01, amsgrad=True),
}


def _fast_optimizer(fn):
    fast = [f.__self__ for f, *_ in _entry(fn).post if hasattr(f, "__self__")]
    return fast[0] if fast else None


@pytest.mark.parametrize("bucket", [None, 200], ids=["one-bucket", "split-buckets"])
@pytest.mark.parametrize("name", list(ADAM_CASES))
def test_adam_update_equals_eager_bit_for_bit(name, bucket, monkeypatch):
    from ember._compile_train import _FastAdam
    from ember.optim import _multi_tensor

    if bucket is not None:  # parameters over several buckets, one of them alone in its own
        monkeypatch.setattr(_multi_tensor, "BUCKET_NUMEL", bucket)
    make = ADAM_CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, params, fn = _run(make, True, steps=6, batch=3)
    want, eager_params, _ = _run(make, False, steps=6, batch=3)
    assert [g.item() for g in got] == [w.item() for w in want]
    for p, q in zip(params, eager_params):
        np.testing.assert_array_equal(p, q)
    fast = _fast_optimizer(fn)
    assert isinstance(fast, _FastAdam)
    # the planned update ran at the last step (amsgrad is left to Adam.step)
    assert len(fast.plans) == (0 if "amsgrad" in name else 1)


def test_adam_state_and_later_eager_steps_continue_the_fast_updates():
    make = ADAM_CASES["adamw"]
    runs = []
    for compiled in (True, False):
        model, opt = _setup(make)
        fn = _step_fn(model, opt)
        cfn = ember.compile(fn) if compiled else fn
        batches = _batches(8, 2)
        for k, (x, y) in enumerate(batches):
            # every third step eager (the state the fast update left is Adam.step's own)
            (fn if k % 3 == 2 else cfn)(ember.from_numpy(x), ember.from_numpy(y))
        state = opt.state_dict()["state"]
        runs.append(([p.detach().numpy().copy() for p in model.parameters()],
                     [{k: v.numpy().copy() for k, v in s.items()} for s in state.values()]))
    (p1, s1), (p2, s2) = runs
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(s1, s2):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


def test_adam_with_a_gradient_missing_or_a_tensor_lr_falls_back_to_adam_step():
    for change in ("no-grad", "tensor-lr"):
        runs = []
        for compiled in (True, False):
            model, opt = _setup(ADAM_CASES["adam"])
            fn = _step_fn(model, opt)
            cfn = ember.compile(fn) if compiled else fn
            for k, (x, y) in enumerate(_batches(5, 2)):
                if k == 2 and change == "no-grad":
                    model[0].bias.requires_grad_(False)
                if k == 2 and change == "tensor-lr":
                    opt.param_groups[0]["lr"] = ember.tensor(0.02)
                cfn(ember.from_numpy(x), ember.from_numpy(y))
            runs.append([p.detach().numpy().copy() for p in model.parameters()])
        for a, b in zip(*runs):
            np.testing.assert_array_equal(a, b)


def _norm_mlp(lib, p=0.0):
    nn_ = lib.nn
    return nn_.Sequential(nn_.Linear(12, 16), nn_.LayerNorm(16), nn_.GELU(), nn_.Dropout(p),
                          nn_.Linear(16, 16), nn_.GELU(approximate="none"),
                          nn_.LayerNorm(16, elementwise_affine=False), nn_.Linear(16, 5))


@pytest.mark.parametrize("p", [0.0, 0.25], ids=["no-dropout", "dropout"])
@pytest.mark.parametrize("make_opt", [SGD, ADAM_CASES["adamw"]], ids=["sgd", "adamw"])
def test_layer_norm_gelu_dropout_train_step_compiles_bit_equal_to_eager(p, make_opt):
    from ember._compile_train import _StepEntry

    runs = []
    for compiled in (True, False):
        ember.manual_seed(0)
        model = _norm_mlp(ember, p)
        opt = make_opt(ember, model.parameters())
        fn = _step_fn(model, opt)
        if compiled:
            fn = ember.compile(fn, fullgraph=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            losses = [fn(ember.from_numpy(x), ember.from_numpy(y)).item()
                      for x, y in _batches(6, 4)]
        if compiled:
            entry = _entry(fn)
            assert isinstance(entry, _StepEntry)
            source = entry.training.forward.source
            assert "op_context" in source  # layer norm and GELU lowered
            assert ("m = " in source) == bool(p)  # dropout's mask kept for backward
        runs.append((losses, [q.detach().numpy().copy() for q in model.parameters()]))
    (l1, p1), (l2, p2) = runs
    assert l1 == l2
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)
    if p:
        return  # PyTorch draws other masks
    ember.manual_seed(0)
    ref = _norm_mlp(ember)
    tmodel = _norm_mlp(torch)
    with torch.no_grad():
        for tp, ep in zip(tmodel.parameters(), ref.parameters()):
            tp.copy_(torch.from_numpy(ep.detach().numpy()))
    topt = make_opt(torch, tmodel.parameters())
    for (x, y), g in zip(_batches(6, 4), l1):
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        topt.step()
        assert abs(loss.item() - g) < 1e-5


def test_layer_norm_over_tokens_gradients_equal_eager():
    """(batch, tokens, features) through LayerNorm and GELU in a compiled function whose
    backward runs outside: the one compiled node's gradients are eager's."""
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 3))
    fn = ember.compile(model)
    x = ember.randn(2, 5, 6, requires_grad=True)
    grads = []
    for f in (fn, fn, model):
        model.zero_grad()
        x.grad = None
        out = f(x)
        (out * out).sum().backward()
        grads.append([x.grad.numpy().copy()] + [q.grad.numpy().copy() for q in model.parameters()])
    entries = [e for e in fn._compiler.cache.values() if e != "eager"]
    assert entries[0].training  # the lowered forward and backward ran
    for a, b in zip(grads[1], grads[2]):
        np.testing.assert_array_equal(a, b)


def _tiny_gpt(lib, vocab=11, block=6, width=8, heads=2, p=0.0):
    """A nanoGPT-like model: token and position embeddings, a pre-norm block of causal
    scaled_dot_product_attention (q, k, v split from one linear) and a GELU MLP with dropout,
    a final LayerNorm and a head tied to the token embedding."""
    nn_, F_ = lib.nn, lib.nn.functional

    class Block(nn_.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn_.LayerNorm(width), nn_.LayerNorm(width)
            self.qkv, self.proj = nn_.Linear(width, 3 * width), nn_.Linear(width, width)
            self.fc, self.out = nn_.Linear(width, 4 * width), nn_.Linear(4 * width, width)
            self.drop = nn_.Dropout(p)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(width, dim=2)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            y = F_.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).contiguous().view(b, t, c))
            return x + self.drop(self.out(F_.gelu(self.fc(self.ln2(x)))))

    class GPT(nn_.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn_.Embedding(vocab, width), nn_.Embedding(block, width)
            self.block = Block()
            self.ln_f, self.head = nn_.LayerNorm(width), nn_.Linear(width, vocab, bias=False)
            self.head.weight = self.tok.weight

        def forward(self, idx):
            x = self.tok(idx) + self.pos(lib.arange(idx.shape[1]))
            return self.head(self.ln_f(self.block(x)))

    return GPT()


def _gpt_step(lib, model, opt, vocab=11):
    F_ = lib.nn.functional

    def train_step(x, y):
        loss = F_.cross_entropy(model(x).view(-1, vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return train_step


def _gpt_batches(n=5):
    rng = np.random.default_rng(1)
    return [rng.integers(0, 11, (2, 7)).astype(np.int64) for _ in range(n)]


@pytest.mark.parametrize("p", [0.0, 0.2], ids=["no-dropout", "dropout"])
def test_tiny_gpt_train_step_compiles_whole_and_equals_eager(p):
    from ember._compile_train import _FastAdam, _StepEntry

    adamw = ADAM_CASES["adamw"]
    runs = []
    for compiled in (True, False):
        ember.manual_seed(0)
        model = _tiny_gpt(ember, p=p)
        opt = adamw(ember, model.parameters())
        fn = _gpt_step(ember, model, opt)
        if compiled:
            fn = ember.compile(fn, fullgraph=True)  # no graph break
        losses = []
        for chunk in _gpt_batches():
            c = ember.from_numpy(chunk)
            losses.append(fn(c[:, :-1], c[:, 1:]))
        if compiled:
            assert isinstance(_entry(fn), _StepEntry)
            assert isinstance(_fast_optimizer(fn), _FastAdam)
        runs.append((losses, [q.detach().numpy().copy() for q in model.parameters()]))
    (l1, p1), (l2, p2) = runs
    assert l1 == l2
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)
    if p:
        return  # PyTorch draws other masks
    ember.manual_seed(0)
    ref = _tiny_gpt(ember)
    tmodel = _tiny_gpt(torch)
    with torch.no_grad():
        for tp, ep in zip(tmodel.parameters(), ref.parameters()):
            tp.copy_(torch.from_numpy(ep.detach().numpy()))
    tstep = _gpt_step(torch, tmodel, adamw(torch, tmodel.parameters()))
    for chunk, g in zip(_gpt_batches(), l1):
        c = torch.from_numpy(chunk)
        assert abs(tstep(c[:, :-1], c[:, 1:]) - g) < 1e-4


def test_layer_norm_output_changed_in_place_keeps_the_gradient_eagers():
    """Without affine parameters the normalized values are the output: backward must not read
    them back after the caller changed the output in place (eager keeps them apart)."""
    grads = []
    for compiled in (True, True, False):  # the second compiled call runs the lowering
        x = ember.from_numpy(np.arange(12, dtype=np.float32).reshape(3, 4) ** 1.5)
        x.requires_grad_(True)
        norm = nn.LayerNorm(4, elementwise_affine=False)
        fn = ember.compile(norm) if compiled else norm
        if compiled:
            fn(x)
        out = fn(x)
        out.mul_(3)
        (out * ember.arange(12.0).reshape(3, 4)).sum().backward()
        grads.append(x.grad.numpy().copy())
    for g in grads[1:]:
        np.testing.assert_array_equal(grads[0], g)


def test_compiled_module_with_dropout_double_backward_equals_eager():
    """A compiled module's dropout in training is not lowered: a create_graph backward
    re-runs the recorded ops, which must see the forward's masks."""
    results = []
    for compiled in (True, False):
        ember.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Dropout(0.5), nn.Linear(6, 1))
        fn = ember.compile(model) if compiled else model
        x = ember.ones(3, 4, requires_grad=True)
        for _ in range(2):
            out = fn(x)
        (gx,) = ember.autograd.grad(out.sum(), x, create_graph=True)
        (gg,) = ember.autograd.grad((gx * gx).sum(), x)
        results.append((out.detach().numpy(), gx.detach().numpy(), gg.numpy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def _small_cnn(lib):
    nn_ = lib.nn
    return nn_.Sequential(nn_.Conv2d(1, 4, 3), nn_.ReLU(), nn_.Conv2d(4, 6, 3, padding=1, stride=2),
                          nn_.ReLU(), nn_.MaxPool2d(2), nn_.Flatten(), nn_.Linear(6 * 2 * 2, 5))


def test_cnn_train_step_compiles_and_equals_eager_and_torch():
    from ember._compile_train import _StepEntry

    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((3, 1, 10, 10)).astype(np.float32),
                rng.integers(0, 5, 3).astype(np.int64)) for _ in range(4)]
    runs = []
    for compiled in (True, False):
        ember.manual_seed(0)
        model = _small_cnn(ember)
        opt = SGD(ember, model.parameters())
        fn = _step_fn(model, opt)
        if compiled:
            fn = ember.compile(fn, fullgraph=True)
        losses = [fn(ember.from_numpy(x), ember.from_numpy(y)).item() for x, y in batches]
        if compiled:
            assert isinstance(_entry(fn), _StepEntry)
        runs.append((losses, [q.detach().numpy().copy() for q in model.parameters()]))
    (l1, p1), (l2, p2) = runs
    assert l1 == l2
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)
    ember.manual_seed(0)
    ref = _small_cnn(ember)
    tmodel = _small_cnn(torch)
    with torch.no_grad():
        for tp, ep in zip(tmodel.parameters(), ref.parameters()):
            tp.copy_(torch.from_numpy(ep.detach().numpy()))
    topt = SGD(torch, tmodel.parameters())
    for (x, y), g in zip(batches, l1):
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        topt.step()
        assert abs(loss.item() - g) < 1e-5


def _bn_cnn(lib):
    nn_ = lib.nn
    return nn_.Sequential(nn_.Conv2d(1, 4, 3), nn_.BatchNorm2d(4), nn_.ReLU(),
                          nn_.Conv2d(4, 6, 3, padding=1, stride=2),
                          nn_.BatchNorm2d(6, affine=False, momentum=None), nn_.ReLU(),
                          nn_.MaxPool2d(2), nn_.Flatten(), nn_.Linear(6 * 2 * 2, 5),
                          nn_.BatchNorm1d(5))


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batch_norm_train_step_compiles_with_eagers_statistics(mode):
    from ember._compile_train import _StepEntry

    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((3, 1, 10, 10)).astype(np.float32),
                rng.integers(0, 5, 3).astype(np.int64)) for _ in range(4)]
    runs = []
    for compiled in (True, False):
        ember.manual_seed(0)
        model = _bn_cnn(ember)
        model.train(mode == "train")
        opt = SGD(ember, model.parameters())
        fn = _step_fn(model, opt)
        if compiled:
            fn = ember.compile(fn, fullgraph=True)
        losses = [fn(ember.from_numpy(x), ember.from_numpy(y)).item() for x, y in batches]
        if compiled:
            assert isinstance(_entry(fn), _StepEntry)
        runs.append((losses, {k: v.numpy().copy() for k, v in model.state_dict().items()}))
    (l1, s1), (l2, s2) = runs
    assert l1 == l2
    for k in s1:  # parameters, running statistics and batch counts
        np.testing.assert_array_equal(s1[k], s2[k])
    ember.manual_seed(0)
    ref = _bn_cnn(ember)
    tmodel = _bn_cnn(torch)
    tmodel.train(mode == "train")
    with torch.no_grad():
        for tp, ep in zip(tmodel.parameters(), ref.parameters()):
            tp.copy_(torch.from_numpy(ep.detach().numpy()))
    topt = SGD(torch, tmodel.parameters())
    for (x, y), g in zip(batches, l1):
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        topt.step()
        assert abs(loss.item() - g) < 1e-4
    for k, v in tmodel.state_dict().items():
        np.testing.assert_allclose(v.numpy(), s1[k], rtol=1e-4, atol=1e-5)


def test_compiled_module_with_batch_norm_double_backward_updates_statistics_once():
    results = []
    for compiled in (True, False):
        ember.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 1))
        fn = ember.compile(model) if compiled else model
        x = ember.from_numpy(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
        x.requires_grad_(True)
        for _ in range(2):
            out = fn(x)
        (gx,) = ember.autograd.grad(out.sum(), x, create_graph=True)
        (gg,) = ember.autograd.grad((gx * gx).sum(), x)
        results.append([gx.detach().numpy(), gg.numpy()] +
                       [v.numpy().copy() for v in model.state_dict().values()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_tiny_gpt_module_compiled_trains_through_the_lowered_node_as_eager():
    """The model alone compiled (loss, backward and AdamW eager): its training calls run the
    lowered forward and backward (attention, embeddings, split, LayerNorm, GELU)."""
    runs = []
    for compiled in (True, False):
        ember.manual_seed(0)
        model = _tiny_gpt(ember)
        opt = ADAM_CASES["adamw"](ember, model.parameters())
        run = ember.compile(model) if compiled else model
        losses = []
        for chunk in _gpt_batches():
            c = ember.from_numpy(chunk)
            loss = F.cross_entropy(run(c[:, :-1]).view(-1, 11), c[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        if compiled:
            entries = [e for e in run._compiler.cache.values() if e != "eager"]
            assert entries[0].training  # lowered, not the op-by-op replay
        runs.append((losses, [q.detach().numpy().copy() for q in model.parameters()]))
    (l1, p1), (l2, p2) = runs
    assert l1 == l2
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)


def test_train_step_recompile_limit_warning_advises_dynamic():
    """With ``dynamic=False`` a training step is captured per batch size, so the limit is
    reached and its warning names ``dynamic=True`` (which specializes the one captured graph
    to each batch size instead); the calls past the limit run eagerly with eager's numbers."""
    results = []
    for compiled in (True, False):
        model, opt = _setup(lambda lib, p: lib.optim.SGD(p, lr=0.1, momentum=0.9))
        step = _step_fn(model, opt)
        fn = ember.compile(step, dynamic=False, recompile_limit=2) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            losses = [fn(ember.from_numpy(x), ember.from_numpy(y)).item()
                      for b in (1, 2, 3, 3) for x, y in _batches(1, b)]
        results.append(losses)
        if compiled:
            limit = [str(w.message) for w in caught if "recompile_limit" in str(w.message)]
            assert len(limit) == 1 and "dynamic=True" in limit[0]
    assert results[0] == results[1]
