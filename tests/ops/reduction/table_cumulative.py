"""Op-table entries for ``ember/_ops/reduction/cumulative.py``: diff, cummax/cummin,
logcumsumexp, trapezoid/cumulative_trapezoid and gradient."""

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
    OpSpec("trapezoid", lambda L, y: L.trapezoid(y, dx=0.5), [((3, 4),), ((5,),)]),
    OpSpec("trapezoid_x", lambda L, y, x: L.trapezoid(y, x, dim=0), [((4, 3), (4,))]),
    OpSpec("cumulative_trapezoid", lambda L, y, x: L.cumulative_trapezoid(y, x),
           [((3, 4), (4,)), ((2, 3), (2, 3))]),
    OpSpec("gradient", lambda L, a: L.gradient(a, spacing=0.5, edge_order=2), [((3, 4),)]),
    OpSpec("gradient_coords",
           lambda L, a: L.gradient(a, spacing=[L.arange(4.0, device=a.device) ** 2 / 2], dim=1),
           [((3, 4),)]),
]
