"""Op-table entries for ``ember/_ops/linalg/eig.py``: eig and eigvals (first order: the factors
are constants in their gradients).

Outputs are compared through real, phase-free quantities: each eigenvector is defined up to a
factor ``e^{i phi}``, and MKL (torch's LAPACK) and OpenBLAS (NumPy's) may pick opposite signs.
"""

from ..spec import OpSpec


def _eig(L, a):
    w, v = L.linalg.eig(a)
    return w.real, w.imag, (v * v.conj()).real


def _eigvals(L, a):
    w = L.linalg.eigvals(a)
    return w.real, w.imag


OPS = [
    OpSpec("linalg_eig", _eig, [((3, 3),), ((2, 4, 4),)], gradgrad=False),
    OpSpec("linalg_eigvals", _eigvals, [((3, 3),), ((2, 4, 4),)]),
]
