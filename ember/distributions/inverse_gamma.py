"""The inverse-gamma distribution: the reciprocal of a gamma variable.

A common conjugate prior for the variance of a normal model. Its samples are reciprocals of
gamma draws, so a seed gives the same numbers as in PyTorch.
"""

import ember
from ember import Tensor

from . import constraints
from .gamma import Gamma
from .transformed_distribution import TransformedDistribution
from .transforms import PowerTransform

__all__ = ["InverseGamma"]


class InverseGamma(TransformedDistribution):
    r"""Inverse-gamma distribution: ``1 / X`` for ``X ~ Gamma(concentration, rate)``, with
    density ``rate^alpha x^(-alpha - 1) e^(-rate / x) / Gamma(alpha)`` on ``x > 0``. Here
    ``rate`` acts as a scale of the result.

    Built as a :class:`TransformedDistribution` of the gamma through ``x -> x ** -1``, so
    ``log_prob`` and reparameterised samples come from there.

    Args:
        concentration (float or Tensor): shape alpha, > 0.
        rate (float or Tensor): scale of the result (the rate of the gamma inverted), > 0.

    Example:
        >>> d = InverseGamma(ember.tensor([3.0]), ember.tensor([4.0]))
        >>> d.mean, d.mode
        (tensor([2.]), tensor([1.]))
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration: Tensor | float, rate: Tensor | float,
                 validate_args: bool | None = None) -> None:
        gamma = Gamma(concentration, rate, validate_args=validate_args)
        # a single exponent of -1 (shape ()) serves every batch element
        flip = PowerTransform(-gamma.rate.new_ones(()))
        super().__init__(gamma, flip, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        """An InverseGamma over an expanded gamma (parameters are views, not copies)."""
        out = self._get_checked_instance(InverseGamma, _instance)
        return super().expand(batch_shape, _instance=out)

    @property
    def concentration(self) -> Tensor:
        """The shape alpha, held by the underlying gamma."""
        return self.base_dist.concentration

    @property
    def rate(self) -> Tensor:
        """The underlying gamma's rate, which scales the inverse-gamma variable."""
        return self.base_dist.rate

    @property
    def mean(self) -> Tensor:
        # finite only for alpha > 1
        alpha, beta = self.concentration, self.rate
        return ember.where(alpha > 1, beta / (alpha - 1), ember.full_like(beta, float("inf")))

    @property
    def mode(self) -> Tensor:
        """rate / (alpha + 1)."""
        return self.rate / (self.concentration + 1)

    @property
    def variance(self) -> Tensor:
        # finite only for alpha > 2
        alpha, beta = self.concentration, self.rate
        finite = beta.pow(2) / ((alpha - 1).pow(2) * (alpha - 2))
        return ember.where(alpha > 2, finite, ember.full_like(beta, float("inf")))

    def entropy(self):
        """alpha + log rate + log Gamma(alpha) - (1 + alpha) digamma(alpha), in nats."""
        alpha = self.concentration
        return (alpha + ember.log(self.rate) + ember.lgamma(alpha)
                - (1 + alpha) * ember.digamma(alpha))
