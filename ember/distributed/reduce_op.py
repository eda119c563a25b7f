"""``ReduceOp``: how ``all_reduce``, ``reduce`` and ``reduce_scatter_tensor`` combine values."""

from __future__ import annotations

import enum


class _RedOpType(enum.IntEnum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8

    def __repr__(self) -> str:
        return f"<RedOpType.{self.name}: {self.value}>"

    def __str__(self) -> str:
        return f"RedOpType.{self.name}"


_RedOpType.__name__ = _RedOpType.__qualname__ = "RedOpType"


class ReduceOp:
    """The reduction of a collective, PyTorch's ``dist.ReduceOp``: ``SUM``, ``AVG`` (the sum
    divided by the group's size), ``PRODUCT``, ``MIN``, ``MAX``, and the bitwise ``BAND``,
    ``BOR``, ``BXOR`` (integer and bool tensors).

    Example:
        >>> dist.all_reduce(t, op=dist.ReduceOp.MAX)
        >>> dist.ReduceOp.SUM
        <RedOpType.SUM: 0>
    """

    RedOpType = _RedOpType
    SUM = _RedOpType.SUM
    AVG = _RedOpType.AVG
    PRODUCT = _RedOpType.PRODUCT
    MIN = _RedOpType.MIN
    MAX = _RedOpType.MAX
    BAND = _RedOpType.BAND
    BOR = _RedOpType.BOR
    BXOR = _RedOpType.BXOR
    PREMUL_SUM = _RedOpType.PREMUL_SUM

    def __new__(cls, op=None):
        if isinstance(op, _RedOpType):
            return op
        raise TypeError(f"ReduceOp(): expected a ReduceOp such as ReduceOp.SUM, got {op!r}")


def check_op(op, fname: str) -> _RedOpType:
    """``op`` as a RedOpType, or PyTorch's TypeError."""
    if isinstance(op, _RedOpType):
        return op
    raise TypeError(f"{fname}(): op must be a ReduceOp (ReduceOp.SUM, ReduceOp.AVG, "
                    f"ReduceOp.MAX, ...), got {op!r}")
