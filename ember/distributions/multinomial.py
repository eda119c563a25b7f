"""The multinomial distribution: class counts over a fixed number of categorical draws."""

from __future__ import annotations

import ember

from . import constraints
from ._parameters import CategoricalParameter, checked
from .binomial import Binomial
from .categorical import Categorical
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Multinomial"]


class Multinomial(CategoricalParameter, Distribution):
    r"""How many of ``total_count`` independent categorical draws land in each of ``K``
    classes: a vector of counts along the last (event) dimension that sums to
    ``total_count``.

    ``total_count`` must be one Python ``int`` for the whole batch. It may be left at its
    default when the distribution is only used to score counts: ``log_prob`` reads the number
    of draws from the counts themselves.

    Args:
        total_count (int): number of draws.
        probs (Tensor): class weights along the last dimension (normalised here).
        logits (Tensor): class log-weights (give one of ``probs`` and ``logits``).
        validate_args (bool, optional): check the parameters and the values scored.

    Example::

        >>> d = Multinomial(5, probs=ember.tensor([0.0, 1.0, 0.0]))
        >>> d.sample()
        tensor([0., 5., 0.])
        >>> d.mean
        tensor([0., 5., 0.])
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    total_count: int

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        # each class's count alone is binomial; entropy sums over those marginals
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_categorical(Multinomial, batch_shape, _instance)
        new.total_count = self.total_count
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def variance(self):
        p = self.probs
        return self.total_count * p * (1 - p)

    def sample(self, sample_shape=ember.Size()):
        sample_shape = ember.Size(sample_shape)
        # total_count class indices per sample, drawn along a new leading dimension that then
        # moves last and is tallied into per-class counts
        draws = self._categorical.sample(ember.Size((self.total_count,)) + sample_shape)
        draws = draws.permute(*range(1, draws.dim()), 0)
        counts = ember.zeros(self._extended_shape(sample_shape), dtype=draws.dtype,
                             device=draws.device)
        counts.scatter_add_(-1, draws, ember.ones_like(draws))
        return counts.type_as(self.probs)

    def log_prob(self, value):
        # checked before logits is derived, so an error names only the parameter given
        value = checked(self, value)
        logits, counts = broadcast_all(self.logits, value)
        # a class ruled out by a -inf logit contributes 0 * (-inf) when its count is 0; that
        # term is 0
        logits = logits.masked_fill((counts == 0) & (logits == -float("inf")), 0)
        log_coefficient = (counts.sum(-1) + 1).lgamma() - (counts + 1).lgamma().sum(-1)
        return log_coefficient + (logits * counts).sum(-1)

    def entropy(self):
        # H = -log n! - n sum_i p_i log p_i + sum_i E[log x_i!], where each count x_i is
        # Binomial(n, p_i); the k = 0 term of that expectation is 0 (log 0! = 0)
        n = ember.tensor(self.total_count)
        ks = self._binomial.enumerate_support(expand=False)[1:]
        expected_log_factorials = (self._binomial.log_prob(ks).exp() * (ks + 1).lgamma())
        return (n * self._categorical.entropy() - (n + 1).lgamma()
                + expected_log_factorials.sum([0, -1]))
