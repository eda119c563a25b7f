"""Gaps found while running neural-field programs (tests/programs/nerf_*) on ember.

``Tensor.scatter_(..., src=Tensor, reduce='add')`` (segment sums in packed ray rendering) gave
its deprecation warning at an ember line instead of the caller's, as PyTorch names it.
"""
import warnings

import pytest

import ember
from ember._ops.indexing import gather_scatter

torch = pytest.importorskip("torch")


def _caught(lib, call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(lib)
    return [w for w in caught if "reduce argument of torch.scatter" in str(w.message)]


CALLS = {
    "method_inplace": lambda lib: lib.zeros(3).scatter_(
        0, lib.tensor([0, 0, 2]), lib.tensor([1., 2., 3.]), reduce="add"),
    "method": lambda lib: lib.zeros(3).scatter(
        0, lib.tensor([0, 2]), lib.tensor([1., 2.]), reduce="multiply"),
    "function": lambda lib: lib.scatter(
        lib.zeros(3), 0, lib.tensor([1]), lib.tensor([4.]), reduce="add"),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_scatter_reduce_src_warning_names_the_callers_line(name, monkeypatch):
    monkeypatch.setattr(gather_scatter, "_reduce_src_warned", False)
    got = _caught(ember, CALLS[name])
    assert len(got) == 1
    assert got[0].filename == __file__
    assert got[0].category is UserWarning
    # torch warns once per process; when it still does here, it names this file too
    ref = _caught(torch, CALLS[name])
    if ref:
        assert ref[0].filename == __file__
        assert str(ref[0].message).startswith(str(got[0].message))


def test_scatter_reduce_src_warns_once(monkeypatch):
    monkeypatch.setattr(gather_scatter, "_reduce_src_warned", False)
    assert len(_caught(ember, CALLS["method_inplace"])) == 1
    assert _caught(ember, CALLS["method_inplace"]) == []
    out = ember.zeros(3).scatter_(0, ember.tensor([0, 0, 2]), ember.tensor([1., 2., 3.]),
                                  reduce="add")
    ref = torch.zeros(3).scatter_(0, torch.tensor([0, 0, 2]), torch.tensor([1., 2., 3.]),
                                  reduce="add")
    assert out.tolist() == ref.tolist()
