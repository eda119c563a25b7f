"""ember._dynamo.explain against torch._dynamo.explain: the ExplainOutput fields, its str()
layout, graph breaks, the deprecated explain(f, *args) form, and side effects of the run."""

import dataclasses
import warnings

import numpy as np
import pytest

import ember
import ember._dynamo
from ember import nn

pytest.importorskip("torch")
import torch  # noqa: E402
import torch._dynamo  # noqa: E402

FIELDS = ["graphs", "graph_count", "graph_break_count", "break_reasons", "op_count",
          "ops_per_graph", "out_guards", "compile_times"]


def _straight(lib):
    def f(x, y):
        a = lib.sin(x) + y
        return (lib.cos(a) * 2).sum()
    return f


def _breaking(lib):
    def g(x):
        a = x.sin()
        if a.sum().item() > 0:
            return a.cos()
        return a.exp()
    return g


def test_fields_match_torch():
    ours = ember._dynamo.explain(_straight(ember))(ember.randn(3, 4), ember.randn(3, 4))
    torch._dynamo.reset()
    theirs = torch._dynamo.explain(_straight(torch))(torch.randn(3, 4), torch.randn(3, 4))
    assert [f.name for f in dataclasses.fields(ours)] == FIELDS
    assert [f.name for f in dataclasses.fields(theirs)] == FIELDS
    assert (ours.graph_count, ours.graph_break_count) == (theirs.graph_count,
                                                           theirs.graph_break_count) == (1, 0)
    assert ours.break_reasons == [] == theirs.break_reasons
    assert len(ours.graphs) == len(theirs.graphs) == len(ours.ops_per_graph) == 1
    assert ours.op_count == sum(len(o) for o in ours.ops_per_graph)
    # every op ember recorded: sin, add, cos, mul, sum (torch counts its 4 function calls)
    assert ours.op_count == 5 and theirs.op_count == 4
    assert isinstance(ours.compile_times, str) and isinstance(theirs.compile_times, str)
    names = [g.name for g in ours.out_guards if g.create_fn_name() == "TENSOR_MATCH"]
    theirs_names = [g.name for g in theirs.out_guards if g.create_fn_name() == "TENSOR_MATCH"]
    assert names == theirs_names == ["L['x']", "L['y']"]


def test_str_layout_matches_torch():
    ours = str(ember._dynamo.explain(_straight(ember))(ember.randn(3, 4), ember.randn(3, 4)))
    torch._dynamo.reset()
    theirs = str(torch._dynamo.explain(_straight(torch))(torch.randn(3, 4), torch.randn(3, 4)))
    heads = ["Graph Count: 1", "Graph Break Count: 0", "Break Reasons:", "Ops per Graph:",
             "  Ops 1:", "Out Guards:", "  Guard 1:", "    Create Function: GRAD_MODE"]
    for text in (ours, theirs):
        for h in heads:
            assert h in text.splitlines()
        assert text.splitlines()[0] == "Graph Count: 1" and text.endswith("\n")
        assert "\nCompile Times: " in text


def test_empty_output_str_matches_torch():
    import traceback

    from torch._dynamo.backends.debugging import ExplainOutput as TorchOut
    from torch._dynamo.output_graph import GraphCompileReason as TorchReason

    from ember._dynamo._explain import ExplainOutput, GraphCompileReason
    frames = [traceback.FrameSummary("a.py", 3, "f")]
    cases = [([], 0, 0, [], 0), ([], 0, 0, [], 0, None, [], ""),
             ([], 0, 1, "R", 0, [[1, "x"]], None, "ct")]
    for case in cases:
        mine = list(case)
        theirs = list(case)
        if case[3] == "R":
            mine[3] = [GraphCompileReason("r", frames)]
            theirs[3] = [TorchReason("r", frames)]
        assert str(ExplainOutput(*mine)) == str(TorchOut(*theirs))
        assert repr(ExplainOutput(*mine)).split("(")[0] == "ExplainOutput"


def test_graph_break_reported():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    ours = ember._dynamo.explain(_breaking(ember))(ember.tensor(x))
    torch._dynamo.reset()
    theirs = torch._dynamo.explain(_breaking(torch))(torch.tensor(x))
    assert ours.graph_break_count == theirs.graph_break_count == 1
    assert len(ours.break_reasons) == len(theirs.break_reasons) == 1
    why = ours.break_reasons[0]
    assert why.graph_break is True and "item()" in why.reason
    assert why.user_stack[0].lineno == theirs.break_reasons[0].user_stack[0].lineno
    # ember runs a call with a break eagerly: no graph (torch splits it into two)
    assert ours.graph_count == 0 and ours.graphs == [] and theirs.graph_count == 2
    assert "  Break Reason 1:" in str(ours) and "    User Stack:" in str(ours)


def test_deprecated_form_warns_like_torch():
    x = ember.randn(2, 3)
    with pytest.warns(FutureWarning, match="explain\\(f, \\*args, \\*\\*kwargs\\) is deprecated"):
        out = ember._dynamo.explain(lambda t: t.relu(), x)
    assert out.graph_count == 1
    torch._dynamo.reset()
    with pytest.warns(FutureWarning, match="explain\\(f, \\*args, \\*\\*kwargs\\) is deprecated"):
        torch._dynamo.explain(lambda t: t.relu(), torch.randn(2, 3))


def test_module_runs_once_and_keeps_state():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    x = ember.randn(5, 4)
    out = ember._dynamo.explain(model)(x)
    assert out.graph_count == 1 and out.op_count == sum(map(len, out.ops_per_graph))
    # one forward ran: running stats moved once, as in eager
    assert model[1].num_batches_tracked.item() == 1
    graph = out.graphs[0]
    with ember.no_grad():
        model.eval()
        a = ember.fx.Interpreter(graph, model).run(x)
        b = model(x)
    assert a.shape == b.shape


def test_break_restores_random_state():
    def h(x):
        y = ember.nn.functional.dropout(x, 0.5)
        if y.sum().item() > -1e9:
            return y * 2
        return y

    x = ember.ones(100)
    ember.manual_seed(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ember._dynamo.explain(h)(x)
    after = ember.rand(3)
    ember.manual_seed(3)
    h(x)
    assert ember.equal(after, ember.rand(3))
