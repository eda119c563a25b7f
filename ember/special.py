"""``ember.special``: PyTorch's ``torch.special`` namespace (gamma, Bessel and Airy functions,
orthogonal polynomials, the normal distribution's CDF family, entropy and friends).

Example:
    >>> ember.special.gammaln(ember.tensor([0.5, 4.0]))
    tensor([0.5724, 1.7918])
"""

from __future__ import annotations

from ._ops.pointwise.abs_round_clamp import logit, round
from ._ops.pointwise.bessel import (
    airy_ai,
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    modified_bessel_i0,
    modified_bessel_i1,
    modified_bessel_k0,
    modified_bessel_k1,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
    spherical_bessel_j0,
)
from ._ops.pointwise.binary_math import xlogy
from ._ops.pointwise.orthogonal_polynomials import (
    chebyshev_polynomial_t,
    chebyshev_polynomial_u,
    chebyshev_polynomial_v,
    chebyshev_polynomial_w,
    hermite_polynomial_h,
    hermite_polynomial_he,
    laguerre_polynomial_l,
    legendre_polynomial_p,
    shifted_chebyshev_polynomial_t,
    shifted_chebyshev_polynomial_u,
    shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w,
)
from ._ops.pointwise.special import (
    digamma,
    entr,
    erfcx,
    i0,
    i0e,
    i1,
    i1e,
    igamma,
    igammac,
    lgamma,
    log_ndtr,
    mvlgamma,
    ndtr,
    ndtri,
    polygamma,
    sinc,
    xlog1py,
    zeta,
)
from ._ops.pointwise.unary import erf, erfc, erfinv, exp2, expm1, log1p, sigmoid
from ._ops.reduction.statistics import logsumexp
from ._tensor import Tensor

__all__ = ["digamma", "psi", "polygamma", "gammaln", "multigammaln", "gammainc", "gammaincc",
           "expit", "logit", "erf", "erfc", "erfinv", "erfcx", "xlogy", "xlog1py", "entr",
           "sinc", "log_softmax", "softmax", "logsumexp", "log1p", "expm1", "exp2", "round",
           "i0", "i0e", "i1", "i1e", "modified_bessel_i0", "modified_bessel_i1", "ndtr",
           "ndtri", "log_ndtr", "zeta", "spherical_bessel_j0", "airy_ai", "bessel_j0",
           "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_k0", "modified_bessel_k1",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "chebyshev_polynomial_t",
           "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
           "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w",
           "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
           "legendre_polynomial_p"]

psi = digamma
gammaln = lgamma


def multigammaln(input: Tensor, p: int, *, out: Tensor | None = None) -> Tensor:
    """The log of the multivariate gamma function (alias of :func:`ember.mvlgamma`).

    Example:
        >>> ember.special.multigammaln(ember.tensor([2.5]), 2)
        tensor([0.8570])
    """
    return mvlgamma(input, p, out=out)


def gammainc(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The regularized lower incomplete gamma function (alias of :func:`ember.igamma`).

    Example:
        >>> ember.special.gammainc(ember.tensor([1.0]), ember.tensor([1.0]))
        tensor([0.6321])
    """
    return igamma(input, other, out=out)


def gammaincc(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The regularized upper incomplete gamma function (alias of :func:`ember.igammac`).

    Example:
        >>> ember.special.gammaincc(ember.tensor([1.0]), ember.tensor([1.0]))
        tensor([0.3679])
    """
    return igammac(input, other, out=out)


def expit(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The logistic sigmoid ``1 / (1 + exp(-input))`` (alias of :func:`ember.sigmoid`).

    Example:
        >>> ember.special.expit(ember.tensor([0.0]))
        tensor([0.5000])
    """
    return sigmoid(input, out=out)


def softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Softmax over ``dim`` (as :func:`ember.nn.functional.softmax`).

    Example:
        >>> ember.special.softmax(ember.tensor([1.0, 2.0]), 0)
        tensor([0.2689, 0.7311])
    """
    from ._ops.nn import linear_softmax

    if dim is None:  # torch's special_softmax takes no implicit dim
        raise TypeError("special_softmax(): argument 'dim' must be int, not NoneType")
    return linear_softmax.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Log-softmax over ``dim`` (as :func:`ember.nn.functional.log_softmax`).

    Example:
        >>> ember.special.log_softmax(ember.tensor([1.0, 2.0]), 0)
        tensor([-1.3133, -0.3133])
    """
    from ._ops.nn import linear_softmax

    if dim is None:  # torch's special_log_softmax takes no implicit dim
        raise TypeError("special_log_softmax(): argument 'dim' must be int, not NoneType")
    return linear_softmax.log_softmax(input, dim, dtype)
