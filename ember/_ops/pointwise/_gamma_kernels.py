"""NumPy kernels for the gamma family: lgamma, digamma, polygamma, Hurwitz zeta, the regularized
incomplete gamma functions. Arrays in and out are float64 (callers cast); SciPy is not used.

* Hurwitz zeta ``zeta(s, q)`` (q > 0): direct sum until ``q + k >= 10``, then Euler-Maclaurin
  with 12 Bernoulli terms (cephes' scheme, ~1e-16 relative for s > 1).
* ``polygamma(n, x) = (-1)**(n+1) n! zeta(n + 1, x)`` for x > 0; for x < 0 the reflection
  ``psi_n(x) = (-1)**n psi_n(1 - x) - pi**(n+1) P_n(cot(pi x))`` where ``P_n`` are the
  polynomials of the derivatives of cot (``P_0 = c``, ``P_{n+1} = -(1 + c**2) P_n'``), so
  large negative arguments cost no more than positive ones.
* ``lgamma``: Stirling's series for x >= 12; downward recurrence onto [1.5, 2.5]; there and on
  [0.5, 1.5] the Taylor series about 1 and 2 written with ``zeta(k) - 1`` (fast convergence,
  full relative accuracy at the roots x = 1 and x = 2); reflection for x < 0.
* ``digamma``: upward recurrence to x >= 10 and the asymptotic series; reflection for x < 0.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numpy.polynomial import polynomial as P

from ..._backend import as_array, asarray_like

_EULER = 0.57721566490153286061
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# B_2j for j = 1..12
_BERNOULLI = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
              43867 / 798, -174611 / 330, 854513 / 138, -236364091 / 2730]
_ZETA_SHIFT = 10.0


def _errstate():
    return np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore")


def _min_or(a, default: float) -> float:
    """``np.nanmin(a, initial=default)`` without ``initial=`` (CuPy's reductions lack it)."""
    return min(float(np.min(np.where(np.isnan(a), default, a))), default) if a.size else default


def hurwitz(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``sum_k (q + k)**-s`` for s > 1 and q > 0 (other points are the caller's business)."""
    like = s if hasattr(s, "dtype") else q  # numbers go next to the array (on its device)
    s, q = np.broadcast_arrays(asarray_like(s, like, np.float64),
                               asarray_like(q, like, np.float64))
    total = np.zeros_like(s, dtype=np.float64)
    a = q.copy()
    with _errstate():
        shifts = max(math.ceil(_ZETA_SHIFT - _min_or(a, _ZETA_SHIFT)), 0)
        for _ in range(shifts):
            near = a < _ZETA_SHIFT
            total += np.where(near, a ** -s, 0.0)
            a = np.where(near, a + 1, a)
        total += a ** (1 - s) / (s - 1) + 0.5 * a ** -s
        coef = s / 2  # (s)_{2j-1} / (2j)!
        power = a ** (-s - 1)
        inv_a2 = 1 / (a * a)
        for j, b in enumerate(_BERNOULLI, start=1):
            total += b * coef * power
            coef = coef * (s + 2 * j - 1) * (s + 2 * j) / ((2 * j + 1) * (2 * j + 2))
            power = power * inv_a2
    return total


def _pi_frac(x):
    """``(r, parity)`` with ``x = n + r``, ``|r| <= 1/2`` exact, so sin(pi x) keeps its digits
    for large x (``sin(pi x) = (-1)**n sin(pi r)``)."""
    n = np.round(x)
    return x - n, n


@cache
def _cot_poly(n: int) -> np.ndarray:
    poly = np.array([0.0, 1.0])  # P_0(c) = c
    for _ in range(n):
        poly = -P.polymul([1.0, 0.0, 1.0], P.polyder(poly))
    return poly


def polygamma(n: int, x: np.ndarray) -> np.ndarray:
    """The n-th derivative of digamma (n >= 1)."""
    x = as_array(x, np.float64)
    if n == 0:
        return digamma(x)
    sign = 1.0 if n % 2 else -1.0
    scale = sign * math.factorial(n)
    with _errstate():
        pos = x > 0
        out = scale * hurwitz(n + 1, np.where(pos, x, 1 - x))  # psi_n(x) or psi_n(1 - x)
        neg = ~pos
        if neg.any():
            r, _ = _pi_frac(x)
            c = np.cos(np.pi * r) / np.sin(np.pi * r)
            refl = (-1) ** n * out - np.pi ** (n + 1) * P.polyval(c, _cot_poly(n))
            out = np.where(neg, refl, out)
            out = np.where(neg & (r == 0), sign * np.inf, out)  # poles at 0, -1, -2 ...
        out = np.where(x == np.inf, 0.0, out)
        out = np.where(x == -np.inf, np.nan, out)
    return out


def digamma(x: np.ndarray) -> np.ndarray:
    x = as_array(x, np.float64)
    with _errstate():
        neg = x < 0
        z = np.where(neg, 1 - x, x)
        acc = np.zeros_like(z, dtype=np.float64)
        shifts = max(math.ceil(10 - _min_or(z, 10.0)), 0)
        for _ in range(shifts):
            low = z < 10
            acc -= np.where(low, 1 / z, 0.0)
            z = np.where(low, z + 1, z)
        inv2 = 1 / (z * z)
        series = 0.0
        for k in range(8, 0, -1):  # sum B_2k / (2k z^2k), Horner in 1/z^2
            series = (series + _BERNOULLI[k - 1] / (2 * k)) * inv2
        out = acc + np.log(z) - 0.5 / z - series
        if neg.any():
            r, _ = _pi_frac(x)
            refl = out - np.pi * np.cos(np.pi * r) / np.sin(np.pi * r)
            out = np.where(neg, np.where(r == 0, np.nan, refl), out)
        out = np.where(x == 0, np.copysign(np.inf, -x), out)  # torch: -inf at +0, inf at -0
        out = np.where(x == np.inf, np.inf, out)
    return out



# torch's float32 digamma runs in float32 arithmetic (its own kernel, not a rounded float64
# value): the same recurrence, its 7-term asymptotic polynomial and its value at 10
_DIGAMMA_F32_POLY = np.array([8.33333333333333333333E-2, -2.10927960927960927961E-2,
                              7.57575757575757575758E-3, -4.16666666666666666667E-3,
                              3.96825396825396825397E-3, -8.33333333333333333333E-3,
                              8.33333333333333333333E-2], np.float32)
_PSI_10_F32 = np.float32(2.25175258906672110764)


def digamma_float32(x: np.ndarray) -> np.ndarray:
    """digamma of a float32 array as torch's float kernel computes it (float32 steps; its
    polynomial's multiply-adds fused, the log correctly rounded)."""
    one = np.float32(1)
    x = np.asarray(x, np.float32)
    with _errstate():
        neg = x < 0
        z = np.where(neg, one - x, np.where(x == 0, one, x))  # NaN stays NaN
        acc = np.zeros_like(z)
        while True:  # push z to 10 or beyond, 1/z at a time
            low = z < 10
            if not low.any():
                break
            acc = np.where(low, acc - one / z, acc)
            z = np.where(low, z + one, z)
        inv2 = one / (z * z)
        poly = np.full_like(z, _DIGAMMA_F32_POLY[0])
        for c in _DIGAMMA_F32_POLY[1:]:
            poly = (poly.astype(np.float64) * inv2 + np.float64(c)).astype(np.float32)
        tail = np.where(z < np.float32(1e17), inv2 * poly, np.float32(0))
        log_z = np.log(z.astype(np.float64)).astype(np.float32)
        out = np.where(z == 10, acc + _PSI_10_F32, acc + log_z - np.float32(0.5) / z - tail)
        if neg.any():  # reflection: psi(x) = psi(1 - x) - pi / tan(pi x), the tangent in double
            r = np.modf(x.astype(np.float64))[0]
            cot = (np.pi / np.tan(np.pi * r)).astype(np.float32)
            out = np.where(neg, np.where(r == 0, np.float32(np.nan), out - cot), out)
        out = np.where(x == 0, np.copysign(np.float32(np.inf), -x), out)
    return out.astype(np.float32, copy=False)

# zeta(k) - 1 = hurwitz(k, 2) for k = 2..28: the Taylor coefficients of lgamma about 1 and 2
_ZM1 = hurwitz(np.arange(2, 29, dtype=np.float64), 2.0)
_LG_COEF = np.concatenate([[0.0, 0.0], (-1.0) ** np.arange(2, 29) * _ZM1 / np.arange(2, 29)])
_STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156]


def _lgamma_near(z):
    """lgamma on [0.5, 12) through [1.5, 2.5] (z is a 1-d float64 array)."""
    # downward recurrence: lgamma(z) = log((z-1)(z-2)...(z-n)) + lgamma(z - n)
    n = np.clip(np.ceil(z - 2.5), 0, None)
    acc = np.ones_like(z, dtype=np.float64)
    for k in range(1, (int(n.max()) if n.size else 0) + 1):
        acc *= np.where(n >= k, z - k, 1.0)
    z = z - n
    # Taylor about 1 (z <= 1.5) or about 2: lgamma(1 + t) = -g t + (t - log1p t) + S(t),
    # lgamma(2 + t) = (1 - g) t + S(t)
    about1 = z <= 1.5
    t = np.where(about1, z - 1, z - 2)
    near = np.where(about1, -_EULER * t + (t - np.log1p(t)), (1 - _EULER) * t)
    return near + P.polyval(t, _LG_COEF) + np.log(acc)


def _lgamma_far(z):
    """Stirling's series for z >= 12."""
    inv = 1 / z
    inv2 = inv * inv
    corr = 0.0
    for c in reversed(_STIRLING):
        corr = corr * inv2 + c
    return (z - 0.5) * np.log(z) - z + _HALF_LOG_2PI + corr * inv


def _lgamma_pos(x):
    """lgamma for x > 0 (x finite); each branch runs only on its own elements."""
    x = as_array(x)
    flat = x.reshape(-1)
    out = np.empty_like(flat, dtype=np.float64)
    far = flat >= 12
    out[far] = _lgamma_far(flat[far])
    near = ~far
    v = flat[near]
    tiny = v < 0.5  # lgamma(x) = lgamma(x + 1) - log x
    res = _lgamma_near(np.where(tiny, v + 1, v))
    out[near] = np.where(tiny, res - np.log(np.where(tiny, v, 1.0)), res)
    return out.reshape(x.shape)


def lgamma(x: np.ndarray) -> np.ndarray:
    """log|Gamma(x)|; inf at 0, the negative integers and +-inf."""
    x = as_array(x, np.float64)
    with _errstate():
        finite = np.isfinite(x)
        refl = finite & (x < 0)
        out = _lgamma_pos(np.where(refl, 1 - x, np.where(finite & (x > 0), x, 2.0)))
        if refl.any():  # log|Gamma(x)| = log(pi / |sin(pi x)|) - lgamma(1 - x); inf at poles
            r, _ = _pi_frac(x)
            out = np.where(refl, np.log(np.pi / np.abs(np.sin(np.pi * r))) - out, out)
        out = np.where((x == 0) | np.isinf(x), np.inf, out)
        out = np.where(np.isnan(x), np.nan, out)
    return out


def gammainc(a: np.ndarray, x: np.ndarray, upper: bool = False) -> np.ndarray:
    """Regularized incomplete gamma P(a, x) (``upper``: Q = 1 - P): the series for x < a + 1,
    Lentz's continued fraction for Q otherwise (Numerical Recipes' split)."""
    a, x = np.broadcast_arrays(as_array(a, np.float64), as_array(x, np.float64))
    out = np.full_like(a, np.nan, dtype=np.float64)
    with _errstate():
        ok = (a >= 0) & (x >= 0)
        zero_x = ok & (x == 0) & (a > 0)
        zero_a = ok & (a == 0) & (x > 0)
        inf_x = ok & (x == np.inf) & (a > 0)
        out[zero_x] = 1.0 if upper else 0.0
        out[zero_a | inf_x] = 0.0 if upper else 1.0
        work = ok & (a > 0) & (x > 0) & np.isfinite(x) & np.isfinite(a)
        aw, xw = a[work], x[work]
        log_pre = aw * np.log(xw) - xw - lgamma(aw)
        use_series = xw < aw + 1
        res = np.empty_like(aw, dtype=np.float64)
        s_a, s_x = aw[use_series], xw[use_series]
        if s_a.size:  # P = x^a e^-x / Gamma(a + 1) * sum x^n / ((a+1)...(a+n))
            term = 1 / s_a
            total = term.copy()
            ap = s_a.copy()
            for _ in range(10000):
                ap = ap + 1
                term = term * s_x / ap
                total = total + term
                if np.all(np.abs(term) < np.abs(total) * 1e-17):
                    break
            p = total * np.exp(log_pre[use_series])
            res[use_series] = 1 - p if upper else p
        c_a, c_x = aw[~use_series], xw[~use_series]
        if c_a.size:  # Q = x^a e^-x / Gamma(a) * 1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...))
            tiny = 1e-300
            b = c_x + 1 - c_a
            c = np.full_like(b, 1 / tiny, dtype=np.float64)
            d = 1 / b
            h = d.copy()
            for i in range(1, 10000):
                an = -i * (i - c_a)
                b = b + 2
                d = an * d + b
                d = np.where(np.abs(d) < tiny, tiny, d)
                c = b + an / c
                c = np.where(np.abs(c) < tiny, tiny, c)
                d = 1 / d
                delta = d * c
                h = h * delta
                # within an ulp of 1 (2.2e-16 above, 1.1e-16 below): a tighter test never
                # passes for elements that settle one ulp off, and ran all 10,000 rounds
                if np.all(np.abs(delta - 1) < 3e-16):
                    break
            q = np.exp(log_pre[~use_series]) * h
            res[~use_series] = q if upper else 1 - q
        out[work] = res
    return out
