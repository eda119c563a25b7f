"""``ember.ao.nn.intrinsic``: fused module sequences (``fuse_modules`` makes them) that the
quantized backends run as one kernel: Conv+ReLU, Conv+BN(+ReLU), Linear+ReLU, BN+ReLU."""

from __future__ import annotations

import inspect

from ....nn.modules.container import Sequential

__all__ = ["ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "ConvBn1d", "ConvBn2d", "ConvBn3d",
           "ConvBnReLU1d", "ConvBnReLU2d", "ConvBnReLU3d", "LinearReLU", "LinearBn1d",
           "BNReLU2d", "BNReLU3d"]


class _FusedModule(Sequential):
    """A ``Sequential`` of modules that a quantized backend computes as one."""


def _listed(words: list) -> str:
    """``a``, ``a and b``, ``a, b, and c``."""
    if len(words) < 3:
        return " and ".join(words)
    return ", ".join(words[:-1]) + ", and " + words[-1]


def _fused(name: str, parts: str, kinds: tuple, args: str):
    """The fused class ``name``: built from modules of exactly the classes ``kinds`` (names in
    ``ember.nn``), passed as the parameters ``args`` (PyTorch's names)."""
    names = args.split(", ")

    def check(*modules):
        from .... import nn

        # Python's own words for a call with too many or too few arguments
        if len(modules) > len(kinds):
            raise TypeError(f"{name}.__init__() takes {len(kinds) + 1} positional arguments "
                            f"but {len(modules) + 1} were given")
        if len(modules) < len(kinds):
            absent = [f"'{n}'" for n in names[len(modules):]]
            plural = "s" if len(absent) > 1 else ""
            raise TypeError(f"{name}.__init__() missing {len(absent)} required positional "
                            f"argument{plural}: {_listed(absent)}")
        if any(type(m) is not getattr(nn, k) for m, k in zip(modules, kinds)):
            found = _listed([type(m).__name__ for m in modules])
            raise AssertionError(f"Incorrect types for input modules: {found}")

    def __init__(self, *modules):
        check(*modules)
        Sequential.__init__(self, *modules)

    # help() shows PyTorch's parameter names (``conv, bn, relu`` ...)
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter(n, positional) for n in ["self", *names]])
    __init__.__qualname__ = f"{name}.__init__"
    doc = (f"{parts}, fused: a ``Sequential`` of those modules whose ``convert`` gives one "
           f"quantized kernel.\n\n    Example:\n        >>> import ember.ao.nn.intrinsic as nni"
           f"\n        >>> nni.LinearReLU(ember.nn.Linear(2, 2), ember.nn.ReLU())[1]\n"
           f"        ReLU()\n    ")
    return type(name, (_FusedModule,), {"__init__": __init__, "__doc__": doc,
                                        "__module__": __name__})


def _conv_family(rank: int):
    conv, bn = f"Conv{rank}d", f"BatchNorm{rank}d"
    return (_fused(f"ConvReLU{rank}d", f"{conv} and ReLU", (conv, "ReLU"), "conv, relu"),
            _fused(f"ConvBn{rank}d", f"{conv} and {bn}", (conv, bn), "conv, bn"),
            _fused(f"ConvBnReLU{rank}d", f"{conv}, {bn} and ReLU", (conv, bn, "ReLU"),
                   "conv, bn, relu"))


ConvReLU1d, ConvBn1d, ConvBnReLU1d = _conv_family(1)
ConvReLU2d, ConvBn2d, ConvBnReLU2d = _conv_family(2)
ConvReLU3d, ConvBn3d, ConvBnReLU3d = _conv_family(3)
LinearReLU = _fused("LinearReLU", "Linear and ReLU", ("Linear", "ReLU"), "linear, relu")
LinearBn1d = _fused("LinearBn1d", "Linear and BatchNorm1d", ("Linear", "BatchNorm1d"),
                    "linear, bn")
BNReLU2d = _fused("BNReLU2d", "BatchNorm2d and ReLU", ("BatchNorm2d", "ReLU"),
                  "batch_norm, relu")
BNReLU3d = _fused("BNReLU3d", "BatchNorm3d and ReLU", ("BatchNorm3d", "ReLU"),
                  "batch_norm, relu")


def __getattr__(name):
    # ``qat`` needs the QAT layers, which need this package: imported on first use
    if name == "qat":
        import importlib

        return importlib.import_module(f"{__name__}.qat")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
