"""The two Cholesky-factor solves MultivariateNormal and Wishart use (``torch.cholesky_solve``
and ``torch.cholesky_inverse``), written with ``ember.linalg.solve_triangular`` so that they
are differentiable."""

from __future__ import annotations

import ember
from ember import Tensor


def cholesky_solve(rhs: Tensor, scale_tril: Tensor) -> Tensor:
    """Solves ``(L L^T) X = rhs`` for lower-triangular ``L`` (``torch.cholesky_solve``)."""
    y = ember.linalg.solve_triangular(scale_tril, rhs, upper=False)
    return ember.linalg.solve_triangular(scale_tril.mT, y, upper=True)


def cholesky_inverse(scale_tril: Tensor) -> Tensor:
    """``(L L^T)^{-1}`` for lower-triangular ``L`` (``torch.cholesky_inverse``)."""
    n = scale_tril.shape[-1]
    eye = ember.eye(n, dtype=scale_tril.dtype, device=scale_tril.device)
    return cholesky_solve(eye.expand(scale_tril.shape), scale_tril)
