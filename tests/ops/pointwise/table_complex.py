"""Op-table entries for ``ember/_ops/pointwise/complex.py``: the complex views ``view_as_real``
and ``view_as_complex`` (through real-valued outputs, so the table's float comparisons apply)
and ``adjoint``; also ``polar`` (it lives in ``ember/_creation_ranges.py``, built from them)."""

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
    # built from view_as_complex (its node named PolarBackward0, as torch's); abs kept positive
    OpSpec("polar", lambda L, a, b: L.view_as_real(L.polar(a.abs() + 0.5, b)),
           [((3,), (3,)), ((2, 3), (2, 3))]),
]
