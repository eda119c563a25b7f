"""The Poisson distribution: counts of events that arrive independently at a constant rate."""

from __future__ import annotations

import ember

from . import constraints
from ._parameters import checked, expand_params
from .exp_family import ExponentialFamily
from .utils import broadcast_all

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    r"""Counts ``k = 0, 1, 2, ...`` with ``P(k) = rate^k e^{-rate} / k!``.

    Args:
        rate (Number, Tensor): the expected count (non-negative).
        validate_args (bool, optional): check the parameter and the values scored.

    Example::

        >>> never = Poisson(ember.tensor([0.0, 0.0]))
        >>> never.sample()
        tensor([0., 0.])
        >>> Poisson(ember.tensor(2.0)).variance
        tensor(2.)
    """

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Poisson, batch_shape, _instance, ("rate",))

    def sample(self, sample_shape=ember.Size()):
        with ember.no_grad():
            return ember.poisson(self.rate.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        rate, k = broadcast_all(self.rate, checked(self, value))
        # xlogy keeps k = 0 at rate = 0 finite (0 log 0 = 0)
        return k.xlogy(rate) - rate - (k + 1).lgamma()

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return ember.floor(self.rate)

    @property
    def variance(self):
        return self.rate

    # exponential-family form: natural parameter log(rate), log-partition exp of it
    @property
    def _natural_params(self) -> tuple:
        return (self.rate.log(),)

    def _log_normalizer(self, x):
        return x.exp()
