"""Op-table entries for ``ember/_ops/linalg/products.py``: trace, kron, cross, cdist, inner,
matrix_power, multi_dot, vecdot, addr and the in-place addmm_/addr_."""

import numpy as np

from .._inputs import well_conditioned
from ..spec import OpSpec


def points(*shapes):
    """Point sets with distinct points (distances away from zero, where norms have a kink)."""

    def make(rng):
        return [rng.uniform(-2, 2, size=s) + 0.1 * np.arange(s[-2])[:, None] for s in shapes]

    return make


OPS = [
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
    # torch's matmul route for Euclidean distances (the default past 25 rows): EuclideanDist
    OpSpec("cdist_mm", lambda L, a, b: L.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
           [((2, 4, 3), (2, 5, 3))], make=points((2, 4, 3), (2, 5, 3)), gradgrad=False),
    OpSpec("matrix_power", lambda L, a: L.linalg.matrix_power(a, 3), [((3, 3),), ((2, 2, 2),)],
           domain=(-1, 1)),
    OpSpec("matrix_power_neg", lambda L, a: L.linalg.matrix_power(a, -2), [((3, 3),)],
           make=well_conditioned((3, 3))),
    OpSpec("matrix_power_0", lambda L, a: L.linalg.matrix_power(a, 0), [((2, 3, 3),)],
           grad=False),
    OpSpec("multi_dot", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]),
           [((3,), (3, 4), (4, 2)), ((2, 3), (3, 4), (4,))]),
    OpSpec("vecdot", lambda L, a, b: L.linalg.vecdot(a, b), [((2, 3), (3,))]),
    OpSpec("inner", lambda L, a, b: L.inner(a, b),
           [((3,), (3,)), ((2, 3), (4, 3)), ((2, 2, 3), (3,)), ((), (2, 3))]),
    OpSpec("addr", lambda L, a, b, c: L.addr(a, b, c, beta=0.5, alpha=2), [((2, 3), (2,), (3,)),
                                                                            ((3,), (2,), (3,))]),
    OpSpec("addr_", lambda L, a, b, c: (a * 1).addr_(b, c), [((2, 3), (2,), (3,))]),
    OpSpec("addmm_", lambda L, a, b, c: (a * 1).addmm_(b, c, alpha=0.5), [((2, 3), (2, 4),
                                                                           (4, 3))]),
]
