"""Op-table entries for linear algebra: products, fused multiply-adds, einsum/tensordot,
trace/kron/cross/cdist and the ``linalg`` namespace (inv, solve, det, norms, decompositions)."""

import numpy as np

from .spec import OpSpec


def well_conditioned(*shapes, rhs=()):
    """Square matrices ``R + n I`` (far from singular), then right-hand sides."""

    def make(rng):
        out = []
        for shape in shapes:
            n = shape[-1]
            out.append(rng.uniform(-1, 1, size=shape) + n * np.eye(n))
        return out + [rng.uniform(-1, 1, size=s) for s in rhs]

    return make


def points(*shapes):
    """Point sets with distinct points (distances away from zero, where norms have a kink)."""

    def make(rng):
        return [rng.uniform(-2, 2, size=s) + 0.1 * np.arange(s[-2])[:, None] for s in shapes]

    return make


def singular(rng):
    a = rng.uniform(-1, 1, size=(3, 3))
    a[2] = a[0] + a[1]
    return [a]


def _spd(L, a):
    return a @ a.mT + 3 * L.eye(a.shape[-1], dtype=a.dtype)


def _eigh(L, a):
    w, v = L.linalg.eigh(a + a.mT)
    return w, v * v  # eigenvectors are defined up to sign; v * v is not


OPS = [
    OpSpec("matmul_cases", lambda L, a, b: L.matmul(a, b),
           [((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 1)),
            ((3, 0), (0, 2))]),
    OpSpec("mm", lambda L, a, b: L.mm(a, b), [((3, 4), (4, 5)), ((0, 4), (4, 2)),
                                              ((3, 0), (0, 2))]),
    OpSpec("bmm", lambda L, a, b: a.bmm(b), [((2, 3, 4), (2, 4, 5)), ((0, 3, 4), (0, 4, 2))]),
    OpSpec("dot", lambda L, a, b: L.dot(a, b), [((4,), (4,)), ((0,), (0,))]),
    OpSpec("vdot", lambda L, a, b: L.vdot(a, b), [((5,), (5,))]),
    OpSpec("mv", lambda L, a, b: a.mv(b), [((3, 4), (4,)), ((0, 4), (4,))]),
    OpSpec("outer", lambda L, a, b: L.outer(a, b), [((3,), (4,)), ((0,), (2,))]),
    OpSpec("ger", lambda L, a, b: a.ger(b), [((2,), (3,))]),
    OpSpec("addmm", lambda L, c, a, b: L.addmm(c, a, b),
           [((3,), (2, 4), (4, 3)), ((2, 3), (2, 4), (4, 3)), ((), (2, 4), (4, 3)),
            ((2, 1), (2, 0), (0, 3))]),
    OpSpec("addmm_scaled", lambda L, c, a, b: c.addmm(a, b, beta=0.5, alpha=-2.0),
           [((2, 3), (2, 4), (4, 3))]),
    OpSpec("addmm_beta0", lambda L, c, a, b: L.addmm(c, a, b, beta=0, alpha=3),
           [((2, 3), (2, 4), (4, 3))]),
    OpSpec("addmv", lambda L, c, a, b: L.addmv(c, a, b, beta=2, alpha=0.5),
           [((3,), (3, 4), (4,)), ((), (3, 4), (4,))]),
    OpSpec("baddbmm", lambda L, c, a, b: L.baddbmm(c, a, b, alpha=0.5),
           [((2, 3, 5), (2, 3, 4), (2, 4, 5)), ((3, 1), (2, 3, 4), (2, 4, 5))]),
    OpSpec("addbmm", lambda L, c, a, b: c.addbmm(a, b, beta=1.5),
           [((3, 5), (2, 3, 4), (2, 4, 5)), ((5,), (2, 3, 4), (2, 4, 5))]),
    OpSpec("einsum_mm", lambda L, a, b: L.einsum("ij,jk->ik", a, b), [((3, 4), (4, 5))]),
    OpSpec("einsum_implicit", lambda L, a, b: L.einsum("ij,jk", a, b), [((3, 4), (4, 5))]),
    OpSpec("einsum_diag", lambda L, a: L.einsum("ii->i", a), [((4, 4),)]),
    OpSpec("einsum_trace", lambda L, a: L.einsum("ii", a), [((3, 3),)]),
    OpSpec("einsum_ellipsis", lambda L, a, b: L.einsum("...ij,...jk->...ik", a, b),
           [((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (4, 2))]),
    OpSpec("einsum_ellipsis_implicit", lambda L, a, b: L.einsum("b...i,bi", a, b),
           [((2, 3, 4), (2, 4))]),
    OpSpec("einsum_outer_sum", lambda L, a, b: L.einsum("ij,k->i", a, b), [((3, 4), (5,))]),
    OpSpec("einsum_three", lambda L, a, b, c: L.einsum("ij,jk,kl->il", [a, b, c]),
           [((2, 3), (3, 4), (4, 2))]),
    OpSpec("einsum_permute", lambda L, a: L.einsum("ijk->kji", a), [((2, 3, 4),)]),
    OpSpec("einsum_batch_diag", lambda L, a, b: L.einsum("bii,bj->bij", a, b),
           [((2, 3, 3), (2, 4))]),
    OpSpec("einsum_broadcast_letter", lambda L, a, b: L.einsum("ij,ij->i", a, b),
           [((3, 1), (3, 4))]),
    OpSpec("einsum_scalar", lambda L, a, b: L.einsum("i,->i", a, b), [((3,), ())]),
    OpSpec("tensordot", lambda L, a, b: L.tensordot(a, b, dims=1), [((2, 3), (3, 4))]),
    OpSpec("tensordot_lists", lambda L, a, b: L.tensordot(a, b, dims=([1, 0], [0, 2])),
           [((3, 2, 4), (2, 5, 3))]),
    OpSpec("tensordot_0", lambda L, a, b: L.tensordot(a, b, dims=0), [((2,), (3,))]),
    OpSpec("tensordot_default", lambda L, a, b: L.tensordot(a, b), [((2, 3, 4), (3, 4, 5))]),
    OpSpec("trace", lambda L, a: a.trace(), [((3, 4),), ((3, 3),)]),
    OpSpec("kron", lambda L, a, b: L.kron(a, b), [((2, 3), (3, 2)), ((2,), (3, 2))]),
    OpSpec("cross", lambda L, a, b: L.cross(a, b, dim=1), [((4, 3), (4, 3)), ((2, 3, 5),
                                                                              (2, 3, 5))]),
    OpSpec("linalg_cross", lambda L, a, b: L.linalg.cross(a, b), [((1, 3), (2, 3))]),
    # torch's cdist has no double backward ("_cdist_backward" is not differentiable), so
    # second order is not compared; ember's (a composite) is differentiable.
    OpSpec("cdist", lambda L, a, b: L.cdist(a, b), [((4, 3), (5, 3))],
           make=points((4, 3), (5, 3)), gradgrad=False),
    OpSpec("cdist_batch", lambda L, a, b: L.cdist(a, b), [((2, 4, 3), (2, 5, 3))],
           make=points((2, 4, 3), (2, 5, 3)), gradgrad=False),
    OpSpec("cdist_p1", lambda L, a, b: L.cdist(a, b, p=1), [((3, 2), (4, 2))],
           make=points((3, 2), (4, 2)), gradgrad=False),
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
    # Decomposition gradients hold the factors as constants: exact to first order only.
    OpSpec("eigh", _eigh, [((3, 3),)], gradgrad=False),
    OpSpec("svdvals", lambda L, a: L.linalg.svdvals(a), [((3, 4),), ((2, 4, 3),)],
           gradgrad=False),
    OpSpec("matrix_norm_nuc", lambda L, a: L.linalg.matrix_norm(a, "nuc"), [((3, 4),)],
           gradgrad=False),
    OpSpec("matrix_norm_2", lambda L, a: L.linalg.matrix_norm(a, 2, keepdim=True),
           [((2, 3, 4),)], gradgrad=False),
    OpSpec("matrix_norm_1", lambda L, a: L.linalg.matrix_norm(a, 1, dim=(0, 2)),
           [((3, 2, 4),)]),
    OpSpec("matrix_norm_inf", lambda L, a: L.linalg.matrix_norm(a, float("-inf")),
           [((3, 4),)]),
    OpSpec("matrix_norm_fro", lambda L, a: L.linalg.matrix_norm(a), [((2, 3, 4),)]),
    OpSpec("linalg_norm", lambda L, a: L.linalg.norm(a), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("linalg_norm_ord", lambda L, a: L.linalg.norm(a, 1), [((3, 4),), ((5,),)]),
    OpSpec("linalg_norm_dim", lambda L, a: L.linalg.norm(a, 3, dim=1), [((3, 4),)]),
    OpSpec("vector_norm", lambda L, a: L.linalg.vector_norm(a, 2.5, dim=(0, 1), keepdim=True),
           [((2, 3, 4),), ((0, 3),)]),
    OpSpec("vector_norm_dtype", lambda L, a: L.linalg.vector_norm(a, dtype=L.float64),
           [((3, 4),)]),
    OpSpec("matrix_power", lambda L, a: L.linalg.matrix_power(a, 3), [((3, 3),), ((2, 2, 2),)],
           domain=(-1, 1)),
    OpSpec("matrix_power_neg", lambda L, a: L.linalg.matrix_power(a, -2), [((3, 3),)],
           make=well_conditioned((3, 3))),
    OpSpec("matrix_power_0", lambda L, a: L.linalg.matrix_power(a, 0), [((2, 3, 3),)],
           grad=False),
    OpSpec("multi_dot", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]),
           [((3,), (3, 4), (4, 2)), ((2, 3), (3, 4), (4,))]),
    OpSpec("vecdot", lambda L, a, b: L.linalg.vecdot(a, b), [((2, 3), (3,))]),
]
