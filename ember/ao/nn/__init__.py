"""``ember.ao.nn``: ``quantized`` (and ``quantized.dynamic``), ``qat``, ``intrinsic``
(fused) and ``quantizable`` (observable float LSTM, MultiheadAttention) modules."""

from . import intrinsic, qat, quantizable, quantized  # noqa: F401
from .quantized import dynamic  # noqa: F401

__all__ = ["intrinsic", "qat", "quantizable", "quantized"]
