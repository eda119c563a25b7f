"""``LinearCrossEntropyOptions`` (``torch.nn.modules.linear_cross_entropy_options``): the
settings of PyTorch's chunked ``linear_cross_entropy``.

ember has no chunked kernel: with options the loss runs the reference path (one ``linear``,
then ``cross_entropy``), which gives the same values; the options are kept and checked so that
programs written for PyTorch run unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

__all__ = ["LinearCrossEntropyOptions"]

_POLICIES = ("accurate", "balanced", "compact", "auto")


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """How PyTorch would chunk ``linear_cross_entropy`` over the batch (``batch_chunk_size``
    rows per chunk, or a ``chunking_method``), accumulate (``acc_policy``, ``acc_dtype``) and
    whether a second backward is allowed (``allow_retain_graph``). ember computes the reference
    path whatever they say.

    Example:
        >>> opts = ember.nn.LinearCrossEntropyOptions(batch_chunk_size=256)
        >>> loss = ember.nn.functional.linear_cross_entropy(
        ...     ember.randn(4, 8), ember.randn(10, 8), ember.tensor([1, 2, 3, 4]), options=opts)
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: Literal["accurate", "balanced", "compact", "auto"] = "auto"
    acc_dtype: object = None

    def __post_init__(self):  # PyTorch's checks and messages
        if self.acc_policy not in _POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            factor = factor if sep else "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        size = self.batch_chunk_size
        if not (size is None or (isinstance(size, int) and size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {size!r}")
        from ... import _dtype as D

        if self.acc_dtype is not None and self.acc_dtype not in (
                D.float16, D.bfloat16, D.float32, D.float64):
            raise ValueError(
                "acc_dtype must be one of {None, torch.float16, torch.bfloat16, torch.float32, "
                f"torch.float64}}, got {self.acc_dtype!r}. Pass acc_dtype=None to let the op "
                "pick automatically.")
