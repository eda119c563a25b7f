"""Op-table entries for ``ember/_ops/pointwise/arithmetic.py``: add, sub, mul, div, neg, the
rounding divisions and remainders, and the fused ``addcmul``/``addcdiv``. Domains keep finite
differences away from the jumps of floor and trunc."""

from .._inputs import B2, INT2, B
from ..spec import OpSpec

B3 = [((3, 4), (3, 4), (3, 4)), ((2, 3, 4), (4,), (3, 1)), ((), (3,), ()), ((0, 3), (3,), (3,))]


def _fixed(*arrays_fn):
    """``make`` for inputs drawn from per-input ranges: ((shape, lo, hi), ...)."""
    def make(rng):
        return [rng.uniform(lo, hi, size=shape) for shape, lo, hi in arrays_fn]
    return make


def _pos(rng):
    return [rng.uniform(0.5, 2.0, (3, 4)), rng.uniform(-2, 2, (4,)), rng.uniform(0.5, 2.0, (3, 1))]


# numerator/denominator ratios stay within (2, 3), away from the jumps of floor and trunc
RATIO = _fixed(((3, 4), 2.1, 2.9), ((4,), 1.0, 1.02))
NEG_RATIO = _fixed(((3, 4), -2.9, -2.1), ((4,), 1.0, 1.02))

OPS = [
    OpSpec("add", lambda L, a, b: L.add(a, b), B),
    OpSpec("add_alpha", lambda L, a, b: L.add(a, b, alpha=2.5), B),
    OpSpec("sub", lambda L, a, b: a - b, B),
    OpSpec("mul", lambda L, a, b: a * b, B),
    OpSpec("div", lambda L, a, b: a / b, B, domain=(0.5, 2.0)),
    OpSpec("neg", lambda L, a: -a, [((3, 4),), ((),), ((0,),)]),
    # rounding divisions and remainders
    OpSpec("div_floor", lambda L, a, b: L.div(a, b, rounding_mode="floor"), [((3, 4), (4,))],
           make=NEG_RATIO),
    OpSpec("div_trunc", lambda L, a, b: L.div(a, b, rounding_mode="trunc"), [((3, 4), (4,))],
           make=NEG_RATIO),
    OpSpec("floor_divide", lambda L, a, b: a // b, B, grad=False),
    OpSpec("floor_divide_int", lambda L, a, b: a // b, B2, grad=False,
           int_inputs={0: (-20, 20), 1: (-5, -1)}),
    OpSpec("rfloordiv", lambda L, a: 7 // a, [((3, 4),)], grad=False, int_inputs={0: (1, 5)}),
    OpSpec("remainder", lambda L, a, b: L.remainder(a, b), [((3, 4), (4,))], make=NEG_RATIO),
    OpSpec("remainder_pos", lambda L, a, b: a % b, [((3, 4), (4,))], make=RATIO),
    OpSpec("remainder_scalar", lambda L, a: a % 1.5, [((3, 4),)], domain=(0.1, 1.4)),
    OpSpec("remainder_int", lambda L, a, b: a % b, B2, grad=False, int_inputs=INT2),
    OpSpec("remainder_int_neg", lambda L, a: L.remainder(a, -3), [((3, 4),)], grad=False,
           int_inputs={0: (-20, 20)}),
    OpSpec("rmod_scalar", lambda L, a: 5 % a, [((3, 4),)], grad=False,
           int_inputs={0: (-4, -1)}),
    OpSpec("fmod", lambda L, a, b: L.fmod(a, b), [((3, 4), (4,))], make=NEG_RATIO),
    OpSpec("fmod_scalar", lambda L, a: L.fmod(a, -1.5), [((3, 4),)], domain=(0.1, 1.4)),
    OpSpec("fmod_int", lambda L, a, b: L.fmod(a, b), B2, grad=False, int_inputs=INT2),
    OpSpec("addcmul", lambda L, a, b, c: L.addcmul(a, b, c, value=0.5), B3),
    OpSpec("addcmul_method", lambda L, a, b, c: a.addcmul(b, c), [((3, 4), (3, 4), (3, 4))]),
    OpSpec("addcmul_", lambda L, a, b, c: (a * 1).addcmul_(b, c, value=-2),
           [((3, 4), (4,), (3, 1))]),
    OpSpec("addcdiv", lambda L, a, b, c: L.addcdiv(b, a, c, value=0.5), [((3, 4), (4,), (3, 1))],
           make=_pos),
    OpSpec("addcdiv_", lambda L, a, b, c: (a * 1).addcdiv_(b, c), [((3, 4), (4,), (3, 1))],
           make=_pos),
    OpSpec("rsub", lambda L, a, b: L.rsub(a, b, alpha=2), [((3, 4), (3, 4)), ((2, 3), (3,))]),
    OpSpec("rsub_scalar", lambda L, a: L.rsub(a, 1.5), [((3, 4),)]),
]
