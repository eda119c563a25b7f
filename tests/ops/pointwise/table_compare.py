"""Op-table entries for ``ember/_ops/pointwise/compare.py``: comparisons (forward only),
``where``, the ``is*`` predicates and ``isclose``."""

import numpy as np

from .._inputs import B, _call
from ..spec import OpSpec

OPS = [
    *[OpSpec(f"cmp_{op}", _call(op), B, grad=False)
      for op in ("eq", "ne", "lt", "le", "gt", "ge", "greater", "less_equal", "not_equal")],
    OpSpec("cmp_scalar", lambda L, a: (a > 0.5, a <= 0, a == 1, 1 < a), [((3, 4),)],
           grad=False),
    OpSpec("cmp_int_float", lambda L, a, b: (a < b, a == 2.0, L.eq(a, 3)), [((3, 4), (4,))],
           grad=False, int_inputs={0: (-3, 4)}),
    OpSpec("cmp_mixed_int", lambda L, a, b: (a.to(L.uint8) == b.to(L.int8), a.to(L.uint8) == -1),
           [((3, 4), (4,))], grad=False, int_inputs={0: (0, 255), 1: (-128, 127)}),
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
