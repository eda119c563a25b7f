"""QuantStub / DeQuantStub / QuantWrapper: where a float model's input is to be quantized and
its output dequantized; ``convert`` swaps them for ``Quantize`` / ``DeQuantize``."""

from __future__ import annotations

from ...nn.modules.module import Module

__all__ = ["QuantStub", "DeQuantStub", "QuantWrapper"]


class QuantStub(Module):
    """Marks where float values enter the quantized part of a model: an identity until
    ``convert`` replaces it with a ``Quantize`` module using the observed scale.

    Example:
        >>> ember.ao.quantization.QuantStub()(ember.ones(2))
        tensor([1., 1.])
    """

    def __init__(self, qconfig=None):
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class DeQuantStub(Module):
    """Marks where quantized values leave for float: an identity until ``convert`` replaces it
    with a ``DeQuantize`` module.

    Example:
        >>> ember.ao.quantization.DeQuantStub()(ember.ones(2))
        tensor([1., 1.])
    """

    def __init__(self, qconfig=None):
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class QuantWrapper(Module):
    """``module`` between a ``QuantStub`` and a ``DeQuantStub``, so it can be quantized whole.

    Example:
        >>> w = ember.ao.quantization.QuantWrapper(ember.nn.Linear(2, 2))
        >>> w(ember.ones(1, 2)).shape
        torch.Size([1, 2])
    """

    def __init__(self, module):
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        self.add_module("quant", QuantStub(qconfig))
        self.add_module("dequant", DeQuantStub(qconfig))
        self.add_module("module", module)
        self.train(module.training)

    def forward(self, X):
        return self.dequant(self.module(self.quant(X)))
