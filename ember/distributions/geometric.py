"""The geometric distribution: how many failures come before the first success."""

from __future__ import annotations

import ember
from ember.nn import functional as F

from . import constraints
from ._parameters import BinaryParameter, checked, exactly_one, expand_params
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Geometric"]


class Geometric(BinaryParameter, Distribution):
    r"""The number of failed Bernoulli trials before the first success, ``k = 0, 1, 2, ...``,
    with ``P(k) = (1 - p)^k p``.

    Args:
        probs (Number, Tensor): success probability of each trial, in ``(0, 1]``.
        logits (Number, Tensor): its log-odds (give one of ``probs`` and ``logits``).
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> sure = Geometric(probs=ember.tensor([1.0]))
        >>> sure.sample((3,))
        tensor([[0.],
                [0.],
                [0.]])
        >>> Geometric(probs=ember.tensor(0.25)).mean
        tensor(3.)
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        name, given = exactly_one(probs, logits)
        (param,) = broadcast_all(given)
        super().__init__(self._store_param(name, param), validate_args=validate_args)
        if name == "probs" and self._validate_args:
            # the unit interval admits p = 0, for which no trial ever succeeds
            bad = ~(param > 0)
            if bad.any():
                raise ValueError(
                    f"Expected parameter probs ({type(param).__name__} of shape "
                    f"{tuple(param.shape)}) of distribution {self!r} to be positive but "
                    f"found invalid values:\n{param[bad]}")

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Geometric, batch_shape, _instance, ("probs", "logits"))

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return ember.zeros_like(self.probs)

    @property
    def variance(self):
        odds_against = 1.0 / self.probs - 1.0
        return odds_against / self.probs

    def sample(self, sample_shape=ember.Size()):
        # inversion: floor(log U / log(1 - p)), U uniform on [tiny, 1) so that log U is finite
        shape = self._extended_shape(sample_shape)
        tiny = ember.finfo(self.probs.dtype).tiny
        with ember.no_grad():
            u = self.probs.new(shape).uniform_(tiny, 1)
            return (u.log() / ember.log1p(-self.probs)).floor()

    def log_prob(self, value):
        k, p = broadcast_all(checked(self, value), self.probs)
        # k = 0 with p = 1 would give 0 * log(0); that term is 0, so p is taken as 0 there
        p = ember.where((p == 1) & (k == 0), ember.zeros_like(p), p)
        return k * ember.log1p(-p) + self.probs.log()

    def entropy(self):
        per_trial = F.binary_cross_entropy_with_logits(self.logits, self.probs,
                                                       reduction="none")
        return per_trial / self.probs
