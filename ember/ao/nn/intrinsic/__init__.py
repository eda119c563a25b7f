"""``ember.ao.nn.intrinsic``: fused module sequences (``fuse_modules`` makes them) that the
quantized backends run as one kernel: Conv+ReLU, Conv+BN(+ReLU), Linear+ReLU, BN+ReLU."""

from __future__ import annotations

from ....nn.modules.container import Sequential

__all__ = ["ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "ConvBn1d", "ConvBn2d", "ConvBn3d",
           "ConvBnReLU1d", "ConvBnReLU2d", "ConvBnReLU3d", "LinearReLU", "LinearBn1d",
           "BNReLU2d", "BNReLU3d"]


class _FusedModule(Sequential):
    """A ``Sequential`` of modules that a quantized backend computes as one."""


def _fused(name: str, parts: str):
    def __init__(self, *modules):
        Sequential.__init__(self, *modules)

    doc = (f"{parts}, fused: a ``Sequential`` of those modules whose ``convert`` gives one "
           f"quantized kernel.\n\n    Example:\n        >>> import ember.ao.nn.intrinsic as nni"
           f"\n        >>> nni.LinearReLU(ember.nn.Linear(2, 2), ember.nn.ReLU())[1]\n"
           f"        ReLU()\n    ")
    return type(name, (_FusedModule,), {"__init__": __init__, "__doc__": doc,
                                        "__module__": __name__})


ConvReLU1d = _fused("ConvReLU1d", "Conv1d and ReLU")
ConvReLU2d = _fused("ConvReLU2d", "Conv2d and ReLU")
ConvReLU3d = _fused("ConvReLU3d", "Conv3d and ReLU")
ConvBn1d = _fused("ConvBn1d", "Conv1d and BatchNorm1d")
ConvBn2d = _fused("ConvBn2d", "Conv2d and BatchNorm2d")
ConvBn3d = _fused("ConvBn3d", "Conv3d and BatchNorm3d")
ConvBnReLU1d = _fused("ConvBnReLU1d", "Conv1d, BatchNorm1d and ReLU")
ConvBnReLU2d = _fused("ConvBnReLU2d", "Conv2d, BatchNorm2d and ReLU")
ConvBnReLU3d = _fused("ConvBnReLU3d", "Conv3d, BatchNorm3d and ReLU")
LinearReLU = _fused("LinearReLU", "Linear and ReLU")
LinearBn1d = _fused("LinearBn1d", "Linear and BatchNorm1d")
BNReLU2d = _fused("BNReLU2d", "BatchNorm2d and ReLU")
BNReLU3d = _fused("BNReLU3d", "BatchNorm3d and ReLU")


def __getattr__(name):
    # ``qat`` needs the QAT layers, which need this package: imported on first use
    if name == "qat":
        import importlib

        return importlib.import_module(f"{__name__}.qat")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
