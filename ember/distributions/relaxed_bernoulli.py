"""Relaxed (concrete) Bernoulli distributions: differentiable stand-ins for coin flips."""

from __future__ import annotations

import ember

from . import constraints
from ._parameters import BinaryParameter, checked, exactly_one, expand_params
from .distribution import Distribution
from .transformed_distribution import TransformedDistribution
from .transforms import SigmoidTransform
from .utils import broadcast_all, clamp_probs

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli"]


class LogitRelaxedBernoulli(BinaryParameter, Distribution):
    r"""The logit of a :class:`RelaxedBernoulli` draw: a real number
    ``(logit(p) + logit(u)) / temperature`` with ``u`` uniform on ``(0, 1)``, i.e. the coin's
    log-odds plus logistic noise, scaled by the temperature (Maddison et al., 2017; Jang et al.,
    2017).

    Args:
        temperature (Tensor): relaxation temperature (positive; low is close to a hard flip).
        probs (Number, Tensor): success probability.
        logits (Number, Tensor): its log-odds (give one of ``probs`` and ``logits``).
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> d = LogitRelaxedBernoulli(ember.tensor(0.5), logits=ember.tensor([0.0, 2.0]))
        >>> tuple(d.rsample((4,)).shape)
        (4, 2)
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        self.temperature = temperature
        name, given = exactly_one(probs, logits)
        (param,) = broadcast_all(given)
        super().__init__(self._store_param(name, param), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = expand_params(self, LogitRelaxedBernoulli, batch_shape, _instance,
                            ("probs", "logits"))
        new.temperature = self.temperature
        return new

    def rsample(self, sample_shape=ember.Size()):
        shape = self._extended_shape(sample_shape)
        # clamping keeps u and p away from 0 and 1, where their logits would be infinite
        p = clamp_probs(self.probs.expand(shape))
        u = clamp_probs(ember.rand(shape, dtype=p.dtype, device=p.device))
        logistic_noise = u.log() - (-u).log1p()
        return (logistic_noise + p.log() - (-p).log1p()) / self.temperature

    def log_prob(self, value):
        # checked before logits is derived, so an error names only the parameter given
        value = checked(self, value)
        logits, y = broadcast_all(self.logits, value)
        # the logistic density of t * y - logit, times the Jacobian t of the scaling
        gap = logits - y.mul(self.temperature)
        return self.temperature.log() + gap - 2 * gap.exp().log1p()


class RelaxedBernoulli(TransformedDistribution):
    r"""A continuous relaxation of :class:`Bernoulli` on ``(0, 1)``: the sigmoid of a
    :class:`LogitRelaxedBernoulli` draw. As the temperature goes to 0 the draws approach hard
    0/1 flips with success probability ``probs``; ``rsample`` is differentiable in the
    parameters.

    Args:
        temperature (Tensor): relaxation temperature (positive).
        probs (Number, Tensor): success probability.
        logits (Number, Tensor): its log-odds (give one of ``probs`` and ``logits``).
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> d = RelaxedBernoulli(ember.tensor(0.1), probs=ember.tensor([0.2, 0.9]))
        >>> x = d.rsample()
        >>> bool(((x > 0) & (x < 1)).all())
        True
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        logit_dist = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(logit_dist, SigmoidTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(RelaxedBernoulli, _instance)
        return super().expand(batch_shape, _instance=new)

    # the parameters are those of the distribution of the logit
    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs
