"""Op-table entries for ``ember/_ops/indexing/subscript.py``: ``x[...]`` (basic, integer, list,
mixed and mask indices) and ``x[...] = v`` through autograd."""

from .._inputs import _s
from ..spec import OpSpec


def _setitem(a, index, b):
    y = a * 1.0
    y[index] = b
    return y


OPS = [
    OpSpec("getitem_basic", lambda L, a: a[1:, None, ::2], _s((3, 4), (3, 4, 2))),
    OpSpec("getitem_int", lambda L, a: a[-1, 1], _s((3, 4), (2, 3, 4))),
    OpSpec("getitem_list", lambda L, a: a[[0, 2, 0]], _s((3, 4), (3,))),
    OpSpec("getitem_mixed", lambda L, a: a[:, [1, 1, 0], 0], _s((2, 3, 4),)),
    OpSpec("getitem_mask", lambda L, a, m: a[m], [((3, 4), (3, 4)), ((3, 4), (3,)), ((), ())],
           bool_inputs=(1,)),
    OpSpec("setitem", lambda L, a, b: _setitem(a, (slice(None), 1), b),
           [((3, 4), (3,)), ((3, 4), ()), ((2, 4, 3), (2, 3))]),
    OpSpec("setitem_advanced", lambda L, a, b: _setitem(a, ([0, 2],), b),
           [((3, 4), (4,)), ((3, 4), (2, 4))]),
]
