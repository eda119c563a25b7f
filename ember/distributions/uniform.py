"""The continuous uniform distribution on a half-open interval."""

import ember
from ember import Tensor

from . import constraints
from ._parameters import expand_params
from .distribution import Distribution
from .utils import _size

__all__ = ["Uniform"]


class Uniform(Distribution):
    """Uniform on ``[low, high)``, with the two bounds broadcast into the batch shape.
    ``rsample`` stretches ``ember.rand`` draws onto the interval, so samples are
    differentiable in both bounds; every point of the interval is equally likely, so ``mode``
    is NaN.

    Example:
        >>> d = Uniform(ember.tensor([0.0, -1.0]), ember.tensor([2.0, 1.0]))
        >>> print(d.mean.tolist(), d.entropy().exp().tolist())
        [1.0, 0.0] [2.0, 2.0]
        >>> print(d.cdf(ember.tensor([0.5, 0.5])).tolist())
        [0.25, 0.75]
    """

    has_rsample = True

    @property
    def arg_constraints(self):
        # each bound is constrained by the other one
        return {"low": constraints.less_than(self.high),
                "high": constraints.greater_than(self.low)}

    def __init__(self, low: Tensor | float, high: Tensor | float,
                 validate_args: bool | None = None) -> None:
        super().__init__(self._broadcast_params(low=low, high=high), validate_args=validate_args)

    def expand(self, batch_shape: _size, _instance=None) -> "Uniform":
        return expand_params(self, Uniform, batch_shape, _instance, ("low", "high"))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    def _width(self) -> Tensor:
        return self.high - self.low

    mean = property(lambda self: (self.high + self.low) / 2, doc="Midpoint of the interval.")
    mode = property(lambda self: self.high * float("nan"), doc="NaN: no point is likelier.")
    stddev = property(lambda self: self._width() / 12**0.5, doc="``(high - low) / sqrt(12)``.")
    variance = property(lambda self: self._width().pow(2) / 12, doc="``(high - low)^2 / 12``.")

    def rsample(self, sample_shape: _size = ember.Size()) -> Tensor:
        u = ember.rand(self._extended_shape(sample_shape), dtype=self.low.dtype,
                       device=self.low.device)
        return self.low + u * self._width()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        # log(1) inside [low, high), log(0) = -inf outside, minus the log width
        inside = self.low.le(value).type_as(self.low) * self.high.gt(value).type_as(self.low)
        return ember.log(inside) - ember.log(self._width())

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return ((value - self.low) / self._width()).clamp(min=0, max=1)

    def icdf(self, value: Tensor) -> Tensor:
        return self.low + value * self._width()

    def entropy(self) -> Tensor:
        return ember.log(self._width())
