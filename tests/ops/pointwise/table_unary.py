"""Op-table entries for ``ember/_ops/pointwise/unary.py``: the exp/log family, roots,
trigonometric and hyperbolic functions, sigmoid and erf. Domains keep each function smooth and
defined."""

import numpy as np

from .._inputs import U
from ..spec import OpSpec

U2 = U[:3]


def _unary(name, domain=(-2.0, 2.0), shapes=U, **kw):
    return OpSpec(name, lambda L, a: getattr(L, name)(a), shapes, domain=domain, **kw)


OPS = [
    _unary("exp"), _unary("exp2"), _unary("expm1"),
    _unary("log", (0.5, 2.0)), _unary("log2", (0.5, 2.0)), _unary("log10", (0.5, 2.0)),
    _unary("log1p", (-0.5, 2.0)),
    _unary("sqrt", (0.5, 2.0)), _unary("rsqrt", (0.5, 2.0)), _unary("reciprocal", (0.5, 2.0)),
    _unary("sin"), _unary("cos"), _unary("tan", (-1.2, 1.2)),
    _unary("asin", (-0.9, 0.9)), _unary("acos", (-0.9, 0.9)), _unary("atan"),
    _unary("arcsin", (-0.9, 0.9), U2), _unary("arctan", shapes=U2),
    _unary("sinh"), _unary("cosh"), _unary("tanh"),
    _unary("asinh"), _unary("acosh", (1.2, 3.0)), _unary("atanh", (-0.9, 0.9)),
    _unary("sigmoid", (-4.0, 4.0)),
    _unary("erf"), _unary("erfc"), _unary("erfinv", (-0.9, 0.9)),
    _unary("deg2rad"), _unary("rad2deg"),
    OpSpec("sigmoid_method", lambda L, a: a.sigmoid(), [((3, 4),)], domain=(-4.0, 4.0)),
    OpSpec("exp_large", lambda L, a: (a * 100).exp(), [((3, 4),)], grad=False),
    OpSpec("sigmoid_extreme", lambda L, a: (a * 500).sigmoid(), [((3, 4),)], grad=False),
    OpSpec("erf_wide", lambda L, a: (L.erf(a * 4), L.erfc(a * 6)), [((50,),)], grad=False,
           rtol=1e-12, atol=1e-13),
    OpSpec("erfinv_tails", lambda L, a: L.erfinv(a), [((50,),)], grad=False,
           make=lambda rng: [np.concatenate([1 - 10.0 ** -rng.uniform(1, 15, 25),
                                             -1 + 10.0 ** -rng.uniform(1, 15, 25)])]),
    OpSpec("unary_int_to_float", lambda L, a: (a.exp(), a.sqrt(), L.sin(a), a.sigmoid(),
                                               L.log1p(a), L.erf(a), a.reciprocal()),
           [((3, 4),)], grad=False, int_inputs={0: (1, 5)}),
]
