"""The Bernoulli distribution: a single yes/no trial."""

from __future__ import annotations

from math import nan

import ember
from ember import Tensor
from ember.nn import functional as F

from . import constraints
from ._parameters import BinaryParameter, checked, exactly_one, expand_params
from .exp_family import ExponentialFamily
from .utils import broadcast_all

__all__ = ["Bernoulli"]


class Bernoulli(BinaryParameter, ExponentialFamily):
    r"""A coin flip: 1 with probability ``probs``, 0 otherwise.

    Give the success probability as ``probs`` or its log-odds as ``logits`` (one of the two).
    Samples are floating point 0s and 1s in the parameter's dtype.

    Args:
        probs (Number, Tensor): probability of drawing a 1.
        logits (Number, Tensor): log-odds ``log(p / (1 - p))`` of drawing a 1.
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> coin = Bernoulli(probs=ember.tensor([0.0, 1.0]))
        >>> coin.sample()
        tensor([0., 1.])
        >>> Bernoulli(probs=ember.tensor([0.25, 0.75])).log_prob(ember.tensor(1.0)).exp()
        tensor([0.2500, 0.7500])
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        name, given = exactly_one(probs, logits)
        (param,) = broadcast_all(given)
        super().__init__(self._store_param(name, param), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Bernoulli, batch_shape, _instance, ("probs", "logits"))

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        # a fair coin has no single most likely outcome
        heads_likelier = (self.probs >= 0.5).to(self.probs)
        return heads_likelier.masked_fill(self.probs == 0.5, nan)

    @property
    def variance(self):
        p = self.probs
        return p * (1 - p)

    def sample(self, sample_shape=ember.Size()):
        with ember.no_grad():
            return ember.bernoulli(self.probs.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        # checked before logits is derived, so an error names only the parameter given
        value = checked(self, value)
        logits, outcome = broadcast_all(self.logits, value)
        # minus the cross entropy of the outcome against the coin: stable for large logits
        return -F.binary_cross_entropy_with_logits(logits, outcome, reduction="none")

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        outcomes = ember.tensor([0, 1], dtype=self._param.dtype, device=self._param.device)
        outcomes = outcomes.reshape((2,) + (1,) * len(self.batch_shape))
        return outcomes.expand((2,) + self.batch_shape) if expand else outcomes

    @property
    def _natural_params(self) -> tuple[Tensor]:
        return (self.logits,)

    def _log_normalizer(self, x):
        # log(1 + e^x): the log-partition function in the natural parameter (the logit)
        return ember.log1p(ember.exp(x))
