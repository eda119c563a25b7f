"""The Pareto (type I) distribution."""

from ember import Tensor

from . import constraints
from .exponential import Exponential
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform
from .utils import _size, broadcast_all

__all__ = ["Pareto"]


class Pareto(TransformedDistribution):
    """Power-law tail above ``scale``: survival function ``(scale / x)^alpha`` for
    ``x >= scale``. Built as ``scale * exp(E)`` with ``E ~ Exponential(alpha)``. The mean is
    infinite for ``alpha <= 1`` and the variance for ``alpha <= 2``.

    Example:
        >>> d = Pareto(ember.tensor([1.0]), ember.tensor([3.0]))
        >>> print(d.mean.tolist(), d.variance.tolist())
        [1.5] [0.75]
        >>> print(d.cdf(ember.tensor([2.0])).tolist())
        [0.875]
    """

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}
    support = constraints.dependent_property(
        lambda self: constraints.greater_than_eq(self.scale), is_discrete=False, event_dim=0)

    def __init__(self, scale: Tensor | float, alpha: Tensor | float,
                 validate_args: bool | None = None) -> None:
        self.scale, self.alpha = broadcast_all(scale, alpha)
        super().__init__(Exponential(self.alpha, validate_args=validate_args),
                         [ExpTransform(), AffineTransform(loc=0, scale=self.scale)],
                         validate_args=validate_args)

    def expand(self, batch_shape: _size, _instance=None) -> "Pareto":
        new = self._get_checked_instance(Pareto, _instance)
        for name in ("scale", "alpha"):
            setattr(new, name, getattr(self, name).expand(batch_shape))
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self) -> Tensor:
        shape = self.alpha.clamp(min=1)  # alpha <= 1: shape / 0 = inf
        return shape * self.scale / (shape - 1)

    mode = property(lambda self: self.scale, doc="``scale``, where the density is highest.")

    @property
    def variance(self) -> Tensor:
        shape = self.alpha.clamp(min=2)  # alpha <= 2: a division by zero, inf
        return self.scale.pow(2) * shape / ((shape - 1).pow(2) * (shape - 2))

    def entropy(self) -> Tensor:
        return (self.scale / self.alpha).log() + (1 + 1 / self.alpha)
