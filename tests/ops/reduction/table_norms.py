"""Op-table entries for ``ember/_ops/reduction/norms.py``: ``norm`` in every order, dist,
renorm, and ``linalg.vector_norm`` with the matrix norms ``ember/linalg.py`` composes from it."""

from .._inputs import distinct
from ..spec import OpSpec

S1 = [((3, 4),), ((),), ((2, 3, 4),)]

OPS = [
    OpSpec("norm", lambda L, a: a.norm(), S1 + [((0, 2),)]),
    OpSpec("norm_dim", lambda L, a: L.norm(a, dim=1, keepdim=True), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("norm_p1", lambda L, a: a.norm(1, dim=0), [((3, 4),)]),
    OpSpec("norm_p3", lambda L, a: L.norm(a, p=3, dim=(0, 1)), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("norm_p05", lambda L, a: a.norm(0.5), [((3, 4),)], domain=(0.2, 2.0)),
    OpSpec("norm_inf", lambda L, a: a.norm(float("inf"), dim=1), [((3, 4),)],
           make=distinct((3, 4), offset=0.05)),
    OpSpec("norm_neg_inf", lambda L, a: a.norm(float("-inf")), [((3, 4),)],
           make=distinct((3, 4), offset=0.05)),
    OpSpec("norm_fro_dims", lambda L, a: L.norm(a, "fro", dim=(0, 2)), [((2, 3, 4),)]),
    OpSpec("matrix_norm_nuc", lambda L, a: L.linalg.matrix_norm(a, "nuc"), [((3, 4),)]),
    OpSpec("matrix_norm_2", lambda L, a: L.linalg.matrix_norm(a, 2, keepdim=True),
           [((2, 3, 4),)]),
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
    OpSpec("dist", lambda L, a, b: L.dist(a, b), [((3, 4), (3, 4)), ((2, 3), (3,))]),
    OpSpec("dist_p3", lambda L, a, b: a.dist(b, 3), [((3, 4), (4,))]),
    OpSpec("dist_inf", lambda L, a, b: L.dist(a, b, float("inf")), [((5,), (5,))]),
    OpSpec("renorm", lambda L, a: L.renorm(a, 2, 0, 1.5), [((3, 4),), ((2, 3, 2),)]),
    OpSpec("renorm_p1", lambda L, a: a.renorm(1, 1, 2.0), [((3, 4),)]),
]
