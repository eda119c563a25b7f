"""``ember.backends.quantized``: which quantized engine PyTorch would run (``engine``, one of
``supported_engines``). ember has one set of NumPy kernels; the engine decides what PyTorch's
engines decide for results: the x86 engines (``x86``, ``fbgemm``, ``onednn``) quantize dynamic
activations with ``reduce_range`` (7 bits), ``qnnpack`` with the full 8 bits.

Example:
    >>> import ember.backends.quantized
    >>> ember.backends.quantized.engine
    'x86'
"""

from __future__ import annotations

import sys
import types

supported_engines = ["qnnpack", "onednn", "x86", "fbgemm"]


class _QuantizedEngine(types.ModuleType):
    """The module with ``engine`` as a checked, settable attribute (as PyTorch's)."""

    _engine = "x86"

    @property
    def engine(self) -> str:
        return type(self)._engine

    @engine.setter
    def engine(self, value: str) -> None:
        if value not in supported_engines:
            raise RuntimeError(f"{value} is not a valid value for quantized engine")
        type(self)._engine = value


def reduce_range() -> bool:
    """Whether the current engine quantizes dynamic activations with one bit less."""
    return sys.modules[__name__].engine != "qnnpack"


sys.modules[__name__].__class__ = _QuantizedEngine
