"""The two-parameter Weibull distribution."""

import ember
from ember import Tensor

from . import constraints
from .exponential import Exponential
from .gumbel import euler_constant
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .utils import broadcast_all

__all__ = ["Weibull"]


class Weibull(TransformedDistribution):
    """Lifetimes with a failure rate that grows (``concentration > 1``) or shrinks (``< 1``)
    as a power of time: cdf ``1 - exp(-(x / scale)^concentration)``. Samples are
    ``scale * E^(1 / concentration)`` for a unit exponential ``E``.

    Example:
        >>> d = Weibull(ember.tensor([1.0]), ember.tensor([1.0]))
        >>> print(d.mean.tolist(), d.variance.tolist())
        [1.0] [1.0]
        >>> print(round(d.cdf(ember.tensor([1.0])).item(), 4))
        0.6321
    """

    arg_constraints = dict(scale=constraints.positive, concentration=constraints.positive)
    support = constraints.positive

    def __init__(self, scale: Tensor | float, concentration: Tensor | float,
                 validate_args: bool | None = None) -> None:
        self.scale, self.concentration = broadcast_all(scale, concentration)
        self.concentration_reciprocal = self.concentration.reciprocal()
        unit = Exponential(ember.ones_like(self.scale), validate_args=validate_args)
        super().__init__(unit, self._steps(), validate_args=validate_args)

    def _steps(self) -> list:
        return [PowerTransform(exponent=self.concentration_reciprocal),
                AffineTransform(loc=0, scale=self.scale)]

    def expand(self, batch_shape, _instance=None) -> "Weibull":
        new = self._get_checked_instance(Weibull, _instance)
        for name in ("scale", "concentration"):
            setattr(new, name, getattr(self, name).expand(batch_shape))
        new.concentration_reciprocal = new.concentration.reciprocal()
        # the transforms hold the parameters, so they are rebuilt around the expanded ones
        TransformedDistribution.__init__(new, self.base_dist.expand(batch_shape),
                                         new._steps(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _gamma_of(self, x: Tensor) -> Tensor:
        return ember.exp(ember.lgamma(x))

    @property
    def mean(self) -> Tensor:
        return self.scale * self._gamma_of(1 + self.concentration_reciprocal)

    @property
    def mode(self) -> Tensor:
        k = self.concentration
        return self.scale * ((k - 1) / k) ** k.reciprocal()

    @property
    def variance(self) -> Tensor:
        r = self.concentration_reciprocal
        spread = self._gamma_of(1 + 2 * r) - ember.exp(2 * ember.lgamma(1 + r))
        return self.scale.pow(2) * spread

    def entropy(self) -> Tensor:
        return (euler_constant * (1 - self.concentration_reciprocal)
                + ember.log(self.scale * self.concentration_reciprocal) + 1)
