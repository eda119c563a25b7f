"""ember.fx.symbolic_trace against torch.fx: generated code, node lists, outputs, rewriting.

Each model is written once as source text and built twice, with ``torch`` bound to torch and to
ember, so both libraries trace the same program.
"""

import operator
import textwrap

import numpy as np
import pytest

import ember
from ember import fx

MODELS = {
    "mlp": """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
""",
    "cnn_flatten": """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        x = torch.flatten(x, 1)
        return self.fc(x)
""",
    "view_size_shape": """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 2)

    def forward(self, x):
        y = x.view(x.size(0), -1)
        return self.fc(y) / x.shape[0], y.sum(dim=1, keepdim=True).t()
""",
    "cat_operators": """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(8, 3) * 0.5)
        self.register_buffer("scale", torch.ones(3) * 2)

    def forward(self, x):
        y = torch.cat([x, x * 2], dim=1)
        z = (1 + y) @ self.w * self.scale - self.w.sum()
        return -z ** 2 / 3, z[:, 0:2], torch.add(z, z), self.scale * z
""",
    "non_leaf_submodule": """
class Block(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.lin = nn.Linear(n, n)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.lin(x)) + x


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(4), Block(4))
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return F.softmax(self.head(self.blocks(x)), dim=-1)
""",
    "functional_defaults": """
class Model(nn.Module):
    def forward(self, x):
        a = F.dropout(x, 0.5, training=False)
        b = F.leaky_relu(x, 0.2) + F.max_pool2d(x, 2).sum() + F.conv2d(x, x[:1]).mean()
        return F.layer_norm(a + b, (4,)), F.sigmoid(x), x.max(dim=1)[0].unsqueeze(1)
""",
}

INPUT_SHAPES = {"mlp": (3, 4), "cnn_flatten": (2, 1, 6, 6), "view_size_shape": (2, 4, 4),
                "cat_operators": (3, 4), "non_leaf_submodule": (3, 4),
                "functional_defaults": (2, 3, 4, 4)}


def build(lib, source):
    namespace = {"torch": lib, "nn": lib.nn, "F": lib.nn.functional}
    exec(textwrap.dedent(source), namespace)
    return namespace


def qualified(lib, target):
    return lib.fx.node._get_qualified_name(target) if callable(target) else str(target)


def node_list(lib, graph):
    def show(value):
        return lib.fx.node.map_arg(value, lambda n: f"%{n.name}")

    return [(n.op, n.name, qualified(lib, n.target), repr(show(n.args)), repr(show(n.kwargs)))
            for n in graph.nodes]


def same_weights(torch, tmodel, emodel):
    state = {k: ember.tensor(v.detach().numpy()) for k, v in tmodel.state_dict().items()}
    emodel.load_state_dict(state)


def as_numpy(value):
    if isinstance(value, (tuple, list)):
        return [as_numpy(v) for v in value]
    return value.detach().numpy()


def assert_close(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_close(a, b)
        return
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def traced_pair(torch, name, **kwargs):
    torch.manual_seed(0)
    tmodel = build(torch, MODELS[name])["Model"]()
    emodel = build(ember, MODELS[name])["Model"]()
    same_weights(torch, tmodel, emodel)
    return (tmodel, torch.fx.symbolic_trace(tmodel, **kwargs),
            emodel, fx.symbolic_trace(emodel, **kwargs))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_code_nodes_and_outputs_match_torch(torch, name):
    tmodel, tgm, emodel, egm = traced_pair(torch, name)
    assert egm.code == tgm.code
    assert node_list(ember, egm.graph) == node_list(torch, tgm.graph)
    assert str(egm.graph) == str(tgm.graph)
    assert list(egm.state_dict()) == list(tgm.state_dict())
    assert egm.print_readable(print_output=False) == tgm.print_readable(print_output=False)
    assert repr(egm) == repr(tgm)
    assert str(egm) == str(tgm)
    assert type(egm).__name__ == type(tgm).__name__ == "Model"
    x = np.random.default_rng(0).standard_normal(INPUT_SHAPES[name]).astype(np.float32)
    tmodel.eval(), tgm.eval(), emodel.eval(), egm.eval()
    expected = as_numpy(tmodel(torch.tensor(x)))
    assert_close(as_numpy(egm(ember.tensor(x))), expected)
    assert_close(as_numpy(emodel(ember.tensor(x))), expected)


def test_functions_and_tracing_leave_eager_functions_untouched(torch):
    original = (ember.relu, ember.nn.functional.relu, ember.Tensor.__add__,
                ember.nn.Module.__call__, ember.nn.Module.__getattr__)
    fx.symbolic_trace(build(ember, MODELS["non_leaf_submodule"])["Model"]())
    with pytest.raises(fx.proxy.TraceError):
        fx.symbolic_trace(lambda x: x if x.sum() > 0 else -x)
    assert (ember.relu, ember.nn.functional.relu, ember.Tensor.__add__,
            ember.nn.Module.__call__, ember.nn.Module.__getattr__) == original


def test_plain_function_and_graph_module_name(torch):
    def f(x, y):
        return x + y, torch.add(x, 3), x.relu()

    def g(x, y):
        return x + y, ember.add(x, 3), x.relu()

    tgm, egm = torch.fx.symbolic_trace(f), fx.symbolic_trace(g)
    assert egm.code == tgm.code
    assert repr(egm) == "g()" and repr(tgm) == "f()"


def test_concrete_args_specialise_like_torch(torch):
    source = """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x, flag=True, y=None):
        if flag:
            x = x + 1
        if y is None:
            x = x * 2
        return self.fc(x)
"""
    tmodel, emodel = build(torch, source)["Model"](), build(ember, source)["Model"]()
    same_weights(torch, tmodel, emodel)
    for concrete in ({"flag": False, "y": None}, {"flag": True}):
        tgm = torch.fx.symbolic_trace(tmodel, concrete_args=concrete)
        egm = fx.symbolic_trace(emodel, concrete_args=concrete)
        assert egm.code == tgm.code
        x = np.ones((2, 3), np.float32)
        args = (concrete["flag"],) if "y" not in concrete else (concrete["flag"], None)
        assert_close(as_numpy(egm(ember.tensor(x), *args)),
                     as_numpy(tgm(torch.tensor(x), *args)))
    with pytest.raises(AssertionError, match="flag has been specialized to have value True"):
        egm(ember.tensor(x), False)


def test_custom_tracer_leaf_rule(torch):
    def trace(lib, tracer_base):
        ns = build(lib, MODELS["non_leaf_submodule"])

        class BlocksAreLeaves(tracer_base):
            def is_leaf_module(self, m, qualname):
                return isinstance(m, ns["Block"]) or super().is_leaf_module(m, qualname)

        model = ns["Model"]()
        graph = BlocksAreLeaves().trace(model)
        return model, graph, lib.fx.GraphModule(model, graph)

    tmodel, tgraph, tgm = trace(torch, torch.fx.Tracer)
    emodel, egraph, egm = trace(ember, fx.Tracer)
    assert node_list(ember, egraph) == node_list(torch, tgraph)
    assert [n.op for n in egraph.nodes].count("call_module") == 3
    assert egm.code == tgm.code
    assert list(egm.state_dict()) == list(tgm.state_dict())
    assert repr(egm) == repr(tgm)


def test_tracing_errors_match_torch(torch):
    def branch(x):
        if x.sum() > 0:
            return x
        return -x

    def loop(x):
        return [v for v in x]

    def length(x):
        return len(x)

    for fn in (branch, loop, length):
        with pytest.raises(Exception) as theirs:
            torch.fx.symbolic_trace(fn)
        with pytest.raises(Exception) as ours:
            fx.symbolic_trace(fn)
        assert type(ours.value).__name__ == type(theirs.value).__name__
        assert str(ours.value) == str(theirs.value)
    assert issubclass(fx.proxy.TraceError, ValueError) and \
        issubclass(torch.fx.proxy.TraceError, ValueError)


def rewrite(lib, gm):
    """The fx tutorial's edits: add -> mul, a relu after each linear, drop the neg."""
    graph = gm.graph
    for node in graph.nodes:
        if node.op == "call_function" and node.target == lib.add:
            node.target = lib.mul
    for node in graph.nodes:
        if node.op == "call_module" and node.target == "lin":
            with graph.inserting_after(node):
                relu = graph.call_function(lib.relu, args=(node,))
            node.replace_all_uses_with(relu, delete_user_cb=lambda user, r=relu: user is not r)
    for node in graph.nodes:
        if node.op == "call_function" and node.target is operator.neg:
            node.replace_all_uses_with(node.args[0])
            graph.erase_node(node)
    graph.lint()
    graph.eliminate_dead_code()
    gm.recompile()
    return gm


REWRITE_SOURCE = """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        y = torch.add(self.lin(x), x)
        unused = y.sum()
        return -y * 2
"""


def test_graph_rewriting_tutorial_matches_torch(torch):
    tmodel, emodel = build(torch, REWRITE_SOURCE)["Model"](), build(ember, REWRITE_SOURCE)["Model"]()
    same_weights(torch, tmodel, emodel)
    tgm = rewrite(torch, torch.fx.symbolic_trace(tmodel))
    egm = rewrite(ember, fx.symbolic_trace(emodel))
    assert egm.code == tgm.code
    assert node_list(ember, egm.graph) == node_list(torch, tgm.graph)
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    assert_close(as_numpy(egm(ember.tensor(x))), as_numpy(tgm(torch.tensor(x))))


def test_erase_node_with_users_and_lint_errors_match_torch(torch):
    tgm = torch.fx.symbolic_trace(lambda x: x + 1)
    egm = fx.symbolic_trace(lambda x: x + 1)
    for gm in (tgm, egm):
        placeholder = next(iter(gm.graph.nodes))
        with pytest.raises(RuntimeError) as err:
            gm.graph.erase_node(placeholder)
        assert "Tried to erase Node x but it still had 1 users in the graph: {add: None}!" \
            in str(err.value)
        add = list(gm.graph.nodes)[1]
        placeholder.prepend(add)  # use before definition
        with pytest.raises(RuntimeError, match="was used before it has been defined"):
            gm.graph.lint()


def test_graph_built_by_hand_and_graph_module_from_dict(torch):
    codes = []
    for lib in (torch, ember):
        graph = lib.fx.Graph()
        x = graph.placeholder("x")
        w = graph.get_attr("w")
        mm = graph.call_function(operator.matmul, (x, w))
        out = graph.call_method("relu", (mm,))
        graph.output(out)
        weight = lib.tensor([[1.0, -1.0], [2.0, 0.5]])
        gm = lib.fx.GraphModule({"w": weight}, graph)
        codes.append((gm.code, str(graph), as_numpy(gm(lib.tensor([[1.0, 2.0]])))))
    assert codes[0][:2] == codes[1][:2]
    assert_close(codes[1][2], codes[0][2])


def shape_prop(lib, gm, x):
    class ShapeProp(lib.fx.Interpreter):
        def run_node(self, n):
            result = super().run_node(n)
            if hasattr(result, "shape"):
                n.meta["shape"] = tuple(result.shape)
            return result

    out = ShapeProp(gm).run(x)
    return out, [n.meta.get("shape") for n in gm.graph.nodes]


def test_interpreter_shape_propagation_and_transformer(torch):
    tmodel, tgm, emodel, egm = traced_pair(torch, "cnn_flatten")
    x = np.random.default_rng(1).standard_normal((2, 1, 6, 6)).astype(np.float32)
    tout, tshapes = shape_prop(torch, tgm, torch.tensor(x))
    eout, eshapes = shape_prop(ember, egm, ember.tensor(x))
    assert eshapes == tshapes
    assert_close(as_numpy(eout), as_numpy(tout))

    def to_sigmoid(lib):
        class ReluToSigmoid(lib.fx.Transformer):
            def call_function(self, target, args, kwargs):
                if target is lib.relu:
                    target = lib.sigmoid
                return super().call_function(target, args, kwargs)
        return ReluToSigmoid

    tnew = to_sigmoid(torch)(tgm).transform()
    enew = to_sigmoid(ember)(egm).transform()
    assert enew.code == tnew.code
    assert_close(as_numpy(enew(ember.tensor(x))), as_numpy(tnew(torch.tensor(x))))


def test_wrap_records_a_leaf_function(torch):
    gm = fx.symbolic_trace(_uses_wrapped)
    tgm = torch.fx.symbolic_trace(_uses_wrapped)
    node = [n for n in gm.graph.nodes if n.op == "call_function"][1]
    assert node.target is _row_count
    assert gm.code == tgm.code
    assert str(gm.graph) == str(tgm.graph)
    assert gm(ember.ones(3, 2)).tolist() == [[3.0, 3.0]] * 3
    again = fx.symbolic_trace(gm)  # the generated code registers the wrap again
    assert again.code == gm.code


def _row_count(x):
    return len(x)


fx.wrap("_row_count")
try:  # torch's wrap() also has to run at module scope; the test itself skips without torch
    import torch.fx as _torch_fx
except ImportError:
    _torch_fx = None
else:
    _torch_fx.wrap("_row_count")


def _uses_wrapped(x):
    return x * 0 + _row_count(x)


def test_captured_graph_interpreter_still_replays():
    model = ember.nn.Linear(3, 2)
    graph = fx.capture(model, ember.randn(1, 3))
    x = ember.randn(4, 3)
    np.testing.assert_allclose(fx.Interpreter(graph, model).run(x).detach().numpy(),
                               model(x).detach().numpy(), rtol=1e-6)


def test_eager_ops_pay_nothing_after_tracing():
    # Not a timing assertion: the functions eager code calls are the very same objects before
    # and after a trace, so no wrapper stays in the call path.
    a = ember.ones(8)
    before = (type(a).__add__, ember.relu, ember.nn.functional.relu)
    fx.symbolic_trace(lambda x: ember.nn.functional.relu(x) + x)
    assert (type(a).__add__, ember.relu, ember.nn.functional.relu) == before


PATTERN_SOURCE = """
class Model(nn.Module):
    def forward(self, x, w1, w2):
        m1 = torch.cat([w1, w2]).sum()
        m2 = torch.cat([w1, w2]).sum()
        return x + torch.max(m1) + torch.max(m2)


def pattern(w1, w2):
    return torch.cat([w1, w2]).sum()


def replacement(w1, w2):
    return torch.stack([w1, w2])


def relu_times_two(x):
    return torch.relu(x) * 2


def sigmoid_plus(x):
    return torch.sigmoid(x) + x


def shared(a):
    r = torch.relu(a)
    return r * 2 + r


def two_uses(a):
    return torch.relu(a) * 2 + torch.relu(a) * 3
"""


def test_replace_pattern_matches_torch(torch):
    results = []
    for lib in (torch, ember):
        ns = build(lib, PATTERN_SOURCE)
        runs = []
        for target, pattern, replacement in (
                (ns["Model"](), ns["pattern"], ns["replacement"]),
                (ns["two_uses"], ns["relu_times_two"], ns["sigmoid_plus"]),
                (ns["shared"], ns["relu_times_two"], ns["sigmoid_plus"])):  # relu escapes
            gm = lib.fx.symbolic_trace(target)
            matches = lib.fx.replace_pattern(gm, pattern, replacement)
            gm.graph.lint()
            runs.append((gm.code, repr(matches)))
        x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
        gm = lib.fx.symbolic_trace(ns["two_uses"])
        lib.fx.replace_pattern(gm, ns["relu_times_two"], ns["sigmoid_plus"])
        results.append((runs, as_numpy(gm(lib.tensor(x)))))
    assert results[1][0] == results[0][0]
    assert results[0][0][2][1] == "[]"
    assert_close(results[1][1], results[0][1])


def test_deepcopy_and_pickle_keep_code_and_separate_graphs(torch):
    import copy
    import pickle

    _, tgm, _, egm = traced_pair(torch, "cnn_flatten")
    x = np.random.default_rng(2).standard_normal((2, 1, 6, 6)).astype(np.float32)
    for lib, gm in ((torch, tgm), (ember, egm)):
        twin = copy.deepcopy(gm)
        for node in twin.graph.nodes:
            if node.target is lib.relu:
                node.target = lib.sigmoid
        twin.recompile()
        assert "torch.sigmoid" in twin.code and "torch.sigmoid" not in gm.code
        assert type(twin).__name__ == "GraphModule"  # torch's copies lose the class name
        restored = pickle.loads(pickle.dumps(gm))
        assert type(restored).__name__ == "GraphModule"
        assert restored.code == gm.code
        assert_close(as_numpy(restored(lib.tensor(x))), as_numpy(gm(lib.tensor(x))))
    long_chain = fx.symbolic_trace(_long_chain)  # copying does not recurse node by node
    assert copy.deepcopy(long_chain)(ember.zeros(1)).tolist() == [3000.0]


def _long_chain(x):
    for _ in range(3000):
        x = x + 1
    return x


def test_other_threads_run_eagerly_during_a_trace():
    import threading

    model = ember.nn.Sequential(ember.nn.Linear(3, 3))
    x = ember.ones(2, 3)
    expected = model(x).detach().numpy()
    seen = []

    def eager_call(_x):
        # runs in another thread while the main thread is inside trace()
        worker = threading.Thread(target=lambda: seen.append(model(x).detach().numpy()))
        worker.start()
        worker.join()
        return _x + 1

    gm = fx.symbolic_trace(lambda y: eager_call(y) * 2)
    np.testing.assert_allclose(seen[0], expected)
    assert [n.op for n in gm.graph.nodes] == ["placeholder", "call_function", "call_function",
                                              "output"]
