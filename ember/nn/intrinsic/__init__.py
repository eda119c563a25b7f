"""``ember.nn.intrinsic``: the legacy name of ``ember.ao.nn.intrinsic`` (fused modules).

Example:
    >>> ember.nn.intrinsic.LinearReLU is ember.ao.nn.intrinsic.LinearReLU
    True
"""

from ...ao.nn.intrinsic import *  # noqa: F401,F403
from ...ao.nn.intrinsic import __all__  # noqa: F401


def __getattr__(name):
    # ``qat`` needs the QAT layers, which need this package: imported on first use
    if name == "qat":
        import importlib

        return importlib.import_module(f"{__name__}.qat")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
