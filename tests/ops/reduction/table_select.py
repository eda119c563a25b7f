"""Op-table entries for ``ember/_ops/reduction/select.py``: max/min (all, dim, binary),
amax/amin, aminmax, median, mode, argmax/argmin, with ties where PyTorch splits the gradient."""

import numpy as np

from .._inputs import distinct
from ..spec import OpSpec


def _unique_rows(rng):
    """Rows with a clear mode: one value appears twice, the others once."""
    a = rng.permutation(np.arange(12) * 0.25 - 1.0).reshape(3, 4)
    a[:, 3] = a[:, 1]
    return [a]


OPS = [
    OpSpec("max", lambda L, a: a.max(), [((3, 4),)], make=distinct((3, 4))),
    OpSpec("max_0d", lambda L, a: L.max(a), [((),)]),
    OpSpec("max_dim", lambda L, a: tuple(L.max(a, 1)), [((3, 4),)], make=distinct((3, 4))),
    OpSpec("max_dim_keepdim", lambda L, a: tuple(a.max(dim=0, keepdim=True)), [((2, 3, 4),)],
           make=distinct((2, 3, 4))),
    OpSpec("max_dim_0d", lambda L, a: tuple(a.max(0)), [((),)]),
    OpSpec("max_dim_empty", lambda L, a: tuple(a.max(1)), [((0, 3),)]),
    OpSpec("min", lambda L, a: L.min(a), [((3, 4),)], make=distinct((3, 4))),
    OpSpec("min_dim", lambda L, a: a.min(-1).values, [((2, 3, 4),)],
           make=distinct((2, 3, 4))),
    OpSpec("max_binary", lambda L, a, b: L.max(a, b), [((3, 4),)],
           make=distinct((3, 4), (3, 4), offset=0.05)),
    OpSpec("amax", lambda L, a: a.amax(), [((3, 4),)], make=distinct((3, 4))),
    OpSpec("amax_dims", lambda L, a: L.amax(a, (0, 2), keepdim=True), [((2, 3, 4),)],
           make=distinct((2, 3, 4))),
    OpSpec("amin_dim", lambda L, a: L.amin(a, 1), [((3, 4),)], make=distinct((3, 4))),
    # Ties: PyTorch splits the gradient evenly among them. Finite differences are invalid at
    # a tie (the function has a kink there), hence no gradcheck.
    OpSpec("amax_ties", lambda L, a: L.amax(a.round(), 1), [((3, 6),)], domain=(-1.4, 1.4),
           gradcheck=False),
    OpSpec("max_ties", lambda L, a: (a * 0 + 1).max(), [((2, 3),)], gradcheck=False),
    OpSpec("aminmax", lambda L, a: tuple(L.aminmax(a, dim=0)), [((3, 4),)],
           make=distinct((3, 4))),
    OpSpec("median", lambda L, a: a.median(), [((3, 4),), ((2, 3, 5),)],
           make=None, domain=(-2, 2)),
    OpSpec("median_dim", lambda L, a: tuple(L.median(a, 1)), [((3, 4),)],
           make=distinct((3, 4))),
    OpSpec("median_dim_keepdim", lambda L, a: tuple(a.median(0, keepdim=True)), [((5, 3),)],
           make=distinct((5, 3))),
    # The mode is a repeated value: moving one copy changes which value is the mode, so finite
    # differences are invalid there.
    OpSpec("mode", lambda L, a: tuple(L.mode(a, 1)), [((3, 4),)], make=_unique_rows,
           gradcheck=False),
    OpSpec("argmax", lambda L, a: (a.argmax(), L.argmax(a, 1, keepdim=True)), [((3, 4),)],
           make=distinct((3, 4)), grad=False),
    OpSpec("argmin", lambda L, a: (a.argmin(keepdim=True), L.argmin(a, -1)), [((2, 3, 4),)],
           make=distinct((2, 3, 4)), grad=False),
]
