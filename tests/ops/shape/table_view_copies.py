"""Op-table entries for ``ember/_ops/shape/view_copies.py``: the ``*_copy`` twins of view ops
(a sample of them: all share one helper) and the ``*_scatter`` ops, whose gradients reach both
``input`` and ``src``."""

from ..spec import OpSpec

OPS = [
    OpSpec("permute_copy", lambda L, a: L.permute_copy(a, (2, 0, 1)), [((2, 3, 4),)]),
    OpSpec("diagonal_copy", lambda L, a: L.diagonal_copy(a, 1), [((3, 4),)]),
    OpSpec("slice_copy", lambda L, a: L.slice_copy(a, 1, 1, None, 2), [((3, 5),)]),
    OpSpec("split_copy", lambda L, a: L.split_copy(a, 2, 1), [((3, 5),)]),
    OpSpec("expand_copy", lambda L, a: L.expand_copy(a, (2, 3, 4)), [((3, 1),)]),
    OpSpec("as_strided_copy", lambda L, a: L.as_strided_copy(a, (2, 2), (1, 2)), [((6,),)],
           noncontig=False),
    OpSpec("slice_scatter", lambda L, a, s: L.slice_scatter(a, s, 1, 0, None, 2),
           [((3, 5), (3, 3))]),
    OpSpec("select_scatter", lambda L, a, s: a.select_scatter(s, 0, -1), [((3, 4), (4,))]),
    OpSpec("diagonal_scatter", lambda L, a, s: L.diagonal_scatter(a, s, -1),
           [((4, 3), (3,)), ((2, 3, 3), (3, 1))]),
    # torch's derivative for as_strided_scatter's ``input`` is wrong (it returns the gradient
    # inside the view instead of outside, see tests/ops/shape/test_view_copies.py): compare src
    OpSpec("as_strided_scatter", lambda L, a, s: L.as_strided_scatter(a, s, (2, 2), (1, 2)),
           [((3, 4), (2, 2))], grad_inputs=(1,), noncontig=False),
]
