"""Op-table entries for ``ember/_ops/pointwise/abs_round_clamp.py``: abs, square, relu, clamp,
sign and rounding, frac, logit, nan_to_num, positive, signbit/angle. Ops with kinks get samples
away from them (or gradcheck=False with the reason in a comment)."""

import numpy as np

from .._inputs import U
from ..spec import OpSpec


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
]
