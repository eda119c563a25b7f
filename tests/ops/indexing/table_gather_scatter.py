"""Op-table entries for ``ember/_ops/indexing/gather_scatter.py``: gather/scatter, index_*,
masked_*, take, take_along_dim and put.

Integer inputs come from ``int_inputs`` (index ranges chosen to be valid) and masks from
``bool_inputs``, so the same sample drives ember and torch.
"""

import numpy as np

from ..spec import OpSpec


def _perm_index(rng):
    """A (3, 4) float input and a permutation-based scatter index (no repeated targets)."""
    x = rng.uniform(-2, 2, (3, 4))
    src = rng.uniform(-2, 2, (2, 4))
    idx = np.stack([rng.permutation(3)[:2] for _ in range(4)], axis=1)
    return [x, idx.astype(np.int64), src]


OPS = [
    OpSpec("gather", lambda L, a, i: a.gather(1, i),
           [((3, 4), (3, 5)), ((3, 4), (2, 2)), ((3, 4), (3, 0))], int_inputs={1: (0, 4)}),
    OpSpec("gather_dim0", lambda L, a, i: L.gather(a, 0, i), [((3, 4), (5, 4)), ((3,), (4,))],
           int_inputs={1: (0, 3)}),
    OpSpec("scatter", lambda L, a, i, s: a.scatter(0, i, s), [()], make=_perm_index),
    OpSpec("scatter_value", lambda L, a, i, s: a.scatter(0, i, 1.5) * s.sum(), [()],
           make=_perm_index),
    OpSpec("scatter_add", lambda L, a, i, s: a.scatter_add(-1, i, s),
           [((3, 4), (3, 6), (3, 6)), ((2,), (5,), (5,)), ((3, 4), (2, 0), (2, 0))],
           int_inputs={1: (0, 2)}),
    OpSpec("scatter_value_add", lambda L, a, i: a.scatter(1, i, 2.0, reduce="add"),
           [((3, 4), (3, 6))], int_inputs={1: (0, 4)}, grad=False),  # torch: no derivative
    OpSpec("index_select", lambda L, a, i: a.index_select(-1, i),
           [((3, 4), (5,)), ((4,), (2,)), ((3, 4), (0,))], int_inputs={1: (0, 4)}),
    OpSpec("index_add", lambda L, a, i, s: a.index_add(0, i, s, alpha=-2),
           [((3, 4), (5,), (5, 4)), ((3,), (4,), (4,))], int_inputs={1: (0, 3)}),
    OpSpec("index_copy", lambda L, a, i, s: a.index_copy(1, i, s),
           [((2, 4), (3,), (2, 3))], make=lambda r: [r.uniform(-2, 2, (2, 4)),
                                                     np.array([3, 0, 1]),
                                                     r.uniform(-2, 2, (2, 3))]),
    OpSpec("index_fill", lambda L, a, i: a.index_fill(1, i, -1.0), [((3, 4), (2,))],
           int_inputs={1: (0, 4)}),
    OpSpec("index_put", lambda L, a, i, v: a.index_put((i,), v),
           [((3, 4), (2,), (4,))], make=lambda r: [r.uniform(-2, 2, (3, 4)), np.array([2, 0]),
                                                   r.uniform(-2, 2, (4,))]),
    OpSpec("index_put_acc", lambda L, a, i, j, v: a.index_put((i, j), v, accumulate=True),
           [((3, 4), (5,), (5,), (5,)), ((3, 4), (5,), (5,), ())], int_inputs={1: (0, 3),
                                                                             2: (0, 4)}),
    OpSpec("masked_fill", lambda L, a, m: a.masked_fill(m, 0.5),
           [((3, 4), (3, 4)), ((3, 4), (4,)), ((), ())], bool_inputs=(1,)),
    OpSpec("masked_fill_tensor", lambda L, a, m, v: a.masked_fill(m, v),
           [((3, 4), (3, 4), ())], bool_inputs=(1,)),
    OpSpec("masked_fill_broadcast", lambda L, a, m: L.masked_fill(a, m, -1.0),
           [((4,), (3, 4))], bool_inputs=(1,)),
    OpSpec("masked_select", lambda L, a, m: a.masked_select(m),
           [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4))], bool_inputs=(1,)),
    OpSpec("masked_scatter", lambda L, a, m, s: a.masked_scatter(m, s),
           [((3, 4), (3, 4), (12,)), ((3, 4), (4,), (4, 4))], bool_inputs=(1,)),
    OpSpec("take", lambda L, a, i: L.take(a, i), [((3, 4), (2, 3)), ((3,), ())],
           int_inputs={1: (-3, 3)}),
    OpSpec("take_along_dim", lambda L, a, i: L.take_along_dim(a, i, 1),
           [((3, 4), (3, 2)), ((3, 4), (1, 5))], int_inputs={1: (0, 4)}),
    OpSpec("take_along_dim_flat", lambda L, a, i: L.take_along_dim(a, i),
           [((3, 4), (5,))], int_inputs={1: (0, 12)}),
    OpSpec("put", lambda L, a, s: L.put(a, L.tensor([0, 5, 2]), s), [((2, 3), (3,))]),
    OpSpec("put_", lambda L, a, s: (a * 1).put_(L.tensor([1, 1, 0]), s, accumulate=True),
           [((2, 3), (3,))]),
]
