"""``addcmul``/``addcdiv`` (integer division refused, in-place form), ``inner`` and the
top-level ``dropout`` function, against torch."""

import numpy as np
import pytest

import ember
from tests.ops._compare import np_of as _np  # noqa: F401
from tests.ops._compare import same as _same


@pytest.mark.parametrize("expr", [
    "L.addcmul(L.tensor([1, 2]), L.tensor([3, 4]), L.tensor([5, 6]), value=2)",
    "L.inner(L.tensor([1, 2]), L.tensor([[3, 4], [5, 6]]))",
])
def test_addc_inner_values_match_torch(torch, expr):
    _same(eval(expr, {"L": ember}), eval(expr, {"L": torch}))


@pytest.mark.parametrize("expr", [
    "L.inner(L.ones(2, 3), L.ones(2, 4))",
])
def test_inner_errors_as_torch(torch, expr):
    with pytest.raises(Exception) as te:
        eval(expr, {"L": torch})
    with pytest.raises(type(te.value)):
        eval(expr, {"L": ember})


def test_addcdiv_integer_error_and_inplace(torch):
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
            L.addcdiv(L.ones(2), L.tensor([1, 2]), L.tensor([1, 2]))
    e, t = ember.ones(3), torch.ones(3)
    e.addcdiv_(ember.tensor([1., 2., 3.]), ember.tensor([2., 2., 2.]), value=-1)
    t.addcdiv_(torch.tensor([1., 2., 3.]), torch.tensor([2., 2., 2.]), value=-1)
    _same(e, t)


def test_top_level_dropout():
    x = ember.ones(1000)
    assert ember.dropout(x, 0.5, False) is x
    y = ember.dropout(x, 0.5, True)
    kept = y[y != 0]
    assert np.allclose(_np(kept), 2.0) and 300 < kept.numel() < 700
    assert ember.dropout(x, 1.0, True).sum().item() == 0
