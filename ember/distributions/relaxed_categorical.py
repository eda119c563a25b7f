"""Relaxed (concrete / Gumbel-softmax) one-hot categorical distributions."""

from __future__ import annotations

import ember

from . import constraints
from ._parameters import CategoricalParameter, checked
from .categorical import Categorical
from .distribution import Distribution
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform
from .utils import broadcast_all, clamp_probs

__all__ = ["ExpRelaxedCategorical", "RelaxedOneHotCategorical"]


class ExpRelaxedCategorical(CategoricalParameter, Distribution):
    r"""The log of a :class:`RelaxedOneHotCategorical` draw: the log-softmax of
    ``(logits + g) / temperature`` with ``g`` independent standard Gumbel noise, a vector along
    the event dimension whose exponentials sum to one (Maddison et al., 2017). Working in log
    space keeps small components representable at low temperature.

    Args:
        temperature (Tensor): relaxation temperature (positive).
        probs (Tensor): class weights along the last dimension (normalised here).
        logits (Tensor): class log-weights (give one of ``probs`` and ``logits``).
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> d = ExpRelaxedCategorical(ember.tensor(0.5), logits=ember.zeros(3))
        >>> y = d.rsample()
        >>> bool(ember.isclose(y.exp().sum(), ember.tensor(1.0)))
        True
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        self._categorical = Categorical(probs, logits)
        self.temperature = temperature
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_categorical(ExpRelaxedCategorical, batch_shape, _instance)
        new.temperature = self.temperature
        return new

    def rsample(self, sample_shape=ember.Size()):
        shape = self._extended_shape(sample_shape)
        # Gumbel noise by inversion, -log(-log u), with u kept off 0 and 1
        u = clamp_probs(ember.rand(shape, dtype=self.logits.dtype, device=self.logits.device))
        gumbel = -((-(u.log())).log())
        scores = (self.logits + gumbel) / self.temperature
        return scores - scores.logsumexp(dim=-1, keepdim=True)

    def log_prob(self, value):
        k = self._categorical._num_events
        # checked before logits is derived, so an error names only the parameter given
        value = checked(self, value)
        logits, y = broadcast_all(self.logits, value)
        # density of the concrete distribution in log space: (K - 1)! t^(K - 1) times the
        # product of the normalised scores
        log_scale = (ember.full_like(self.temperature, float(k)).lgamma()
                     - self.temperature.log().mul(-(k - 1)))
        score = logits - y.mul(self.temperature)
        score = (score - score.logsumexp(dim=-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(TransformedDistribution):
    r"""A continuous relaxation of :class:`OneHotCategorical` on the simplex (the concrete or
    Gumbel-softmax distribution): the exponential of an :class:`ExpRelaxedCategorical` draw.
    As the temperature goes to 0 the draws approach one-hot vectors; ``rsample`` is
    differentiable in the parameters.

    Args:
        temperature (Tensor): relaxation temperature (positive).
        probs (Tensor): class weights along the last dimension (normalised here).
        logits (Tensor): class log-weights (give one of ``probs`` and ``logits``).
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> d = RelaxedOneHotCategorical(ember.tensor(0.2), probs=ember.tensor([0.1, 0.9]))
        >>> y = d.rsample((3,))
        >>> tuple(y.shape)
        (3, 2)
        >>> bool(ember.allclose(y.sum(-1), ember.ones(3)))
        True
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        log_dist = ExpRelaxedCategorical(temperature, probs, logits)
        super().__init__(log_dist, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(RelaxedOneHotCategorical, _instance)
        return super().expand(batch_shape, _instance=new)

    # the parameters are those of the distribution of the logarithm
    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs
