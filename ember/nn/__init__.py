"""``ember.nn``: modules, parameters, layers, losses (mirrors ``torch.nn``)."""

from . import attention, functional, init, parallel, utils  # noqa: F401
from . import modules as _modules_pkg
from .modules import *  # noqa: F401,F403
from .modules import _OPTIONAL as _opt  # noqa: F401
from .modules import module as _module_mod  # noqa: F401
from .modules.module import Module  # noqa: F401
from .parallel import DataParallel  # noqa: F401
from .parameter import (  # noqa: F401
    Buffer,
    Parameter,
    UninitializedBuffer,
    UninitializedParameter,
)

for _k in dir(_modules_pkg):
    if _k[:1].isupper():
        globals()[_k] = getattr(_modules_pkg, _k)


def __getattr__(name):
    # the quantization namespaces (torch.nn.quantized, .intrinsic, .qat, .quantizable) load
    # on first use
    if name in ("quantized", "intrinsic", "qat", "quantizable"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
