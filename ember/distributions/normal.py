"""The normal (Gaussian) distribution."""

import math

import ember
from ember import Tensor

from . import constraints
from ._parameters import expand_params
from .exp_family import ExponentialFamily
from .utils import _size, _standard_normal

__all__ = ["Normal"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class Normal(ExponentialFamily):
    """Gaussian with mean ``loc`` and standard deviation ``scale`` (broadcast together into
    the batch shape). Density ``exp(-(x - loc)^2 / (2 scale^2)) / (scale sqrt(2 pi))``;
    ``rsample`` is ``loc + scale * eps`` with ``eps`` standard normal.

    Example:
        >>> d = Normal(ember.tensor([0.0, 1.0]), ember.tensor([1.0, 2.0]))
        >>> print([round(v, 4) for v in d.log_prob(ember.tensor([0.0, 0.0])).tolist()])
        [-0.9189, -1.7371]
        >>> print(round(d.cdf(ember.tensor([0.0, 1.0]))[1].item(), 4))
        0.5
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, loc: Tensor | float, scale: Tensor | float,
                 validate_args: bool | None = None) -> None:
        super().__init__(self._broadcast_params(loc=loc, scale=scale), validate_args=validate_args)

    def expand(self, batch_shape: _size, _instance=None) -> "Normal":
        return expand_params(self, Normal, batch_shape, _instance, ("loc", "scale"))

    mean = property(lambda self: self.loc, doc="``loc``.")
    mode = property(lambda self: self.loc, doc="``loc``: the density peaks at the mean.")
    stddev = property(lambda self: self.scale, doc="``scale``.")
    variance = property(lambda self: self.scale.pow(2), doc="``scale ** 2``.")

    def sample(self, sample_shape: _size = ember.Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            return ember.normal(self.loc.expand(shape), self.scale.expand(shape))

    def rsample(self, sample_shape: _size = ember.Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        noise = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + noise * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        z2 = (self._checked(value) - self.loc) ** 2
        return -z2 / (2 * self.scale**2) - self.scale.log() - _HALF_LOG_2PI

    def cdf(self, value: Tensor) -> Tensor:
        z = (self._checked(value) - self.loc) * self.scale.reciprocal() / math.sqrt(2)
        return 0.5 * (1 + ember.erf(z))

    def icdf(self, value: Tensor) -> Tensor:
        return self.loc + self.scale * ember.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self) -> Tensor:
        return 0.5 + _HALF_LOG_2PI + ember.log(self.scale)

    # natural parameters (loc / scale^2, -1 / (2 scale^2)) and their log normaliser, used by
    # ExponentialFamily's generic entropy and Bregman-divergence KL
    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        return self.loc / self.scale.pow(2), -0.5 * self.scale.pow(2).reciprocal()

    def _log_normalizer(self, eta1, eta2):
        return -0.25 * eta1.pow(2) / eta2 + 0.5 * ember.log(-math.pi / eta2)
