"""Gaps found while writing the learned-compression programs (tests/programs/comp_*.py), each
checked against PyTorch: a view made under ``no_grad`` (or ``inference_mode``) of a tensor that
requires grad, as CompressAI's ``EntropyBottleneck._get_medians()`` (``quantiles[:, :, 1:2]``)
makes one, still requires grad (its repr says so), is a leaf with no ``grad_fn``, records the
ops applied to it later with grad mode on but accumulates no gradient, and refuses an in-place
change with grad mode on, or any use with grad mode on after its base changed in place.
Found beside it: ``detach_()`` refuses every view (not only views of a tensor that requires
grad), and a gradient accumulated by ``backward(create_graph=True)`` is a recorded copy in the
parameter's layout (``CopyBackwards``), never the output gradient itself, so that
``zero_grad(set_to_none=False)`` zeroes it in place (it raised NumPy's read-only error when the
gradient was a broadcast view)."""

import warnings

import pytest
import torch

import ember

VIEWS = {
    "slice": lambda t: t[:, 1:2], "view": lambda t: t.view(-1), "t": lambda t: t.t(),
    "expand": lambda t: t[None].expand(2, 2, 3), "select": lambda t: t[0],
    "unbind": lambda t: t.unbind(0)[0], "diagonal": lambda t: t.diagonal(),
    "permute": lambda t: t.permute(1, 0), "alias": lambda t: t[...],
    "view_of_view": lambda t: t[0][1:], "copy_reshape": lambda t: t.t().reshape(-1),
    "index": lambda t: t[[0]], "mul": lambda t: t * 2, "detach_then_view": lambda t: t.detach()[0],
}


def _no_grad_view(lib, name, mode="no_grad"):
    p = lib.nn.Parameter(lib.arange(6.0).reshape(2, 3))
    with getattr(lib, mode)():
        v = VIEWS[name](p)
    return p, v


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_made_under_no_grad_keeps_requires_grad(name, mode):
    seen = []
    for lib in (torch, ember):
        _, v = _no_grad_view(lib, name, mode)
        seen.append((v.requires_grad, v.is_leaf, v.grad_fn is None, repr(v)))
    assert seen[1] == seen[0]


def test_ops_on_a_no_grad_view_record_but_accumulate_nothing():
    seen = []
    for lib in (torch, ember):
        p, v = _no_grad_view(lib, "slice")
        w = v * 3 + p[:, 1:2]
        w.sum().backward()
        seen.append((w.requires_grad, w.grad_fn is not None, v.grad, p.grad.tolist()))
    assert seen[1][:2] == seen[0][:2] and seen[1][2] is None and seen[0][2] is None
    assert seen[1][3] == seen[0][3]


def _error(fn):
    try:
        fn()
    except RuntimeError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("name", ["slice", "unbind", "view_of_view"])
def test_inplace_on_a_no_grad_view_with_grad_mode_on_is_refused(name):
    messages = []
    for lib in (torch, ember):
        _, v = _no_grad_view(lib, name)
        messages.append(_error(lambda v=v: v.mul_(2)))
    assert messages[0] is not None and messages[1] == messages[0]


def test_no_grad_view_used_after_its_base_changed_in_place_is_refused():
    messages = []
    for lib in (torch, ember):
        p, v = _no_grad_view(lib, "slice")
        with lib.no_grad():
            p.add_(1)  # an optimizer step, say
        messages.append(_error(lambda v=v, p=p: v * p[:, 1:2]))
    assert messages[0] is not None and messages[1] == messages[0]


def test_inplace_on_a_no_grad_view_under_no_grad_updates_the_base():
    results = []
    for lib in (torch, ember):
        p, v = _no_grad_view(lib, "slice")
        with lib.no_grad():
            v.mul_(10)
            v[0] = -1
        results.append((p.tolist(), p.requires_grad, p.is_leaf))
    assert results[1] == results[0]


@pytest.mark.parametrize("make", [
    lambda lib: lib.zeros(3)[:2], lambda lib: lib.zeros(3, dtype=lib.long)[:2],
    lambda lib: lib.zeros(3, requires_grad=True).detach()[:1], lambda lib: lib.zeros(3),
    lambda lib: lib.zeros(3, requires_grad=True).detach(), lambda lib: lib.zeros(2, 3).t()])
def test_detach_in_place_refuses_every_view(make):
    outcomes = []
    for lib in (torch, ember):
        t = make(lib)
        outcomes.append(_error(t.detach_))
    assert outcomes[1] == outcomes[0]


def test_requires_grad_false_on_a_no_grad_view_keeps_it_requiring_grad():
    seen = []
    for lib in (torch, ember):
        _, v = _no_grad_view(lib, "slice")
        v.requires_grad_(False)
        seen.append(v.requires_grad)
    assert seen[1] == seen[0]


@pytest.mark.parametrize("loss", [
    lambda lib, x: (x ** 2).sum(),
    lambda lib, x: (x.sum(0) * lib.tensor([1.0, 2.0, 3.0])).sum(),
    lambda lib, x: x.sum()])
def test_create_graph_gradient_is_a_copy_that_zero_grad_zeroes(loss):
    seen = []
    for lib in (torch, ember):
        x = lib.ones(2, 3, requires_grad=True)
        with warnings.catch_warnings():  # (the reference-cycle warning, when there is one)
            warnings.simplefilter("ignore")
            loss(lib, x).backward(create_graph=True)
        before = (x.grad.tolist(), type(x.grad.grad_fn).__name__, x.grad._base is None)
        lib.optim.SGD([x], lr=0.1).zero_grad(set_to_none=False)
        seen.append((before, x.grad.tolist()))
    assert seen[1] == seen[0]


def test_repr_of_a_no_grad_view_whose_base_changed_in_place():
    reprs = []
    for lib in (torch, ember):
        emb = lib.nn.Embedding(5, 2)
        with lib.no_grad():
            emb.weight.copy_(lib.arange(10.0).view(5, 2))
            row = emb.weight[1]
            emb.weight[0] = row  # the base changes in place while the view is alive
        reprs.append(repr(row))
    assert reprs[1] == reprs[0]
