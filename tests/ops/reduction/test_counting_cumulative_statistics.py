"""Counting (``histc``, ``bincount``, ``isin``), cumulative (``diff``, ``cummax``/``cummin``,
``logcumsumexp``) and statistics (``cov``, ``corrcoef``) functions and ``sum_to_size``, outside
the op table's sweep: values and errors against torch."""

import pytest

import ember
from tests.ops._compare import np_of as _np  # noqa: F401
from tests.ops._compare import same as _same


@pytest.mark.parametrize("expr", [
    "L.histc(L.tensor([1., 2., 1.]), bins=4, min=0, max=3)",
    "L.histc(L.tensor([0.5, 0.7, 3.0, -1.0, 9.0], dtype=L.float64), bins=3)",
    "L.histc(L.tensor([2., 2.]), bins=4)",
    "L.tensor([1., 5., 2.5, 2.5]).histc(5, 1, 5)",
    "L.bincount(L.tensor([0, 1, 1, 3]))",
    "L.bincount(L.tensor([0, 1, 1]), minlength=5)",
    "L.bincount(L.tensor([0, 2, 2]), weights=L.tensor([1., 2., 3.]))",
    "L.bincount(L.tensor([0, 2, 2]), weights=L.tensor([1, 2, 3]))",
    "L.bincount(L.tensor([], dtype=L.int64))",
    "L.isin(L.tensor([1, 2, 3]), L.tensor([2, 5]))",
    "L.isin(L.tensor([[1., 2.], [3., 4.]]), 3.)",
    "L.isin(2, L.tensor([1, 2]))",
    "L.isin(L.tensor([1, 2, 3]), L.tensor([2]), invert=True)",
    "L.diff(L.tensor([True, False, False, True]))",
    "L.diff(L.tensor([1, 3, 6, 10]), n=2)",
    "L.cummax(L.tensor([1., 3., 3., 2., float('nan'), 5., float('nan')]), 0).indices",
    "L.cummin(L.tensor([[1, 3, 1, 0], [2, 2, 5, 1]]), 1).indices",
    "L.cummax(L.tensor([True, False, True]), 0).values",
    "L.logcumsumexp(L.tensor([-1000., 0., 1000.]), 0)",
    "L.cov(L.tensor([[1, 2, 4], [3, 1, 0]]))",
    "L.cov(L.tensor([[1., 2., 4.], [3., 1., 0.]]), fweights=L.tensor([1, 2, 1]))",
    "L.corrcoef(L.tensor([1., 2., 4.]))",
])
def test_reduction_values_match_torch(torch, expr):
    _same(eval(expr, {"L": ember}), eval(expr, {"L": torch}))


@pytest.mark.parametrize("expr", [
    "L.bincount(L.tensor([-1, 2]))",
    "L.bincount(L.tensor([1., 2.]))",
    "L.diff(L.tensor(1.))",
    "L.cov(L.ones(2, 2, 2))",
    "L.logcumsumexp(L.tensor([1, 2]), 0)",
    "L.histc(L.tensor([1, 2]))",
    "L.bincount(L.tensor([True]))",
])
def test_reduction_errors_as_torch(torch, expr):
    with pytest.raises(Exception) as te:
        eval(expr, {"L": torch})
    with pytest.raises(type(te.value)):
        eval(expr, {"L": ember})


@pytest.mark.parametrize("expr", [
    "L.histc(L.tensor([1., 2.]), bins=2, min=3, max=1)",
    "L.histc(L.tensor([]), bins=2, min=3, max=1)",
    "L.histc(L.tensor([1., 2.]), bins=2, min=0, max=float('inf'))",
    "L.histc(L.tensor([1., float('inf')]), bins=2, min=1, max=1)",
    "L.histc(L.tensor([1.5, 2.]), bins=2, min=-0.25, max=float('nan'))",
    "L.histc(L.tensor([1., 2.]), bins=0)",
    "L.histc(L.tensor([1., 2.]), bins=-3)",
])
def test_histc_error_messages_as_torch(torch, expr):
    with pytest.raises(RuntimeError) as te:
        eval(expr, {"L": torch})
    with pytest.raises(RuntimeError) as ee:
        eval(expr, {"L": ember})
    assert str(ee.value) == str(te.value)


def test_sum_to_size(torch):
    _same(ember.ones(2, 3).sum_to_size(1, 3), torch.ones(2, 3).sum_to_size(1, 3))
    _same(ember.ones(2, 3).sum_to_size((3,)), torch.ones(2, 3).sum_to_size((3,)))
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="is not expandable to size"):
            L.ones(2, 3).sum_to_size(3, 3)
