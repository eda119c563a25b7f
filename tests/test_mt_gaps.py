"""Gaps found while writing the multi-task and architecture-search programs
(tests/programs/mt_*.py), each checked against PyTorch: the full backward hook's warning when
no input of the hooked module requires grad (an MGDA step with a hooked trunk), and the
once-per-process warning of ``backward(create_graph=True)`` (a differentiable optimizer step),
the optimizers' refusal of ``fused=True`` with ``foreach=True``, and PyTorch's checks on what
tensor hooks, node hooks and post-accumulate-grad hooks return (an optimizer-in-backward hook
that returns ``(opt.step(), opt.zero_grad())`` is refused, a gradient of another size or dtype
is refused), and the ``.grad`` setter's checks (PCGrad writes merged gradients back with
``p.grad = ...``): order, messages, self-assignment, device type, ``del p.grad``."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _full_hook_warnings(lib):
    lib.manual_seed(0)
    trunk = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh())
    seen = []
    trunk.register_full_backward_hook(lambda m, gin, gout: seen.append(
        (gin, gout[0].detach().numpy().copy())))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trunk(lib.ones(2, 3)).sum().backward()
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return messages, seen


def test_full_backward_hook_warning_matches_torch():
    mine, my_seen = _full_hook_warnings(ember)
    theirs, their_seen = _full_hook_warnings(torch)
    assert mine == theirs
    assert len(my_seen) == len(their_seen) == 1
    assert my_seen[0][0] == their_seen[0][0] == (None,)
    np.testing.assert_allclose(my_seen[0][1], their_seen[0][1])


_CREATE_GRAPH_PROBE = """
import warnings
import {lib}
warnings.simplefilter("always")
x = {lib}.ones(3, requires_grad=True)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    {lib}.autograd.grad((x ** 2).sum(), x, create_graph=True)
    print(len(caught))
    (x ** 3).sum().backward(create_graph=True)
    {lib}.autograd.backward((x * 2).sum(), create_graph=True)
    (x ** 2).sum().backward()
print(len(caught), caught[0].category.__name__)
print(str(caught[0].message).split(" (Triggered internally")[0])
"""


def _create_graph_probe(lib):
    out = subprocess.run([sys.executable, "-c", _CREATE_GRAPH_PROBE.format(lib=lib)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_backward_create_graph_warns_once_like_torch():
    assert _create_graph_probe("ember") == _create_graph_probe("torch")


def _construct(lib, name, **kw):
    p = lib.nn.Parameter(lib.ones(3))
    try:
        getattr(lib.optim, name)([p], lr=0.1, **kw)
    except (RuntimeError, ValueError, TypeError) as e:
        return type(e).__name__, str(e)
    return "ok"


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD", "Adagrad"])
@pytest.mark.parametrize("kw", [dict(fused=True, foreach=True), dict(fused=True, foreach=False),
                                dict(fused=True, foreach=True, differentiable=True),
                                dict(fused=False, foreach=True)])
def test_fused_with_foreach_raises_like_torch(name, kw):
    assert _construct(ember, name, **kw) == _construct(torch, name, **kw)


HOOK_RESULTS = {
    "none": lambda lib, g: None,
    "scaled": lambda lib, g: g * 3,
    "shape": lambda lib, g: lib.ones(3),
    "scalar": lambda lib, g: lib.tensor(1.0),
    "broadcastable": lambda lib, g: lib.ones(1, 2),
    "float64": lambda lib, g: g.double(),
    "int64": lambda lib, g: g.long(),
    "ndarray": lambda lib, g: np.ones(2),
    "list": lambda lib, g: [g],
    "tuple": lambda lib, g: (g,),
    "requires_grad": lambda lib, g: g.clone().requires_grad_(),
}


def _outcome(lib, run):
    try:
        return "ok", run()
    except (RuntimeError, TypeError) as e:
        return type(e).__name__, str(e)


def _tensor_hook(lib, result, leaf):
    p = lib.ones(2, requires_grad=True)
    t = p if leaf else p * 1

    def hook(g):
        return HOOK_RESULTS[result](lib, g)

    t.register_hook(hook)

    def run():
        (t * 2).sum().backward()
        return p.grad.tolist()

    return _outcome(lib, run)


@pytest.mark.parametrize("result", sorted(HOOK_RESULTS))
@pytest.mark.parametrize("leaf", [True, False])
def test_tensor_hook_result_checked_like_torch(result, leaf):
    assert _tensor_hook(ember, result, leaf) == _tensor_hook(torch, result, leaf)


def _post_accumulate_hook(lib, result):
    p = lib.ones(2, requires_grad=True)
    opt = lib.optim.SGD([p], lr=0.1)
    if result == "optimizer_in_backward":
        p.register_post_accumulate_grad_hook(lambda t: (opt.step(), opt.zero_grad()))
    else:
        p.register_post_accumulate_grad_hook(lambda t: HOOK_RESULTS[result](lib, t.grad))

    def run():
        (p * 2).sum().backward()
        return p.detach().tolist(), None if p.grad is None else p.grad.tolist()

    return _outcome(lib, run)


@pytest.mark.parametrize("result", ["none", "scaled", "int64", "list", "optimizer_in_backward"])
def test_post_accumulate_grad_hook_must_return_none_like_torch(result):
    assert _post_accumulate_hook(ember, result) == _post_accumulate_hook(torch, result)


def _node_hook(lib, kind, result):
    p = lib.ones(2, requires_grad=True)
    t = p * 1
    make = {"tuple": lambda g: tuple(x * 3 for x in g), "list": lambda g: list(g),
            "int": lambda g: 1, "tensor": lambda g: g[0],
            "int64": lambda g: (g[0].long(),), "shape": lambda g: (lib.ones(3),),
            "replace_none": lambda g: (lib.ones(2),) * len(g)}[result]
    if kind == "pre":
        t.grad_fn.register_prehook(lambda grad_outputs: make(grad_outputs))
    else:
        t.grad_fn.register_hook(lambda grad_inputs, grad_outputs: make(grad_inputs))

    def run():
        (t * 2).sum().backward()
        return p.grad.tolist()

    return _outcome(lib, run)


@pytest.mark.parametrize("kind", ["pre", "post"])
@pytest.mark.parametrize("result", ["tuple", "list", "int", "tensor", "int64", "shape",
                                    "replace_none"])
def test_node_hook_result_checked_like_torch(kind, result):
    if kind == "post" and result == "tuple":
        pytest.skip("MulBackward0's grad_inputs hold None for the constant: both raise "
                    "TypeError from the hook's own arithmetic")
    assert _node_hook(ember, kind, result) == _node_hook(torch, kind, result)


GRAD_VALUES = {
    "same": lambda lib, p: lib.ones(2, 3),
    "shape": lambda lib, p: lib.ones(3, 2),
    "shape_and_dtype": lambda lib, p: lib.ones(6, dtype=lib.float64),
    "float64": lambda lib, p: lib.ones(2, 3, dtype=lib.float64),
    "int64": lambda lib, p: lib.ones(2, 3, dtype=lib.int64),
    "bfloat16": lambda lib, p: lib.ones(2, 3, dtype=lib.bfloat16),
    "complex64": lambda lib, p: lib.ones(2, 3, dtype=lib.complex64),
    "meta": lambda lib, p: lib.ones(2, 3, device="meta"),
    "meta_wrong_shape": lambda lib, p: lib.ones(3, device="meta"),
    "ndarray": lambda lib, p: np.ones((2, 3)),
    "list": lambda lib, p: [1.0],
    "itself": lambda lib, p: p,
    "none": lambda lib, p: None,
}


def _assign_grad(lib, which):
    p = lib.nn.Parameter(lib.ones(2, 3))

    def run():
        p.grad = GRAD_VALUES[which](lib, p)
        return None if p.grad is None else (tuple(p.grad.shape), str(p.grad.dtype))

    return _outcome(lib, run)


@pytest.mark.parametrize("which", sorted(GRAD_VALUES))
def test_grad_setter_checks_like_torch(which):
    assert _assign_grad(ember, which) == _assign_grad(torch, which)


def test_grad_deleter_like_torch():
    for lib in (ember, torch):
        x = lib.ones(2, requires_grad=True)
        (x * 2).sum().backward()
        del x.grad
        assert x.grad is None
        (x * 3).sum().backward()
        assert x.grad.tolist() == [3.0, 3.0]
