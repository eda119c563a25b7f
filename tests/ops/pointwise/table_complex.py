"""Op-table entries for ``ember/_ops/pointwise/complex.py``: the complex views ``view_as_real``
and ``view_as_complex`` (through real-valued outputs, so the table's float comparisons apply)
and ``adjoint``."""

from ..spec import OpSpec

OPS = [
    # complex arithmetic between the views, so the gradient passes through both; ``* 1`` gives
    # fresh strides (torch gives a tensor made from an empty NumPy array all-zero strides)
    OpSpec("view_as_complex",
           lambda L, a: L.view_as_real(L.view_as_complex(a.contiguous() * 1) * (1 + 2j)),
           [((3, 2),), ((2, 3, 2),)]),
    OpSpec("view_as_real", lambda L, a: L.view_as_real(L.view_as_complex(a.contiguous() * 1) ** 2),
           [((3, 2),), ((2, 3, 2),)]),
    OpSpec("adjoint", lambda L, a: L.adjoint(a), [((2, 3),), ((2, 3, 4),)]),
]
