"""Op-table entries for ``ember/_ops/linalg/einsum.py``: einsum (explicit, implicit, ellipsis,
diagonals, three operands) and tensordot."""

from ..spec import OpSpec

OPS = [
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
]
