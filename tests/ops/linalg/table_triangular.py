"""Op-table entries for ``ember/_ops/linalg/triangular.py``: ``linalg.solve_triangular`` (upper,
unit, right, broadcast) and the older ``triangular_solve``."""

import numpy as np

from ..spec import OpSpec


def _tri(n=3, batch=(), seed_scale=0.5):
    def make(rng):
        a = rng.uniform(-1, 1, batch + (n, n)) * seed_scale
        a = a + 3 * np.eye(n) * rng.choice([-1, 1], n)
        return [a, rng.uniform(-2, 2, batch + (n, 2))]
    return make


def _tri_right(rng):
    a, _ = _tri()(rng)
    return [a, rng.uniform(-2, 2, (2, 3))]


def _tri_bcast(rng):
    a, _ = _tri(batch=(2, 1))(rng)
    return [a, rng.uniform(-2, 2, (3, 3, 2))]


OPS = [
    OpSpec("solve_triangular_upper", lambda L, a, b: L.linalg.solve_triangular(a, b,
           upper=True), [((3, 3), (3, 2))], make=_tri()),
    OpSpec("solve_triangular_lower_unit", lambda L, a, b: L.linalg.solve_triangular(
        a, b, upper=False, unitriangular=True), [((3, 3), (3, 2))], make=_tri()),
    OpSpec("solve_triangular_right", lambda L, a, b: L.linalg.solve_triangular(
        a, b, upper=False, left=False), [((3, 3), (2, 3))], make=_tri_right),
    OpSpec("solve_triangular_bcast", lambda L, a, b: L.linalg.solve_triangular(
        a, b, upper=True), [((2, 1, 3, 3), (3, 3, 2))], make=_tri_bcast),
    OpSpec("triangular_solve", lambda L, b, a: L.triangular_solve(b, a, upper=False,
           transpose=True).solution, [((3, 2), (3, 3))],
           make=lambda rng: _tri()(rng)[::-1]),
]
