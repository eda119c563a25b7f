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


def test_lr_changed_by_a_scheduler_between_steps_is_read_at_each_step():
    sched = lambda opt: ember.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, params, fn = _run(SGD, True, sched=sched)
    want, eager_params, _ = _run(SGD, False, sched=sched)
    assert _entry(fn) is not None
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


def test_gradient_clipping_inside_the_step_runs_eagerly_with_one_warning():
    clip = lambda model: nn.utils.clip_grad_norm_(model.parameters(), 0.1)  # noqa: E731
    with pytest.warns(UserWarning, match="gradient clipping"):
        got, params, fn = _run(SGD, True, extra=clip)
    want, eager_params, _ = _run(SGD, False, extra=clip)
    assert _entry(fn) is None
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


def test_dropout_in_training_runs_eagerly_with_eagers_masks():
    results = []
    for compiled in (True, False):
        ember.manual_seed(0)
        model = nn.Sequential(nn.Linear(12, 16), nn.Dropout(0.5), nn.Linear(16, 5))
        opt = SGD(ember, model.parameters())
        fn = _step_fn(model, opt)
        if compiled:
            with pytest.warns(UserWarning, match="no compiled training form"):
                fn = ember.compile(fn)
                losses = [fn(ember.from_numpy(x), ember.from_numpy(y)).item()
                          for x, y in _batches(4)]
        else:
            losses = [fn(ember.from_numpy(x), ember.from_numpy(y)).item()
                      for x, y in _batches(4)]
        results.append(losses)
    assert results[0] == results[1]
