"""The half-normal distribution: the absolute value of a centred normal."""

import math

import ember
from ember import Tensor

from . import constraints
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform

__all__ = ["HalfNormal"]


class HalfNormal(TransformedDistribution):
    """``|X|`` for ``X ~ Normal(0, scale)``: the normal density folded onto ``x >= 0``, so
    twice as high there. Built as a :class:`TransformedDistribution` of that normal under
    ``AbsTransform``; the density and cdf are written from the normal's directly because the
    absolute value is not invertible.

    Example:
        >>> d = HalfNormal(ember.tensor([1.0, 2.0]))
        >>> print([round(m, 4) for m in d.mean.tolist()])
        [0.7979, 1.5958]
        >>> print(d.cdf(ember.tensor([0.0, 0.0])).tolist())
        [0.0, 0.0]
    """

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    base_dist: Normal

    def __init__(self, scale: Tensor | float, validate_args: bool | None = None) -> None:
        centred = Normal(0, scale, validate_args=False)
        super().__init__(centred, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "HalfNormal":
        new = self._get_checked_instance(HalfNormal, _instance)
        return super().expand(batch_shape, _instance=new)

    scale = property(lambda self: self.base_dist.scale, doc="Scale of the folded normal.")
    mean = property(lambda self: self.scale * math.sqrt(2 / math.pi),
                    doc="``scale * sqrt(2 / pi)``.")
    mode = property(lambda self: ember.zeros_like(self.scale), doc="0.")
    variance = property(lambda self: self.scale.pow(2) * (1 - 2 / math.pi),
                        doc="``scale^2 (1 - 2 / pi)``.")

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        folded = self.base_dist.log_prob(value) + math.log(2)
        return ember.where(value >= 0, folded, -math.inf)

    def cdf(self, value: Tensor) -> Tensor:
        return 2 * self.base_dist.cdf(self._checked(value)) - 1

    def icdf(self, prob: Tensor) -> Tensor:
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() - math.log(2)
