"""The generalised Pareto distribution (peaks over a threshold).

Every method switches to the exponential limit where the shape is (numerically) zero.
"""

import math

import ember

from . import constraints
from ._parameters import expand_params
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    r"""Generalised Pareto distribution with location ``loc`` (mu), ``scale`` (sigma) and
    shape ``concentration`` (xi): survival function ``(1 + xi z)^(-1 / xi)`` with
    ``z = (x - mu) / sigma``, which becomes ``exp(-z)`` at ``xi = 0``. It models the excess
    over a high threshold; ``xi > 0`` gives a heavy (Pareto-like) tail, ``xi < 0`` a finite
    upper end at ``mu - sigma / xi``.

    Samples invert the CDF at uniform draws, so they are reparameterised.

    Args:
        loc (float or Tensor): location mu, the lower end of the support.
        scale (float or Tensor): scale sigma, > 0.
        concentration (float or Tensor): shape xi, any real.

    Example:
        >>> d = GeneralizedPareto(ember.tensor([0.0]), ember.tensor([1.0]), ember.tensor([0.5]))
        >>> d.mean, d.entropy()
        (tensor([2.]), tensor([1.5000]))
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, GeneralizedPareto, batch_shape, _instance,
                                   ("loc", "scale", "concentration"))

    def rsample(self, sample_shape=ember.Size()):
        """``icdf`` of uniform draws (one ``rand`` of the sample's shape)."""
        shape = self._extended_shape(sample_shape)
        u = ember.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    def _z(self, x):
        return (x - self.loc) / self.scale

    def _split(self):
        """(near_zero, safe): where |xi| <= 1e-8 the exponential limit is used (PyTorch treats
        such shapes as zero); ``safe`` is xi with those entries set to 1, so that the
        discarded branch of where() stays finite and leaks no NaN into gradients."""
        xi = self.concentration
        near_zero = xi.abs() <= 1e-8
        return near_zero, ember.where(near_zero, ember.ones_like(xi), xi)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        zero, safe = self._split()
        power = -(1 + 1 / safe) * ember.log1p(safe * z)
        return ember.where(zero, -z, power) - ember.log(self.scale)

    def log_survival_function(self, value):
        """``log P(X > value)``: ``-log1p(xi z) / xi``, or ``-z`` where ``xi = 0``."""
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        zero, safe = self._split()
        return ember.where(zero, -z, -ember.log1p(safe * z) / safe)

    def log_cdf(self, value):
        """``log P(X <= value)``, as ``log(1 - survival)``."""
        return ember.log1p(-ember.exp(self.log_survival_function(value)))

    def cdf(self, value):
        """``P(X <= value)``, the exponential of ``log_cdf``."""
        return ember.exp(self.log_cdf(value))

    def icdf(self, value):
        """The quantile at probability ``value``, in closed form."""
        # with L = log(1 - p): x = mu + (sigma / xi) expm1(-xi L), or mu - sigma L at xi = 0
        log_tail = ember.log1p(-value)
        zero, safe = self._split()
        shift = ember.where(zero, -self.scale * log_tail,
                            self.scale / safe * ember.expm1(-safe * log_tail))
        return self.loc + shift

    @property
    def mean(self):
        # finite for xi < 1 only
        xi = self.concentration
        finite = self.loc + self.scale / (1 - xi)
        return ember.where(xi < 1, finite, ember.full_like(finite, math.nan))

    @property
    def variance(self):
        # finite for xi < 1/2 only
        xi = self.concentration
        finite = self.scale.pow(2) / ((1 - xi).pow(2) * (1 - 2 * xi))
        return ember.where(xi < 0.5, finite, ember.full_like(finite, math.nan))

    def entropy(self):
        """log sigma + xi + 1, in nats."""
        return ember.log(self.scale) + self.concentration + 1

    @property
    def mode(self):
        """The density is highest at the threshold mu."""
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        # [mu, inf) for xi >= 0; [mu, mu - sigma / xi] for xi < 0
        xi = self.concentration
        top = ember.where(xi < 0, self.loc - self.scale / xi,
                          ember.full_like(self.loc, math.inf))
        return constraints.interval(self.loc, top)
