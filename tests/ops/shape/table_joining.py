"""Op-table entries for ``ember/_ops/shape/joining.py``: cat, stack and its variants, split,
chunk, unbind and tensor_split."""

from .._inputs import _s
from ..spec import OpSpec

OPS = [
    OpSpec("cat", lambda L, a, b: L.cat([a, b], 1),
           [((2, 3), (2, 4)), ((2, 0, 3), (2, 2, 3)), ((3, 1), (3, 1))]),
    OpSpec("cat_three", lambda L, a, b, c: L.cat((a, b, c)), [((1, 3), (2, 3), (0, 3))]),
    OpSpec("cat_skip_empty", lambda L, a, b: L.cat([a, b]), [((0,), (2, 3))]),
    OpSpec("stack", lambda L, a, b: L.stack([a, b], -1), [((2, 3), (2, 3)), ((), ())]),
    OpSpec("hstack", lambda L, a, b: L.hstack([a, b]), [((3,), (2,)), ((2, 3), (2, 1))]),
    OpSpec("vstack", lambda L, a, b: L.vstack([a, b]), [((3,), (3,)), ((2, 3), (1, 3))]),
    OpSpec("dstack", lambda L, a, b: L.dstack([a, b]), [((3,), (3,)), ((2, 3), (2, 3))]),
    OpSpec("column_stack", lambda L, a, b: L.column_stack([a, b]), [((3,), (3, 2))]),
    OpSpec("split", lambda L, a: a.split(2, dim=1), _s((3, 5), (2, 4))),
    OpSpec("split_sizes", lambda L, a: L.split(a, [1, 0, 2]), _s((3, 2),)),
    OpSpec("chunk", lambda L, a: a.chunk(3, -1), _s((2, 7), (4,))),
    OpSpec("unbind", lambda L, a: a.unbind(1), _s((2, 3), (3, 1))),
    OpSpec("tensor_split", lambda L, a: L.tensor_split(a, 3), _s((7, 2),)),
    OpSpec("tensor_split_idx", lambda L, a: a.tensor_split([1, 4], dim=1), _s((2, 5),)),
    OpSpec("unsafe_split", lambda L, a: L.unsafe_split(a, 2, 1), [((3, 5),)]),
    OpSpec("split_with_sizes", lambda L, a: a.split_with_sizes([1, 3], 0), [((4, 2),)]),
    OpSpec("hsplit", lambda L, a: L.hsplit(a, [1, 3]), [((2, 4),), ((5,),)]),
    OpSpec("dsplit", lambda L, a: a.dsplit(2), [((2, 1, 4),)]),
]
