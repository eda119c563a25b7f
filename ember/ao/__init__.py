"""``ember.ao``: architecture optimization, as ``torch.ao``: ``ember.ao.quantization``
(observers, qconfigs, prepare/convert, quantize_dynamic) and ``ember.ao.nn`` (quantized,
dynamic quantized, QAT and fused modules)."""

from . import nn, quantization  # noqa: F401

__all__ = ["nn", "quantization"]
