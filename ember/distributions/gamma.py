"""The gamma distribution, parameterised by shape (``concentration``) and ``rate``.

Draws come from ``_sampling.standard_gamma``, which follows PyTorch's random stream.
"""

import ember
from ember import Tensor

from . import constraints
from ._parameters import expand_params
from ._sampling import standard_gamma
from .exp_family import ExponentialFamily
from .utils import _size

__all__ = ["Gamma"]


class Gamma(ExponentialFamily):
    r"""Gamma distribution with shape ``concentration`` (alpha) and inverse scale ``rate``
    (beta): density ``beta^alpha x^(alpha - 1) e^(-beta x) / Gamma(alpha)`` on ``x >= 0``.

    Samples are reparameterised (``rsample`` carries gradients to both parameters).

    Args:
        concentration (float or Tensor): shape parameter alpha, > 0.
        rate (float or Tensor): rate parameter beta, > 0 (one over the scale).

    Example:
        >>> d = Gamma(ember.tensor([2.0]), ember.tensor([4.0]))
        >>> d.mean, d.variance
        (tensor([0.5000]), tensor([0.1250]))
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration: Tensor | float, rate: Tensor | float,
                 validate_args: bool | None = None) -> None:
        shape = self._broadcast_params(concentration=concentration, rate=rate)
        super().__init__(shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Gamma, batch_shape, _instance, ("concentration", "rate"))

    @property
    def mean(self) -> Tensor:
        """alpha / beta."""
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        """(alpha - 1) / beta, or 0 when alpha < 1 (the density then peaks at zero)."""
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        """alpha / beta^2."""
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape: _size = ember.Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        x = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        # a huge rate can round a draw to zero, outside the support's interior; lift it to the
        # smallest normal number in place so the pathwise gradient is left untouched
        x.detach().clamp_(min=ember.finfo(x.dtype).tiny)
        return x

    def log_prob(self, value):
        """alpha log beta + (alpha - 1) log x - beta x - log Gamma(alpha); ``xlogy`` keeps
        the value at ``x = 0`` finite where alpha = 1 (the exponential case)."""
        value = ember.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        alpha, beta = self.concentration, self.rate
        return (ember.xlogy(alpha, beta) + ember.xlogy(alpha - 1, value) - beta * value
                - ember.lgamma(alpha))

    def entropy(self):
        """alpha - log beta + log Gamma(alpha) + (1 - alpha) digamma(alpha), in nats."""
        alpha = self.concentration
        return (alpha - ember.log(self.rate) + ember.lgamma(alpha)
                + (1.0 - alpha) * ember.digamma(alpha))

    def cdf(self, value):
        """P(alpha, beta x), the regularised lower incomplete gamma function."""
        if self._validate_args:
            self._validate_sample(value)
        return ember.special.gammainc(self.concentration, self.rate * value)

    # exponential-family form: natural parameters (alpha - 1, -beta)
    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        return self.concentration - 1, -self.rate

    def _log_normalizer(self, x, y):
        return ember.lgamma(x + 1) - (x + 1) * ember.log(-y)
