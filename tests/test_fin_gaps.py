"""Gaps found while writing the quant-finance programs (tests/programs/fin_*.py), each checked
against PyTorch: a GARCH variance recursion written in place (``s2[t] = ... s2[t - 1]``) fails
backward with PyTorch's message, which names a saved view whose base changed as "output 0 of
AsStrided", and refuses the outputs of multi-view ops (unbind, split, chunk) with its own text."""

import numpy as np
import pytest
import torch

import ember

RETURNS = np.random.default_rng(0).normal(scale=0.01, size=12)


def _backward_error(lib, run):
    try:
        run(lib)
    except RuntimeError as e:
        return str(e).split("\n")[0].replace("ember", "torch")
    return "no error"


def _garch_in_place(lib):
    params = lib.tensor([-13.0, -2.5, 2.0], dtype=lib.float64, requires_grad=True)
    r = lib.tensor(RETURNS)
    omega, alpha, beta = params[0].exp(), lib.sigmoid(params[1]), lib.sigmoid(params[2])
    s2 = lib.zeros_like(r)
    s2[0] = r.var()
    for t in range(1, len(r)):
        s2[t] = omega + alpha * r[t - 1] ** 2 + beta * s2[t - 1]
    (0.5 * (s2.log() + r ** 2 / s2)).sum().backward()


def test_in_place_garch_recursion_fails_with_torchs_message():
    got, want = _backward_error(ember, _garch_in_place), _backward_error(torch, _garch_in_place)
    assert "AsStrided" in want
    assert got == want


VIEWS = {
    "select": lambda a: a[1],
    "slice": lambda a: a[1:3],
    "view": lambda a: a.view(2, 2),
    "diagonal": lambda a: a.view(2, 2).diagonal(),
    "transpose": lambda a: a.view(2, 2).t(),
    "expand": lambda a: a[:1].expand(3),
    "unbind": lambda a: a.unbind(0)[1],
    "split": lambda a: a.split([1, 3])[1],
    "chunk": lambda a: a.chunk(2)[0],
}


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_saved_view_whose_base_changed_names_torchs_node(view):
    def run(lib):
        a = lib.arange(4.0).requires_grad_().clone()
        v = VIEWS[view](a)
        y = v * v
        a.add_(1)
        y.sum().backward()

    assert _backward_error(ember, run) == _backward_error(torch, run)


def test_saved_view_changed_through_itself_names_as_strided():
    def run(lib):
        a = lib.arange(4.0).requires_grad_().clone()
        v = a[1:3]
        y = v * v
        v.mul_(2)
        y.sum().backward()

    assert _backward_error(ember, run) == _backward_error(torch, run)


def test_saved_non_view_keeps_its_own_node_name():
    def run(lib):
        v = lib.arange(4.0).requires_grad_() * 1
        y = v * v
        v.add_(1)
        y.sum().backward()

    assert "output 0 of Add," in _backward_error(ember, run)
    assert _backward_error(ember, run) == _backward_error(torch, run)
