"""Draws the distributions need beyond ember's random functions: standard gamma samples with a
pathwise (implicit reparameterisation) gradient, Dirichlet samples built from them, binomial
counts.

Standard gamma samples replay PyTorch's CPU sampler on ember's copy of its random stream, so a
seed gives PyTorch's numbers (see ``_torch_standard_gamma``), and so do binomial counts
(``_torch_binomial``). The gradient of a gamma sample ``x`` with respect to its concentration
``a`` is the implicit one, ``dx/da = -(dP(a, x)/da) / p(x; a)`` with ``P`` the regularised
lower incomplete gamma function (its ``a``-derivative by a central difference in float64, about
1e-8 relative error), which is what PyTorch's ``_standard_gamma_grad`` approximates.
"""

from __future__ import annotations

import math

import numpy as np

import ember
from ember import Tensor
from ember._random import _gen
from ember._random_distributions import _torch_binomial
from ember.autograd import Function


def _host(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy(force=True).astype(np.float64)  # (bfloat16 too)


def _from_host(arr: np.ndarray, like: Tensor) -> Tensor:
    # (np.asarray with order="C", not np.ascontiguousarray: that makes a 0-d draw 1-d)
    return ember.from_numpy(np.asarray(arr, order="C")).to(dtype=like.dtype, device=like.device)


def _log_gamma(a: np.ndarray) -> np.ndarray:
    with ember.no_grad():
        return ember.lgamma(ember.from_numpy(a)).numpy()


def _gamma_p(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Regularised lower incomplete gamma P(a, x) for a, x > 0 in float64: the series for
    x < a + 1, Lentz's continued fraction for Q = 1 - P otherwise (Numerical Recipes' split);
    each element stops iterating when its own terms stop changing it."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    a, x = a.ravel(), x.ravel()
    out = np.empty_like(a)
    log_pre = a * np.log(x) - x - _log_gamma(a)
    series = x < a + 1
    idx = np.flatnonzero(series)
    if idx.size:
        sa, sx = a[idx], x[idx]
        term = 1 / sa
        total = term.copy()
        ap = sa.copy()
        live = np.arange(idx.size)
        for _ in range(100000):
            ap[live] += 1
            term[live] *= sx[live] / ap[live]
            total[live] += term[live]
            live = live[np.abs(term[live]) >= np.abs(total[live]) * 1e-16]
            if not live.size:
                break
        out[idx] = total * np.exp(log_pre[idx] + np.log(sa)) / sa
    idx = np.flatnonzero(~series)
    if idx.size:
        ca, cx = a[idx], x[idx]
        tiny = 1e-300
        b = cx + 1 - ca
        c = np.full_like(b, 1 / tiny)
        d = 1 / b
        h = d.copy()
        live = np.arange(idx.size)
        for i in range(1, 100000):
            an = -i * (i - ca[live])
            b[live] += 2
            dl = an * d[live] + b[live]
            dl = np.where(np.abs(dl) < tiny, tiny, dl)
            cl = b[live] + an / c[live]
            cl = np.where(np.abs(cl) < tiny, tiny, cl)
            d[live] = 1 / dl
            c[live] = cl
            delta = d[live] * cl
            h[live] *= delta
            live = live[np.abs(delta - 1) >= 4e-16]
            if not live.size:
                break
        out[idx] = 1 - np.exp(log_pre[idx]) * h
    return out


def standard_gamma_grad(concentration: Tensor, sample: Tensor) -> Tensor:
    """``d sample / d concentration`` for standard gamma samples, elementwise (no graph)."""
    a, x = np.broadcast_arrays(_host(concentration), _host(sample))
    x = np.maximum(x, np.finfo(np.float64).tiny)
    # the step follows the scale on which P(a, x) changes with a: a itself for small a,
    # sqrt(a) (the gamma's spread) for large a
    h = 1e-4 * np.minimum(a, np.sqrt(a))
    dcdf = (_gamma_p(a + h, x) - _gamma_p(a - h, x)).reshape(a.shape) / (2 * h)
    log_pdf = (a - 1) * np.log(x) - x - _log_gamma(a)
    grad = -dcdf / np.exp(log_pdf)
    return _from_host(grad, sample)


_THIRD_F32 = float(np.float32(1 / 3))  # PyTorch's sampler subtracts a float literal 1/3


def _torch_standard_gamma(stream, alpha: np.ndarray, double: bool) -> np.ndarray:
    """Gamma(alpha, 1) draws as PyTorch's CPU sampler makes them from its random stream, one
    element at a time in row-major order (bit-exact, established by comparing with PyTorch):
    Marsaglia and Tsang's squeeze with Box-Muller normals (the stream's cached pair) and
    uniforms ``1 - u`` from float64 draws; alpha < 1 first draws a uniform for the boost
    ``u ** (1 / alpha)`` and samples alpha + 1. A float32 concentration evaluates
    ``alpha - 1/3`` and ``1 / alpha`` in float32, the rest in float64. Results are clamped to
    the dtype's smallest normal number, as PyTorch does."""
    flat = alpha.reshape(-1)
    out = np.empty(flat.shape, np.float64)
    with stream.scalar_reader() as reader:
        _gamma_loop(reader, flat.tolist(), out, double)
    tiny = np.finfo(np.float64 if double else np.float32).tiny
    if not double:
        out = out.astype(np.float32).astype(np.float64)
    return np.maximum(out, tiny).reshape(alpha.shape)


def _gamma_loop(reader, alphas: list, out: np.ndarray, double: bool) -> None:
    f32 = np.float32
    normal, uniform = reader.normal, reader.double
    log, sqrt = math.log, math.sqrt
    for i, a in enumerate(alphas):
        boost = 1.0
        if a < 1.0:
            u = 1.0 - uniform()
            boost = u ** (1.0 / a if double else float(f32(1.0) / f32(a)))
            a = a + 1.0
        d = a - _THIRD_F32 if double else float(f32(a) - f32(_THIRD_F32))
        c = 1.0 / sqrt(9.0 * d)
        while True:
            while True:
                x = normal()
                v = 1.0 + c * x
                if v > 0.0:
                    break
            v = v * v * v
            u = 1.0 - uniform()
            if u < 1.0 - 0.0331 * x ** 4 or log(u) < 0.5 * x * x + d * (1.0 - v + log(v)):
                break
        out[i] = (d * boost) * v


class _StandardGamma(Function):
    @staticmethod
    def forward(ctx, concentration):
        alpha = _host(concentration)
        if not np.all(alpha > 0):
            raise ValueError("standard gamma: every concentration must be positive")
        draw = _torch_standard_gamma(_gen(None), alpha, concentration.dtype == ember.float64)
        sample = _from_host(draw, concentration)
        ctx.save_for_backward(concentration, sample)
        return sample

    @staticmethod
    def backward(ctx, grad_output):
        concentration, sample = ctx.saved_tensors
        return grad_output * _StandardGammaGrad.apply(concentration, sample)


class _StandardGammaGrad(Function):
    """``standard_gamma_grad`` as a graph node: a second derivative through it raises, as
    PyTorch's ``_standard_gamma_grad`` does, instead of silently being zero."""

    @staticmethod
    def forward(ctx, concentration, sample):
        return standard_gamma_grad(concentration, sample)

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("the derivative for '_standard_gamma_grad' is not implemented.")


def standard_gamma(concentration: Tensor) -> Tensor:
    """Samples from Gamma(concentration, 1), differentiable with respect to ``concentration``
    (PyTorch's ``torch._standard_gamma``)."""
    return _StandardGamma.apply(concentration)


def _beta_cf(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The continued fraction of the regularised incomplete beta function (modified Lentz),
    vectorised: each element stops iterating once its own factor is one to rounding. The
    elements still iterating are kept packed (and repacked only when some converge), so an
    iteration costs a few whole-array operations."""
    tiny = 1e-300

    def guard(v):
        return np.where(np.abs(v) < tiny, tiny, v)

    h = np.empty_like(a)
    if not a.size:
        return h
    c = np.ones_like(a)
    d = 1 / guard(1 - (a + b) * x / (a + 1))
    hl = d.copy()
    live = np.arange(a.size)
    for m in range(1, 100000):
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        dl = 1 / guard(1 + even * d)
        cl = guard(1 + even / c)
        hl *= dl * cl
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1 / guard(1 + odd * dl)
        c = guard(1 + odd / cl)
        hl *= d * c
        going = np.abs(d * c - 1) >= 4e-16
        if going.all():
            continue
        done = ~going
        h[live[done]] = hl[done]
        if not going.any():
            break
        live, a, b, x, c, d, hl = (v[going] for v in (live, a, b, x, c, d, hl))
    h[live] = hl  # (the last values, when some element never converged)
    return h


def _beta_i(a: np.ndarray, b: np.ndarray, x: np.ndarray, log_beta=None) -> np.ndarray:
    """Regularised incomplete beta I_x(a, b) in float64 for 0 < x < 1: the continued fraction
    directly below the mean-ish split point x < (a + 1) / (a + b + 2), else through the
    symmetry I_x(a, b) = 1 - I_{1-x}(b, a), where it converges fast (both sides in one pass
    of the fraction). ``log_beta``: lgamma(a + b) - lgamma(a) - lgamma(b), if known."""
    if log_beta is None:
        log_beta = _log_gamma(a + b) - _log_gamma(a) - _log_gamma(b)
    log_front = log_beta + a * np.log(x) + b * np.log1p(-x)
    low = x < (a + 1) / (a + b + 2)
    frac = _beta_cf(np.where(low, a, b), np.where(low, b, a), np.where(low, x, 1 - x))
    scaled = np.exp(log_front) * frac
    return np.where(low, scaled / a, 1 - scaled / b)


def dirichlet_marginal_grad(sample: Tensor, concentration: Tensor) -> Tensor:
    """Per-coordinate factor of a Dirichlet sample's gradient, elementwise (no graph).

    Coordinate ``x_i`` is Beta(alpha_i, rest_i) with ``rest_i`` the sum of the other
    concentrations; its implicit derivative with ``rest_i`` held fixed is
    ``dx_i/dalpha_i = -(dI_x(alpha_i, rest_i)/dalpha_i) / p(x_i)``, and the factor returned is
    that divided by ``1 - x_i``. A vector-Jacobian product through the sample is then
    ``factor_i * (g_i - sum_j x_j g_j)``, which is how PyTorch's Dirichlet backward weighs it
    (checked against its outputs). The ``alpha``-derivative is a float64 central difference
    (both sides in one evaluation of I_x, every lgamma in one call)."""
    x = np.clip(_host(sample), np.finfo(np.float64).tiny, 1 - np.finfo(np.float64).eps)
    alpha = _host(concentration)
    rest = np.broadcast_to(alpha.sum(-1, keepdims=True), alpha.shape) - alpha
    a, b, x = (np.ascontiguousarray(v).ravel() for v in np.broadcast_arrays(alpha, rest, x))
    b = np.maximum(b, np.finfo(np.float64).tiny)
    h = 1e-4 * np.minimum(a, np.sqrt(a))
    n = a.size
    a2 = np.concatenate([a + h, a - h])  # I_x at a + h, then at a - h
    b2, x2 = np.concatenate([b, b]), np.concatenate([x, x])
    lg = _log_gamma(np.concatenate([a2 + b2, a2, b, a + b, a])).reshape(7, n)
    log_beta = lg[0:2].ravel() - lg[2:4].ravel() - np.concatenate([lg[4], lg[4]])
    up, down = np.split(_beta_i(a2, b2, x2, log_beta), 2)
    dcdf = (up - down) / (2 * h)
    log_pdf = ((a - 1) * np.log(x) + (b - 1) * np.log1p(-x)
               + lg[5] - lg[6] - lg[4])
    factor = -dcdf / np.exp(log_pdf) / (1 - x)
    return _from_host(factor.reshape(sample.shape), sample)


class _DirichletSample(Function):
    """Dirichlet draws whose backward is PyTorch's: each coordinate keeps its own marginal
    (Beta) implicit derivative, coupled through the simplex constraint, rather than the
    pathwise derivative through the normalised gamma draws (an equally unbiased estimator,
    but different numbers)."""

    @staticmethod
    def forward(ctx, concentration):
        with ember.no_grad():
            sample = _draw_dirichlet(concentration)
        ctx.save_for_backward(concentration, sample)
        return sample

    @staticmethod
    def backward(ctx, grad_output):
        concentration, sample = ctx.saved_tensors
        # PyTorch's Dirichlet gradient is not itself differentiable: its result carries no
        # graph, so a second derivative raises instead of being silently wrong
        with ember.no_grad():
            factor = dirichlet_marginal_grad(sample, concentration)
            centred = grad_output - (sample * grad_output).sum(-1, keepdim=True)
            return factor * centred


def _draw_dirichlet(concentration: Tensor) -> Tensor:
    dtype = concentration.dtype
    gammas = standard_gamma(concentration.to(ember.float64))
    gammas = gammas.clamp(min=ember.finfo(ember.float64).tiny)
    ratio = (gammas / gammas.sum(-1, keepdim=True)).to(dtype)
    info = ember.finfo(dtype)
    return ratio.clamp(min=info.tiny, max=1.0 - info.eps / 2)


def sample_dirichlet(concentration: Tensor) -> Tensor:
    """Samples from Dirichlet(concentration) over the last dimension, differentiable with
    respect to ``concentration`` the way PyTorch's are (see ``_DirichletSample``).

    Bit-exact with PyTorch (established by comparing outputs): whatever the dtype, the gamma
    draws, their sum and the division are done in float64 (the float64 gamma sampler, so a
    float32 concentration consumes the stream as a float64 one), then the ratio is rounded to
    the dtype and clamped to ``[tiny, 1 - eps/2]`` (the largest number below one)."""
    return _DirichletSample.apply(concentration)


def binomial(count: Tensor, prob: Tensor) -> Tensor:
    """Binomial counts with ``count`` trials of success probability ``prob`` (both broadcast
    already), in ``prob``'s dtype (PyTorch's ``torch.binomial``)."""
    n = _host(count)
    p = _host(prob)
    draw = _torch_binomial(_gen(None), np.round(n), np.clip(p, 0.0, 1.0),
                           single=prob.dtype is ember.float32)
    return _from_host(draw, prob)
