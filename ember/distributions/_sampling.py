"""Draws the distributions need beyond ember's random functions: standard gamma samples with a
pathwise (implicit reparameterisation) gradient, Dirichlet samples built from them, binomial
counts; and the two Cholesky solves MultivariateNormal and Wishart use.

Samples come from ember's generator (``ember.manual_seed`` makes them reproducible); the numbers
differ from PyTorch's. The gradient of a gamma sample ``x`` with respect to its concentration
``a`` is the implicit one, ``dx/da = -(dP(a, x)/da) / p(x; a)`` with ``P`` the regularised
lower incomplete gamma function (its ``a``-derivative by a central difference in float64), which
is what PyTorch's ``_standard_gamma_grad`` approximates.
"""

from __future__ import annotations

import numpy as np

import ember
from ember import Tensor
from ember._random import _gen
from ember.autograd import Function


def _host(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float64)


def _from_host(arr: np.ndarray, like: Tensor) -> Tensor:
    return ember.from_numpy(np.ascontiguousarray(arr)).to(dtype=like.dtype, device=like.device)


def standard_gamma_grad(concentration: Tensor, sample: Tensor) -> Tensor:
    """``d sample / d concentration`` for standard gamma samples, elementwise (no graph)."""
    with ember.no_grad():
        a = ember.from_numpy(_host(concentration))
        x = ember.from_numpy(_host(sample)).clamp(min=np.finfo(np.float64).tiny)
        # the step follows the scale on which P(a, x) changes with a: a itself for small a,
        # sqrt(a) (the gamma's spread) for large a
        h = 1e-4 * ember.minimum(a, a.sqrt())
        dcdf = (ember.special.gammainc(a + h, x) - ember.special.gammainc(a - h, x)) / (2 * h)
        log_pdf = (a - 1) * x.log() - x - ember.lgamma(a)
        grad = -dcdf / log_pdf.exp()
        return grad.to(dtype=sample.dtype, device=sample.device)


class _StandardGamma(Function):
    @staticmethod
    def forward(ctx, concentration):
        alpha = _host(concentration)
        if not np.all(alpha > 0):
            raise ValueError("standard gamma: every concentration must be positive")
        draw = _gen(None).standard_gamma(alpha)
        sample = _from_host(draw, concentration)
        ctx.save_for_backward(concentration, sample)
        return sample

    @staticmethod
    def backward(ctx, grad_output):
        concentration, sample = ctx.saved_tensors
        return grad_output * standard_gamma_grad(concentration, sample)


def standard_gamma(concentration: Tensor) -> Tensor:
    """Samples from Gamma(concentration, 1), differentiable with respect to ``concentration``
    (PyTorch's ``torch._standard_gamma``)."""
    return _StandardGamma.apply(concentration)


def sample_dirichlet(concentration: Tensor) -> Tensor:
    """Samples from Dirichlet(concentration) over the last dimension as normalised gamma draws,
    so the pathwise gradient is the exact one through the normalisation (PyTorch's
    ``_sample_dirichlet`` keeps only each coordinate's marginal derivative)."""
    gammas = standard_gamma(concentration)
    tiny = ember.finfo(gammas.dtype).tiny
    gammas = gammas.clamp(min=tiny)
    return gammas / gammas.sum(-1, keepdim=True)


def binomial(count: Tensor, prob: Tensor) -> Tensor:
    """Binomial counts with ``count`` trials of success probability ``prob`` (both broadcast
    already), in ``prob``'s dtype (PyTorch's ``torch.binomial``)."""
    n = _host(count)
    p = _host(prob)
    draw = _gen(None).binomial(np.round(n).astype(np.int64), np.clip(p, 0.0, 1.0))
    return _from_host(draw.astype(np.float64), prob)


def cholesky_solve(rhs: Tensor, scale_tril: Tensor) -> Tensor:
    """Solves ``(L L^T) X = rhs`` for lower-triangular ``L`` (``torch.cholesky_solve``)."""
    y = ember.linalg.solve_triangular(scale_tril, rhs, upper=False)
    return ember.linalg.solve_triangular(scale_tril.mT, y, upper=True)


def cholesky_inverse(scale_tril: Tensor) -> Tensor:
    """``(L L^T)^{-1}`` for lower-triangular ``L`` (``torch.cholesky_inverse``)."""
    n = scale_tril.shape[-1]
    eye = ember.eye(n, dtype=scale_tril.dtype, device=scale_tril.device)
    return cholesky_solve(eye.expand(scale_tril.shape), scale_tril)
