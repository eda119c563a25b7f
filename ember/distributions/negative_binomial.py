"""The negative binomial distribution: successes seen before a given number of failures."""

from __future__ import annotations

import ember
from ember.nn import functional as F

from . import constraints
from ._parameters import BinaryParameter, checked, exactly_one, expand_params
from .distribution import Distribution
from .gamma import Gamma
from .utils import broadcast_all, lazy_property

__all__ = ["NegativeBinomial"]


class NegativeBinomial(BinaryParameter, Distribution):
    r"""The number of successes in Bernoulli trials of success probability ``probs`` before
    ``total_count`` failures occur. A real ``total_count`` is allowed: the distribution is
    then the Poisson–gamma mixture ``Poisson(lambda)``, ``lambda ~ Gamma(total_count,
    (1 - p) / p)``, which is also how it is sampled.

    Args:
        total_count (float, Tensor): number of failures to wait for (non-negative).
        probs (Tensor): success probability of one trial, in ``[0, 1)``.
        logits (Tensor): its log-odds (give one of ``probs`` and ``logits``).
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> d = NegativeBinomial(ember.tensor([2.0]), probs=ember.tensor([0.5]))
        >>> d.mean
        tensor([2.])
        >>> d.log_prob(ember.tensor([0.0])).exp()
        tensor([0.2500])
    """

    arg_constraints = {
        "total_count": constraints.greater_than_eq(0),
        "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.real,
    }
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None) -> None:
        name, given = exactly_one(probs, logits)
        count, param = broadcast_all(total_count, given)
        self.total_count = count.type_as(param)
        super().__init__(self._store_param(name, param), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        names = ("total_count", "probs", "logits")
        return expand_params(self, NegativeBinomial, batch_shape, _instance, names)

    @lazy_property
    def _gamma(self) -> Gamma:
        # the mixing distribution of the Poisson rate; its rate parameter is (1 - p) / p
        return Gamma(self.total_count, ember.exp(-self.logits), validate_args=False)

    def sample(self, sample_shape=ember.Size()):
        with ember.no_grad():
            return ember.poisson(self._gamma.sample(sample_shape))

    def log_prob(self, value):
        k = checked(self, value)
        r, logit = self.total_count, self.logits
        # r log(1 - p) + k log p, with the logs of p and 1 - p taken from the logit
        log_powers = r * F.logsigmoid(-logit) + k * F.logsigmoid(logit)
        # log of the coefficient Gamma(r + k) / (k! Gamma(r)); it is 0 (one way to see no
        # trials) when r + k = 0, where the gamma functions themselves blow up
        log_coefficient = (r + k).lgamma() - (k + 1.0).lgamma() - r.lgamma()
        log_coefficient = log_coefficient.masked_fill(r + k == 0.0, 0.0)
        return log_powers + log_coefficient

    @property
    def mean(self):
        return self.total_count * ember.exp(self.logits)

    @property
    def mode(self):
        odds = self.logits.exp()
        return ((self.total_count - 1) * odds).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / ember.sigmoid(-self.logits)
