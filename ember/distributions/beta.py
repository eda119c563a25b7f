"""The beta distribution on the unit interval.

Beta is held as a two-category Dirichlet so that both share one sampler: a draw takes two
gamma variables from PyTorch's random stream in the same order as PyTorch does, which keeps
seeded programs bit-identical between the two libraries. The exponential-family hooks give
KL divergences and entropy their generic fallbacks.
"""

import ember
from ember import Tensor

from . import constraints
from ._parameters import expand_params
from .dirichlet import Dirichlet
from .exp_family import ExponentialFamily
from .utils import _Number, _size, broadcast_all

__all__ = ["Beta"]


class Beta(ExponentialFamily):
    r"""Beta distribution on ``[0, 1]`` with density proportional to
    ``x^(concentration1 - 1) (1 - x)^(concentration0 - 1)``.

    It is the first coordinate of a two-category :class:`Dirichlet` with concentrations
    ``(concentration1, concentration0)``; sampling, ``log_prob``, ``entropy`` and the mode go
    through that Dirichlet, so samples are reparameterised.

    Gradients of ``rsample`` with respect to both concentrations are PyTorch's: the sample's
    implicit derivative through the Beta CDF (see ``ember.distributions._sampling``). Values
    agree with PyTorch's bit for bit in float32 and float64.

    Args:
        concentration1 (float or Tensor): alpha, the weight of ``x``, > 0.
        concentration0 (float or Tensor): beta, the weight of ``1 - x``, > 0.

    Example:
        >>> d = Beta(ember.tensor([2.0]), ember.tensor([2.0]))
        >>> d.mean, d.variance
        (tensor([0.5000]), tensor([0.0500]))
        >>> d.log_prob(ember.tensor([0.5]))  # density 6 x (1 - x) = 1.5 there
        tensor([0.4055])
    """

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1: Tensor | float, concentration0: Tensor | float,
                 validate_args: bool | None = None) -> None:
        # the two concentrations become the last dimension of the Dirichlet's parameter;
        # plain numbers give a float tensor in the default dtype and an empty batch shape
        if isinstance(concentration1, _Number) and isinstance(concentration0, _Number):
            pair = ember.tensor([float(concentration1), float(concentration0)])
        else:
            pair = ember.stack(broadcast_all(concentration1, concentration0), -1)
        self._dirichlet = Dirichlet(pair, validate_args=validate_args)
        super().__init__(self._dirichlet._batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        """A Beta over the expanded Dirichlet; the parameters are views, not copies."""
        return expand_params(self, Beta, batch_shape, _instance, ("_dirichlet",))

    @property
    def mean(self) -> Tensor:
        """alpha / (alpha + beta)."""
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Tensor:
        """(alpha - 1) / (alpha + beta - 2) for alpha, beta > 1; at the boundary otherwise,
        as the Dirichlet's mode reports it."""
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self) -> Tensor:
        """alpha beta / ((alpha + beta)^2 (alpha + beta + 1))."""
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape: _size = ()) -> Tensor:
        """The first coordinate of a two-category Dirichlet draw (normalised gammas)."""
        return self._dirichlet.rsample(sample_shape).select(-1, 0)

    def log_prob(self, value):
        """Log density at ``value`` in [0, 1]: the Dirichlet's at the point ``(x, 1 - x)`` of
        the two-category simplex, which is the same number."""
        if self._validate_args:
            self._validate_sample(value)
        return self._dirichlet.log_prob(ember.stack([value, 1.0 - value], -1))

    def entropy(self):
        """The entropy of the underlying two-category Dirichlet, in nats."""
        return self._dirichlet.entropy()

    # the parameters live in the Dirichlet; these views are what arg_constraints,
    # validation and repr read
    @property
    def concentration1(self) -> Tensor:
        """alpha, stored as the Dirichlet's first concentration."""
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self) -> Tensor:
        """beta, stored as the Dirichlet's second concentration."""
        return self._dirichlet.concentration[..., 1]

    # exponential-family form, used by the generic Bregman-divergence KL and entropy:
    # sufficient statistics (log x, log(1 - x)) with natural parameters (alpha, beta)
    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        return self.concentration1, self.concentration0

    def _log_normalizer(self, x, y):
        """log B(x, y), the log of the beta function."""
        return ember.lgamma(x) + ember.lgamma(y) - ember.lgamma(x + y)
