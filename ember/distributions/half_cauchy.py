"""The half-Cauchy distribution: the absolute value of a centred Cauchy variable."""

import math

import ember
from ember import Tensor

from . import constraints
from .cauchy import Cauchy
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform

__all__ = ["HalfCauchy"]


class HalfCauchy(TransformedDistribution):
    """``|X|`` for ``X ~ Cauchy(0, scale)``, a common weakly informative prior on scales:
    density ``2 / (pi scale (1 + (x / scale)^2))`` on ``x >= 0``. Mean and variance are
    infinite; the median is ``scale``.

    Example:
        >>> d = HalfCauchy(ember.tensor([1.0, 3.0]))
        >>> print(d.cdf(ember.tensor([1.0, 3.0])).tolist())
        [0.5, 0.5]
        >>> print(d.mean.tolist())
        [inf, inf]
    """

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    base_dist: Cauchy

    def __init__(self, scale: Tensor | float, validate_args: bool | None = None) -> None:
        centred = Cauchy(0, scale, validate_args=False)
        super().__init__(centred, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "HalfCauchy":
        new = self._get_checked_instance(HalfCauchy, _instance)
        return super().expand(batch_shape, _instance=new)

    scale = property(lambda self: self.base_dist.scale, doc="Scale of the folded Cauchy.")
    mean = property(lambda self: ember.full(self._extended_shape(), math.inf,
                                            dtype=self.scale.dtype, device=self.scale.device),
                    doc="Infinite.")
    mode = property(lambda self: ember.zeros_like(self.scale), doc="0.")
    variance = property(lambda self: self.base_dist.variance, doc="Infinite.")

    def log_prob(self, value) -> Tensor:
        # numbers are accepted when validation is off: make them tensors of the scale's kind
        value = ember.as_tensor(self._checked(value), dtype=self.scale.dtype,
                                device=self.scale.device)
        folded = self.base_dist.log_prob(value) + math.log(2)
        return ember.where(value >= 0, folded, -math.inf)

    def cdf(self, value: Tensor) -> Tensor:
        return 2 * self.base_dist.cdf(self._checked(value)) - 1

    def icdf(self, prob: Tensor) -> Tensor:
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() - math.log(2)
