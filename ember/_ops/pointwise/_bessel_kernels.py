"""NumPy kernels for modified Bessel functions (i0, i1 and their exponentially scaled forms) and
the normal-distribution family (erfcx, ndtri, log_ndtr). float64 in and out; callers cast.

* I0/I1 for |x| <= 20: the power series (positive terms, ~5e-15 relative); beyond, Hankel's
  asymptotic series ``e^x / sqrt(2 pi x) sum (-1)^k a_k(nu) / x^k`` (30 terms reach 1e-17).
* erfcx reuses ``_erf``'s fits of erfc(x) exp(x^2); ndtri solves erfc(z) = 2q by Newton steps
  on log erfc (quadratic convergence, full relative accuracy down to q = 1e-308).
"""

from __future__ import annotations

import math

import numpy as np

from ..._backend import as_array
from . import _erf

_SQRT2 = math.sqrt(2.0)
_SQRT_PI = math.sqrt(math.pi)
_LOG_2PI_HALF = 0.5 * math.log(2 * math.pi)
_SERIES_MAX = 20.0


def _errstate():
    return np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore")


def _hankel_coef(nu: int, terms: int = 30) -> np.ndarray:
    mu = 4 * nu * nu
    coef = [1.0]
    for k in range(1, terms):
        coef.append(coef[-1] * -(mu - (2 * k - 1) ** 2) / (k * 8))
    return np.array(coef)  # the signed coefficients of 1 / x^k


_HANKEL = {0: _hankel_coef(0), 1: _hankel_coef(1)}


def bessel_i(nu: int, x: np.ndarray, scaled: bool) -> np.ndarray:
    """I_nu(x) for nu in (0, 1); ``scaled``: exp(-|x|) I_nu(x)."""
    x = as_array(x, np.float64)
    a = np.abs(x)
    out = np.empty_like(a)
    with _errstate():
        small = a <= _SERIES_MAX
        if small.any():
            s = a[small]
            y = s * s / 4
            term = np.ones_like(s) if nu == 0 else s / 2
            total = term.copy()
            for k in range(1, 80):
                term = term * y / (k * (k + nu))
                total += term
                if np.all(term <= total * 1e-17):
                    break
            out[small] = total * np.exp(-s) if scaled else total
        large = ~small
        if large.any():
            s = a[large]
            series = np.polynomial.polynomial.polyval(1 / s, _HANKEL[nu])
            log_front = -0.5 * np.log(s) - _LOG_2PI_HALF
            if scaled:
                out[large] = series * np.exp(log_front)
            else:  # e^(s/2) twice: e^(s + log_front) would lose ~s ulps to the rounded sum
                half = np.exp(s / 2)
                out[large] = series * np.exp(log_front) * half * half
    if nu == 1:  # odd; negated where x < 0 (cephes', torch's), so i1(-0.0) is +0.0
        out = np.where(x < 0, -out, out)
    return np.where(np.isnan(x), np.nan, out)


def erfcx(x: np.ndarray) -> np.ndarray:
    """exp(x^2) erfc(x) without overflow for large positive x."""
    x = as_array(x, np.float64)
    out = np.empty_like(x)
    with _errstate():
        low = ~(x >= 1.0)  # NaN goes here and stays NaN
        v = x[low]
        out[low] = np.exp(v * v) * _erf.erfc(v)
        for lo, hi, fit in ((1.0, 2.5, _erf._MID), (2.5, 6.0, _erf._MID2)):
            part = (x >= lo) & (x < hi)
            out[part] = _erf._eval(fit, x[part])
        far = x >= 6.0
        v = x[far]
        out[far] = _erf._eval(_erf._LARGE, 1 / (v * v)) / v
    return out


def log_ndtr(x: np.ndarray) -> np.ndarray:
    """log of the standard normal CDF, accurate in both tails."""
    x = as_array(x, np.float64)
    with _errstate():
        left = x < -1.0
        t = -x / _SQRT2
        lo = np.log(erfcx(np.where(left, t, 0.0)) / 2) - t * t
        hi = np.log1p(-0.5 * _erf.erfc(np.where(left, 0.0, x / _SQRT2)))
        return np.where(left, lo, hi)


def _erfcinv(y: np.ndarray) -> np.ndarray:
    """z >= 0 with erfc(z) = y for y in (0, 1]."""
    with _errstate():
        t = -np.log(y)
        guess_tail = np.sqrt(np.maximum(t - 0.5 * np.log(np.pi * np.maximum(t, 1.0)), 0.0))
        z = np.where(y > 1e-10, _erf.erfinv(1 - y), guess_tail)
        log_y = np.log(y)
        for _ in range(8):  # Newton on log erfc(z) = log(erfcx(z)) - z^2
            ex = erfcx(z)
            f = np.log(ex) - z * z - log_y
            z = z + f * (_SQRT_PI / 2) * ex
    return z


def ndtri(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile (inverse CDF); -inf at 0, inf at 1, NaN outside."""
    p = as_array(p, np.float64)
    with _errstate():
        upper = p >= 0.5
        q = np.where(upper, 1 - p, p)  # exact for p >= 0.5
        inside = (q > 0) & (p < 1)
        z = _erfcinv(np.where(inside, 2 * q, 1.0)) * _SQRT2
        out = np.where(upper, z, -z)
        out = np.where(p == 0, -np.inf, np.where(p == 1, np.inf, out))
        out = np.where((p < 0) | (p > 1) | np.isnan(p), np.nan, out)
    return out
