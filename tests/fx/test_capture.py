"""ember.fx.capture: the graph a run records, its replay, graph breaks, printing and DOT."""

import re
import threading

import numpy as np
import pytest

import ember
from ember import nn
from ember._ops import _core
from ember._tensor import Tensor
from ember.fx import CaptureError, GraphBreak, Interpreter, capture


def _mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True), nn.Linear(8, 3))


def test_graph_of_a_module_names_parameters_and_modules():
    model = _mlp()
    graph = capture(model, ember.randn(2, 4))
    ops = [(n.op, n.target_name) for n in graph.nodes]
    assert ops == [("placeholder", "input"), ("get_attr", "0.weight"), ("get_attr", "0.bias"),
                   ("call_function", "linear"), ("call_function", "relu"),
                   ("get_attr", "2.weight"), ("get_attr", "2.bias"),
                   ("call_function", "linear"), ("output", "output")]
    calls = [n for n in graph.nodes if n.op == "call_function"]
    assert [n.meta["module_path"] for n in calls] == ["0", "1", "2"]
    assert [n.meta["module_type"] for n in calls] == ["Linear", "ReLU", "Linear"]
    assert calls[-1].meta["shape"] == (2, 3)
    assert graph.attributes["0.weight"] is model[0].weight


def test_replay_matches_eager_on_other_batch_sizes():
    model = _mlp()
    graph = capture(model, ember.randn(2, 4))
    for batch in (1, 5):
        x = ember.randn(batch, 4)
        np.testing.assert_allclose(Interpreter(graph, model).run(x).detach().numpy(),
                                   model(x).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_replay_reads_parameters_at_run_time():
    model = _mlp()
    graph = capture(model, ember.randn(2, 4))
    with ember.no_grad():
        model[2].bias.add_(1.0)
    x = ember.randn(3, 4)
    np.testing.assert_allclose(Interpreter(graph, model).run(x).detach().numpy(),
                               model(x).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_output_structure_inplace_ops_and_functions_without_op_classes():
    def fn(x, scale):
        mask = x > 0
        y = ember.where(mask, x, x * 0.1)
        y += scale
        z = y.clone()
        z.mul_(2)
        return {"y": y, "pair": (z, x.argmax(dim=1)), "n": 3}

    x, s = ember.randn(2, 3), ember.randn(3)
    graph = capture(fn, x, s)
    names = [n.target_name for n in graph.nodes if n.op == "call_function"]
    assert "gt" in names and "argmax" in names and "where" in names
    for batch in (2, 4):
        x2 = ember.randn(batch, 3)
        got, want = Interpreter(graph).run(x2, s), fn(x2, s)
        assert got["n"] == 3
        np.testing.assert_array_equal(got["y"].detach().numpy(), want["y"].numpy())
        np.testing.assert_array_equal(got["pair"][0].detach().numpy(), want["pair"][0].numpy())
        np.testing.assert_array_equal(got["pair"][1].numpy(), want["pair"][1].numpy())


def test_constants_made_inside_the_function_are_kept():
    def fn(x):
        return x + ember.arange(3.0)

    graph = capture(fn, ember.zeros(2, 3))
    consts = [n for n in graph.nodes if n.op == "get_attr"]
    assert [n.target for n in consts] == ["_tensor_constant0"]
    np.testing.assert_array_equal(Interpreter(graph).run(ember.ones(1, 3)).detach().numpy(),
                                  [[1.0, 2.0, 3.0]])


def test_batch_norm_is_one_node_reading_the_buffers():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)).eval()
    graph = capture(model, ember.randn(2, 2, 5, 5))
    bn = next(n for n in graph.nodes if n.target_name == "batch_norm")
    assert [a.target for a in bn.args[1:5]] == ["1.running_mean", "1.running_var",
                                               "1.weight", "1.bias"]
    with ember.no_grad():
        model[1].running_mean.fill_(0.5)
    x = ember.randn(3, 2, 5, 5)
    np.testing.assert_allclose(Interpreter(graph, model).run(x).detach().numpy(),
                               model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_raw_statistics_arrays_are_traced_to_their_buffers():
    # instance norm with running statistics hands batch norm's kernel raw arrays of them
    model = nn.InstanceNorm2d(3, track_running_stats=True).eval()
    with ember.no_grad():
        model.running_mean.copy_(ember.randn(3))
    graph = capture(model, ember.randn(2, 3, 4, 4))
    sources = {n.args[0].target for n in graph.nodes if n.target_name == "tensor_data"}
    assert sources == {"running_mean", "running_var"}
    with ember.no_grad():
        model.running_var.fill_(2.0)
    x = ember.randn(1, 3, 4, 4)
    np.testing.assert_allclose(Interpreter(graph, model).run(x).detach().numpy(),
                               model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_training_batch_norm_and_dropout_replay_like_eager():
    # recorded whole: replay updates the running statistics and draws new masks, consuming
    # the random stream as eager does
    def make():
        ember.manual_seed(3)
        return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Dropout(0.5)).train()

    eager, twin = make(), make()
    graph = capture(twin, ember.randn(5, 4))
    names = [n.target_name for n in graph.nodes if n.op == "call_function"]
    assert names == ["linear", "batch_norm", "dropout"]
    twin.load_state_dict(eager.state_dict())
    x = ember.randn(5, 4)
    for _ in range(2):
        ember.manual_seed(7)
        want = eager(x)
        ember.manual_seed(7)
        got = Interpreter(graph, twin).run(x)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    np.testing.assert_allclose(twin[1].running_mean.numpy(), eager[1].running_mean.numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("call, method", [
    (lambda y: y.sum().item(), "Tensor.item()"),
    (lambda y: bool(y.sum() > 0), "bool(Tensor)"),
    (lambda y: int(y[0, 0]), "int(Tensor)"),
    (lambda y: float(y[0, 0]), "float(Tensor)"),
    (lambda y: y.tolist(), "Tensor.tolist()"),
    (lambda y: y.detach().numpy(), "Tensor.numpy()"),
])
def test_data_dependent_python_raises_a_graph_break_naming_the_line(call, method):
    model = nn.Linear(3, 3)

    def fn(x):
        y = model(x)
        call(y)
        return y

    with pytest.raises(GraphBreak) as info:
        capture(fn, ember.randn(2, 3))
    err = info.value
    assert err.method == method
    # the user's line: the lambda above, not ember's code
    assert err.source.endswith(f"test_capture.py:{call.__code__.co_firstlineno}")
    assert "(lambda y:" in str(err) and method in str(err)


def test_if_on_a_tensor_in_forward_breaks():
    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            y = self.fc(x)
            if y.mean() > 0:
                return y
            return -y

    with pytest.raises(GraphBreak, match=r"bool\(Tensor\).*if y.mean\(\) > 0"):
        capture(Gate(), ember.randn(2, 3))


def test_values_that_do_not_depend_on_inputs_may_be_read():
    model = nn.Linear(3, 2)

    def fn(x):
        k = int(model.weight.shape[0])
        scale = float(model.bias.detach().abs().sum()) + 1.0  # parameters only: a constant
        return model(x) * scale + k

    graph = capture(fn, ember.randn(2, 3))
    assert graph.output_node.args[0].meta["shape"] == (2, 2)


def test_state_is_restored_after_capture_and_after_an_error():
    plain = _core._PLAIN_APPLY
    item, gt = Tensor.__dict__["item"], Tensor.__dict__["__gt__"]
    capture(_mlp(), ember.randn(2, 4))
    with pytest.raises(GraphBreak):
        capture(lambda x: x.item(), ember.randn(1))
    with pytest.raises(ValueError):
        capture(lambda x: (_ for _ in ()).throw(ValueError("boom")), ember.randn(1))
    assert _core.Op.__dict__["apply"] is plain
    assert Tensor.__dict__["item"] is item and Tensor.__dict__["__gt__"] is gt
    assert ember.is_grad_enabled()
    assert ember.randn(1).item() is not None


def test_nested_capture_is_refused():
    def outer(x):
        return capture(lambda y: y + 1, x)

    with pytest.raises(CaptureError, match="another capture"):
        capture(outer, ember.randn(2))


def test_other_threads_are_not_recorded():
    done = threading.Event()
    started = threading.Event()

    def background():
        started.set()
        a = ember.ones(3)
        while not done.is_set():
            a = a + 1

    thread = threading.Thread(target=background)
    thread.start()
    started.wait()
    try:
        graph = capture(lambda x: x * 2, ember.randn(2))
    finally:
        done.set()
        thread.join()
    assert [n.target_name for n in graph.nodes if n.op == "call_function"] == ["mul"]


def test_unseen_inplace_change_is_an_error():
    def fn(x, idx):
        with ember.no_grad():
            idx += 1  # int tensor, no autograd: NumPy writes in place, no op is recorded
        return x[idx]

    with pytest.raises(CaptureError, match="changed in place"):
        capture(fn, ember.randn(4), ember.tensor([0, 1]))


def test_str_and_tabular_follow_torch_fx():
    graph = capture(lambda x: (x * 2).relu(), ember.randn(3))
    assert str(graph) == (
        "graph():\n"
        "    %x : [num_users=1] = placeholder[target=x]\n"
        "    %mul : [num_users=1] = call_function[target=mul](args = (%x, 2), kwargs = {})\n"
        "    %relu : [num_users=1] = call_function[target=relu](args = (%mul,), kwargs = {})\n"
        "    return relu")
    table = capture(_mlp(), ember.randn(2, 4)).tabular().splitlines()
    assert table[0].split() == ["opcode", "name", "target", "args", "kwargs", "shape", "module"]
    assert re.match(r"call_function\s+linear_1\s+linear\s+\(%relu, %_2_weight, %_2_bias\)",
                    table[-2])
    assert table[-2].rstrip().endswith("[2, 3]  2")


def test_print_tabular_prints_the_table(capsys):
    graph = capture(_mlp(), ember.randn(2, 4))
    graph.print_tabular()
    assert capsys.readouterr().out.strip() == graph.tabular()


def test_to_dot_is_graphviz_text_with_one_edge_per_input():
    graph = capture(_mlp(), ember.randn(2, 4))
    dot = graph.to_dot()
    assert dot.startswith('digraph "graph" {') and dot.endswith("}")
    edges = re.findall(r'^\s+"(\w+)" -> "(\w+)";$', dot, re.M)
    want = [(i.name, n.name) for n in graph.nodes for i in n.all_input_nodes]
    assert edges == want
    assert '"linear_1" [label="linear\\n[2, 3]\\n(2)", shape=box];' in dot
    no_params = graph.to_dot(show_attributes=False)
    assert "weight" not in no_params and '"input" -> "linear";' in no_params
