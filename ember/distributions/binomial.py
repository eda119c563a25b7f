"""The binomial distribution: successes among a fixed number of independent trials."""

from __future__ import annotations

import ember

from . import constraints
from ._parameters import BinaryParameter, checked, exactly_one, expand_params
from ._sampling import binomial
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Binomial"]


class Binomial(BinaryParameter, Distribution):
    r"""Successes in ``total_count`` independent trials that each succeed with probability
    ``probs``. ``total_count`` broadcasts against the probabilities, so each batch element may
    have its own number of trials.

    Args:
        total_count (int, Tensor): number of trials (non-negative).
        probs (Tensor): success probability of one trial.
        logits (Tensor): its log-odds (give one of ``probs`` and ``logits``).
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> d = Binomial(ember.tensor([4.0, 6.0]), probs=ember.tensor([1.0, 0.0]))
        >>> d.sample()
        tensor([4., 0.])
        >>> d.mean
        tensor([4., 0.])
    """

    arg_constraints = {
        "total_count": constraints.nonnegative_integer,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None) -> None:
        name, given = exactly_one(probs, logits)
        count, param = broadcast_all(total_count, given)
        # the count takes the probability's dtype, so that arithmetic between them stays there
        self.total_count = count.type_as(param)
        super().__init__(self._store_param(name, param), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        names = ("total_count", "probs", "logits")
        return expand_params(self, Binomial, batch_shape, _instance, names)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    def sample(self, sample_shape=ember.Size()):
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            return binomial(self.total_count.expand(shape), self.probs.expand(shape))

    def log_prob(self, value):
        k = checked(self, value)
        n, logit = self.total_count, self.logits
        # log C(n, k) + k log p + (n - k) log(1 - p), with the two logs written through the
        # logit: k logit - n log(1 + e^logit); the terms in n alone are gathered first
        # max(logit, 0) as (logit + |logit|) / 2: exact, and its derivative at 0 is 1/2
        # (clamp's would be 1), so the gradient at p = 1/2 is right
        positive_part = (logit + logit.abs()) / 2
        normalizer = n * positive_part + n * ember.log1p(ember.exp(-logit.abs()))
        normalizer = normalizer - (n + 1).lgamma()
        return k * logit - (k + 1).lgamma() - (n - k + 1).lgamma() - normalizer

    def entropy(self):
        # a sum over every count 0..n, which needs the same n throughout the batch
        ks = self._counts("entropy").reshape((-1,) + (1,) * len(self.batch_shape))
        log_pmf = self.log_prob(ks)
        return -(log_pmf.exp() * log_pmf).sum(0)

    def enumerate_support(self, expand=True):
        ks = self._counts("enumerate_support").reshape((-1,) + (1,) * len(self.batch_shape))
        return ks.expand((-1,) + self.batch_shape) if expand else ks

    def _counts(self, caller):
        """``0, 1, ..., n`` for the batch's common number of trials ``n``."""
        n = int(self.total_count.max())
        if not self.total_count.min() == n:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{caller}`.")
        return ember.arange(n + 1, dtype=self._param.dtype, device=self._param.device)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        p = self.probs
        return self.total_count * p * (1 - p)
