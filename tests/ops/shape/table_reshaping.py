"""Op-table entries for ``ember/_ops/shape/reshaping.py``: narrow, select, diagonal, flatten and
unflatten, movedim, view_as/reshape_as, atleast_3d, ravel, ``Tensor.unfold`` and narrow_copy."""

from .._inputs import _s
from ..spec import OpSpec

OPS = [
    OpSpec("narrow", lambda L, a: a.narrow(1, 1, 2), _s((3, 4), (2, 3, 4))),
    OpSpec("select", lambda L, a: a.select(-1, 2), _s((3, 4), (4, 3), (3,))),
    OpSpec("diagonal", lambda L, a: a.diagonal(), _s((3, 4), (4, 3), (2, 3, 3))),
    OpSpec("diagonal_offset", lambda L, a: L.diagonal(a, offset=-1, dim1=2, dim2=0),
           _s((3, 4, 3), (2, 2, 2))),
    OpSpec("flatten", lambda L, a: a.flatten(), _s((2, 3, 4), (), (0, 3))),
    OpSpec("flatten_range", lambda L, a: L.flatten(a, 1, -1), _s((2, 3, 4),)),
    OpSpec("unflatten", lambda L, a: a.unflatten(1, (2, -1)), _s((3, 4), (2, 6, 1))),
    OpSpec("movedim", lambda L, a: L.movedim(a, (0, 1), (2, 0)), _s((2, 3, 4),)),
    OpSpec("view_as", lambda L, a, b: a.contiguous().view_as(b) + b, [((2, 6), (3, 4))]),
    OpSpec("reshape_as", lambda L, a, b: a.reshape_as(b) * b, [((2, 6), (3, 4))]),
    OpSpec("atleast_3d", lambda L, a: L.atleast_3d(a), _s((), (3,), (2, 3))),
    OpSpec("tensor_unfold", lambda L, a: a.unfold(1, 2, 1), [((3, 4),), ((2, 5, 2),)]),
    OpSpec("tensor_unfold_step", lambda L, a: a.unfold(0, 2, 3), [((7, 2),)]),
    OpSpec("ravel", lambda L, a: a.ravel(), [((2, 3),)]),
    OpSpec("narrow_copy", lambda L, a: a.narrow_copy(1, 1, 2), [((2, 4),)]),
]
