"""The log-normal distribution."""

from ember import Tensor

from . import constraints
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform

__all__ = ["LogNormal"]


class LogNormal(TransformedDistribution):
    """``exp(X)`` for ``X ~ Normal(loc, scale)``: a positive variable whose logarithm is
    normal. ``loc`` and ``scale`` are the mean and standard deviation of that logarithm, not
    of the variable itself.

    Example:
        >>> d = LogNormal(ember.tensor([0.0]), ember.tensor([1.0]))
        >>> print([round(v, 4) for v in (d.mean.item(), d.mode.item(), d.variance.item())])
        [1.6487, 0.3679, 4.6708]
        >>> print(d.cdf(ember.tensor([1.0])).tolist())
        [0.5]
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True
    base_dist: Normal

    def __init__(self, loc: Tensor | float, scale: Tensor | float,
                 validate_args: bool | None = None) -> None:
        log_of_value = Normal(loc, scale, validate_args=validate_args)
        super().__init__(log_of_value, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "LogNormal":
        new = self._get_checked_instance(LogNormal, _instance)
        return super().expand(batch_shape, _instance=new)

    loc = property(lambda self: self.base_dist.loc, doc="Mean of the logarithm.")
    scale = property(lambda self: self.base_dist.scale,
                     doc="Standard deviation of the logarithm.")
    mean = property(lambda self: (self.loc + self.scale.pow(2) / 2).exp(),
                    doc="``exp(loc + scale^2 / 2)``.")
    mode = property(lambda self: (self.loc - self.scale.square()).exp(),
                    doc="``exp(loc - scale^2)``.")

    @property
    def variance(self) -> Tensor:
        s2 = self.scale.pow(2)
        return s2.expm1() * (2 * self.loc + s2).exp()

    def entropy(self) -> Tensor:
        # the exponential stretches the density by exp(x), adding E[X] = loc to the entropy
        return self.base_dist.entropy() + self.loc
