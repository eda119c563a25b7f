"""ember.compile: torch.compile's surface, capture per input signature and replay (same numbers,
gradients and training runs as eager), guards, the recompile limit, graph breaks, fullgraph,
and the onnxruntime backend."""

import inspect
import warnings

import numpy as np
import pytest

import ember
from ember import nn
from ember._compile import OptimizedModule
from ember.fx import GraphBreak


def setup_function():
    ember.manual_seed(0)


def _mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Dropout(0.25), nn.Flatten(), nn.Linear(4 * 3 * 3, 5))


def _twins(make, seed=1):
    ember.manual_seed(seed)
    a = make()
    ember.manual_seed(seed)
    b = make()
    return a, b


def _entries(compiled):
    comp = compiled._compiler if isinstance(compiled, OptimizedModule) else \
        compiled._ember_compiler
    return comp, len({id(e) for e in comp.cache.values() if e != "eager"})


# -- the surface --------------------------------------------------------------------------------

def test_signature_is_torch_compiles():
    torch = pytest.importorskip("torch")
    ours = inspect.signature(ember.compile).parameters
    theirs = inspect.signature(torch.compile).parameters
    assert list(ours) == list(theirs)
    for name, p in theirs.items():
        assert ours[name].kind == p.kind, name
        assert ours[name].default == p.default, name


def test_optimized_module_shares_the_original_as_torch_does():
    torch = pytest.importorskip("torch")
    model = _cnn()
    compiled = ember.compile(model)
    assert isinstance(compiled, nn.Module) and type(compiled).__name__ == "OptimizedModule"
    assert compiled._orig_mod is model
    t_model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4),
                                  torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                  torch.nn.Dropout(0.25), torch.nn.Flatten(),
                                  torch.nn.Linear(36, 5))
    t_compiled = torch.compile(t_model, backend="eager")
    assert list(compiled.state_dict()) == list(t_compiled.state_dict())
    assert [n for n, _ in compiled.named_parameters()] == \
        [n for n, _ in t_compiled.named_parameters()]
    assert all(a is b for a, b in zip(compiled.parameters(), model.parameters()))
    assert repr(compiled).splitlines()[:2] == ["OptimizedModule(", "  (_orig_mod): Sequential("]
    compiled.eval()
    assert model.training is False and compiled.training is False
    compiled.train()
    assert all(m.training for m in model.modules())
    # attributes reach the original, both ways
    assert getattr(compiled, "0") is model[0]  # not subscriptable, as torch's
    compiled.custom_flag = 3
    assert model.custom_flag == 3
    assert len(compiled) == len(model) == 7
    # a state_dict saved from the compiled module loads into it and into a plain twin with
    # the prefix removed, as in PyTorch
    sd = compiled.state_dict()
    compiled.load_state_dict(sd)
    twin = _cnn()
    twin.load_state_dict({k[len("_orig_mod."):]: v for k, v in sd.items()})


def test_decorator_forms():
    def f(x):
        return x.sin() * 2

    x = ember.randn(3)
    for deco in (ember.compile, ember.compile(), ember.compile(backend="replay"),
                 ember.compile(fullgraph=True, dynamic=False)):
        g = deco(f)
        assert g.__name__ == "f" and g.__wrapped__ is f and g._torchdynamo_orig_callable is f
        np.testing.assert_array_equal(g(x).numpy(), f(x).numpy())

    @ember.compile
    def h(x, y):
        return x * y + 1

    np.testing.assert_array_equal(h(x, x).numpy(), (x * x + 1).numpy())
    with pytest.raises(RuntimeError, match="Model can't be None"):
        ember.compile()(None)


def test_decorator_forms_like_torch():
    torch = pytest.importorskip("torch")

    def f(x):
        return x + 1

    for lib in (torch, ember):
        assert callable(lib.compile(backend="eager"))
        g = lib.compile(f, backend="eager")
        assert g.__name__ == "f" and g.__wrapped__ is f
        assert lib.compile(f, disable=True) is f


def test_argument_errors_as_torch():
    model = _mlp()
    with pytest.raises(RuntimeError, match="Either mode or options"):
        ember.compile(model, mode="default", options={})
    with pytest.raises(RuntimeError, match="Unrecognized mode=fast"):
        ember.compile(model, mode="fast")
    ember.compile(model, backend="eager", mode="reduce-overhead")  # accepted, as in torch
    with pytest.raises(RuntimeError, match="Invalid backend: 'tvm'"):
        ember.compile(model, backend="tvm")
    with pytest.raises(AssertionError, match="A callable function is expected"):
        ember.compile(3)
    with pytest.raises(NotImplementedError, match="backend name"):
        ember.compile(model, backend=lambda gm, inputs: gm)
    assert ember.compile(model, disable=True) is model


# -- numbers: forward, gradients, training ----------------------------------------------------

@pytest.mark.parametrize("backend", ["inductor", "replay", "eager"])
def test_forward_and_gradients_equal_eager(backend):
    eager, twin = _twins(_mlp)
    compiled = ember.compile(twin, backend=backend)
    for _ in range(3):  # the first call captures, the others replay
        x = ember.randn(5, 4, requires_grad=True)
        x2 = x.detach().clone().requires_grad_(True)
        out_e, out_c = eager(x), compiled(x2)
        np.testing.assert_array_equal(out_c.detach().numpy(), out_e.detach().numpy())
        out_e.pow(2).sum().backward()
        out_c.pow(2).sum().backward()
        np.testing.assert_array_equal(x2.grad.numpy(), x.grad.numpy())
        for p, q in zip(eager.parameters(), twin.parameters()):
            np.testing.assert_array_equal(q.grad.numpy(), p.grad.numpy())
    assert _entries(compiled)[1] == 1


def _train(model, data, steps):
    opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for i in range(steps):
        x, y = data[i % len(data)]
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("make, shape, classes", [(_mlp, (4,), 3), (_cnn, (1, 8, 8), 5)])
def test_training_run_equals_eager_step_by_step(make, shape, classes):
    rng = np.random.default_rng(0)
    data = [(ember.from_numpy(rng.standard_normal((6, *shape)).astype(np.float32)),
             ember.from_numpy(rng.integers(0, classes, 6))) for _ in range(3)]
    eager, twin = _twins(make)
    ember.manual_seed(5)  # dropout masks: the compiled run must draw the same ones
    want = _train(eager, data, 8)
    ember.manual_seed(5)
    got = _train(ember.compile(twin), data, 8)
    assert got == want
    for p, q in zip(eager.state_dict().values(), twin.state_dict().values()):
        np.testing.assert_array_equal(q.numpy(), p.numpy())  # BatchNorm's statistics too


def test_compiled_training_step_function_with_loss():
    """A compiled function reading the model from its closure: parameters stay live, and the
    targets are inputs (cross_entropy must not hold the first call's targets)."""
    rng = np.random.default_rng(1)
    data = [(ember.from_numpy(rng.standard_normal((4, 4)).astype(np.float32)),
             ember.from_numpy(rng.integers(0, 3, 4))) for _ in range(3)]
    eager, twin = _twins(_mlp)

    @ember.compile
    def loss_of(x, y):
        return nn.functional.cross_entropy(twin(x), y)

    losses = []
    for model, fn in ((eager, lambda x, y: nn.functional.cross_entropy(eager(x), y)),
                      (twin, loss_of)):
        opt = ember.optim.SGD(model.parameters(), lr=0.1)
        run = []
        for i in range(6):
            x, y = data[i % 3]
            opt.zero_grad()
            loss = fn(x, y)
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append(run)
    assert losses[0] == losses[1]
    assert _entries(loss_of)[1] == 1


# -- guards -----------------------------------------------------------------------------------

def test_guard_misses_recapture_new_batch_size_and_eval():
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    compiled = ember.compile(model, dynamic=False)
    compiled(ember.randn(3, 4))
    assert _entries(compiled)[1] == 1
    compiled(ember.randn(3, 4))
    assert _entries(compiled)[1] == 1
    compiled(ember.randn(5, 4))
    assert _entries(compiled)[1] == 2
    compiled.eval()
    x = ember.randn(5, 4)
    with ember.no_grad():
        out = compiled(x)
        np.testing.assert_array_equal(out.numpy(), model(x).numpy())  # no dropout in eval
    assert _entries(compiled)[1] == 3  # eval (with no_grad) is a new signature


def test_batch_size_becomes_dynamic_after_a_batch_only_miss():
    model = _mlp().eval()
    compiled = ember.compile(model)  # dynamic=None: static first, then the batch varies
    with ember.no_grad():
        for n in (2, 3, 4, 7, 1):
            x = ember.randn(n, 4)
            np.testing.assert_array_equal(compiled(x).numpy(), model(x).numpy())
    comp, graphs = _entries(compiled)
    assert graphs == 2 and len(comp.dynamic_entries) == 1


def test_dynamic_true_captures_one_graph_for_all_batch_sizes():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 3)).eval()
    compiled = ember.compile(model, dynamic=True)
    with ember.no_grad():
        for n in (2, 5, 1):
            x = ember.randn(n, 1, 6, 6)
            np.testing.assert_array_equal(compiled(x).numpy(), model(x).numpy())
    assert _entries(compiled)[1] == 1


def test_requires_grad_and_grad_mode_are_guarded():
    model = _mlp()
    compiled = ember.compile(model)
    x = ember.randn(2, 4)
    assert compiled(x).requires_grad
    with ember.no_grad():
        assert not compiled(x).requires_grad
        assert not compiled(x).requires_grad
    model.requires_grad_(False)
    assert not compiled(x).requires_grad  # nothing needs a gradient: eager gives none either
    xg = ember.randn(2, 4, requires_grad=True)
    compiled(xg).sum().backward()
    assert xg.grad is not None and _entries(compiled)[1] == 3


def test_recompile_limit_warns_once_then_runs_eagerly():
    model = _mlp()
    compiled = ember.compile(model, dynamic=False, recompile_limit=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in (1, 2, 3, 4, 3):
            x = ember.randn(n, 4)
            np.testing.assert_array_equal(compiled(x).detach().numpy(),
                                          model(x).detach().numpy())
    limit = [w for w in caught if "recompile_limit" in str(w.message)]
    assert len(limit) == 1 and "recompile_limit (2)" in str(limit[0].message)
    assert _entries(compiled)[1] == 2
    strict = ember.compile(_mlp(), dynamic=False, recompile_limit=1, fullgraph=True)
    strict(ember.randn(1, 4))
    with pytest.raises(RuntimeError, match="recompile_limit"):
        strict(ember.randn(2, 4))


def test_default_recompile_limit_is_torchs():
    torch = pytest.importorskip("torch")
    assert ember.compile(lambda x: x + 1)._ember_compiler.settings()["recompile_limit"] \
        == torch._dynamo.config.recompile_limit == 8


def test_recompile_limit_follows_dynamo_config():
    import ember._dynamo

    with ember._dynamo.config.patch(cache_size_limit=1):
        f = ember.compile(lambda x: x * 2)
    f(ember.ones(1, 4))
    with pytest.warns(UserWarning, match=r"recompile_limit \(1\)"):
        f(ember.ones(1, 5))


# -- graph breaks -----------------------------------------------------------------------------

def _branchy(x):
    if x.sum() > 0:  # Python control flow on a value: a graph break
        return x * 2
    return x - 1


def test_graph_break_runs_eagerly_with_one_warning():
    compiled = ember.compile(_branchy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for x in (ember.ones(3), -ember.ones(3), ember.ones(3)):
            np.testing.assert_array_equal(compiled(x).numpy(), _branchy(x).numpy())
    breaks = [w for w in caught if "graph break" in str(w.message)]
    assert len(breaks) == 1 and "bool(Tensor)" in str(breaks[0].message)
    assert "test_compile.py" in str(breaks[0].message)


def test_graph_break_does_not_update_batch_norm_twice():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(3)

        def forward(self, x):
            y = self.bn(x)
            return y * 2 if y.max().item() > 0 else y

    eager, twin = _twins(Net)
    compiled = ember.compile(twin)
    x = ember.randn(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):
            np.testing.assert_array_equal(compiled(x).detach().numpy(),
                                          eager(x).detach().numpy())
    np.testing.assert_array_equal(twin.bn.running_mean.numpy(), eager.bn.running_mean.numpy())
    assert int(twin.bn.num_batches_tracked) == 2


def test_fullgraph_raises_on_a_graph_break():
    compiled = ember.compile(_branchy, fullgraph=True)
    with pytest.raises(GraphBreak, match="bool"):
        compiled(ember.ones(3))


def test_user_errors_are_the_eager_errors():
    compiled = ember.compile(_mlp())
    with pytest.raises(RuntimeError, match="in_features"):
        compiled(ember.randn(2, 5))


def test_compiled_module_inside_a_trace_is_inlined():
    compiled = ember.compile(_mlp().eval())
    traced = ember.jit.trace(compiled, ember.randn(2, 4))
    x = ember.randn(2, 4)
    with ember.no_grad():
        np.testing.assert_array_equal(traced(x).numpy(), compiled(x).numpy())


# -- onnxruntime ------------------------------------------------------------------------------

def test_onnxruntime_backend_matches_eager():
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    model = _cnn().eval()
    compiled = ember.compile(model, backend="onnxruntime")
    x = ember.randn(4, 1, 8, 8)
    with ember.no_grad():
        for _ in range(2):
            out = compiled(x)
            np.testing.assert_allclose(out.numpy(), model(x).numpy(), atol=1e-5, rtol=0)
    entry = next(iter(compiled._compiler.cache.values()))
    assert entry.session is not None
    # gradients needed: the replay backend, with eager's gradients
    model.train()
    eager, twin = _twins(_mlp)
    c = ember.compile(twin, backend="onnxruntime")
    x = ember.randn(3, 4)
    c(x).sum().backward()
    eager(x).sum().backward()
    for p, q in zip(eager.parameters(), twin.parameters()):
        np.testing.assert_array_equal(q.grad.numpy(), p.grad.numpy())
    with ember.no_grad():
        np.testing.assert_allclose(c(x).numpy(), eager(x).numpy(), atol=1e-5, rtol=0)
    # the session reads the weights live: a training step between inference calls is seen
    for m in (eager, twin):
        ember.optim.SGD(m.parameters(), lr=0.5).step()
    with ember.no_grad():
        np.testing.assert_allclose(c(x).numpy(), eager(x).numpy(), atol=1e-5, rtol=0)
    assert list(c._compiler.cache.values())[-1].session is not None


def test_onnxruntime_backend_names_the_extra_when_missing(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    with pytest.raises(ImportError, match=r'pip install "ember\[onnx\]"'):
        ember.compile(_mlp(), backend="onnxruntime")


def test_replay_passes_keep_numbers_and_gradients():
    """Eval-mode (or p=0) dropout returns its input and repeated transposes of one tensor run
    once: the same numbers and gradients as eager."""
    class RepeatedViews(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                               batch_first=True)
            self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)

        def forward(self, x):
            return self.enc(x) + (x.transpose(1, 2) * x.transpose(1, 2)).transpose(1, 2)

    make = RepeatedViews

    eager, twin = _twins(make)
    compiled = ember.compile(twin)
    for _ in range(2):
        x = ember.randn(3, 5, 8)
        out_e, out_c = eager(x), compiled(x)
        np.testing.assert_array_equal(out_c.detach().numpy(), out_e.detach().numpy())
        out_e.sum().backward()
        out_c.sum().backward()
        for p, q in zip(eager.parameters(), twin.parameters()):
            np.testing.assert_array_equal(q.grad.numpy(), p.grad.numpy())
    def aliased():
        entry = list(compiled._compiler.cache.values())[-1]
        return [node.target_name for kind, _, node, _ in entry.replay.steps if kind == "alias"]

    assert "dropout" in aliased() and "transpose" not in aliased()  # exact sums in training
    eager.eval()
    compiled.eval()
    with ember.no_grad():
        x = ember.randn(3, 5, 8)
        np.testing.assert_array_equal(compiled(x).numpy(), eager(x).numpy())
    assert "transpose" in aliased() and "dropout" in aliased()


def test_compiled_module_pickles_with_its_settings():
    import pickle

    compiled = ember.compile(_mlp(), dynamic=False, recompile_limit=3)
    x = ember.randn(2, 4)
    want = compiled(x).detach().numpy()
    back = pickle.loads(pickle.dumps(compiled))
    assert isinstance(back, OptimizedModule)
    assert back._compiler.limit == 3 and back._compiler.dynamic is False
    np.testing.assert_array_equal(back(x).detach().numpy(), want)


def test_function_guards_the_mode_of_modules_it_reads():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))

    @ember.compile
    def run(x):
        return model(x) * 2

    x = ember.ones(3, 4)
    run(x)
    model.eval()
    with ember.no_grad():
        np.testing.assert_array_equal(run(x).numpy(), (model(x) * 2).numpy())
    assert _entries(run)[1] == 2


def test_non_tensor_arguments_are_part_of_the_guard():
    @ember.compile
    def scale(x, factor, mode="mul"):
        return x * factor if mode == "mul" else x + factor

    x = ember.ones(2)
    assert scale(x, 2.0).tolist() == [2.0, 2.0]
    assert scale(x, 3.0).tolist() == [3.0, 3.0]
    assert scale(x, 3.0, mode="add").tolist() == [4.0, 4.0]
    assert _entries(scale)[1] == 3


def test_onnxruntime_backend_takes_session_options():
    pytest.importorskip("onnxruntime")
    model = _mlp().eval()
    compiled = ember.compile(model, backend="onnxruntime",
                             options={"intra_op_num_threads": 1})
    x = ember.randn(2, 4)
    with ember.no_grad():
        for _ in range(2):  # the first call captures, the second opens the session
            np.testing.assert_allclose(compiled(x).numpy(), model(x).numpy(), atol=1e-5,
                                       rtol=0)
    entry = next(iter(compiled._compiler.cache.values()))
    assert entry.session.get_session_options().intra_op_num_threads == 1
    with pytest.raises(ValueError, match="not onnxruntime SessionOptions attributes"):
        ember.compile(model, backend="onnxruntime", options={"threads": 1})


def test_onnxruntime_backend_with_a_varying_batch_size():
    pytest.importorskip("onnxruntime")
    model = _mlp().eval()
    compiled = ember.compile(model, backend="onnxruntime", dynamic=True)
    with ember.no_grad():
        for n in (2, 2, 5, 5, 1, 1):
            x = ember.randn(n, 4)
            np.testing.assert_allclose(compiled(x).numpy(), model(x).numpy(), atol=1e-5,
                                       rtol=0)
    entry = next(iter(compiled._compiler.cache.values()))
    assert len(entry.sessions) == 3  # one graph, one session per batch size


def test_module_hooks_run_eagerly_with_one_warning():
    model = _mlp()
    compiled = ember.compile(model)
    x = ember.randn(2, 4)
    compiled(x)
    seen = []
    handle = model[0].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled(x)
        compiled(x)
    assert seen == [(2, 8), (2, 8)]  # a replay would have skipped the hook
    assert len([w for w in caught if "hooks" in str(w.message)]) == 1
    handle.remove()
    compiled(x)
    assert len(seen) == 2 and _entries(compiled)[1] == 1


def test_a_compiled_training_step_with_backward_runs_eagerly():
    """backward() and .grad inside the compiled function cannot be replayed: a graph break,
    so the step runs eagerly and the losses are eager's."""
    rng = np.random.default_rng(2)
    data = [(ember.from_numpy(rng.standard_normal((4, 4)).astype(np.float32)),
             ember.from_numpy(rng.integers(0, 3, 4))) for _ in range(2)]
    eager, twin = _twins(_mlp)
    runs = []
    for model, wrap in ((eager, lambda f: f), (twin, ember.compile)):
        def step(x, y, model=model):
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            with ember.no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad
                    p.grad = None
            return loss

        step = wrap(step)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runs.append([step(*data[i % 2]).item() for i in range(4)])
        if model is twin:
            msgs = [str(w.message) for w in caught if "graph break" in str(w.message)]
            assert len(msgs) == 1 and "Tensor.backward()" in msgs[0]
    assert runs[0] == runs[1]
    with pytest.raises(GraphBreak, match="grad"):
        ember.compile(lambda x: x.grad, fullgraph=True)(ember.randn(2, requires_grad=True))


def test_one_tensor_passed_twice_is_guarded():
    @ember.compile
    def f(a, b):
        return a * 2 + b

    x, y = ember.ones(2), ember.zeros(2)
    for _ in range(2):
        assert f(x, x).tolist() == [3.0, 3.0]
        assert f(x, y).tolist() == [2.0, 2.0]
    assert _entries(f)[1] == 2


def test_replay_runs_a_generated_function():
    compiled = ember.compile(_mlp())
    x = ember.randn(2, 4)
    compiled(x)
    entry = next(iter(compiled._compiler.cache.values()))
    entry.replay_run([x])  # the replay (calls of ops the lowering does not cover take it)
    source = entry.forward.source
    assert source.startswith("def forward(root, tensors):")
    assert "read(root, '0.weight')" in source and "# linear" in source
    assert source.rstrip().splitlines()[-1].startswith("    return v")
