"""``ember.ao.nn``: ``quantized`` (and ``quantized.dynamic``), ``qat`` and ``intrinsic``
(fused) modules."""

from . import intrinsic, qat, quantized  # noqa: F401
from .quantized import dynamic  # noqa: F401

__all__ = ["intrinsic", "qat", "quantized"]
