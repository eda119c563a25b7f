"""The Kumaraswamy distribution on the unit interval."""

from math import nan

import ember
from ember import Tensor

from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .uniform import Uniform
from .utils import broadcast_all, euler_constant

__all__ = ["Kumaraswamy"]


def _raw_moment(a: Tensor, b: Tensor, n: int) -> Tensor:
    """E[X^n] = b B(1 + n / a, b), the beta function taken through log-gammas."""
    p = 1 + n / a
    return b * (p.lgamma() + b.lgamma() - (p + b).lgamma()).exp()


class Kumaraswamy(TransformedDistribution):
    r"""Kumaraswamy distribution on ``(0, 1)`` with density
    ``a b x^(a - 1) (1 - x^a)^(b - 1)``, a beta-like law whose CDF has a closed form.

    Samples invert that CDF: ``x = (1 - u^(1 / b))^(1 / a)`` for uniform ``u``, built as a
    :class:`TransformedDistribution` of ``Uniform(0, 1)``, so they are reparameterised.

    Args:
        concentration1 (float or Tensor): ``a``, > 0.
        concentration0 (float or Tensor): ``b``, > 0.

    Example:
        >>> d = Kumaraswamy(ember.tensor([1.0]), ember.tensor([1.0]))
        >>> d.mean, d.entropy()
        (tensor([0.5000]), tensor([0.]))
    """

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1: Tensor | float, concentration0: Tensor | float,
                 validate_args: bool | None = None) -> None:
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        a, b = self.concentration1, self.concentration0
        uniform = Uniform(ember.zeros_like(a), ember.ones_like(a), validate_args=validate_args)
        # u -> u^(1/b) -> 1 - u^(1/b) -> (1 - u^(1/b))^(1/a)
        steps = [PowerTransform(exponent=b.reciprocal()),
                 AffineTransform(loc=1.0, scale=-1.0),
                 PowerTransform(exponent=a.reciprocal())]
        super().__init__(uniform, steps, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        out = self._get_checked_instance(Kumaraswamy, _instance)
        out.concentration1 = self.concentration1.expand(batch_shape)
        out.concentration0 = self.concentration0.expand(batch_shape)
        return super().expand(batch_shape, _instance=out)

    @property
    def mean(self) -> Tensor:
        return _raw_moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self) -> Tensor:
        # PyTorch 2.13 reports NaN here for every parameter value (the textbook mode is
        # ((a - 1) / (a b - 1))^(1 / a) for a, b >= 1); ember returns what PyTorch returns
        return self.concentration1 * nan

    @property
    def variance(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        return _raw_moment(a, b, 2) - ember.pow(self.mean, 2)

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        # (1 - 1/b) + (1 - 1/a) H_b - log(a b), with the harmonic number
        # H_b = digamma(b + 1) + Euler's constant
        harmonic = ember.digamma(b + 1) + euler_constant
        return ((1 - b.reciprocal()) + (1 - a.reciprocal()) * harmonic
                - ember.log(a) - ember.log(b))
