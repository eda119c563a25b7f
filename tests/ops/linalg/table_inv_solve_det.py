"""Op-table entries for ``ember/_ops/linalg/inv_solve_det.py``: inv, solve, det (singular
included), slogdet, logdet and cholesky."""

from .._inputs import well_conditioned
from ..spec import OpSpec


def singular(rng):
    a = rng.uniform(-1, 1, size=(3, 3))
    a[2] = a[0] + a[1]
    return [a]


def _spd(L, a):
    return a @ a.mT + 3 * L.eye(a.shape[-1], dtype=a.dtype)


OPS = [
    OpSpec("inverse", lambda L, a: L.inverse(a), [((3, 3),)], make=well_conditioned((3, 3))),
    OpSpec("linalg_inv_batch", lambda L, a: L.linalg.inv(a), [((2, 3, 3),)],
           make=well_conditioned((2, 3, 3))),
    OpSpec("linalg_solve_vec", lambda L, a, b: L.linalg.solve(a, b), [((3, 3), (3,))],
           make=well_conditioned((3, 3), rhs=[(3,)])),
    OpSpec("linalg_solve_mat", lambda L, a, b: L.linalg.solve(a, b), [((3, 3), (3, 2))],
           make=well_conditioned((3, 3), rhs=[(3, 2)])),
    OpSpec("linalg_solve_batch", lambda L, a, b: L.linalg.solve(a, b), [((2, 3, 3), (3, 2))],
           make=well_conditioned((2, 3, 3), rhs=[(3, 2)])),
    OpSpec("linalg_solve_right", lambda L, a, b: L.linalg.solve(a, b, left=False),
           [((3, 3), (2, 3))], make=well_conditioned((3, 3), rhs=[(2, 3)])),
    OpSpec("det", lambda L, a: L.det(a), [((3, 3),)], make=well_conditioned((3, 3))),
    OpSpec("det_batch", lambda L, a: L.linalg.det(a), [((2, 3, 3),), ((2, 2),), ((0, 2, 2),)]),
    # A singular matrix: the gradient is the cofactor matrix (first order; see Det.backward).
    OpSpec("det_singular", lambda L, a: a.det(), [((3, 3),)], make=singular, gradgrad=False),
    OpSpec("slogdet", lambda L, a: tuple(L.linalg.slogdet(a)), [((3, 3),), ((2, 3, 3),)]),
    OpSpec("logdet", lambda L, a: L.logdet(_spd(L, a)), [((3, 3),)]),
    OpSpec("cholesky", lambda L, a: L.linalg.cholesky(_spd(L, a)), [((3, 3),), ((2, 3, 3),)]),
    OpSpec("cholesky_upper", lambda L, a: L.linalg.cholesky(_spd(L, a), upper=True),
           [((3, 3),)]),
    # upper=True reads only the upper triangle: the strict lower one here differs from it.
    # PyTorch's gradient is the symmetrised one, not the finite-difference one: no gradcheck.
    OpSpec("cholesky_upper_triangle_only",
           lambda L, a: L.linalg.cholesky(L.triu(_spd(L, a)), upper=True), [((3, 3),)],
           gradcheck=False),
]
