"""Dynamic dimensions for :func:`ember.export.export`, as ``torch.export.Dim``.

A ``Dim`` names an input axis whose size may change after export (a batch, a sequence length);
``Dim.AUTO`` lets export decide (dynamic when the model allows it, static otherwise),
``Dim.DYNAMIC`` insists on dynamic (an error if the model fixes the size), ``Dim.STATIC``
keeps the example's size.
"""

from __future__ import annotations

import math

__all__ = ["Dim", "dims"]

class _IntInfinity:
    """The unbounded maximum of a ``Dim`` (``torch.utils._sympy.numbers.int_oo``): larger than
    every int, printed as ``int_oo``."""

    def __repr__(self) -> str:
        return "int_oo"

    def __eq__(self, other) -> bool:
        return isinstance(other, _IntInfinity) or other == math.inf

    def __hash__(self) -> int:
        return hash(math.inf)

    def __gt__(self, other) -> bool:
        return not isinstance(other, _IntInfinity)

    def __ge__(self, other) -> bool:
        return True

    def __lt__(self, other) -> bool:
        return False

    def __le__(self, other) -> bool:
        return isinstance(other, _IntInfinity)


int_oo = _IntInfinity()


class _DimHint:
    """``Dim.AUTO``/``Dim.DYNAMIC``/``Dim.STATIC``: a hint, not a named dimension."""

    def __init__(self, kind: str):
        self.kind = kind

    def __repr__(self) -> str:
        return f"DimHint({self.kind})"


class Dim:
    """A named dynamic dimension with an inclusive range, for ``dynamic_shapes=``.

    Args:
        name: the dimension's name (inputs that share a ``Dim`` must share the size).
        min: the smallest size allowed (default 0).
        max: the largest size allowed (default unbounded).

    Example:
        >>> batch = ember.export.Dim("batch", min=1, max=64)
        >>> ep = ember.export.export(model, (x,), dynamic_shapes={"x": {0: batch}})
    """

    AUTO = _DimHint("AUTO")
    DYNAMIC = _DimHint("DYNAMIC")
    STATIC = _DimHint("STATIC")

    def __init__(self, name: str, *, min: int | None = None, max: int | None = None):
        lo = 0 if min is None else int(min)
        hi = int_oo if max is None else int(max)
        if hi < lo:
            raise AssertionError(f"Cannot create Dim with inconsistent min={lo}, max={hi}")
        self.__name__ = name
        self.min, self.max = lo, hi

    def __repr__(self) -> str:
        # as torch prints it: min unless it is 2 (the smallest size export keeps dynamic),
        # max unless unbounded
        parts = [repr(self.__name__)]
        if self.min != 2:
            parts.append(f"min={self.min}")
        if self.max != int_oo:
            parts.append(f"max={self.max}")
        return f"Dim({', '.join(parts)})"


def dims(*names: str, min: int | None = None, max: int | None = None) -> tuple:
    """Several :class:`Dim` at once, with one range.

    Example:
        >>> batch, seq = ember.export.dims("batch", "seq", max=512)
    """
    return tuple(Dim(n, min=min, max=max) for n in names)
