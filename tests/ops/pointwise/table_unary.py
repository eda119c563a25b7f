"""Op-table entries for unary math ops. Domains keep each function smooth and defined; ops with
kinks get samples away from them (or gradcheck=False with the reason in a comment)."""

import numpy as np

from .spec import OpSpec

U = [((3, 4),), ((2, 3, 4),), ((),), ((0, 3),)]
U2 = U[:3]


def _unary(name, domain=(-2.0, 2.0), shapes=U, **kw):
    return OpSpec(name, lambda L, a: getattr(L, name)(a), shapes, domain=domain, **kw)


def _away_from(points, lo, hi, gap=0.05):
    """``make`` drawing values in (lo, hi) at least ``gap`` from each kink in ``points``."""
    def make(rng):
        x = rng.uniform(lo, hi, size=(3, 4))
        for p in points:
            near = np.abs(x - p) < gap
            x[near] = p + np.copysign(gap, x[near] - p + 1e-12) * 2
        return [x]
    return make


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
    # kinks: abs at 0, relu at 0, clamp at its bounds
    # gradgrad=False: torch's second derivative of abs is a ZeroTensor the harness can't read
    OpSpec("abs", lambda L, a: L.abs(a), [((3, 4),)], make=_away_from([0.0], -2, 2),
           gradgrad=False),
    OpSpec("abs_zero", lambda L, a: (a * 0).abs(), [((3, 4),)], gradcheck=False,
           gradgrad=False),
    OpSpec("absolute", lambda L, a: L.absolute(a), [((0, 3),), ((),)], domain=(0.5, 2.0),
           gradgrad=False),
    OpSpec("abs_int", lambda L, a: (abs(a), L.square(a), L.sign(a), L.neg(a)), [((3, 4),)],
           grad=False, int_inputs={0: (-5, 5)}),
    OpSpec("square", lambda L, a: L.square(a), U),
    # gradgrad=False: relu's second derivative is zero; torch records it as a graph of zeros,
    # ember's mask product is a constant (same values, no graph)
    OpSpec("relu", lambda L, a: L.relu(a), [((3, 4),)], make=_away_from([0.0], -2, 2),
           gradgrad=False),
    OpSpec("relu_shapes", lambda L, a: a.relu(), [((),), ((0, 3),)], domain=(0.5, 2.0),
           gradgrad=False),
    OpSpec("relu_zero_input", lambda L, a: L.relu(a * 0), [((3, 4),)], gradcheck=False,
           gradgrad=False),
    OpSpec("clamp", lambda L, a: L.clamp(a, -1.0, 1.0), [((3, 4),)],
           make=_away_from([-1.0, 1.0], -2, 2)),
    OpSpec("clamp_min", lambda L, a: a.clamp(min=0.5), [((3, 4),)],
           make=_away_from([0.5], -2, 2)),
    OpSpec("clip_max", lambda L, a: L.clip(a, max=0.5), [((3, 4),)],
           make=_away_from([0.5], -2, 2)),
    # exactly at the bounds: PyTorch lets the gradient through; no finite differences there
    OpSpec("clamp_at_bounds", lambda L, a: L.clamp(a.round(), -1.0, 1.0), [((3, 4),)],
           gradcheck=False),
    OpSpec("clamp_tensor", lambda L, a, lo, hi: L.clamp(a, lo, hi),
           [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1))], gradcheck=False),
    OpSpec("clamp_tensor_min", lambda L, a, lo: L.clamp(a, min=lo), [((3, 4), (4,))],
           gradcheck=False),
    OpSpec("clamp_int", lambda L, a: (L.clamp(a, 0, 3), L.clamp(a, min=0.5), a.clamp(max=2)),
           [((3, 4),)], grad=False, int_inputs={0: (-5, 5)}),
    OpSpec("clamp_nan", lambda L, a: L.clamp(a, 0.0, 1.0), [((3,),)], grad=False,
           make=lambda rng: [np.array([np.nan, -1.0, 2.0])]),
    # piecewise-constant ops: zero gradient everywhere; forward on values with exact halves
    OpSpec("rounding", lambda L, a: (L.floor(a), L.ceil(a), L.trunc(a), L.fix(a), L.round(a),
                                     L.sign(a), L.sgn(a)),
           [((20,),)], gradcheck=False,
           make=lambda rng: [np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -3.7, 3.7, 0.0,
                                       -0.2, 0.2, 1.49, -1.51, 7.5, -7.5, 100.5, 0.49, 2.2,
                                       -2.2])]),
    OpSpec("round_decimals", lambda L, a: (L.round(a, decimals=2), a.round(decimals=-1)),
           [((3, 4),)], domain=(-100.0, 100.0), gradcheck=False),
    OpSpec("frac", lambda L, a: L.frac(a), [((3, 4),)], make=_away_from([-1, 0, 1], -2, 2)),
    OpSpec("logit", lambda L, a: L.logit(a), [((3, 4),), ((),)], domain=(0.1, 0.9)),
    OpSpec("logit_eps", lambda L, a: L.logit(a, eps=0.2), [((3, 4),)],
           make=_away_from([0.2, 0.8], 0.02, 0.98)),
    OpSpec("nan_to_num", lambda L, a: L.nan_to_num(a), [((3, 4),)]),
    OpSpec("nan_to_num_special", lambda L, a: (L.nan_to_num(a), L.nan_to_num(a, 1.0, 2.0, -3.0)),
           [((4,),)], grad=False, make=lambda rng: [np.array([np.nan, np.inf, -np.inf, 1.0])]),
    OpSpec("positive", lambda L, a: L.positive(a) * 1, [((3, 4),)]),
    OpSpec("signbit_angle", lambda L, a: (L.signbit(a), L.angle(a)), [((6,),)], grad=False,
           make=lambda rng: [np.array([-0.0, 0.0, -1.0, 2.0, np.nan, -np.inf])]),
    OpSpec("predicates", lambda L, a: (L.isnan(a), L.isinf(a), L.isposinf(a), L.isneginf(a),
                                       L.isfinite(a), L.isreal(a)), [((6,),)], grad=False,
           make=lambda rng: [np.array([np.nan, np.inf, -np.inf, 1.0, -0.0, 3.0])]),
    OpSpec("where", lambda L, a, b: L.where(a > 0, a, b),
           [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (3,)), ((0, 3), (3,))]),
    OpSpec("where_scalar", lambda L, a: (L.where(a > 0, a, 0.0), L.where(a > 0, 1.0, a)),
           [((3, 4),), ((),)]),
    OpSpec("where_mask", lambda L, c, a, b: L.where(c, a, b),
           [((3, 4), (3, 4), (4,)), ((2, 1, 4), (3, 1), ())], bool_inputs=(0,)),
    OpSpec("isclose", lambda L, a, b: (L.isclose(a, b), L.isclose(a, a + 1e-9),
                                       L.isclose(a, b, rtol=0.5, atol=0.5)),
           [((3, 4), (3, 4)), ((3, 4), (4,))], grad=False),
]
