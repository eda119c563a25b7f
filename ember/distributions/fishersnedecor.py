"""The Fisher-Snedecor (F) distribution."""

from math import nan

import ember
from ember import Tensor

from . import constraints
from ._parameters import expand_params
from .distribution import Distribution
from .gamma import Gamma
from .utils import _size

__all__ = ["FisherSnedecor"]


class FisherSnedecor(Distribution):
    r"""Fisher-Snedecor (F) distribution with ``df1`` and ``df2`` degrees of freedom: the
    ratio ``(U1 / df1) / (U2 / df2)`` of two independent chi-squared variables, each divided
    by its degrees of freedom. Samples draw the numerator's gamma variables first, then the
    denominator's, and are reparameterised.

    Args:
        df1 (float or Tensor): numerator degrees of freedom, > 0.
        df2 (float or Tensor): denominator degrees of freedom, > 0.

    Example:
        >>> d = FisherSnedecor(ember.tensor([4.0]), ember.tensor([6.0]))
        >>> d.mean
        tensor([1.5000])
    """

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1: Tensor | float, df2: Tensor | float,
                 validate_args: bool | None = None) -> None:
        shape = self._broadcast_params(df1=df1, df2=df2)
        # Gamma(d / 2, rate d) is chi2(d) / (2 d): the factors 2 cancel in the ratio
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2)
        super().__init__(shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, FisherSnedecor, batch_shape, _instance,
                             ("df1", "df2", "_gamma1", "_gamma2"))

    @property
    def mean(self) -> Tensor:
        # finite only for df2 > 2
        d2 = self.df2.clone(memory_format=ember.contiguous_format)
        d2[d2 <= 2] = nan
        return d2 / (d2 - 2)

    @property
    def mode(self) -> Tensor:
        # positive only for df1 > 2
        d1 = self.df1.clone(memory_format=ember.contiguous_format)
        d1[d1 <= 2] = nan
        return (d1 - 2) / d1 * self.df2 / (self.df2 + 2)

    @property
    def variance(self) -> Tensor:
        # finite only for df2 > 4
        d1 = self.df1
        d2 = self.df2.clone(memory_format=ember.contiguous_format)
        d2[d2 <= 4] = nan
        return 2 * d2.pow(2) * (d1 + d2 - 2) / (d1 * (d2 - 2).pow(2) * (d2 - 4))

    def rsample(self, sample_shape: _size = ember.Size(())) -> Tensor:
        shape = self._extended_shape(sample_shape)
        top = self._gamma1.rsample(sample_shape).view(shape)
        bottom = self._gamma2.rsample(sample_shape).view(shape)
        # keep both the denominator and the ratio away from 0 (and the ratio finite), as
        # gamma draws can underflow; in place, so the pathwise gradient is unchanged
        tiny = ember.finfo(bottom.dtype).tiny
        bottom.detach().clamp_(min=tiny)
        ratio = top / bottom
        ratio.detach().clamp_(min=tiny)
        return ratio

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        h1, h2 = self.df1 * 0.5, self.df2 * 0.5
        ratio = self.df1 / self.df2
        # log of 1 / B(d1 / 2, d2 / 2), then the powers of r = d1 / d2, of x and of 1 + r x
        log_inv_beta = (h1 + h2).lgamma() - h1.lgamma() - h2.lgamma()
        # summed in this grouping, PyTorch's values are matched to the last bit
        powers = h1 * ratio.log() + (h1 - 1) * ember.log(value)
        return log_inv_beta + powers - (h1 + h2) * ember.log1p(ratio * value)
