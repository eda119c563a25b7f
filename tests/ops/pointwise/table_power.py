"""Op-table entries for ``ember/_ops/pointwise/power.py``: ``pow`` in its three forms (tensor **
number, tensor ** tensor, number ** tensor) and ``float_power``, with PyTorch's integer rules."""

from .._inputs import B2, B
from ..spec import OpSpec

OPS = [
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
]
