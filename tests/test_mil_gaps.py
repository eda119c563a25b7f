"""Gaps found while writing the multiple-instance-learning programs (tests/programs/mil_*.py),
each checked against PyTorch: ``sort`` called with ``stable=`` (even ``None``) is torch's other
overload, whose backward node prints as ``SortBackward1`` (a co-teaching script printing its
small-loss ranking showed ``grad_fn=<SortBackward0>``); ``msort`` stays ``SortBackward0``."""

import pytest
import torch

import ember


def _node_name(lib, call):
    x = lib.tensor([[0.5, -1.0], [2.0, 0.25], [0.5, 3.0]], requires_grad=True)
    return type(call(lib, x).grad_fn).__name__


@pytest.mark.parametrize("call", [
    lambda lib, x: x.sort().values,
    lambda lib, x: x.sort(stable=True).values,
    lambda lib, x: x.sort(dim=0, descending=True, stable=True).values,
    lambda lib, x: lib.sort(x, stable=False).values,
    lambda lib, x: lib.sort(x, stable=None).values,
    lambda lib, x: lib.sort(x, 0, True).values,
    lambda lib, x: lib.msort(x),
], ids=["plain", "stable", "dim-stable", "stable-false", "stable-none", "positional", "msort"])
def test_sort_node_name_follows_the_overload(call):
    assert _node_name(ember, call) == _node_name(torch, call)


def test_stable_sort_repr_and_gradient_match_torch():
    def run(lib):
        x = lib.tensor([[0.5, -1.0], [2.0, 0.25], [0.5, 3.0]], requires_grad=True)
        out = x.sort(dim=0, descending=True, stable=True)
        (out.values * lib.tensor([1.0, 2.0, 3.0])[:, None]).sum().backward()
        return repr(out), x.grad.tolist()

    assert run(ember) == run(torch)


def test_msort_of_scalar_and_complex_match_torch():
    assert ember.msort(ember.tensor(2.0)).item() == torch.msort(torch.tensor(2.0)).item()
    with pytest.raises(RuntimeError) as theirs:
        torch.msort(torch.tensor([1j]))
    with pytest.raises(RuntimeError, match="Sort does not support complex") as mine:
        ember.msort(ember.tensor([1j]))
    assert str(mine.value) == str(theirs.value)
