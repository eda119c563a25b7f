"""Op-table entries for ``ember/_ops/pointwise/binary_math.py``: atan2, maximum/minimum (ties
included), fmax/fmin, lerp, hypot, copysign, xlogy, logaddexp/logaddexp2 and ldexp."""

import numpy as np

from .._inputs import B2, INT2, B
from ..spec import OpSpec


def _ties(rng):
    a = rng.uniform(-2, 2, size=(3, 4))
    b = a.copy()
    b[0] += 1.0
    b[2] -= 1.0
    return [a, b]


OPS = [
    OpSpec("atan2", lambda L, a, b: L.atan2(a, b), B, domain=(0.5, 2.0)),
    OpSpec("arctan2_neg", lambda L, a, b: L.arctan2(-a, b), B2, domain=(0.5, 2.0)),
    OpSpec("atan2_int", lambda L, a, b: L.atan2(a, b), B2, grad=False, int_inputs=INT2),
    OpSpec("maximum", lambda L, a, b: L.maximum(a, b), B),
    OpSpec("minimum", lambda L, a, b: L.minimum(a, b), B),
    OpSpec("maximum_ties", lambda L, a, b: L.maximum(a, b), [((3, 4), (3, 4))], make=_ties,
           gradcheck=False),
    OpSpec("minimum_ties", lambda L, a, b: L.minimum(a, b), [((3, 4), (3, 4))], make=_ties,
           gradcheck=False),
    OpSpec("maximum_int", lambda L, a, b: L.maximum(a, b), B2, grad=False, int_inputs=INT2),
    OpSpec("fmax", lambda L, a, b: L.fmax(a, b), B),
    OpSpec("fmin", lambda L, a, b: L.fmin(a, b), B),
    OpSpec("fmax_nan", lambda L, a, b: L.fmax(a, b), [((3, 4), (3, 4))], gradcheck=False,
           make=lambda rng: [np.where(rng.random((3, 4)) < 0.3, np.nan, rng.standard_normal(
               (3, 4))), np.where(rng.random((3, 4)) < 0.3, np.nan, rng.standard_normal((3, 4)))],
           gradgrad=False),
    OpSpec("lerp", lambda L, a, b: L.lerp(a, b, 0.3), B),
    OpSpec("lerp_high", lambda L, a, b: a.lerp(b, 0.8), B2),
    OpSpec("lerp_tensor", lambda L, a, b, w: L.lerp(a, b, w),
           [((3, 4), (3, 4), (3, 4)), ((2, 3, 4), (4,), (3, 1)), ((), (), ())],
           domain=(0.0, 1.0)),
    OpSpec("hypot", lambda L, a, b: L.hypot(a, b), B, domain=(0.5, 2.0)),
    OpSpec("copysign", lambda L, a, b: L.copysign(a, b), B, domain=(0.5, 2.0)),
    OpSpec("copysign_neg", lambda L, a: L.copysign(a, -1.0), [((3, 4),)]),
    OpSpec("xlogy", lambda L, a, b: L.xlogy(a, b), B, domain=(0.5, 2.0)),
    OpSpec("xlogy_zero", lambda L, a, b: L.xlogy(a * 0, b), [((3, 4), (3, 4))],
           domain=(0.5, 2.0)),
    OpSpec("xlogy_scalar", lambda L, a: L.xlogy(2.0, a), [((3, 4),)], domain=(0.5, 2.0)),
    OpSpec("xlogy_int", lambda L, a, b: L.xlogy(a, b), B2, grad=False, int_inputs=INT2),
    OpSpec("logaddexp", lambda L, a, b: L.logaddexp(a, b), [((3, 4), (4,)), ((), (2,))]),
    OpSpec("logaddexp2", lambda L, a, b: L.logaddexp2(a, b), [((3, 4), (3, 1))]),
    OpSpec("ldexp", lambda L, a, e: L.ldexp(a, e), [((3, 4), (4,))], int_inputs={1: (-3, 4)}),
    # a float exponent takes a gradient too (LdexpBackward0's second edge)
    OpSpec("ldexp_float_exponent", lambda L, a, e: L.ldexp(a, e), [((3, 4), (4,)), ((), (2,))],
           domain=(-3.0, 3.0)),
    OpSpec("frexp", lambda L, a: L.frexp(a).mantissa, [((3, 4),), ((),)], domain=(-8.0, 8.0),
           gradgrad=False),
    # no derivative in PyTorch (backward raises; tests/test_snn_gaps.py): forward swept only
    OpSpec("heaviside", lambda L, a, b: L.heaviside(a, b), B2, grad=False),
]
