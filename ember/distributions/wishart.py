"""The Wishart distribution over positive-definite matrices."""

import math
from math import nan

import ember
from ember import Tensor

from . import constraints
from ._cholesky import cholesky_solve
from .chi2 import Chi2
from .exp_family import ExponentialFamily
from .multivariate_normal import _precision_to_scale_tril
from .utils import Number, _Number, _size, lazy_property

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """Multivariate digamma: the derivative of ``mvlgamma(x, p)``, the sum of
    ``digamma(x - i / 2)`` over ``i = 0 .. p - 1``."""
    halves = ember.arange(p, dtype=x.dtype, device=x.device) / 2
    return ember.digamma(x.unsqueeze(-1) - halves).sum(-1)


def _clamp_above_eps(x: Tensor) -> Tensor:
    # keeps the Bartlett factor's diagonal (square roots of chi-squared draws) off zero
    return x.clamp(min=ember.finfo(x.dtype).eps)


def _replace_rows(sample: Tensor, flags, new: Tensor, sample_dims: int) -> Tensor:
    """``sample`` with the entries of its first ``sample_dims`` dimensions (taken in
    row-major order) that ``flags`` marks replaced, in turn, by the leading entries of
    ``new``; the other entries are kept. Written with stack, so gradients flow."""
    flags = [bool(f) for f in ember.as_tensor(flags).reshape(-1).tolist()]
    block = tuple(sample.shape[sample_dims:])
    kept = sample.reshape((-1,) + block).unbind(0)
    fresh = iter(new.reshape((-1,) + block).unbind(0))
    merged = [next(fresh) if f else old for f, old in zip(flags, kept)]
    return ember.stack(merged).reshape(sample.shape)


def _ordered_matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for small matrices, summing the products over the inner index from first
    to last; PyTorch's CPU kernel rounds in this order for these sizes, so float64
    Wishart samples match its bits (a BLAS call may pair the terms differently)."""
    total = a[..., :, 0:1] * b[..., 0:1, :]
    for k in range(1, a.shape[-1]):
        total = total + a[..., :, k:k + 1] * b[..., k:k + 1, :]
    return total


class Wishart(ExponentialFamily):
    r"""Wishart distribution over ``p x p`` positive-definite matrices with ``df`` degrees
    of freedom (nu > p - 1) and scale matrix ``Sigma``: for integer ``nu`` it is the law of
    ``sum_k x_k x_k^T`` for ``nu`` independent ``N(0, Sigma)`` vectors. Exactly one of
    ``covariance_matrix`` (Sigma), ``precision_matrix`` (Sigma^-1) or ``scale_tril`` (the
    Cholesky factor of Sigma) is given.

    Samples use the Bartlett decomposition and are reparameterised. As PyTorch 2.13 does,
    ``rsample`` draws a second time for every sample that passed its positive-definiteness
    check (PyTorch warns about it; ember does not), so the random stream advances the
    same way; genuinely singular redraws are drawn again up to ``max_try_correction``
    times.

    Args:
        df (float or Tensor): degrees of freedom, greater than ``p - 1``.
        covariance_matrix (Tensor): Sigma, shape ``(..., p, p)``.
        precision_matrix (Tensor): Sigma^-1.
        scale_tril (Tensor): lower-triangular L with ``L L^T = Sigma``.

    Example:
        >>> d = Wishart(ember.tensor(5.0), covariance_matrix=ember.eye(2))
        >>> d.mean
        tensor([[5., 0.],
                [0., 5.]])
    """

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        p = self.event_shape[-1]
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(p - 1)}

    def __init__(self, df: Tensor | Number, covariance_matrix: Tensor | None = None,
                 precision_matrix: Tensor | None = None, scale_tril: Tensor | None = None,
                 validate_args: bool | None = None) -> None:
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        assert sum(given) == 1, (
            "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
            "specified.")
        name, matrix = next((n, m) for n, m in (("scale_tril", scale_tril),
                                                ("covariance_matrix", covariance_matrix),
                                                ("precision_matrix", precision_matrix))
                            if m is not None)
        if matrix.dim() < 2:
            # PyTorch names scale_tril here whichever matrix was passed
            raise ValueError("scale_tril must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if isinstance(df, _Number):
            batch_shape = matrix.shape[:-2]
            self.df = ember.tensor(df, dtype=matrix.dtype, device=matrix.device)
        else:
            batch_shape = ember.broadcast_shapes(matrix.shape[:-2], df.shape)
            self.df = df.expand(batch_shape)
        event_shape = matrix.shape[-2:]
        p = event_shape[-1]
        # checked whatever validate_args says: below p - 1 there is no such distribution
        if bool(self.df.le(p - 1).any()):
            raise ValueError(
                f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        setattr(self, name, matrix.expand(batch_shape + (-1, -1)))
        self._batch_dims = [-(k + 1) for k in range(len(batch_shape))]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

        # the factor is kept without batch broadcasting, so products stay small
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = ember.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

        # Bartlett: the squared diagonal of the factor are chi2(nu - i), i = 0 .. p - 1
        offsets = ember.arange(p, dtype=self.df.dtype, device=self.df.device)
        self._dist_chi2 = Chi2(
            self.df.unsqueeze(-1) - offsets.expand(batch_shape + (-1,)))

    def expand(self, batch_shape, _instance=None):
        out = self._get_checked_instance(Wishart, _instance)
        shape = ember.Size(batch_shape)
        matrix_shape = shape + self.event_shape
        out._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(matrix_shape)
        out.df = self.df.expand(shape)
        out._batch_dims = [-(k + 1) for k in range(len(shape))]
        # whichever matrices this instance holds (given or already computed) come along
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(out, name, getattr(self, name).expand(matrix_shape))
        out._dist_chi2 = Chi2(
            out.df.unsqueeze(-1)
            - ember.arange(self.event_shape[-1], dtype=out.df.dtype,
                           device=out.df.device).expand(shape + (-1,)))
        super(Wishart, out).__init__(shape, self.event_shape, validate_args=False)
        out._validate_args = self._validate_args
        return out

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._batch_shape + self._event_shape)

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        factor = self._unbroadcasted_scale_tril
        return (factor @ factor.mT).expand(self._batch_shape + self._event_shape)

    @lazy_property
    def precision_matrix(self) -> Tensor:
        eye = ember.eye(self._event_shape[-1], device=self.df.device, dtype=self.df.dtype)
        inverse = cholesky_solve(eye, self._unbroadcasted_scale_tril)
        return inverse.expand(self._batch_shape + self._event_shape)

    def _df_matrix(self, df: Tensor) -> Tensor:
        # df shaped to scale whole matrices
        return df.view(self._batch_shape + ember.Size((1, 1)))

    @property
    def mean(self) -> Tensor:
        return self._df_matrix(self.df) * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        # (nu - p - 1) Sigma, defined only for nu > p + 1
        factor = self.df - self.event_shape[-1] - 1
        factor[factor <= 0] = nan
        return self._df_matrix(factor) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        # Var(X_ij) = nu (Sigma_ij^2 + Sigma_ii Sigma_jj)
        sigma = self.covariance_matrix
        diag = sigma.diagonal(dim1=-2, dim2=-1)
        outer = diag.unsqueeze(-1) * diag.unsqueeze(-2)
        return self._df_matrix(self.df) * (sigma.pow(2) + outer)

    def _bartlett_sampling(self, sample_shape=ember.Size()):
        """L A A^T L^T with A lower triangular: sqrt(chi2(nu - i)) on the diagonal (drawn
        first), standard normals below it (then drawn in one ``randn``)."""
        p = self._event_shape[-1]
        shape = self._extended_shape(sample_shape)
        factor = _clamp_above_eps(self._dist_chi2.rsample(sample_shape).sqrt()).diag_embed(
            dim1=-2, dim2=-1)
        rows, cols = ember.tril_indices(p, p, offset=-1)
        factor[..., rows, cols] = ember.randn(shape[:-2] + (p * (p - 1) // 2,),
                                              dtype=factor.dtype, device=factor.device)
        chol = _ordered_matmul(self._unbroadcasted_scale_tril, factor)
        return _ordered_matmul(chol, chol.mT)

    def rsample(self, sample_shape: _size = ember.Size(), max_try_correction=None) -> Tensor:
        """Bartlett samples, redrawn as PyTorch 2.13 redraws them (see the class notes);
        ``max_try_correction`` (default 10) bounds the redraws of singular samples."""
        if max_try_correction is None:
            max_try_correction = 10
        sample_shape = ember.Size(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        n = len(sample_shape)

        def flags_over_batch(check):
            # one flag per sample-shape entry: any of its batch members
            return check.amax(self._batch_dims) if self._batch_shape else check

        # PyTorch 2.13 flags the samples that pass the support check, so every valid
        # sample is drawn again once; the stream must move as PyTorch's does
        redo = flags_over_batch(self.support.check(sample))
        tries = 0
        while bool(redo.any()) and tries < max_try_correction:
            count = int(redo.sum())
            fresh = self._bartlett_sampling(ember.Size((count,)))
            sample = _replace_rows(sample, redo, fresh, n)
            # from here on only draws that are really singular are drawn again
            bad = flags_over_batch(~self.support.check(fresh))
            new_redo = redo.clone().reshape(-1)
            new_redo[redo.reshape(-1)] = bad.reshape(-1)
            redo = new_redo.reshape(redo.shape)
            tries += 1
        return sample

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        factor = self._unbroadcasted_scale_tril
        log_det_factor = factor.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        # (nu - p - 1) / 2 log|X| - tr(Sigma^-1 X) / 2 - nu p / 2 log 2 - nu / 2 log|Sigma|
        # - log Gamma_p(nu / 2), with log|Sigma| = 2 log|L|
        trace = cholesky_solve(value, factor).diagonal(dim1=-2, dim2=-1).sum(dim=-1)
        return (-nu * (p * _LOG_2 / 2 + log_det_factor)
                - ember.mvlgamma(nu / 2, p=p)
                + (nu - p - 1) / 2 * ember.linalg.slogdet(value).logabsdet
                - trace / 2)

    def entropy(self):
        nu = self.df
        p = self._event_shape[-1]
        log_det_factor = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (p * _LOG_2 / 2 + log_det_factor)
                + ember.mvlgamma(nu / 2, p=p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p=p)
                + nu * p / 2)

    # exponential-family form: natural parameters (-Sigma^-1 / 2, nu / 2)
    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        eye = ember.eye(self._event_shape[-1], device=self.df.device, dtype=self.df.dtype)
        inverse = cholesky_solve(eye, self._unbroadcasted_scale_tril)
        return -0.5 * inverse, 0.5 * self.df

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        return (y * (-ember.linalg.slogdet(-2 * x).logabsdet + p * _LOG_2)
                + ember.mvlgamma(y, p=p))

