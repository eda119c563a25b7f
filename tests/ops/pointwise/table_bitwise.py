"""Op-table entries for ``ember/_ops/pointwise/bitwise.py``: bitwise ops on integer and bool
tensors and the logical ops (forward only: none has a gradient)."""

from .._inputs import B2, B, _call
from ..spec import OpSpec

OPS = [
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
