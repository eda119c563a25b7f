"""``torch.special``'s classical orthogonal polynomials ``P_n(x)``: Chebyshev of the four kinds
(T, U, V, W) and their shifted forms on [0, 1], physicists' and probabilists' Hermite (H, He),
Laguerre (L) and Legendre (P).

Each takes ``(input, n)``, either of which may be a Python number (not both); they broadcast
and promote as a binary op, and ``n`` is truncated to an integer as torch's kernels do (C's
cast: NaN, +-inf and values past int64 become its most negative value). ``n < 0`` gives 0,
``n = 0`` gives 1. No derivative (outputs never require grad), float32 and float64 loops only.

Evaluation follows torch's split, so values (and overflow: a recurrence that overflows turns
inf, then NaN) agree: the three-term recurrence, run in the compute dtype, for Hermite,
Laguerre, Legendre and for Chebyshev with ``n < 6``; for Chebyshev with ``n >= 6`` the closed
forms, ``cos(n acos x)``-style inside (-1, 1), exact values at +-1, and the hyperbolic forms
outside, with the recurrence's overflow worked out from their logarithms. Elements are sorted
by degree so that one recurrence step touches only the elements still running.
"""

from __future__ import annotations

import math

import numpy as np

from ... import _dtype as D
from ..._tensor import Tensor
from .._core import Op
from .._dispatch import as_tensor, binary
from .bessel import compute_dtype, finish, on_host

_NUMBER = (bool, int, float, complex, np.generic)
_INT64_MIN = np.iinfo(np.int64).min


def _degrees(n: np.ndarray) -> np.ndarray:
    """``n`` truncated to int64 as C casts: NaN, +-inf and |n| >= 2^63 become INT64_MIN."""
    n = np.asarray(n, np.float64)
    ok = np.isfinite(n) & (np.abs(n) < 2.0 ** 63)
    return np.where(ok, np.trunc(np.where(ok, n, 0.0)), 0.0).astype(np.int64) \
        + np.where(ok, 0, _INT64_MIN)


# -- the recurrence, vectorised over elements of different degrees ---------------------------

def _recurrence(x, n, p0, p1, step, scalar_tail=True):
    """P_n(x) for 1-d ``x`` and degrees ``n >= 2``, from P_0 = ``p0``, P_1 = ``p1`` and
    ``P_{k+1} = step(k, x, P_k, P_{k-1})``. Sorted by degree (largest first), the elements that
    still step are a prefix; every 32 steps those already NaN (a NaN never leaves) drop out.
    ``scalar_tail``: finish the last few long runs with Python floats (float64 steps only)."""
    order = np.argsort(-n, kind="stable")
    xs, ns = x[order], n[order]
    prev, cur = p0[order], p1[order]
    running = len(ns)
    k = 1
    while running:
        # elements with n >= k + 1 take this step
        m = int(np.searchsorted(-ns[:running], -(k + 1), side="right"))
        if m == 0:
            break
        if scalar_tail and m <= 4 and ns[0] - k > 64:
            # a few long runs left: Python floats (IEEE doubles, the same arithmetic) step
            # ~20x faster than NumPy calls on tiny arrays
            for i in range(m):
                y, low, high = float(xs[i]), float(prev[i]), float(cur[i])
                for j in range(k, int(ns[i])):
                    low, high = high, step(j, y, high, low)
                    if high != high:  # NaN stays NaN
                        break
                cur[i] = high
            break
        new = step(k, xs[:m], cur[:m], prev[:m])
        prev[:m] = cur[:m]
        cur[:m] = new
        k += 1
        if k % 32 == 0:
            dead = np.isnan(cur[:m])
            if dead.any():
                keep = np.concatenate([np.flatnonzero(~dead), np.flatnonzero(dead),
                                       np.arange(m, len(ns))])
                xs, ns, prev, cur, order = xs[keep], ns[keep], prev[keep], cur[keep], order[keep]
                running = m - int(dead.sum())
            else:
                running = m
    out = np.empty_like(cur)
    out[order] = cur
    return out


def _evaluate(x, n, p1, step, closed_form=None):
    """P_n(x) elementwise: 0 for n < 0, 1 for n = 0, ``p1(x)`` for n = 1, then the recurrence,
    or ``closed_form(x, n, into)`` where it fills some of the elements with n >= 6."""
    x, n = np.broadcast_arrays(x, _degrees(n))
    x, n = x.ravel(), n.ravel()
    out = np.where(n < 0, 0.0, 1.0).astype(x.dtype)
    one = n == 1
    out[one] = p1(x[one])
    todo = n >= 2
    if closed_form is not None:
        todo &= ~closed_form(x, n, out)
    if todo.any():
        xt = x[todo]
        p1t = p1(xt)
        if xt.dtype == np.float32:
            # torch's float32 step is one fused multiply-add, rounded once (the other product
            # and any division rounded on their own): float64 arithmetic with ``_round32``
            # where torch rounds gives its values bit for bit, and its overflow to inf and NaN
            xt, p1t = xt.astype(np.float64), p1t.astype(np.float64)

            def rounded(k, y, cur, prev):
                return step(k, y, cur, prev, _round32)

            out[todo] = _recurrence(xt, n[todo], np.ones_like(xt), p1t, rounded, False)
        else:
            out[todo] = _recurrence(xt, n[todo], np.ones_like(xt), p1t, step)
    return out


def _round32(v):
    return np.asarray(v).astype(np.float32).astype(np.float64)


def _exact(v):
    return v


# The recurrence steps P_{k+1} = step(k, x, P_k, P_{k-1}); ``r`` rounds where torch's float32
# kernel rounds (float64 passes the identity).

def _chebyshev_step(k, x, cur, prev, r=_exact):
    return r(2 * x * cur - prev)


def _shifted_chebyshev_step(k, x, cur, prev, r=_exact):
    return r(2 * r(2 * x - 1) * cur - prev)


def _hermite_h_step(k, x, cur, prev, r=_exact):
    return r(2 * x * cur - r(2 * k * prev))


def _hermite_he_step(k, x, cur, prev, r=_exact):
    return r(x * cur - r(k * prev))


def _laguerre_step(k, x, cur, prev, r=_exact):
    return r(r(r(2 * k + 1 - x) * cur - r(k * prev)) / (k + 1))


def _legendre_step(k, x, cur, prev, r=_exact):
    return r(r(r((2 * k + 1) * x) * cur - r(k * prev)) / (k + 1))


# -- Chebyshev closed forms -------------------------------------------------------------------
# For x = cos(phi) in (-1, 1), and x = +-cosh(theta) outside: T, U, V, W with offset c and
# denominator d, P_n = f((n + c) phi) / d(phi). V and W swap at x < -1: V_n(-y) = (-1)^n W_n(y).

_KINDS = {  # kind: (trig numerator, offset, trig denominator (phi) or None, value at 1, at -1)
    "t": (np.cos, 0.0, None, lambda n: 1.0, lambda n: 1.0),
    "u": (np.sin, 1.0, lambda p: np.sin(p), lambda n: n + 1.0, lambda n: n + 1.0),
    "v": (np.cos, 0.5, lambda p: np.cos(p / 2), lambda n: 1.0, lambda n: 2.0 * n + 1),
    "w": (np.sin, 0.5, lambda p: np.sin(p / 2), lambda n: 2.0 * n + 1, lambda n: 1.0),
}
_MIRROR = {"t": "t", "u": "u", "v": "w", "w": "v"}


def _log_cosh(a):
    return a + np.log1p(np.exp(-2 * a)) - math.log(2)


def _log_sinh(a):
    return a + np.log1p(-np.exp(-2 * a)) - math.log(2)


def _hyperbolic(kind, y, n):
    """|P_n(y)| for y > 1 (float64), and log|P_m(y)| as a function of m, for y = cosh(theta)."""
    theta = np.arccosh(y)
    c = _KINDS[kind][1]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if kind in "tv":
            den_value = np.cosh(theta / 2) if kind == "v" else 1.0
            value = np.cosh((n + c) * theta) / den_value

            def log_value(m):
                return _log_cosh((m + c) * theta) - np.log(den_value)
        else:
            den_value = np.sinh(theta) if kind == "u" else np.sinh(theta / 2)
            value = np.sinh((n + c) * theta) / den_value

            def log_value(m):
                return _log_sinh((m + c) * theta) - np.log(den_value)
        # where the numerator overflows but the quotient does not
        value = np.where(np.isinf(value), np.exp(log_value(n)), value)
    return value, log_value


def _chebyshev_closed(kind, shifted):
    def closed_form(x, n, out):
        y = (2 * x - 1 if shifted else x).astype(np.float64)  # rounded in the compute dtype
        ay = np.abs(y)
        big = n >= 6
        inside, edge, outside = big & (ay < 1), big & (ay == 1), big & (ay > 1)
        num, c, den, at_one, at_minus_one = _KINDS[kind]
        if inside.any():
            phi = np.arccos(y[inside])
            m = n[inside].astype(np.float64)
            value = num((m + c) * phi)
            out[inside] = value / den(phi) if den is not None else value
        if edge.any():
            m = n[edge].astype(np.float64)
            sign = np.where(n[edge] % 2 == 0, 1.0, -1.0)
            out[edge] = np.where(y[edge] > 0, at_one(m), sign * at_minus_one(m))
        if outside.any():
            yo, m = y[outside], n[outside].astype(np.float64)
            negative = yo < 0
            sign = np.where(negative & (n[outside] % 2 == 1), -1.0, 1.0)
            value = np.empty_like(yo)
            # torch's recurrence step is one fused multiply-add, 2y P_{k-1} - P_{k-2} rounded
            # once: it overflows at the first degree K whose value passes the dtype's largest,
            # gives inf again at K + 1 (2y inf - finite), and inf - inf = NaN from K + 2 on
            log_limit = math.log(float(np.finfo(x.dtype).max))
            overflow = np.zeros(yo.shape, bool)
            nan = np.zeros(yo.shape, bool)
            for neg in (False, True):
                part = negative == neg
                if not part.any():
                    continue
                k = _MIRROR[kind] if neg else kind
                v, log_value = _hyperbolic(k, np.abs(yo[part]), m[part])
                value[part] = v
                with np.errstate(invalid="ignore"):
                    overflow[part] = log_value(m[part]) > log_limit
                    nan[part] = log_value(m[part] - 2) > log_limit
            value = np.where(overflow, np.inf, value) * sign
            out[outside] = np.where(nan | np.isnan(yo), np.nan, value)
        out[big & np.isnan(y)] = np.nan
        return big

    return closed_form


def _chebyshev(kind, shifted):
    first = {"t": lambda y: y, "u": lambda y: 2 * y, "v": lambda y: 2 * y - 1,
             "w": lambda y: 2 * y + 1}[kind]
    if shifted:
        def p1(x):
            return first(2 * x - 1)

        step = _shifted_chebyshev_step
    else:
        p1, step = first, _chebyshev_step
    return lambda x, n: _evaluate(x, n, p1, step, _chebyshev_closed(kind, shifted))


def _hermite_h(x, n):
    return _evaluate(x, n, lambda y: 2 * y, _hermite_h_step)


def _hermite_he(x, n):
    return _evaluate(x, n, lambda y: y, _hermite_he_step)


def _laguerre(x, n):
    return _evaluate(x, n, lambda y: 1 - y, _laguerre_step)


def _legendre(x, n):
    return _evaluate(x, n, lambda y: y, _legendre_step)


_KERNELS = {
    "chebyshev_polynomial_t": _chebyshev("t", False),
    "chebyshev_polynomial_u": _chebyshev("u", False),
    "chebyshev_polynomial_v": _chebyshev("v", False),
    "chebyshev_polynomial_w": _chebyshev("w", False),
    "shifted_chebyshev_polynomial_t": _chebyshev("t", True),
    "shifted_chebyshev_polynomial_u": _chebyshev("u", True),
    "shifted_chebyshev_polynomial_v": _chebyshev("v", True),
    "shifted_chebyshev_polynomial_w": _chebyshev("w", True),
    "hermite_polynomial_h": _hermite_h,
    "hermite_polynomial_he": _hermite_he,
    "laguerre_polynomial_l": _laguerre,
    "legendre_polynomial_p": _legendre,
}


def _polynomial_op(name: str, kernel):
    def forward(ctx, x, n):
        dt = np.result_type(x, n)
        shape = np.broadcast_shapes(np.shape(x), np.shape(n))

        def run(a, b):
            # the recurrence runs in the compute dtype, as torch's kernel does (its rounding
            # and its overflow to inf and NaN follow)
            with np.errstate(all="ignore"):
                return kernel(np.asarray(a, dt), b).reshape(shape)

        return on_host(run, dt, x, n)

    def backward(ctx, grad):  # never reached: the output is not differentiable
        raise NotImplementedError(f"the derivative for '{name}' is not implemented.")

    cls_name = "Special" + "".join(p.title() for p in name.split("_"))
    return type(cls_name, (Op,), {"forward": staticmethod(forward),
                                  "backward": staticmethod(backward),
                                  "non_differentiable_outputs": (0,)})


_CLASSES = {name: _polynomial_op(name, kernel) for name, kernel in _KERNELS.items()}


def _type_name(v) -> str:
    return "Tensor" if isinstance(v, Tensor) else type(v).__name__


def _apply(name: str, x, n, out) -> Tensor:
    fname = f"special_{name}"
    x_tensor, n_tensor = isinstance(x, Tensor), isinstance(n, Tensor)
    if not ((x_tensor and (n_tensor or isinstance(n, _NUMBER)))
            or (n_tensor and isinstance(x, _NUMBER))):
        raise TypeError(
            f"{fname}() received an invalid combination of arguments - got "
            f"({_type_name(x)}, {_type_name(n)}), but expected one of:\n"
            " * (Tensor x, Tensor n, *, Tensor out = None)\n"
            " * (Number x, Tensor n, *, Tensor out = None)\n"
            " * (Tensor x, Number n, *, Tensor out = None)\n")
    a = x if x_tensor else as_tensor(x, n)
    b = n if n_tensor else as_tensor(n, x)
    dt = compute_dtype(D.result_type(a, b), f"{name}_cpu")
    return finish(binary(_CLASSES[name], a, b, compute=dt), out, fname)


def chebyshev_polynomial_t(x, n, *, out: Tensor | None = None) -> Tensor:
    """The Chebyshev polynomial of the first kind ``T_n(x)`` (``cos(n acos x)`` on [-1, 1]).

    Example:
        >>> ember.special.chebyshev_polynomial_t(ember.tensor([0.5, 2.0]), 3)
        tensor([-1., 26.])
    """
    return _apply("chebyshev_polynomial_t", x, n, out)


def chebyshev_polynomial_u(x, n, *, out: Tensor | None = None) -> Tensor:
    """The Chebyshev polynomial of the second kind ``U_n(x)``.

    Example:
        >>> ember.special.chebyshev_polynomial_u(ember.tensor([0.5, 2.0]), 3)
        tensor([-1., 56.])
    """
    return _apply("chebyshev_polynomial_u", x, n, out)


def chebyshev_polynomial_v(x, n, *, out: Tensor | None = None) -> Tensor:
    """The Chebyshev polynomial of the third kind ``V_n(x)``.

    Example:
        >>> ember.special.chebyshev_polynomial_v(ember.tensor([0.5, 2.0]), 3)
        tensor([-1., 41.])
    """
    return _apply("chebyshev_polynomial_v", x, n, out)


def chebyshev_polynomial_w(x, n, *, out: Tensor | None = None) -> Tensor:
    """The Chebyshev polynomial of the fourth kind ``W_n(x)``.

    Example:
        >>> ember.special.chebyshev_polynomial_w(ember.tensor([0.5, 2.0]), 3)
        tensor([-1., 71.])
    """
    return _apply("chebyshev_polynomial_w", x, n, out)


def shifted_chebyshev_polynomial_t(x, n, *, out: Tensor | None = None) -> Tensor:
    """The shifted Chebyshev polynomial of the first kind ``T*_n(x) = T_n(2x - 1)``.

    Example:
        >>> ember.special.shifted_chebyshev_polynomial_t(ember.tensor([0.25, 1.5]), 3)
        tensor([ 1., 26.])
    """
    return _apply("shifted_chebyshev_polynomial_t", x, n, out)


def shifted_chebyshev_polynomial_u(x, n, *, out: Tensor | None = None) -> Tensor:
    """The shifted Chebyshev polynomial of the second kind ``U*_n(x) = U_n(2x - 1)``.

    Example:
        >>> ember.special.shifted_chebyshev_polynomial_u(ember.tensor([0.25, 1.5]), 3)
        tensor([ 0., 56.])
    """
    return _apply("shifted_chebyshev_polynomial_u", x, n, out)


def shifted_chebyshev_polynomial_v(x, n, *, out: Tensor | None = None) -> Tensor:
    """The shifted Chebyshev polynomial of the third kind ``V*_n(x) = V_n(2x - 1)``.

    Example:
        >>> ember.special.shifted_chebyshev_polynomial_v(ember.tensor([0.25, 1.5]), 3)
        tensor([ 1., 41.])
    """
    return _apply("shifted_chebyshev_polynomial_v", x, n, out)


def shifted_chebyshev_polynomial_w(x, n, *, out: Tensor | None = None) -> Tensor:
    """The shifted Chebyshev polynomial of the fourth kind ``W*_n(x) = W_n(2x - 1)``.

    Example:
        >>> ember.special.shifted_chebyshev_polynomial_w(ember.tensor([0.25, 1.5]), 3)
        tensor([-1., 71.])
    """
    return _apply("shifted_chebyshev_polynomial_w", x, n, out)


def hermite_polynomial_h(x, n, *, out: Tensor | None = None) -> Tensor:
    """The physicists' Hermite polynomial ``H_n(x)``
    (``H_{k+1} = 2x H_k - 2k H_{k-1}``).

    Example:
        >>> ember.special.hermite_polynomial_h(ember.tensor([0.5, 2.0]), 3)
        tensor([-5., 40.])
    """
    return _apply("hermite_polynomial_h", x, n, out)


def hermite_polynomial_he(x, n, *, out: Tensor | None = None) -> Tensor:
    """The probabilists' Hermite polynomial ``He_n(x)`` (``He_{k+1} = x He_k - k He_{k-1}``).

    Example:
        >>> ember.special.hermite_polynomial_he(ember.tensor([0.5, 2.0]), 3)
        tensor([-1.3750,  2.0000])
    """
    return _apply("hermite_polynomial_he", x, n, out)


def laguerre_polynomial_l(x, n, *, out: Tensor | None = None) -> Tensor:
    """The Laguerre polynomial ``L_n(x)``.

    Example:
        >>> ember.special.laguerre_polynomial_l(ember.tensor([0.5, 2.0]), 3)
        tensor([-0.1458, -0.3333])
    """
    return _apply("laguerre_polynomial_l", x, n, out)


def legendre_polynomial_p(x, n, *, out: Tensor | None = None) -> Tensor:
    """The Legendre polynomial ``P_n(x)``.

    Example:
        >>> ember.special.legendre_polynomial_p(ember.tensor([0.5, 2.0]), 3)
        tensor([-0.4375, 17.0000])
    """
    return _apply("legendre_polynomial_p", x, n, out)
