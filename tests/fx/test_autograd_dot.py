"""ember.autograd.graph_to_dot: the backward graph as Graphviz text, node names as torch's."""

import re

import pytest

import ember


def _names_and_edges(dot):
    labels = dict(re.findall(r'^\s+(\w+) \[label="([^"]*)"', dot, re.M))
    edges = re.findall(r"^\s+(\w+) -> (\w+);$", dot, re.M)
    return labels, edges


def _torch_walk(t):
    """Node names of torch's graph behind ``t`` and its (child, parent) name pairs. torch's
    Linear transposes its weight in a TBackward0 node that ember's fused linear has not, so
    those nodes are passed through."""
    def skip_t(fn):
        return fn.next_functions[0][0] if type(fn).__name__ == "TBackward0" else fn

    names, pairs, seen, stack = [], set(), set(), [t.grad_fn]
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        names.append(type(fn).__name__)
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                nxt = skip_t(nxt)
                pairs.add((type(nxt).__name__, type(fn).__name__))
                stack.append(nxt)
    return sorted(names), pairs


def test_graph_of_a_loss_matches_torchs_nodes_and_edges():
    torch = pytest.importorskip("torch")
    e_model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Tanh(), ember.nn.Linear(4, 1))
    t_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    e_loss = e_model(ember.randn(5, 3)).pow(2).mean()
    t_loss = t_model(torch.randn(5, 3)).pow(2).mean()
    dot = ember.autograd.graph_to_dot(e_loss, dict(e_model.named_parameters()))
    labels, edges = _names_and_edges(dot)
    ops = sorted(v.split("\\n")[0] for k, v in labels.items()
                 if k.startswith("n") and "(" not in v)
    want_names, want_pairs = _torch_walk(t_loss)
    assert ops == sorted(n.replace("torch::autograd::", "") for n in want_names
                         if n != "AccumulateGrad")
    leaves = sorted(v for v in labels.values() if "\\n(" in v)
    assert leaves == ["0.bias\\n(4)", "0.weight\\n(4, 3)", "2.bias\\n(1)", "2.weight\\n(1, 4)"]
    name_of = {k: (v if "\\n(" not in v else "AccumulateGrad") for k, v in labels.items()}
    got_pairs = {(name_of[a], name_of[b]) for a, b in edges if not b.startswith("out")}
    assert got_pairs == {(a.replace("torch::autograd::", ""), b) for a, b in want_pairs}
    assert dot.startswith("digraph autograd {") and dot.endswith("}")


def test_saved_shapes_and_several_outputs():
    w = ember.randn(3, requires_grad=True)
    a, b = (w * 2).sum(), w.exp()
    dot = ember.autograd.graph_to_dot((a, b), show_saved=True)
    assert 'out0 [label="()"' in dot and 'out1 [label="(3)"' in dot
    assert "ExpBackward0\\nsaved: (3)" in dot
    # one leaf node for w although two paths reach it
    assert dot.count('fillcolor="#add8e6"') == 1


def test_tensor_without_history_draws_only_itself():
    dot = ember.autograd.graph_to_dot(ember.ones(2))
    assert dot.count("->") == 0 and 'out0 [label="(2)"' in dot
