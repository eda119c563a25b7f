"""Op-table entries for elementwise binary ops: arithmetic, binary math, comparisons,
bitwise and logical ops. Domains keep finite differences away from kinks and jumps."""

import numpy as np

from .spec import OpSpec

B = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 4)), ((), (3,)), ((0, 3), (3,))]
B2 = B[:4]
INT2 = {0: (-20, 20), 1: (1, 7)}


def _call(name):
    """``fn`` calling ``lib.<name>(*tensors)``."""
    return lambda L, *xs: getattr(L, name)(*xs)


def _fixed(*arrays_fn):
    """``make`` for inputs drawn from per-input ranges: ((shape, lo, hi), ...)."""
    def make(rng):
        return [rng.uniform(lo, hi, size=shape) for shape, lo, hi in arrays_fn]
    return make


def _ties(rng):
    a = rng.uniform(-2, 2, size=(3, 4))
    b = a.copy()
    b[0] += 1.0
    b[2] -= 1.0
    return [a, b]


# numerator/denominator ratios stay within (2, 3), away from the jumps of floor and trunc
RATIO = _fixed(((3, 4), 2.1, 2.9), ((4,), 1.0, 1.02))
NEG_RATIO = _fixed(((3, 4), -2.9, -2.1), ((4,), 1.0, 1.02))

OPS = [
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
    # powers
    OpSpec("pow", lambda L, a, b: L.pow(a, b), B, domain=(0.5, 2.0)),
    OpSpec("pow_square", lambda L, a: a ** 2, [((3, 4),), ((),), ((0,),)]),
    OpSpec("pow_cube", lambda L, a: a ** 3, [((3, 4),)]),
    OpSpec("pow_frac", lambda L, a: a ** 2.5, [((3, 4),)], domain=(0.5, 2.0)),
    OpSpec("pow_neg", lambda L, a: L.pow(a, -1.5), [((3, 4),)], domain=(0.5, 2.0)),
    OpSpec("pow_zero", lambda L, a: a ** 0, [((3, 4),)]),
    OpSpec("rpow", lambda L, a: 2 ** a, [((3, 4),), ((),)]),
    OpSpec("rpow_float", lambda L, a: L.pow(2.5, a), [((3, 4),)]),
    OpSpec("pow_int", lambda L, a, b: a ** b, B2, grad=False,
           int_inputs={0: (-3, 4), 1: (-2, 4)}),
    OpSpec("pow_int_scalar_float", lambda L, a: a ** 0.5, [((3, 4),)], grad=False,
           int_inputs={0: (0, 9)}),
    OpSpec("rpow_int", lambda L, a: 3 ** a, [((3, 4),)], grad=False, int_inputs={0: (0, 9)}),
    OpSpec("float_power", lambda L, a, b: L.float_power(a, b), B2, domain=(0.5, 2.0)),
    # binary math
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
    # comparisons, bitwise and logical (forward only)
    *[OpSpec(f"cmp_{op}", _call(op), B, grad=False)
      for op in ("eq", "ne", "lt", "le", "gt", "ge", "greater", "less_equal", "not_equal")],
    OpSpec("cmp_scalar", lambda L, a: (a > 0.5, a <= 0, a == 1, 1 < a), [((3, 4),)],
           grad=False),
    OpSpec("cmp_int_float", lambda L, a, b: (a < b, a == 2.0, L.eq(a, 3)), [((3, 4), (4,))],
           grad=False, int_inputs={0: (-3, 4)}),
    OpSpec("cmp_mixed_int", lambda L, a, b: (a.to(L.uint8) == b.to(L.int8), a.to(L.uint8) == -1),
           [((3, 4), (4,))], grad=False, int_inputs={0: (0, 255), 1: (-128, 127)}),
    *[OpSpec(f"bitwise_{op}", _call(f"bitwise_{op}"),
             B2, grad=False, int_inputs={0: (-100, 100), 1: (-100, 100)})
      for op in ("and", "or", "xor")],
    OpSpec("bitwise_operators", lambda L, a, b: (a & b, a | 3, a ^ b, ~a, a << 2, a >> 1),
           B2, grad=False, int_inputs={0: (-100, 100), 1: (-100, 100)}),
    OpSpec("bitwise_shift_tensor", lambda L, a, b: (L.bitwise_left_shift(a, b),
                                                    L.bitwise_right_shift(a, b)),
           B2, grad=False, int_inputs={0: (-100, 100), 1: (0, 70)}),
    OpSpec("bitwise_bool", lambda L, a, b: (a & b, a | b, a ^ b, ~a, a & True), B2,
           grad=False, bool_inputs=(0, 1)),
    *[OpSpec(f"logical_{op}", _call(f"logical_{op}"),
             B, grad=False, int_inputs={0: (-1, 2)}) for op in ("and", "or", "xor")],
    OpSpec("logical_not", lambda L, a: L.logical_not(a), [((3, 4),), ((),)], grad=False,
           int_inputs={0: (-1, 2)}),
]
