"""The von Mises distribution: a normal-like law on the circle."""

import math

import ember
from ember import Tensor

from . import constraints
from ._parameters import expand_params
from .distribution import Distribution
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]

# Polynomial approximations of the modified Bessel functions I0 and I1 from Abramowitz and
# Stegun, 9.8.1-9.8.4 (relative error below 2e-7), the ones PyTorch evaluates, so that
# log_prob and variance agree with it. Coefficients are listed from the constant term up.
# Below x = 3.75, in t = (x / 3.75)^2:  I0(x) = p(t)  and  I1(x) = x p(t).
_BELOW = (
    (1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813),
    (0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411),
)
# From x = 3.75 on, in s = 3.75 / x:  I_n(x) = e^x x^(-1/2) q(s).
_ABOVE = (
    (0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281, -0.02057706, 0.02635537,
     -0.01647633, 0.00392377),
    (0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555, 0.02282967, -0.02895312,
     0.01787654, -0.00420059),
)


def _horner(coefficients, t: Tensor) -> Tensor:
    # nested multiplication from the highest power down
    acc = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        acc = c + t * acc
    return acc


def _log_bessel_i(x: Tensor, order: int = 0) -> Tensor:
    """log I_order(x) for x > 0 and order 0 or 1, from the polynomial approximations."""
    t = x / 3.75
    near = _horner(_BELOW[order], t * t)
    if order == 1:
        near = x.abs() * near
    near = near.log()
    far = x - 0.5 * x.log() + _horner(_ABOVE[order], 3.75 / x).log()
    return ember.where(x < 3.75, near, far)


class VonMises(Distribution):
    r"""Von Mises (circular normal) distribution with mean direction ``loc`` and
    concentration ``concentration`` (kappa): density ``exp(kappa cos(x - loc)) /
    (2 pi I0(kappa))``. Angles are in radians and may be any real number (they are read
    modulo ``2 pi``, which keeps ``loc`` unconstrained for optimisation); samples land in
    ``[-pi, pi)``.

    Samples come from the rejection sampler of Best and Fisher (1979), run in float64 and
    returned in the parameters' dtype; they are not reparameterised.

    Args:
        loc (float or Tensor): mean direction, radians.
        concentration (float or Tensor): kappa > 0; large kappa approaches a normal with
            variance ``1 / kappa``.

    Example:
        >>> d = VonMises(ember.tensor([0.0]), ember.tensor([1.0]))
        >>> d.mean, d.variance
        (tensor([0.]), tensor([0.5536]))
    """

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc: Tensor | float, concentration: Tensor | float,
                 validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, ember.Size(), validate_args=validate_args)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        kappa = self.concentration
        return (kappa * ember.cos(value - self.loc) - math.log(2 * math.pi)
                - _log_bessel_i(kappa, order=0))

    # the sampler works in float64 whatever the parameters' dtype
    @lazy_property
    def _loc(self) -> Tensor:
        return self.loc.to(ember.float64)

    @lazy_property
    def _concentration(self) -> Tensor:
        return self.concentration.to(ember.float64)

    @lazy_property
    def _proposal_r(self) -> Tensor:
        # Best and Fisher's wrapped-Cauchy envelope parameter r = (1 + rho^2) / (2 rho);
        # for tiny kappa it loses every digit, and its expansion 1 / kappa + kappa is used
        kappa = self._concentration
        tau = 1 + (1 + 4 * kappa**2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        exact = (1 + rho**2) / (2 * rho)
        return ember.where(kappa < 1e-5, 1 / kappa + kappa, exact)

    def sample(self, sample_shape=ember.Size()):
        """Draws angles in ``[-pi, pi)``. Each round takes three uniforms per element
        (``rand((3,) + shape)`` in float64); an element takes the angle of the latest round
        that accepted it, and rounds repeat until every element has been accepted."""
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            loc, kappa, r = self._loc, self._concentration, self._proposal_r
            angle = ember.empty(shape, dtype=ember.float64, device=self.loc.device)
            accepted = ember.zeros(shape, dtype=ember.bool, device=self.loc.device)
            while not bool(accepted.all()):
                u1, u2, u3 = ember.rand((3,) + tuple(shape), dtype=ember.float64,
                                        device=self.loc.device).unbind()
                z = ember.cos(math.pi * u1)
                f = (1 + r * z) / (r + z)
                c = kappa * (r - f)
                ok = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
                # like PyTorch, a later round overwrites any element it accepts again
                angle = ember.where(ok, (u3 - 0.5).sign() * f.acos(), angle)
                accepted = accepted | ok
            wrapped = (angle + math.pi + loc) % (2 * math.pi) - math.pi
            return wrapped.to(self.loc.dtype)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, VonMises, batch_shape, _instance, ("loc", "concentration"))

    @property
    def mean(self) -> Tensor:
        # the circular mean direction
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @lazy_property
    def variance(self) -> Tensor:  # type: ignore[override]
        # circular variance 1 - I1(kappa) / I0(kappa) (computed once per instance, as in
        # PyTorch)
        kappa = self.concentration
        ratio = (_log_bessel_i(kappa, order=1) - _log_bessel_i(kappa, order=0)).exp()
        return 1 - ratio
