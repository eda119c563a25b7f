"""The exponential distribution."""

import ember
from ember import Tensor

from . import constraints
from ._parameters import expand_params
from .exp_family import ExponentialFamily
from .utils import _host_fill, _Number, _size, broadcast_all

__all__ = ["Exponential"]


class Exponential(ExponentialFamily):
    """Waiting time of a memoryless process with the given ``rate``: density
    ``rate * exp(-rate * x)`` on ``x >= 0``, mean ``1 / rate``. ``rsample`` divides
    unit-rate exponential draws by the rate.

    Example:
        >>> d = Exponential(ember.tensor([0.5, 2.0]))
        >>> print(d.mean.tolist(), d.variance.tolist())
        [2.0, 0.5] [4.0, 0.25]
        >>> print([round(p, 4) for p in d.cdf(ember.tensor([1.0, 1.0])).tolist()])
        [0.3935, 0.8647]
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, rate: Tensor | float, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        batch = ember.Size() if isinstance(rate, _Number) else self.rate.size()
        super().__init__(batch, validate_args=validate_args)

    def expand(self, batch_shape: _size, _instance=None) -> "Exponential":
        return expand_params(self, Exponential, batch_shape, _instance, ("rate",))

    mean = property(lambda self: self.rate.reciprocal(), doc="``1 / rate``.")
    mode = property(lambda self: ember.zeros_like(self.rate), doc="0: the density decreases.")
    stddev = property(lambda self: self.rate.reciprocal(), doc="``1 / rate``.")
    variance = property(lambda self: self.rate.pow(-2), doc="``1 / rate^2``.")

    def rsample(self, sample_shape: _size = ember.Size()) -> Tensor:
        unit = _host_fill(self._extended_shape(sample_shape), self.rate.dtype,
                          self.rate.device, "exponential_")
        return unit / self.rate

    def log_prob(self, value: Tensor) -> Tensor:
        return self.rate.log() - self.rate * self._checked(value)

    def cdf(self, value: Tensor) -> Tensor:
        return 1 - ember.exp(-self.rate * self._checked(value))

    def icdf(self, value: Tensor) -> Tensor:
        return -ember.log1p(-value) / self.rate

    def entropy(self) -> Tensor:
        return 1.0 - ember.log(self.rate)

    # natural parameter -rate with log normaliser -log(-eta), for ExponentialFamily
    @property
    def _natural_params(self) -> tuple[Tensor]:
        return (-self.rate,)

    def _log_normalizer(self, eta):
        return -ember.log(-eta)
