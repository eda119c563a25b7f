"""Student's t distribution with location and scale."""

import math

import ember
from ember import Tensor

from . import constraints
from ._parameters import expand_params
from .chi2 import Chi2
from .distribution import Distribution
from .utils import _size, _standard_normal, broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    r"""Student's t distribution with ``df`` degrees of freedom, shifted by ``loc`` and
    stretched by ``scale``: ``loc + scale * Z / sqrt(V / df)`` with ``Z`` standard normal and
    ``V`` chi-squared with ``df`` degrees of freedom. Samples draw ``Z`` first, then ``V``,
    and are reparameterised.

    Args:
        df (float or Tensor): degrees of freedom, > 0.
        loc (float or Tensor): location (default 0).
        scale (float or Tensor): scale, > 0 (default 1).

    Example:
        >>> d = StudentT(ember.tensor([4.0]), 1.0, 2.0)
        >>> d.mean, d.variance
        (tensor([1.]), tensor([8.]))
    """

    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df: Tensor | float, loc: Tensor | float = 0.0,
                 scale: Tensor | float = 1.0, validate_args: bool | None = None) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, StudentT, batch_shape, _instance,
                             ("df", "loc", "scale", "_chi2"))

    @property
    def mean(self) -> Tensor:
        # undefined for df <= 1 (the tails are too heavy)
        centre = self.loc.clone(memory_format=ember.contiguous_format)
        centre[self.df <= 1] = math.nan
        return centre

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        # scale^2 df / (df - 2) above df = 2, infinite on (1, 2], undefined up to 1
        out = self.df.clone(memory_format=ember.contiguous_format)
        above = self.df > 2
        out[above] = self.scale[above].pow(2) * self.df[above] / (self.df[above] - 2)
        out[(self.df <= 2) & (self.df > 1)] = math.inf
        out[self.df <= 1] = math.nan
        return out

    def rsample(self, sample_shape: _size = ember.Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        z = _standard_normal(shape, dtype=self.df.dtype, device=self.df.device)
        v = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * (z * ember.rsqrt(v / self.df))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        t = (value - self.loc) / self.scale
        # log of the normaliser scale sqrt(nu pi) Gamma(nu / 2) / Gamma((nu + 1) / 2)
        log_norm = (self.scale.log() + 0.5 * nu.log() + 0.5 * math.log(math.pi)
                    + ember.lgamma(0.5 * nu) - ember.lgamma(0.5 * (nu + 1.0)))
        return -0.5 * (nu + 1.0) * ember.log1p(t.pow(2.0) / nu) - log_norm

    def entropy(self):
        nu = self.df
        # log B(nu / 2, 1 / 2)
        log_beta = ember.lgamma(0.5 * nu) + math.lgamma(0.5) - ember.lgamma(0.5 * (nu + 1))
        return (self.scale.log()
                + 0.5 * (nu + 1) * (ember.digamma(0.5 * (nu + 1)) - ember.digamma(0.5 * nu))
                + 0.5 * nu.log() + log_beta)
