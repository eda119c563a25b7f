"""Reading trailing batch dimensions of a distribution as event dimensions."""

from typing import Generic, TypeVar

import ember
from ember import Size, Tensor

from . import constraints
from .distribution import Distribution
from .utils import _size, _sum_rightmost

__all__ = ["Independent"]

D = TypeVar("D", bound=Distribution)


class Independent(Distribution, Generic[D]):
    """Treats the rightmost ``reinterpreted_batch_ndims`` batch dimensions of
    ``base_distribution`` as part of its event: the values are the same, but ``log_prob`` and
    ``entropy`` add up over those dimensions. A batch of univariate normals becomes one
    diagonal multivariate normal this way.

    Example:
        >>> base = ember.distributions.Normal(ember.zeros(4, 3), ember.ones(4, 3))
        >>> diag = Independent(base, 1)
        >>> tuple(diag.batch_shape), tuple(diag.event_shape)
        ((4,), (3,))
        >>> tuple(diag.log_prob(ember.zeros(3)).shape)
        (4,)
    """

    arg_constraints: dict[str, constraints.Constraint] = {}

    def __init__(self, base_distribution: D, reinterpreted_batch_ndims: int,
                 validate_args: bool | None = None) -> None:
        outer = tuple(base_distribution.batch_shape)
        if reinterpreted_batch_ndims > len(outer):
            raise ValueError("Expected reinterpreted_batch_ndims <= "
                             "len(base_distribution.batch_shape), actual "
                             f"{reinterpreted_batch_ndims} vs {len(outer)}")
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        split = len(outer) - reinterpreted_batch_ndims
        super().__init__(Size(outer[:split]),
                         Size(outer[split:] + tuple(base_distribution.event_shape)),
                         validate_args=validate_args)

    def expand(self, batch_shape: _size, _instance=None) -> "Independent":
        new = self._get_checked_instance(Independent, _instance)
        moved = tuple(self.event_shape)[:self.reinterpreted_batch_ndims]
        new.base_dist = self.base_dist.expand(Size(tuple(batch_shape) + moved))
        new.reinterpreted_batch_ndims = self.reinterpreted_batch_ndims
        Distribution.__init__(new, Size(batch_shape), self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    # sampling and the moments are the base's; only densities sum over the new event dims
    has_rsample = property(lambda self: self.base_dist.has_rsample,  # type: ignore[assignment]
                           doc="Whether the base distribution can reparameterise.")

    @property
    def has_enumerate_support(self) -> bool:  # type: ignore[override]
        # enumerating a product of supports is not offered, so only a plain wrapper enumerates
        return self.reinterpreted_batch_ndims == 0 and self.base_dist.has_enumerate_support

    @constraints.dependent_property
    def support(self):
        inner = self.base_dist.support
        if self.reinterpreted_batch_ndims == 0:
            return inner
        return constraints.independent(inner, self.reinterpreted_batch_ndims)

    mean = property(lambda self: self.base_dist.mean, doc="The base distribution's mean.")
    mode = property(lambda self: self.base_dist.mode, doc="The base distribution's mode.")
    variance = property(lambda self: self.base_dist.variance,
                        doc="The base distribution's variance.")

    def sample(self, sample_shape: _size = ember.Size()) -> Tensor:
        return self.base_dist.sample(sample_shape=sample_shape)

    def rsample(self, sample_shape: _size = ember.Size()) -> Tensor:
        return self.base_dist.rsample(sample_shape=sample_shape)

    def _fold(self, per_element: Tensor) -> Tensor:
        return _sum_rightmost(per_element, self.reinterpreted_batch_ndims)

    def log_prob(self, value: Tensor) -> Tensor:
        return self._fold(self.base_dist.log_prob(value))

    def entropy(self) -> Tensor:
        return self._fold(self.base_dist.entropy())

    def enumerate_support(self, expand: bool = True) -> Tensor:
        if self.reinterpreted_batch_ndims:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand=expand)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
