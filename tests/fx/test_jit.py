"""ember.jit.trace: replay of the captured ops (same numbers and gradients as eager), sizes
that follow the batch, guards, checks, saving, and script's pointer to trace/compile."""

import numpy as np
import pytest

import ember
from ember import nn
from ember.fx import GraphBreak
from ember.vision import models


def setup_function():
    ember.manual_seed(0)


def _mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


@pytest.mark.parametrize("make, shape", [
    (_mlp, (2, 4)),
    (lambda: models.lenet(), (2, 1, 28, 28)),
    (lambda: models.resnet18(num_classes=10), (2, 3, 32, 32)),
])
def test_replay_equals_eager_at_other_batch_sizes(make, shape):
    model = make().eval()
    traced = ember.jit.trace(model, ember.randn(*shape))
    for n in (shape[0], 1, 5):
        x = ember.randn(n, *shape[1:])
        with ember.no_grad():
            np.testing.assert_array_equal(traced(x).numpy(), model(x).numpy())


def test_gradients_and_a_training_run_equal_eager():
    ember.manual_seed(1)
    eager = _mlp()
    ember.manual_seed(1)
    twin = _mlp()
    traced = ember.jit.trace(twin, ember.randn(5, 4))
    assert list(traced.state_dict()) == list(twin.state_dict())
    x, y = ember.randn(5, 4), ember.randn(5, 3)
    losses = []
    for m in (eager, traced):
        opt = ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        run = []
        for _ in range(4):
            opt.zero_grad()
            loss = nn.functional.mse_loss(m(x), y)
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append(run)
    assert losses[0] == losses[1]
    # the traced module trains the original's parameters (the same objects)
    for (k, a), (_, b) in zip(eager.state_dict().items(), twin.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_traced_function_and_code():
    def fn(x, w):
        return (x @ w).view(x.shape[0], -1).softmax(dim=1)

    w = ember.randn(3, 4)
    traced = ember.jit.trace(fn, (ember.randn(2, 3), w))
    x = ember.randn(6, 3)
    np.testing.assert_array_equal(traced(x, w).numpy(), fn(x, w).numpy())
    assert "ops.matmul(x, w)" in traced.code and "shape=(batch, 4)" in traced.code
    assert traced.code.startswith("def forward(self, x, w):")
    assert "ember.jit.TracedFunction fn" in repr(traced)


def test_module_code_names_parameters_and_submodules():
    traced = ember.jit.trace(_mlp(), ember.randn(2, 4))
    lines = traced.code.splitlines()
    assert lines[1] == "    linear = ops.linear(input, self.0.weight, self.0.bias)  # 0"
    assert lines[-1] == "    return linear_1"
    assert traced.graph is not None and "original_name=Sequential" in repr(traced)


def test_shapes_other_than_the_batch_are_guarded():
    traced = ember.jit.trace(nn.Linear(4, 2), ember.randn(3, 4))
    with pytest.raises(RuntimeError, match=r"recorded for shape \[3, 4\] \(axis 0 may vary\)"):
        traced(ember.randn(3, 5))
    with pytest.raises(RuntimeError, match="dtype"):
        traced(ember.randn(3, 4, dtype=ember.float64))
    with pytest.raises(TypeError, match="takes 1 tensor inputs"):
        traced(ember.randn(3, 4), ember.randn(3, 4))


def test_static_trace_when_the_batch_cannot_vary():
    def fn(x):
        return x.reshape(6) * 2  # the size is written in: the batch cannot vary

    traced = ember.jit.trace(fn, ember.randn(2, 3))
    np.testing.assert_array_equal(traced(ember.ones(2, 3)).numpy(), np.full(6, 2.0))
    with pytest.raises(RuntimeError, match=r"recorded for shape \[2, 3\] and"):
        traced(ember.ones(3, 3))


def test_graph_breaks_and_trace_checks():
    def gate(x):
        return x if x.sum() > 0 else -x

    with pytest.raises(GraphBreak, match="bool"):
        ember.jit.trace(gate, ember.randn(3))
    with pytest.raises(ember.jit.TracingCheckError, match="input's values"):
        ember.jit.trace(nn.AdaptiveMaxPool2d(2), ember.randn(1, 2, 5, 5))
    traced = ember.jit.trace(nn.AdaptiveMaxPool2d(2), ember.randn(1, 2, 5, 5),
                             check_trace=False)  # the caller's choice: baked windows
    assert traced.graph is not None
    ember.jit.trace(_mlp(), ember.randn(2, 4), check_inputs=[(ember.randn(7, 4),)])
    with pytest.raises(ValueError, match="example_inputs"):
        ember.jit.trace(_mlp())


def test_is_tracing_inside_forward():
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(ember.jit.is_tracing())
            return x * 2

    traced = ember.jit.trace(Probe(), ember.randn(2))
    assert seen and all(seen) and not ember.jit.is_tracing()
    assert not ember.jit.is_scripting()
    assert traced(ember.ones(2)).tolist() == [2.0, 2.0]


def test_script_points_to_trace_and_compile():
    with pytest.raises(RuntimeError, match=r"ember.jit.trace\(model, example_inputs\)"):
        ember.jit.script(_mlp())


def test_decorators_are_accepted():
    @ember.jit.ignore
    def a(x):
        return x

    @ember.jit.ignore(drop=True)
    def b(x):
        return x

    assert a(1) == 1 and b(2) == 2 and ember.jit.unused(a) is a and ember.jit.export(a) is a
    assert ember.jit.annotate(list, []) == []


def test_save_and_load_round_trip(tmp_path):
    pytest.importorskip("onnx")
    model = models.lenet().eval()
    traced = ember.jit.trace(model, ember.randn(2, 1, 28, 28))
    path = tmp_path / "lenet.onnx"
    ember.jit.save(traced, str(path))
    loaded = ember.jit.load(str(path))
    x = ember.randn(4, 1, 28, 28)
    np.testing.assert_allclose(loaded(x).detach().numpy(), model(x).detach().numpy(),
                               atol=1e-5)
    with pytest.raises(TypeError, match="result of ember.jit.trace"):
        ember.jit.save(model, str(path))


def test_freeze_optimize_for_inference_and_trace_module_follow_torch():
    torch = pytest.importorskip("torch")
    outcomes = {}
    for lib in (torch, ember):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
        x = lib.ones(5, 3)
        seen = []
        for fn, arg in ((lib.jit.freeze, model),  # not traced
                        (lib.jit.freeze, lib.jit.trace(model.train(), x)),  # training mode
                        (lib.jit.optimize_for_inference, model),
                        (lib.jit.trace_module, (model, x))):  # not a dict
            with pytest.raises((RuntimeError, AttributeError)) as err:
                fn(*arg) if isinstance(arg, tuple) else fn(arg)
            seen.append((type(err.value).__name__, str(err.value).replace("ember", "torch")))
        frozen = lib.jit.freeze(lib.jit.trace(model.eval(), x))
        optimized = lib.jit.optimize_for_inference(lib.jit.trace(model.train(), x))
        traced = lib.jit.trace_module(model, {"forward": x})
        seen.append([m(x).tolist() for m in (frozen, optimized, traced)])
        outcomes[lib.__name__] = seen
    assert outcomes["ember"] == outcomes["torch"]
    with pytest.raises(NotImplementedError, match="forward only"):
        ember.jit.trace_module(nn.Linear(3, 2), {"forward": ember.ones(1, 3),
                                                  "other": ember.ones(1, 3)})


def test_onnx_export_returns_none_without_dynamo(tmp_path):
    pytest.importorskip("onnx")
    model = nn.Linear(3, 2)
    assert ember.onnx.export(model, (ember.ones(1, 3),), tmp_path / "a.onnx", dynamo=False) \
        is None
    assert (tmp_path / "a.onnx").stat().st_size > 0
    program = ember.onnx.export(model, (ember.ones(1, 3),), tmp_path / "b.onnx")
    assert program.model_proto is not None


def test_fork_wait_script_if_tracing_and_typed_isinstance_follow_torch():
    torch = pytest.importorskip("torch")
    cases = [([1, 2], list[int]), ([1, "a"], list[int]),
             ({"a": 1.0}, dict[str, float]), ({"a": 1}, dict[str, str]),
             ((1, "a"), tuple[int, str]), ((1, 2), tuple[int, str]),
             (None, int | None), ([], list[int]), (3, int), ("x", int),
             ([[1], [2, 3]], list[list[int]])]
    assert [ember.jit.isinstance(o, t) for o, t in cases] == \
        [torch.jit.isinstance(o, t) for o, t in cases]
    for lib in (torch, ember):
        future = lib.jit.fork(lambda a, b=2: a + b, 1, b=5)
        assert (future.wait(), lib.jit.wait(future), future.done()) == (6, 6, True)
        assert future.then(lambda f: f.value() * 10).wait() == 60
        with pytest.raises(ZeroDivisionError):  # the forked call runs at once in both
            lib.jit.fork(lambda: 1 / 0)
        assert lib.jit.script_if_tracing(abs)(-3) == 3
