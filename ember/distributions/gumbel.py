"""The Gumbel (type I extreme value) distribution."""

import math

import ember
from ember import Tensor

from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform
from .uniform import Uniform
from .utils import broadcast_all, euler_constant

__all__ = ["Gumbel"]


class Gumbel(TransformedDistribution):
    """Distribution of the maximum of many light-tailed draws: cdf
    ``exp(-exp(-(x - loc) / scale))``. Samples are ``loc - scale * log(-log(u))`` for a
    uniform ``u`` strictly inside ``(0, 1)`` (from the dtype's smallest normal number to
    ``1 - eps``), written as four transforms of that uniform.

    Example:
        >>> d = Gumbel(ember.tensor([0.0]), ember.tensor([1.0]))
        >>> print(round(d.mean.item(), 4), round(d.stddev.item(), 4))
        0.5772 1.2825
        >>> print(round(d.log_prob(ember.tensor([0.0])).item(), 4))
        -1.0
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc: Tensor | float, scale: Tensor | float,
                 validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        info = ember.finfo(self.loc.dtype)
        uniform = Uniform(ember.full_like(self.loc, info.tiny),
                          ember.full_like(self.loc, 1 - info.eps), validate_args=validate_args)
        log = ExpTransform().inv
        # u -> log u -> -log u -> log(-log u) -> loc - scale * log(-log u)
        steps = [log, AffineTransform(loc=0, scale=-ember.ones_like(self.scale)), log,
                 AffineTransform(loc=self.loc, scale=-self.scale)]
        super().__init__(uniform, steps, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "Gumbel":
        new = self._get_checked_instance(Gumbel, _instance)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    def log_prob(self, value: Tensor) -> Tensor:
        # closed form: more accurate than undoing the four transforms
        z = (self.loc - self._checked(value)) / self.scale
        return (z - z.exp()) - self.scale.log()

    mean = property(lambda self: self.loc + self.scale * euler_constant,
                    doc="``loc + scale * euler_constant``.")
    mode = property(lambda self: self.loc, doc="``loc``.")
    stddev = property(lambda self: (math.pi / math.sqrt(6)) * self.scale,
                      doc="``scale * pi / sqrt(6)``.")
    variance = property(lambda self: self.stddev.pow(2), doc="``(scale * pi)^2 / 6``.")

    def entropy(self) -> Tensor:
        return self.scale.log() + (1 + euler_constant)
