"""The logistic-normal distribution on the probability simplex."""

from ember import Tensor

from . import Independent, constraints
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import StickBreakingTransform

__all__ = ["LogisticNormal"]


class LogisticNormal(TransformedDistribution):
    """Probability vectors made by stick-breaking a vector of ``K - 1`` independent normals
    ``Normal(loc, scale)`` into ``K`` positive parts that sum to one. A flexible alternative
    to the Dirichlet that can express correlations through ``loc`` and ``scale``.

    Example:
        >>> d = LogisticNormal(ember.zeros(3), ember.ones(3))
        >>> tuple(d.event_shape), tuple(d.sample((2,)).shape)
        ((4,), (2, 4))
        >>> print(round(d.sample().sum().item(), 4))
        1.0
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True
    base_dist: Independent[Normal]

    def __init__(self, loc: Tensor | float, scale: Tensor | float,
                 validate_args: bool | None = None) -> None:
        normals = Normal(loc, scale, validate_args=validate_args)
        if not normals.batch_shape:
            normals = normals.expand([1])  # a scalar still needs a vector to break
        super().__init__(normals, StickBreakingTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "LogisticNormal":
        new = self._get_checked_instance(LogisticNormal, _instance)
        return super().expand(batch_shape, _instance=new)

    loc = property(lambda self: self.base_dist.base_dist.loc, doc="Means of the normals.")
    scale = property(lambda self: self.base_dist.base_dist.scale,
                     doc="Standard deviations of the normals.")
