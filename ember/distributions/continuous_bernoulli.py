"""The continuous Bernoulli distribution on the unit interval (Loaiza-Ganem & Cunningham, 2019)."""

from __future__ import annotations

import math

import ember
from ember.nn import functional as F

from . import constraints
from ._parameters import BinaryParameter, checked, exactly_one, expand_params
from .exp_family import ExponentialFamily
from .utils import broadcast_all, clamp_probs, lazy_property, logits_to_probs

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(BinaryParameter, ExponentialFamily):
    r"""A density on ``[0, 1]`` proportional to ``p^x (1 - p)^(1 - x)``: the Bernoulli
    likelihood read as a function of a continuous ``x``, normalised by ``C(p)``. It is the
    right likelihood for data in ``[0, 1]`` such as pixel intensities.

    Closed forms of ``C(p)``, the mean and the variance divide by ``1 - 2p``, which vanishes at
    ``p = 1/2``; for ``p`` within ``lims`` of one half their Taylor expansions around ``1/2``
    are used instead.

    Args:
        probs (Number, Tensor): the parameter ``p`` in ``[0, 1]``.
        logits (Number, Tensor): its log-odds (give one of ``probs`` and ``logits``).
        lims (tuple): the interval around one half where the expansions are used.
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> d = ContinuousBernoulli(probs=ember.tensor([0.5]))
        >>> d.mean
        tensor([0.5000])
        >>> d.log_prob(ember.tensor([0.3]))
        tensor([0.])
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501),
                 validate_args=None) -> None:
        name, given = exactly_one(probs, logits)
        (param,) = broadcast_all(given)
        if name == "probs":
            # the density is degenerate at p = 0 and 1: probabilities are pulled inside
            if validate_args is not None and not self.arg_constraints["probs"].check(param).all():
                raise ValueError("The parameter probs has invalid values")
            param = clamp_probs(param)
        self._lims = lims
        super().__init__(self._store_param(name, param), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = expand_params(self, ContinuousBernoulli, batch_shape, _instance,
                            ("probs", "logits"))
        new._lims = self._lims
        return new

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    def _outside_unstable_region(self):
        p = self.probs
        return (p <= self._lims[0]) | (p > self._lims[1])

    def _cut_probs(self):
        """``probs`` with the values near one half replaced by ``lims[0]``, so that the closed
        forms (evaluated everywhere, then discarded there) stay finite."""
        return ember.where(self._outside_unstable_region(), self.probs,
                           self._lims[0] * ember.ones_like(self.probs))

    def _cont_bern_log_norm(self):
        """``log C(p)``, ``C(p) = 2 artanh(1 - 2p) / (1 - 2p)``: written as
        ``log|log(1 - p) - log p| - log|1 - 2p|``, with the last term computed on the side of
        one half each ``p`` is on; near one half, ``log 2 + 4/3 x + 104/45 x^2`` in
        ``x = (p - 1/2)^2``."""
        cut = self._cut_probs()
        low = ember.where(cut <= 0.5, cut, ember.zeros_like(cut))
        high = ember.where(cut >= 0.5, cut, ember.ones_like(cut))
        log_gap = ember.where(cut <= 0.5, ember.log1p(-2.0 * low), ember.log(2.0 * high - 1.0))
        closed = ember.log(ember.abs(ember.log1p(-cut) - ember.log(cut))) - log_gap
        x = (self.probs - 0.5) ** 2
        series = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return ember.where(self._outside_unstable_region(), closed, series)

    @property
    def mean(self):
        cut = self._cut_probs()
        closed = cut / (2.0 * cut - 1.0) + 1.0 / (ember.log1p(-cut) - ember.log(cut))
        d = self.probs - 0.5
        series = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * d ** 2) * d
        return ember.where(self._outside_unstable_region(), closed, series)

    @property
    def variance(self):
        cut = self._cut_probs()
        closed = (cut * (cut - 1.0) / (1.0 - 2.0 * cut) ** 2
                  + 1.0 / (ember.log1p(-cut) - ember.log(cut)) ** 2)
        x = (self.probs - 0.5) ** 2
        series = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return ember.where(self._outside_unstable_region(), closed, series)

    @property
    def stddev(self):
        return ember.sqrt(self.variance)

    def sample(self, sample_shape=ember.Size()):
        with ember.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=ember.Size()):
        # inversion of the closed-form cdf, which is differentiable in the parameter
        shape = self._extended_shape(sample_shape)
        u = ember.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value):
        # checked before logits is derived, so an error names only the parameter given
        value = checked(self, value)
        logits, x = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none") \
            + self._cont_bern_log_norm()

    def cdf(self, value):
        x = checked(self, value)
        cut = self._cut_probs()
        closed = (cut ** x * (1.0 - cut) ** (1.0 - x) + cut - 1.0) / (2.0 * cut - 1.0)
        inside = ember.where(self._outside_unstable_region(), closed, x)
        return ember.where(x <= 0.0, ember.zeros_like(x),
                           ember.where(x >= 1.0, ember.ones_like(x), inside))

    def icdf(self, value):
        cut = self._cut_probs()
        closed = ((ember.log1p(-cut + value * (2.0 * cut - 1.0)) - ember.log1p(-cut))
                  / (ember.log(cut) - ember.log1p(-cut)))
        # near p = 1/2 the distribution is uniform and the quantile is the value itself
        return ember.where(self._outside_unstable_region(), closed, value)

    def entropy(self):
        log_q = ember.log1p(-self.probs)
        log_p = ember.log(self.probs)
        return self.mean * (log_q - log_p) - self._cont_bern_log_norm() - log_q

    @property
    def _natural_params(self) -> tuple:
        return (self.logits,)

    def _log_normalizer(self, x):
        """The log-partition function in the natural parameter ``eta`` (the logit):
        ``log((e^eta - 1) / eta)``, with ``eta/2 + eta^2/24 - eta^4/2880`` near 0."""
        lo, hi = self._lims[0] - 0.5, self._lims[1] - 0.5
        outside = (x <= lo) | (x > hi)
        cut = ember.where(outside, x, lo * ember.ones_like(x))
        closed = ember.log(ember.abs(ember.exp(cut) - 1.0)) - ember.log(ember.abs(cut))
        series = 0.5 * x + x ** 2 / 24.0 - x ** 4 / 2880.0
        return ember.where(outside, closed, series)
