"""ONNX exporter errors, as in ``torch.onnx.errors``."""

from __future__ import annotations

__all__ = ["OnnxExporterError", "UnsupportedOperatorError", "SymbolicValueError"]


class OnnxExporterError(RuntimeError):
    """Errors raised by the ONNX exporter (and importer).

    Example:
        >>> issubclass(ember.onnx.errors.OnnxExporterError, RuntimeError)
        True
    """


class UnsupportedOperatorError(OnnxExporterError):
    """An op the graph holds has no ONNX counterpart (or the importer meets an operator it does
    not know); the message names the op and the module it came from.

    Example:
        >>> issubclass(ember.onnx.errors.UnsupportedOperatorError, ember.onnx.OnnxExporterError)
        True
    """


class SymbolicValueError(OnnxExporterError):
    """A value the exported graph needs depends on a dynamic axis in a way ONNX cannot express
    here, or on the data itself.

    Example:
        >>> issubclass(ember.onnx.errors.SymbolicValueError, ember.onnx.OnnxExporterError)
        True
    """
