"""The Laplace (double exponential) distribution."""

import ember
from ember import Tensor

from . import constraints
from ._parameters import expand_params
from .distribution import Distribution
from .utils import _host_fill, _size

__all__ = ["Laplace"]


class Laplace(Distribution):
    """Two exponential tails glued at ``loc``: density ``exp(-|x - loc| / scale) / (2 scale)``.
    ``rsample`` inverts the cdf at a uniform draw on ``(eps - 1, 1)`` (eps the dtype's machine
    epsilon), which keeps the logarithm finite.

    Example:
        >>> d = Laplace(ember.tensor([0.0, 1.0]), ember.tensor([1.0, 0.5]))
        >>> print(d.variance.tolist(), d.cdf(ember.tensor([0.0, 1.0])).tolist())
        [2.0, 0.5] [0.5, 0.5]
        >>> print([round(v, 4) for v in d.log_prob(ember.tensor([1.0, 1.5])).tolist()])
        [-1.6931, -1.0]
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Tensor | float, scale: Tensor | float,
                 validate_args: bool | None = None) -> None:
        super().__init__(self._broadcast_params(loc=loc, scale=scale), validate_args=validate_args)

    def expand(self, batch_shape: _size, _instance=None) -> "Laplace":
        return expand_params(self, Laplace, batch_shape, _instance, ("loc", "scale"))

    mean = property(lambda self: self.loc, doc="``loc``.")
    mode = property(lambda self: self.loc, doc="``loc``.")
    variance = property(lambda self: 2 * self.scale.pow(2), doc="``2 scale^2``.")
    stddev = property(lambda self: (2**0.5) * self.scale, doc="``sqrt(2) scale``.")

    def rsample(self, sample_shape: _size = ember.Size()) -> Tensor:
        eps = ember.finfo(self.loc.dtype).eps
        u = _host_fill(self._extended_shape(sample_shape), self.loc.dtype, self.loc.device,
                       "uniform_", eps - 1, 1)
        # u's sign picks the tail, |u| how far out: the inverse cdf of both halves at once
        return self.loc - self.scale * u.sign() * ember.log1p(-u.abs())

    def log_prob(self, value: Tensor) -> Tensor:
        distance = (self._checked(value) - self.loc).abs()
        return -ember.log(2 * self.scale) - distance / self.scale

    def cdf(self, value: Tensor) -> Tensor:
        offset = self._checked(value) - self.loc
        return 0.5 - 0.5 * offset.sign() * ember.expm1(-offset.abs() / self.scale)

    def icdf(self, value: Tensor) -> Tensor:
        centred = value - 0.5
        return self.loc - self.scale * centred.sign() * ember.log1p(-2 * centred.abs())

    def entropy(self) -> Tensor:
        return 1 + ember.log(2 * self.scale)
