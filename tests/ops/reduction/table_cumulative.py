"""Op-table entries for ``ember/_ops/reduction/cumulative.py``: diff, cummax/cummin and
logcumsumexp."""

import numpy as np

from ..spec import OpSpec


def _distinct(rng):  # ties make cummax/cummin's gradient routing a matter of convention
    return [rng.permutation(24).reshape(2, 3, 4).astype(np.float64) / 7 - 1.5]


OPS = [
    OpSpec("diff", lambda L, a: L.diff(a), [((3, 4),), ((5,),)]),
    OpSpec("diff_n2_dim0", lambda L, a, p: L.diff(a, n=2, dim=0, prepend=p),
           [((4, 3), (1, 3)), ((4, 3), (2, 3))]),
    OpSpec("diff_append", lambda L, a, p: a.diff(append=p), [((2, 3), (2, 2))]),
    OpSpec("cummax", lambda L, a: L.cummax(a, 1), [((2, 3, 4),)], make=_distinct),
    OpSpec("cummin", lambda L, a: a.cummin(-1), [((2, 3, 4),)], make=_distinct),
    OpSpec("cummax_0d", lambda L, a: L.cummax(a, 0), [((),)]),
    OpSpec("logcumsumexp", lambda L, a: L.logcumsumexp(a, 1), [((3, 4),), ((2, 3, 4),)],
           domain=(-3, 3)),
    OpSpec("logcumsumexp_0d", lambda L, a: a.logcumsumexp(0), [((),), ((0,),)]),
]
