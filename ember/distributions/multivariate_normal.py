"""The multivariate normal distribution, and the batched triangular algebra it is built on."""

from __future__ import annotations

import math

import ember
from ember import Tensor

from . import constraints
from ._cholesky import cholesky_inverse
from ._parameters import checked
from .distribution import Distribution
from .utils import _standard_normal, lazy_property

__all__ = ["MultivariateNormal"]


def _batch_mv(bmat: Tensor, bvec: Tensor) -> Tensor:
    """Matrix-vector products over broadcast batch dimensions: ``bmat @ bvec`` for matrices
    ``(..., n, m)`` and vectors ``(..., m)``."""
    return ember.matmul(bmat, bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(bL: Tensor, bx: Tensor) -> Tensor:
    """Squared Mahalanobis norms ``x^T (L L^T)^{-1} x = |L^{-1} x|^2`` for lower-triangular
    ``bL`` ``(..., n, n)`` and vectors ``bx`` ``(..., n)``; the batch dimensions broadcast.
    One triangular solve, never an explicit inverse."""
    whitened = ember.linalg.solve_triangular(bL, bx.unsqueeze(-1), upper=False)
    return whitened.squeeze(-1).pow(2).sum(-1)


def _precision_to_scale_tril(P: Tensor) -> Tensor:
    """The lower Cholesky factor ``L`` of ``P^{-1}`` without inverting ``P``.

    Factoring ``P`` with its rows and columns reversed gives ``P = U U^T`` with ``U`` upper
    triangular (a flipped lower factor); then ``P^{-1} = U^{-T} U^{-1}``, so ``L = U^{-T}``,
    which is lower triangular and found by one triangular solve."""
    flipped = ember.linalg.cholesky(ember.flip(P, (-2, -1)))
    upper = ember.flip(flipped, (-2, -1))
    eye = ember.eye(P.shape[-1], dtype=P.dtype, device=P.device)
    return ember.linalg.solve_triangular(upper.mT, eye, upper=False)


class MultivariateNormal(Distribution):
    r"""The normal distribution over vectors with mean ``loc`` and covariance ``Sigma``.

    Give the covariance one way: as ``covariance_matrix`` itself, as its inverse
    ``precision_matrix``, or as a lower-triangular ``scale_tril`` with positive diagonal and
    ``Sigma = scale_tril @ scale_tril.T``. Everything is computed from ``scale_tril`` (found by
    a Cholesky factorisation of the others), so passing it is cheapest and most accurate. The
    batch dimensions of ``loc`` and of the matrix broadcast.

    Args:
        loc (Tensor): mean, ``(*batch, n)``.
        covariance_matrix (Tensor): positive-definite covariance, ``(*batch, n, n)``.
        precision_matrix (Tensor): positive-definite inverse covariance.
        scale_tril (Tensor): lower Cholesky factor of the covariance.
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> d = MultivariateNormal(ember.zeros(2), scale_tril=ember.eye(2))
        >>> tuple(d.batch_shape), tuple(d.event_shape)
        ((), (2,))
        >>> d.log_prob(ember.zeros(2))
        tensor(-1.8379)
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = {"covariance_matrix": covariance_matrix,
                 "precision_matrix": precision_matrix, "scale_tril": scale_tril}
        given = {k: v for k, v in given.items() if v is not None}
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        ((name, matrix),) = given.items()
        if matrix.dim() < 2:
            what = "scale_tril matrix" if name == "scale_tril" else name
            raise ValueError(f"{what} must be at least two-dimensional, "
                             "with optional leading batch dimensions")
        batch_shape = ember.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
        setattr(self, name, matrix.expand(batch_shape + (-1, -1)))
        self.loc = loc.expand(batch_shape + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        # the factor keeps the matrix's own batch shape: a single covariance shared by a batch
        # of means is factored once
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = ember.linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = ember.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        square = batch_shape + self.event_shape + self.event_shape
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(square))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _square_shape(self):
        return self._batch_shape + self._event_shape + self._event_shape

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._square_shape())

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return ember.matmul(L, L.mT).expand(self._square_shape())

    @lazy_property
    def precision_matrix(self):
        return cholesky_inverse(self._unbroadcasted_scale_tril).expand(self._square_shape())

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        # the diagonal of L L^T: squared row norms of L
        row_norms = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return row_norms.expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=ember.Size()):
        shape = self._extended_shape(sample_shape)
        noise = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, noise)

    def _half_log_det(self):
        """``log det(L) = 0.5 log det(Sigma)``: the sum of the logs of L's diagonal."""
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        centred = checked(self, value) - self.loc
        maha = _batch_mahalanobis(self._unbroadcasted_scale_tril, centred)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + maha) - self._half_log_det()

    def entropy(self):
        n = self._event_shape[0]
        h = 0.5 * n * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h.expand(self._batch_shape) if len(self._batch_shape) else h
