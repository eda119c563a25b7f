"""Op-table entries for ``ember/_ops/linalg/svd_eigh_qr.py``: eigh and svdvals (first order:
the factors are constants in their gradients)."""

from ..spec import OpSpec


def _eigh(L, a):
    w, v = L.linalg.eigh(a + a.mT)
    return w, v * v  # eigenvectors are defined up to sign; v * v is not


OPS = [
    # Decomposition gradients hold the factors as constants: exact to first order only.
    OpSpec("eigh", _eigh, [((3, 3),)], gradgrad=False),
    OpSpec("svdvals", lambda L, a: L.linalg.svdvals(a), [((3, 4),), ((2, 4, 3),)],
           gradgrad=False),
]
