"""Categorical draws written as one-hot vectors, and a straight-through variant for backprop."""

from __future__ import annotations

import ember
from ember.nn import functional as F

from . import constraints
from ._parameters import CategoricalParameter, checked
from .categorical import Categorical
from .distribution import Distribution

__all__ = ["OneHotCategorical", "OneHotCategoricalStraightThrough"]


class OneHotCategorical(CategoricalParameter, Distribution):
    r"""The :class:`Categorical` distribution with each outcome written as a one-hot vector of
    length ``K`` (the event dimension) in the parameter's dtype.

    Args:
        probs (Tensor): class weights along the last dimension (normalised here).
        logits (Tensor): class log-weights (give one of ``probs`` and ``logits``).
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> d = OneHotCategorical(probs=ember.tensor([0.0, 1.0, 0.0]))
        >>> d.sample()
        tensor([0., 1., 0.])
        >>> d.enumerate_support()
        tensor([[1., 0., 0.],
                [0., 1., 0.],
                [0., 0., 1.]])
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        self._categorical = Categorical(probs, logits)
        super().__init__(self._categorical.batch_shape,
                         self._categorical.param_shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_categorical(OneHotCategorical, batch_shape, _instance)

    @property
    def mean(self):
        return self._categorical.probs

    @property
    def mode(self):
        best = self._categorical.probs.argmax(dim=-1)
        return F.one_hot(best, num_classes=self._categorical._num_events).to(self.probs)

    @property
    def variance(self):
        p = self._categorical.probs
        return p * (1 - p)

    def sample(self, sample_shape=ember.Size()):
        index = self._categorical.sample(ember.Size(sample_shape))
        return F.one_hot(index, self._categorical._num_events).to(self.probs)

    def log_prob(self, value):
        # the position of the 1 is the class
        index = checked(self, value).max(-1)[1]
        return self._categorical.log_prob(index)

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        k = self.event_shape[0]
        rows = ember.eye(k, dtype=self._param.dtype, device=self._param.device)
        rows = rows.reshape((k,) + (1,) * len(self.batch_shape) + (k,))
        return rows.expand((k,) + self.batch_shape + (k,)) if expand else rows

class OneHotCategoricalStraightThrough(OneHotCategorical):
    r"""A :class:`OneHotCategorical` whose ``rsample`` passes gradients straight through.

    The forward value is an ordinary one-hot draw; the backward pass treats it as if it were
    ``probs`` (the straight-through estimator of Bengio et al., 2013): ``sample + probs -
    probs.detach()`` has the sample's value and the probabilities' gradient.

    Example::

        >>> logits = ember.tensor([0.0, 50.0], requires_grad=True)
        >>> y = OneHotCategoricalStraightThrough(logits=logits).rsample()
        >>> y.detach()
        tensor([0., 1.])
        >>> y.requires_grad
        True
    """

    has_rsample = True

    def rsample(self, sample_shape=ember.Size()):
        draw = self.sample(sample_shape)
        probs = self._categorical.probs  # computed once and cached, so the graph reaches it
        return draw + (probs - probs.detach())
