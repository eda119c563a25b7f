"""NumPy kernels for the Bessel functions of integer order J0, J1, Y0, Y1, K0, K1 (and K's
exponentially scaled form) and the Airy function Ai. float64 in and out; callers cast.

Each function is split by the size of its argument, every piece converging fast where it runs:

* |x| <= 2: the power series (A&S 9.1.10-11 and 9.6.10-13: J, Y, I, K of order 0 and 1).
* 2 < x < 20, J and Y: Miller's backward recurrence from order ~x + 36, normalised by
  ``1 = J0 + 2 (J2 + J4 + ...)``; Y0 and Y1 then follow from Neumann's series in the J_k
  (Y0's series and its derivative), so one recurrence gives all four.
* 2 < x < 20, K: the trapezoid rule on ``e^x K_nu(x) = int_0^inf exp(-2x sinh(t/2)^2)
  cosh(nu t) dt``; the integrand is analytic in a strip and decays double-exponentially, so
  equal steps converge exponentially in 1 / step.
* x >= 20: Hankel's asymptotic series (its smallest term is ~exp(-2x) < 1e-17 there). The
  phase ``cos(x - pi/4)`` is written as ``(cos x + sin x) / sqrt 2``: NumPy reduces a large
  ``x`` exactly, where ``x - pi/4`` would already have lost the digits.
* Ai: the Maclaurin series for |x| <= 1; Taylor series of ``y'' = x y`` about nodes every 0.5
  on [-10, -1] (the node values come from stepping the same series out from 0 once); ``Ai(x) =
  sqrt(x / 3) K_{1/3}(zeta) / pi`` with the trapezoid rule for 1 < x < 9.6; the asymptotic
  series in ``zeta = 2/3 |x|^(3/2)`` beyond (A&S 10.4.59-60).
"""

from __future__ import annotations

import math

import numpy as np

_EULER = 0.57721566490153286061  # Euler's constant gamma
_SERIES_MAX = 2.0
_HANKEL_MIN = 20.0
_MILLER_START = 56  # even; J_56(20) / J_0(20) ~ 1e-19
_SQRT_HALF = math.sqrt(0.5)


def _errstate():
    return np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore")


# -- power series (|x| <= 2) -------------------------------------------------------------------

def _harmonic(k: int) -> float:
    return math.fsum(1.0 / j for j in range(1, k + 1))


_TERMS = 18  # (x^2/4)^k / (k!)^2 at x = 2, k = 18: ~1e-31


def _series(x: np.ndarray, modified: bool):
    """J0, J1 (or I0, I1) and the log-free parts of Y0, Y1 (or K0, K1) for |x| <= 2.

    With ``t = x^2/4`` (negated for J/Y): ``sum t^k/(k!)^2``, ``(x/2) sum t^k/(k!(k+1)!)``,
    ``sum H_k t^k/(k!)^2`` and ``(x/2) sum (2 H_k + 1/(k+1)) t^k/(k!(k+1)!)``."""
    t = x * x / 4 if modified else -(x * x) / 4
    term0 = np.ones_like(x)
    term1 = np.ones_like(x)
    s0, s1 = term0.copy(), term1.copy()
    h0 = np.zeros_like(x)
    h1 = term1.copy()  # k = 0: 2 H_0 + 1/1
    for k in range(1, _TERMS):
        term0 = term0 * t / (k * k)
        term1 = term1 * t / (k * (k + 1))
        hk = _harmonic(k)
        s0 += term0
        s1 += term1
        h0 += hk * term0
        h1 += (2 * hk + 1 / (k + 1)) * term1
    half = x / 2
    return s0, half * s1, h0, half * h1


def _small_jy(x: np.ndarray):
    j0, j1, h0, h1 = _series(x, modified=False)
    log_term = np.log(x / 2) + _EULER
    y0 = (2 / math.pi) * (log_term * j0 - h0)
    # A&S 9.1.11 with psi(k+1) + psi(k+2) = 2 H_k + 1/(k+1) - 2 gamma
    y1 = -2 / (math.pi * x) + (2 / math.pi) * log_term * j1 - h1 / math.pi
    return j0, j1, y0, y1


def _small_k(x: np.ndarray):
    i0, i1, h0, h1 = _series(x, modified=True)
    log_term = np.log(x / 2) + _EULER
    k0 = h0 - log_term * i0
    k1 = 1 / x + log_term * i1 - h1 / 2
    return k0, k1


# -- Miller's backward recurrence (2 < x < 20) ----------------------------------------------

def _neumann_weights(n: int):
    """Weights of J_m in Neumann's series: ``Y0 = (2/pi)(log(x/2) + gamma) J0 + sum_m a_m J_m``
    (even m) and ``Y1 = -(2/pi) J0 / x + (2/pi)(log(x/2) + gamma) J1 + sum_m b_m J_m`` (odd m,
    from differentiating Y0's series with ``J_2k' = (J_2k-1 - J_2k+1) / 2``)."""
    a = np.zeros(n + 2)
    b = np.zeros(n + 2)
    for m in range(2, n + 2, 2):
        k = m // 2
        a[m] = -(4 / math.pi) * (-1) ** k / k
    b[1] = -(2 / math.pi)
    for m in range(3, n + 2, 2):
        b[m] = (2 / math.pi) * (-1) ** ((m + 1) // 2) * 4 * m / (m * m - 1)
    return a, b


_NEUMANN = _neumann_weights(_MILLER_START)


def _miller_jy(x: np.ndarray):
    a, b = _NEUMANN
    upper = np.zeros_like(x)
    current = np.full_like(x, 1e-30)  # J_N up to the normalisation found at the end
    norm = np.zeros_like(x)
    ysum0 = np.zeros_like(x)
    ysum1 = np.zeros_like(x)
    two_over_x = 2 / x
    j1 = None
    for m in range(_MILLER_START, 0, -1):
        if m % 2 == 0:
            norm += 2 * current
            ysum0 += a[m] * current
        else:
            ysum1 += b[m] * current
        if m == 1:
            j1 = current
        lower = m * two_over_x * current - upper
        upper, current = current, lower
    norm += current  # current is now J_0 (unnormalised)
    j0 = current / norm
    j1 = j1 / norm
    log_term = np.log(x / 2) + _EULER
    y0 = (2 / math.pi) * log_term * j0 + ysum0 / norm
    y1 = -(2 / math.pi) * j0 / x + (2 / math.pi) * log_term * j1 + ysum1 / norm
    return j0, j1, y0, y1


# -- Hankel's asymptotic series (x >= 20) ------------------------------------------------------

def _hankel_coef(nu: int, terms: int = 40) -> np.ndarray:
    """a_k(nu) = (mu - 1)(mu - 9)...(mu - (2k-1)^2) / (k! 8^k), mu = 4 nu^2."""
    mu = 4 * nu * nu
    coef = [1.0]
    for k in range(1, terms):
        coef.append(coef[-1] * (mu - (2 * k - 1) ** 2) / (k * 8))
    return np.array(coef)


_A = {0: _hankel_coef(0), 1: _hankel_coef(1)}
# P and Q of J/Y: alternating even and odd coefficients, as polynomials in 1/x^2
_PQ = {nu: (c[0::2] * (-1.0) ** np.arange(len(c[0::2])),
            c[1::2] * (-1.0) ** np.arange(len(c[1::2]))) for nu, c in _A.items()}


def _hankel_jy(nu: int, x: np.ndarray):
    p_coef, q_coef = _PQ[nu]
    inv = 1 / x
    inv2 = inv * inv
    p = np.polynomial.polynomial.polyval(inv2, p_coef)
    q = inv * np.polynomial.polynomial.polyval(inv2, q_coef)
    c, s = np.cos(x), np.sin(x)
    if nu == 0:  # chi = x - pi/4
        cos_chi, sin_chi = (c + s) * _SQRT_HALF, (s - c) * _SQRT_HALF
    else:  # chi = x - 3 pi/4
        cos_chi, sin_chi = (s - c) * _SQRT_HALF, -(s + c) * _SQRT_HALF
    front = np.sqrt(2 / (math.pi * x))
    return front * (p * cos_chi - q * sin_chi), front * (p * sin_chi + q * cos_chi)


def _hankel_k_scaled(nu: int, x: np.ndarray):
    return np.sqrt(math.pi / (2 * x)) * np.polynomial.polynomial.polyval(1 / x, _A[nu])


# -- trapezoid rule for K (2 < x < 20) ---------------------------------------------------------

_STEP = 0.125


def _trapezoid_k_scaled(nu: float, x: np.ndarray) -> np.ndarray:
    """``e^x K_nu(x)`` by the trapezoid rule in t (x >= 0.6: the tail past the last node is
    below exp(-45))."""
    if not x.size:
        return np.empty_like(x)
    smallest = float(x.min())
    # the last node: 2 x sinh(t/2)^2 > 45 for the smallest x
    last = 2 * math.asinh(math.sqrt(45 / (2 * smallest)))
    total = np.full_like(x, 0.5)  # t = 0: exp(0) cosh(0) / 2
    for j in range(1, int(last / _STEP) + 2):
        t = j * _STEP
        total += np.exp(-2 * x * math.sinh(t / 2) ** 2) * math.cosh(nu * t)
    return total * _STEP


# -- public kernels ----------------------------------------------------------------------------

def _by_size(x: np.ndarray, small, middle, large):
    """Fill an array from three pieces on |x| <= 2, 2 < |x| < 20 and |x| >= 20 (finite)."""
    a = np.abs(x)
    out = np.full(x.shape, np.nan)
    for mask, fn in ((a <= _SERIES_MAX, small),
                     ((a > _SERIES_MAX) & (a < _HANKEL_MIN), middle),
                     ((a >= _HANKEL_MIN) & np.isfinite(a), large)):
        if mask.any():
            out[mask] = fn(a[mask])
    return out


def bessel_j(nu: int, x: np.ndarray) -> np.ndarray:
    """J_nu(x), nu in (0, 1); NaN at +-inf (as torch)."""
    x = np.asarray(x, np.float64)
    with _errstate():
        out = _by_size(x, lambda a: _series(a, False)[nu], lambda a: _miller_jy(a)[nu],
                       lambda a: _hankel_jy(nu, a)[0])
        if nu == 1:
            out = np.where(x < 0, -out, np.where(x == 0, x, out))  # odd, and J1(-0) = -0
    return out


def bessel_y(nu: int, x: np.ndarray) -> np.ndarray:
    """Y_nu(x), nu in (0, 1): -inf at 0, NaN for x < 0 and at +-inf (as torch)."""
    x = np.asarray(x, np.float64)
    with _errstate():
        out = _by_size(x, lambda a: _small_jy(a)[2 + nu], lambda a: _miller_jy(a)[2 + nu],
                       lambda a: _hankel_jy(nu, a)[1])
        out = np.where(x == 0, -np.inf, np.where(x < 0, np.nan, out))
    return out


def bessel_k(nu: int, x: np.ndarray, scaled: bool) -> np.ndarray:
    """K_nu(x), nu in (0, 1); ``scaled``: e^x K_nu(x). inf at 0, NaN for x < 0, 0 at inf."""
    x = np.asarray(x, np.float64)
    with _errstate():
        def small(a):
            k = _small_k(a)[nu]
            return k * np.exp(a) if scaled else k

        def unscale(fn):
            return fn if scaled else (lambda a: fn(a) * np.exp(-a))

        out = _by_size(x, small, unscale(lambda a: _trapezoid_k_scaled(nu, a)),
                       unscale(lambda a: _hankel_k_scaled(nu, a)))
        out = np.where(x == 0, np.inf, np.where(x < 0, np.nan, out))
        out = np.where(x == np.inf, 0.0, out)
    return out


# -- Airy Ai -----------------------------------------------------------------------------------

_AI0 = 1 / (3 ** (2 / 3) * math.gamma(2 / 3))    # Ai(0)
_DAI0 = -1 / (3 ** (1 / 3) * math.gamma(1 / 3))  # Ai'(0)
_TAYLOR_TERMS = 32


def _maclaurin_ai(x: np.ndarray) -> np.ndarray:
    """Ai(x) = Ai(0) f(x) + Ai'(0) g(x), with f, g the series solutions of y'' = x y
    (f = 1 + x^3/3! + 1*4 x^6/6! + ..., g = x + 2 x^4/4! + 2*5 x^7/7! + ...)."""
    cube = x * x * x
    f_term = np.ones_like(x)
    g_term = x.copy()
    f, g = f_term.copy(), g_term.copy()
    for k in range(1, 20):
        f_term = f_term * cube / ((3 * k) * (3 * k - 1))
        g_term = g_term * cube / ((3 * k + 1) * (3 * k))
        f += f_term
        g += g_term
    return _AI0 * f + _DAI0 * g


def _taylor_step(value, slope, x0, h, terms=_TAYLOR_TERMS):
    """The Taylor series of y'' = x y about x0 (y(x0) = value, y'(x0) = slope) at x0 + h, and
    its derivative: ``(k+2)(k+1) a_{k+2} = x0 a_k + a_{k-1}``."""
    a_prev, a_cur, a_next = 0.0 * value, value, slope  # a_{k-1}, a_k, a_{k+1} at k = 0
    total, deriv = value + slope * h, slope
    power = h  # h^(k+1)
    for k in range(0, terms):
        a_new = (x0 * a_cur + a_prev) / ((k + 2) * (k + 1))  # a_{k+2}
        deriv = deriv + (k + 2) * a_new * power
        power = power * h
        total = total + a_new * power
        a_prev, a_cur, a_next = a_cur, a_next, a_new
    return total, deriv


_NODE_STEP = 0.5
_NODES_END = -10.0
_nodes_cache: list = []


def _nodes():
    """Ai and Ai' at -0.5, -1, ..., -10, stepped out from 0 once (a scalar loop, on first use)."""
    if not _nodes_cache:
        value, slope, x0 = _AI0, _DAI0, 0.0
        table = [(x0, value, slope)]
        while x0 > _NODES_END:
            value, slope = _taylor_step(value, slope, x0, -_NODE_STEP, 40)
            x0 -= _NODE_STEP
            table.append((x0, value, slope))
        _nodes_cache.append(np.array(table))
    return _nodes_cache[0]


def _taylor_ai(x: np.ndarray) -> np.ndarray:
    table = _nodes()
    index = np.clip(np.rint(-x / _NODE_STEP).astype(np.int64), 0, len(table) - 1)
    x0, value, slope = table[index, 0], table[index, 1], table[index, 2]
    return _taylor_step(value, slope, x0, x - x0)[0]


def _airy_u(terms: int = 30) -> np.ndarray:
    """u_k = (2k+1)(2k+3)...(6k-1) / (216^k k!) of the Airy asymptotic series."""
    u = [1.0]
    for k in range(1, terms):
        u.append(u[-1] * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / (216 * k * (2 * k - 1)))
    return np.array(u)


_U = _airy_u()
_U_POS = _U * (-1.0) ** np.arange(len(_U))            # sum (-1)^k u_k / zeta^k
_U_EVEN = _U[0::2] * (-1.0) ** np.arange(len(_U[0::2]))  # P(zeta) in 1/zeta^2
_U_ODD = _U[1::2] * (-1.0) ** np.arange(len(_U[1::2]))   # Q(zeta) / (1/zeta)


def _zeta(a: np.ndarray) -> np.ndarray:
    return (2 / 3) * a * np.sqrt(a)


def _asymptotic_ai_positive(x: np.ndarray) -> np.ndarray:
    zeta = _zeta(x)
    series = np.polynomial.polynomial.polyval(1 / zeta, _U_POS)
    return np.exp(-zeta) * series / (2 * math.sqrt(math.pi) * np.sqrt(np.sqrt(x)))


def _asymptotic_ai_negative(x: np.ndarray) -> np.ndarray:
    a = -x
    zeta = _zeta(a)
    inv = 1 / zeta
    p = np.polynomial.polynomial.polyval(inv * inv, _U_EVEN)
    q = inv * np.polynomial.polynomial.polyval(inv * inv, _U_ODD)
    c, s = np.cos(zeta), np.sin(zeta)
    # Ai(-a) = a^(-1/4) / sqrt(pi) (sin(zeta + pi/4) P - cos(zeta + pi/4) Q)
    sin_phase, cos_phase = (s + c) * _SQRT_HALF, (c - s) * _SQRT_HALF
    return (sin_phase * p - cos_phase * q) / (math.sqrt(math.pi) * np.sqrt(np.sqrt(a)))


def _k_third_ai(x: np.ndarray) -> np.ndarray:
    zeta = _zeta(x)
    return np.sqrt(x / 3) / math.pi * _trapezoid_k_scaled(1 / 3, zeta) * np.exp(-zeta)


_AI_ZETA_MIN = 20.0
_AI_LARGE = (1.5 * _AI_ZETA_MIN) ** (2 / 3)  # |x| where zeta = 20 (~9.65)


def airy_ai(x: np.ndarray) -> np.ndarray:
    """Ai(x); NaN at +-inf (as torch)."""
    x = np.asarray(x, np.float64)
    out = np.full(x.shape, np.nan)
    with _errstate():
        pieces = ((np.abs(x) <= 1, _maclaurin_ai),
                  ((x < -1) & (x > -_AI_LARGE), _taylor_ai),
                  ((x > 1) & (x < _AI_LARGE), _k_third_ai),
                  ((x >= _AI_LARGE) & (x < np.inf), _asymptotic_ai_positive),
                  ((x <= -_AI_LARGE) & (x > -np.inf), _asymptotic_ai_negative))
        for mask, fn in pieces:
            if mask.any():
                out[mask] = fn(x[mask])
    return out
