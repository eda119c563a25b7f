"""The categorical distribution: one draw among ``K`` classes."""

from __future__ import annotations

from math import nan

import ember

from . import constraints
from ._parameters import checked, exactly_one, expand_params
from .distribution import Distribution
from .utils import lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical"]


class Categorical(Distribution):
    r"""A class index in ``{0, ..., K - 1}``, drawn with the weights along the last dimension of
    ``probs`` (or ``logits``); the leading dimensions are the batch.

    ``probs`` need only be non-negative with a positive sum (each row is divided by its sum);
    ``logits`` are unnormalised log-weights (each row has its log-sum-exp subtracted), and may
    be ``-inf`` to rule a class out. Samples and scored values are ``int64`` indices.

    Args:
        probs (Tensor): class weights, at least one-dimensional.
        logits (Tensor): class log-weights (give one of ``probs`` and ``logits``).
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> d = Categorical(probs=ember.tensor([0.0, 0.0, 1.0, 0.0]))
        >>> d.sample((2,))
        tensor([2, 2])
        >>> d.enumerate_support()
        tensor([0, 1, 2, 3])
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        name, given = exactly_one(probs, logits)
        if given.dim() < 1:
            raise ValueError(f"`{name}` parameter must be at least one-dimensional.")
        if name == "probs":
            self.probs = given / given.sum(-1, keepdim=True)
        else:
            self.logits = given - given.logsumexp(dim=-1, keepdim=True)
        self._param = getattr(self, name)
        self._num_events = self._param.size()[-1]
        super().__init__(self._param.size()[:-1], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = expand_params(self, Categorical, batch_shape, _instance, ("probs", "logits"))
        new._num_events = self._num_events
        return new

    def _new(self, *args, **kwargs):
        return self._param.new(*args, **kwargs)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> ember.Size:
        return self._param.size()

    def sample(self, sample_shape=ember.Size()):
        sample_shape = ember.Size(sample_shape)
        rows = self.probs.reshape(-1, self._num_events)
        # one row of draws per batch element, with replacement; then the batch moves last
        draws = ember.multinomial(rows, sample_shape.numel(), True).T
        return draws.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value):
        index = checked(self, value).long().unsqueeze(-1)
        index, log_pmf = ember.broadcast_tensors(index, self.logits)
        return log_pmf.gather(-1, index[..., :1]).squeeze(-1)

    def entropy(self):
        # a class ruled out by a -inf logit adds 0 * (-inf); clamping the logit to the most
        # negative finite number makes that term 0 * finite = 0
        floor = ember.finfo(self.logits.dtype).min
        return -(self.logits.clamp(min=floor) * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        indices = ember.arange(self._num_events, dtype=ember.long, device=self._param.device)
        indices = indices.reshape((-1,) + (1,) * len(self.batch_shape))
        return indices.expand((-1,) + self.batch_shape) if expand else indices

    # a class index has no meaningful mean or variance: both are NaN, as in PyTorch
    @property
    def mean(self):
        return self._undefined()

    @property
    def variance(self):
        return self._undefined()

    def _undefined(self):
        probs = self.probs
        return ember.full(self._extended_shape(), nan, dtype=probs.dtype, device=probs.device)

    @property
    def mode(self):
        return self.probs.argmax(dim=-1)
