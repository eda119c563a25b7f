"""Distributions of ``f(X)`` for a base distribution ``X`` and invertible transforms ``f``."""

import ember
from ember import Tensor

from . import constraints
from .distribution import Distribution
from .independent import Independent
from .transforms import ComposeTransform, Transform
from .utils import _size, _sum_rightmost

__all__ = ["TransformedDistribution"]


class TransformedDistribution(Distribution):
    """The distribution of ``transforms[-1](... transforms[0](x))`` with ``x`` drawn from
    ``base_distribution``.

    ``log_prob`` follows the change-of-variables rule: map the value back through the inverse
    transforms and subtract each transform's ``log_abs_det_jacobian`` from the base's
    ``log_prob``. Transforms that act on vectors (an event dimension of one or more) turn base
    batch dimensions into event dimensions, so the base is wrapped in :class:`Independent`
    where needed; shapes after the transforms come from their ``forward_shape``.

    Example:
        >>> from ember.distributions.transforms import ExpTransform
        >>> base = ember.distributions.Normal(ember.zeros(3), ember.ones(3))
        >>> log_normal = TransformedDistribution(base, [ExpTransform()])
        >>> tuple(log_normal.batch_shape), log_normal.support
        ((3,), GreaterThan(lower_bound=0.0))
        >>> print(round(log_normal.log_prob(ember.ones(3))[0].item(), 4))
        -0.9189
    """

    arg_constraints: dict[str, constraints.Constraint] = {}

    def __init__(self, base_distribution: Distribution, transforms: Transform | list,
                 validate_args: bool | None = None) -> None:
        if isinstance(transforms, Transform):
            transforms = [transforms]
        elif not isinstance(transforms, list):
            raise ValueError(f"transforms must be a Transform or list, but was {transforms}")
        elif not all(isinstance(t, Transform) for t in transforms):
            raise ValueError("transforms must be a Transform or a list of Transforms")
        self.transforms = transforms

        chain = ComposeTransform(self.transforms)
        in_shape = ember.Size(tuple(base_distribution.batch_shape)
                              + tuple(base_distribution.event_shape))
        base_event = len(base_distribution.event_shape)
        if len(in_shape) < chain.domain.event_dim:
            raise ValueError(f"base_distribution needs to have shape with size at least "
                             f"{chain.domain.event_dim}, but got {in_shape}.")
        out_shape = chain.forward_shape(in_shape)
        # transform parameters may broadcast the batch: the base must then draw the full batch
        needed = chain.inverse_shape(out_shape)
        if tuple(needed) != tuple(in_shape):
            keep = len(needed) - base_event
            base_distribution = base_distribution.expand(ember.Size(tuple(needed)[:keep]))
        # dimensions the first transform reads as one event must be one event of the base
        if chain.domain.event_dim > base_event:
            base_distribution = Independent(base_distribution,
                                            chain.domain.event_dim - base_event)
        self.base_dist = base_distribution

        event_dims = chain.codomain.event_dim + max(base_event - chain.domain.event_dim, 0)
        cut = len(out_shape) - event_dims
        super().__init__(ember.Size(tuple(out_shape)[:cut]), ember.Size(tuple(out_shape)[cut:]),
                         validate_args=validate_args)

    def expand(self, batch_shape: _size, _instance=None) -> "TransformedDistribution":
        new = self._get_checked_instance(TransformedDistribution, _instance)
        # pull the wanted output shape back through the transforms to the base's batch shape
        shape = ember.Size(tuple(batch_shape) + tuple(self.event_shape))
        for t in self.transforms[::-1]:
            shape = t.inverse_shape(shape)
        base_batch = tuple(shape)[:len(shape) - len(self.base_dist.event_shape)]
        new.base_dist = self.base_dist.expand(ember.Size(base_batch))
        new.transforms = self.transforms
        Distribution.__init__(new, ember.Size(batch_shape), self.event_shape,
                              validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=False)
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        last = self.transforms[-1].codomain
        extra = len(self.event_shape) - last.event_dim
        return constraints.independent(last, extra) if extra > 0 else last

    has_rsample = property(lambda self: self.base_dist.has_rsample,  # type: ignore[assignment]
                           doc="Whether the base distribution can reparameterise.")

    def _push(self, x: Tensor) -> Tensor:
        for t in self.transforms:
            x = t(x)
        return x

    def sample(self, sample_shape: _size = ember.Size()) -> Tensor:
        with ember.no_grad():
            return self._push(self.base_dist.sample(sample_shape))

    def rsample(self, sample_shape: _size = ember.Size()) -> Tensor:
        return self._push(self.base_dist.rsample(sample_shape))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        # walk back from the value to the base, tracking how many trailing dimensions form
        # one event at each stage, so every Jacobian term is summed to one value per event
        dims = len(self.event_shape)
        correction = 0.0
        y = value
        for t in self.transforms[::-1]:
            x = t.inv(y)
            dims += t.domain.event_dim - t.codomain.event_dim
            correction = correction - _sum_rightmost(t.log_abs_det_jacobian(x, y),
                                                     dims - t.domain.event_dim)
            y = x
        base_term = _sum_rightmost(self.base_dist.log_prob(y),
                                   dims - len(self.base_dist.event_shape))
        return correction + base_term

    def _orient(self, prob: Tensor) -> Tensor:
        """A cdf of the base is one of the result when the chain increases, and its mirror
        ``1 - p`` when it decreases (``sign`` raises for transforms that are neither)."""
        direction = 1
        for t in self.transforms:
            direction = direction * t.sign
        if isinstance(direction, int) and direction == 1:
            return prob
        return direction * (prob - 0.5) + 0.5

    def cdf(self, value: Tensor) -> Tensor:
        for t in self.transforms[::-1]:
            value = t.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        return self._orient(self.base_dist.cdf(value))

    def icdf(self, value: Tensor) -> Tensor:
        return self._push(self.base_dist.icdf(self._orient(value)))
