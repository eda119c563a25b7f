"""The Cauchy (Lorentz) distribution."""

import math

import ember
from ember import Tensor

from . import constraints
from ._parameters import expand_params
from .distribution import Distribution
from .utils import _host_fill, _size

__all__ = ["Cauchy"]


class Cauchy(Distribution):
    """Ratio of two independent standard normals, shifted by ``loc`` and stretched by
    ``scale``: density ``1 / (pi scale (1 + ((x - loc) / scale)^2))``. Its tails are so heavy
    that the mean is undefined (NaN) and the variance infinite; ``loc`` is the median and mode.

    Example:
        >>> d = Cauchy(ember.tensor([0.0]), ember.tensor([2.0]))
        >>> print(d.cdf(ember.tensor([2.0])).tolist(), d.icdf(ember.tensor([0.5])).tolist())
        [0.75] [0.0]
        >>> print(d.mean.tolist(), d.variance.tolist())
        [nan] [inf]
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Tensor | float, scale: Tensor | float,
                 validate_args: bool | None = None) -> None:
        super().__init__(self._broadcast_params(loc=loc, scale=scale), validate_args=validate_args)

    def expand(self, batch_shape: _size, _instance=None) -> "Cauchy":
        return expand_params(self, Cauchy, batch_shape, _instance, ("loc", "scale"))

    def _constant(self, fill: float) -> Tensor:
        return ember.full(self._extended_shape(), fill, dtype=self.loc.dtype,
                          device=self.loc.device)

    mean = property(lambda self: self._constant(math.nan), doc="NaN: the mean is undefined.")
    mode = property(lambda self: self.loc, doc="``loc``.")
    variance = property(lambda self: self._constant(math.inf), doc="Infinite.")

    def rsample(self, sample_shape: _size = ember.Size()) -> Tensor:
        standard = _host_fill(self._extended_shape(sample_shape), self.loc.dtype,
                              self.loc.device, "cauchy_")
        return self.loc + standard * self.scale

    def _z(self, value: Tensor) -> Tensor:
        return (self._checked(value) - self.loc) / self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        return -math.log(math.pi) - self.scale.log() - self._z(value).pow(2).log1p()

    def cdf(self, value: Tensor) -> Tensor:
        return ember.atan(self._z(value)) / math.pi + 0.5

    def icdf(self, value: Tensor) -> Tensor:
        return ember.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()
