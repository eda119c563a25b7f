"""Op-table entries for ``ember/_ops/linalg/legacy.py``: the top-level ``matrix_power`` and
``pinverse``, and the LAPACK-style ``cholesky_solve``, ``cholesky_inverse``, ``lu`` (square),
``lu_unpack``, ``lu_solve``, ``orgqr`` and ``ormqr``."""

import numpy as np

from ..spec import OpSpec


def _factor(batch=(), n=3, cols=2):
    """A well-conditioned triangular factor (lower; its upper part is noise that every op
    ignores) and a right-hand side."""
    def make(rng):
        f = rng.uniform(-0.5, 0.5, batch + (n, n)) + 2 * np.eye(n)
        return [rng.uniform(-2, 2, batch + (n, cols)), f]
    return make


def _square(batch=(), n=3):
    def make(rng):
        return [rng.uniform(-1, 1, batch + (n, n)) + 2 * np.eye(n) * rng.choice([-1, 1], n)]
    return make


def _reflectors(rng):
    return [rng.uniform(-1, 1, (4, 3)), rng.uniform(0.5, 1.5, (3,))]


def _lu_solve(L, b, a):
    return L.lu_solve(b, *L.lu(a))


OPS = [
    OpSpec("torch_matrix_power", lambda L, a: L.matrix_power(a, 3), [((3, 3),), ((2, 2, 2),)],
           atol=1e-4),
    OpSpec("pinverse", lambda L, a: L.pinverse(a), [((4, 3),), ((3, 4),), ((2, 3, 3),)],
           atol=1e-4),
    # the factor goes through tril/triu so finite differences see the triangle torch reads
    OpSpec("cholesky_solve", lambda L, b, f: L.cholesky_solve(b, f.tril()), [()],
           make=_factor(), atol=1e-4),
    OpSpec("cholesky_solve_upper_batched", lambda L, b, f: L.cholesky_solve(b, f.triu(),
                                                                            upper=True),
           [()], make=_factor((2,)), atol=1e-4),
    OpSpec("cholesky_inverse", lambda L, f: L.cholesky_inverse(f.tril()), [()],
           make=lambda rng: _factor()(rng)[1:], atol=1e-4),
    OpSpec("cholesky_inverse_upper", lambda L, f: L.cholesky_inverse(f.triu(), True), [()],
           make=lambda rng: _factor((2,))(rng)[1:], atol=1e-4),
    # ember's lu backward builds on constant factors: no second derivative
    OpSpec("lu", lambda L, a: L.lu(a)[0], [()], make=_square((2,)), atol=1e-4, gradgrad=False),
    OpSpec("lu_unpack", lambda L, a: L.lu_unpack(a, L.lu(a.detach())[1])[1:], [()],
           make=_square(), atol=1e-4),
    OpSpec("lu_solve", _lu_solve, [()], make=lambda rng: _factor()(rng)[:1] + _square()(rng),
           atol=1e-4, gradgrad=False),
    OpSpec("orgqr", lambda L, a, t: L.orgqr(a, t), [()], make=_reflectors, atol=1e-4),
    OpSpec("ormqr", lambda L, a, t, c: L.ormqr(a, t, c, transpose=True), [()],
           make=lambda rng: _reflectors(rng) + [rng.uniform(-1, 1, (4, 2))], atol=1e-4),
]
