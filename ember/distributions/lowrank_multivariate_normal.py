"""The multivariate normal with a low-rank-plus-diagonal covariance, and its Woodbury algebra."""

from __future__ import annotations

import math

import ember
from ember import Tensor

from . import constraints
from ._parameters import checked, expand_params
from .distribution import Distribution
from .multivariate_normal import _batch_mahalanobis, _batch_mv
from .utils import _standard_normal, lazy_property

__all__ = ["LowRankMultivariateNormal"]

# Covariance Sigma = W W^T + D with W (n x m, m small) and D diagonal. Everything goes through
# the m x m "capacitance" matrix C = I + W^T D^{-1} W and its Cholesky factor, so no n x n
# matrix is ever factored:
#   det(Sigma) = det(C) det(D)                                  (matrix determinant lemma)
#   Sigma^{-1} = D^{-1} - D^{-1} W C^{-1} W^T D^{-1}            (Woodbury identity)


def _batch_capacitance_tril(W: Tensor, D: Tensor) -> Tensor:
    """Lower Cholesky factor of ``I + W^T D^{-1} W``."""
    Wt_Dinv = W.mT / D.unsqueeze(-2)
    eye = ember.eye(W.shape[-1], dtype=W.dtype, device=W.device)
    return ember.linalg.cholesky(ember.matmul(Wt_Dinv, W) + eye)


def _batch_lowrank_logdet(W: Tensor, D: Tensor, capacitance_tril: Tensor) -> Tensor:
    """``log det(W W^T + D)`` from the capacitance factor."""
    log_det_c = 2 * capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    return log_det_c + D.log().sum(-1)


def _batch_lowrank_mahalanobis(W: Tensor, D: Tensor, x: Tensor,
                               capacitance_tril: Tensor) -> Tensor:
    """``x^T (W W^T + D)^{-1} x`` by the Woodbury identity: ``x^T D^{-1} x`` less the squared
    Mahalanobis norm of ``W^T D^{-1} x`` under the capacitance matrix."""
    Wt_Dinv_x = _batch_mv(W.mT / D.unsqueeze(-2), x)
    diagonal_part = (x.pow(2) / D).sum(-1)
    return diagonal_part - _batch_mahalanobis(capacitance_tril, Wt_Dinv_x)


class LowRankMultivariateNormal(Distribution):
    r"""A multivariate normal whose covariance is ``cov_factor @ cov_factor.T +
    diag(cov_diag)``: a rank-``m`` part plus independent noise, as in factor analysis.

    Densities and entropies cost ``O(n m^2)`` instead of ``O(n^3)`` (see the identities in this
    module), which pays off when the rank ``m`` is much smaller than the dimension ``n``.

    Args:
        loc (Tensor): mean, ``(*batch, n)``.
        cov_factor (Tensor): the low-rank factor ``W``, ``(*batch, n, m)``.
        cov_diag (Tensor): the positive diagonal ``D``, ``(*batch, n)``.
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> d = LowRankMultivariateNormal(ember.zeros(2), ember.zeros(2, 1), ember.ones(2))
        >>> d.covariance_matrix
        tensor([[1., 0.],
                [0., 1.]])
        >>> d.log_prob(ember.zeros(2))
        tensor(-1.8379)
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1),
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event_shape = loc.shape[-1:]
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, "
                             "with optional leading batch dimensions")
        if cov_factor.shape[-2:-1] != event_shape:
            raise ValueError(f"cov_factor must be a batch of matrices with shape "
                             f"{event_shape[0]} x m")
        if cov_diag.shape[-1:] != event_shape:
            raise ValueError(f"cov_diag must be a batch of vectors with shape {event_shape}")
        # broadcast the batch dimensions of all three, with loc and cov_diag as n x 1 columns
        try:
            loc_col, self.cov_factor, diag_col = ember.broadcast_tensors(
                loc.unsqueeze(-1), cov_factor, cov_diag.unsqueeze(-1))
        except RuntimeError as exc:
            raise ValueError(f"Incompatible batch shapes: loc {loc.shape}, cov_factor "
                             f"{cov_factor.shape}, cov_diag {cov_diag.shape}") from exc
        self.loc = loc_col[..., 0]
        self.cov_diag = diag_col[..., 0]
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = _batch_capacitance_tril(cov_factor, cov_diag)
        super().__init__(self.loc.shape[:-1], event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = expand_params(self, LowRankMultivariateNormal, batch_shape, _instance,
                            ("loc", "cov_factor", "cov_diag"))
        # the factorisation is shared, unexpanded
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
        return new

    def _square_shape(self):
        return self._batch_shape + self._event_shape + self._event_shape

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W.pow(2).sum(-1) + D).expand(self._batch_shape + self._event_shape)

    @lazy_property
    def scale_tril(self):
        # Sigma = D^{1/2} (I + D^{-1/2} W W^T D^{-1/2}) D^{1/2}: factor the bracket (its
        # eigenvalues are at least 1, so the factorisation is well conditioned) and scale the
        # rows by D^{1/2}
        sqrt_d = self._unbroadcasted_cov_diag.sqrt().unsqueeze(-1)
        scaled_W = self._unbroadcasted_cov_factor / sqrt_d
        n = self._event_shape[0]
        inner = ember.matmul(scaled_W, scaled_W.mT) + ember.eye(
            n, dtype=scaled_W.dtype, device=scaled_W.device)
        return (sqrt_d * ember.linalg.cholesky(inner)).expand(self._square_shape())

    @lazy_property
    def covariance_matrix(self):
        W = self._unbroadcasted_cov_factor
        cov = ember.matmul(W, W.mT) + ember.diag_embed(self._unbroadcasted_cov_diag)
        return cov.expand(self._square_shape())

    @lazy_property
    def precision_matrix(self):
        # Woodbury: D^{-1} - A^T A with A = C_L^{-1} W^T D^{-1}
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        A = ember.linalg.solve_triangular(self._capacitance_tril, W.mT / D.unsqueeze(-2),
                                          upper=False)
        precision = ember.diag_embed(D.reciprocal()) - ember.matmul(A.mT, A)
        return precision.expand(self._square_shape())

    def rsample(self, sample_shape=ember.Size()):
        # W e_1 + D^{1/2} e_2 has covariance W W^T + D; e_1 is drawn first, then e_2
        shape = self._extended_shape(sample_shape)
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        rank_shape = shape[:-1] + W.shape[-1:]
        e_1 = _standard_normal(rank_shape, dtype=self.loc.dtype, device=self.loc.device)
        e_2 = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + _batch_mv(W, e_1) + D.sqrt() * e_2

    def _log_det(self):
        return _batch_lowrank_logdet(self._unbroadcasted_cov_factor,
                                     self._unbroadcasted_cov_diag, self._capacitance_tril)

    def log_prob(self, value):
        centred = checked(self, value) - self.loc
        maha = _batch_lowrank_mahalanobis(self._unbroadcasted_cov_factor,
                                          self._unbroadcasted_cov_diag, centred,
                                          self._capacitance_tril)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + self._log_det() + maha)

    def entropy(self):
        n = self._event_shape[0]
        h = 0.5 * (n * (1.0 + math.log(2 * math.pi)) + self._log_det())
        return h.expand(self._batch_shape) if len(self._batch_shape) else h
