"""Op-table entries for ``ember/_ops/linalg/svd_eigh_qr.py``: eigh, svd, svdvals and qr (first
order: the factors are constants in their gradients)."""

from ..spec import OpSpec


def _eigh(L, a):
    w, v = L.linalg.eigh(a + a.mT)
    return w, v * v  # eigenvectors are defined up to sign; v * v is not


def _svd(L, a):
    u, s, vh = L.linalg.svd(a, full_matrices=False)
    return s, u * u, vh * vh  # singular vector pairs are defined up to a shared sign


def _qr(L, a):
    q, r = L.linalg.qr(a)
    # unique once R's diagonal is made positive (LAPACK may pick either sign per column)
    s = L.sign(r.diagonal(dim1=-2, dim2=-1))
    return q * s.unsqueeze(-2), r * s.unsqueeze(-1)


OPS = [
    # Decomposition gradients read the factors as functions of A under create_graph (second
    # order compared too).
    OpSpec("eigh", _eigh, [((3, 3),)]),
    OpSpec("svd", _svd, [((4, 3),), ((2, 3, 4),)]),
    OpSpec("svdvals", lambda L, a: L.linalg.svdvals(a), [((3, 4),), ((2, 4, 3),)]),
    OpSpec("qr", _qr, [((4, 3),), ((3, 3),), ((2, 3, 5),)]),
]
