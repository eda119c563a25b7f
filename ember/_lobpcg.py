"""``torch.lobpcg``: a few extreme eigenpairs of a symmetric (generalized) eigenproblem.

PyTorch iterates LOBPCG (a matrix-free block solver) to a tolerance. ember's matrices are dense
NumPy arrays, so it solves the same problem exactly with LAPACK's symmetric eigensolver (through
``linalg.eigh``, whose gradient PyTorch's also follows): the eigenvalues agree with PyTorch's to
its tolerance, the eigenvectors up to sign (PyTorch's carry the iteration's residual, ~1e-4).
"""

from __future__ import annotations

from ._tensor import Tensor


def lobpcg(A: Tensor, k: int | None = None, B: Tensor | None = None, X: Tensor | None = None,
           n: int | None = None, iK: Tensor | None = None, niter: int | None = None,
           tol: float | None = None, largest: bool | None = None, method: str | None = None,
           tracker=None, ortho_iparams=None, ortho_fparams=None, ortho_bparams=None):
    """The ``k`` largest (or smallest) eigenvalues and eigenvectors of the symmetric positive
    definite problem ``A x = lambda B x`` (``B`` the identity when None), batched over
    leading dimensions; returns ``(E, X)`` with ``E`` of shape ``(*, k)`` and ``X`` of shape
    ``(*, m, k)``. ``X``, ``n``, ``iK``, ``niter``, ``tol``, ``method``, ``tracker`` and the
    ``ortho_*`` settings steer PyTorch's iteration; ember solves exactly, so they only shape
    the checks (``k`` defaults to ``X``'s column count, as in PyTorch).

    Example:
        >>> A = ember.diag(ember.arange(1.0, 11.0))
        >>> ember.lobpcg(A, k=2)[0]
        tensor([10.,  9.])
    """
    from . import linalg
    from ._creation import eye

    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise AssertionError(f"A must be square, got shape {A.shape}")
    if B is not None and tuple(B.shape) != tuple(A.shape):
        raise AssertionError(f"A and B must have the same shape, got {A.shape} and {B.shape}")
    m = A.shape[-1]
    if k is None:
        k = 1 if X is None else X.shape[-1]
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows (={m}) "
                         f"is smaller than 3 x the number of requested eigenpairs (={n})")
    largest = True if largest is None else largest
    if B is None:
        values, vectors = linalg.eigh(A)
    else:
        # reduce to a standard problem: with B = L L^T, (L^-1 A L^-T) y = lambda y, x = L^-T y
        lower = linalg.cholesky(B)
        inv = linalg.solve_triangular(lower, eye(m, dtype=A.dtype).expand_as(A), upper=False)
        values, vectors = linalg.eigh(inv @ A @ inv.mT)
        vectors = inv.mT @ vectors
    if largest:  # eigh sorts ascending
        values, vectors = values.flip(-1), vectors.flip(-1)
    return values[..., :k], vectors[..., :k]
