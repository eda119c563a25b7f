"""What sparse and quantized payloads share: objects that stand where a dense tensor keeps its
NumPy array (``Tensor._data``) and must refuse array arithmetic instead of half-working."""

from __future__ import annotations

ARRAY_OPERATORS = (
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
    "__rtruediv__", "__floordiv__", "__mod__", "__pow__", "__rpow__", "__matmul__",
    "__rmatmul__", "__neg__", "__abs__", "__invert__", "__lt__", "__le__", "__gt__", "__ge__",
    "__getitem__", "__setitem__", "__iter__", "__float__", "__int__", "__index__", "__and__",
    "__or__", "__xor__")


def refuse_array_operators(cls, error_for) -> None:
    """Give ``cls`` every operator in ``ARRAY_OPERATORS`` as a method raising
    ``error_for(name)``: code that treats the payload as an array fails with that error."""
    for name in ARRAY_OPERATORS:
        def method(self, *args, _name=name, **kwargs):
            raise error_for(_name)

        method.__name__ = name
        setattr(cls, name, method)
