"""PyTorch's top-level switches and small predicates: ``set_float32_matmul_precision``,
``set_num_interop_threads``, ``set_warn_always``, ``set_default_tensor_type``, ``typename``,
``is_nonzero`` and friends, the ``has_*`` build flags, the device error classes,
``get_device_module``, ``classproperty`` and the IPU/XLA autocast switches.

Switches that tune hardware ember does not drive (TF32 matmuls, denormal flushing, an interop
thread pool) keep PyTorch's checks and values so programs that set them run unchanged, but
they change no arithmetic: NumPy computes as it always does.
"""

from __future__ import annotations

import importlib
import threading
import warnings

from . import _dtype as D
from ._backend import Device
from ._tensor import Tensor
from ._threads import _cpus

__all__ = [
    "set_float32_matmul_precision", "get_float32_matmul_precision", "set_flush_denormal",
    "get_num_interop_threads", "set_num_interop_threads", "set_warn_always",
    "is_warn_always_enabled", "set_default_tensor_type", "typename", "is_inference",
    "is_nonzero", "is_same_size", "is_signed", "is_distributed", "get_device",
    "compiled_with_cxx11_abi", "has_lapack", "has_mkl", "has_openmp", "has_spectral",
    "OutOfMemoryError", "AcceleratorError", "GradScaler", "get_device_module",
    "is_vulkan_available", "init_num_threads", "classproperty", "get_autocast_ipu_dtype",
    "set_autocast_ipu_dtype", "is_autocast_ipu_enabled", "set_autocast_ipu_enabled",
    "get_autocast_xla_dtype", "set_autocast_xla_dtype", "is_autocast_xla_enabled",
    "set_autocast_xla_enabled",
]

# torch.GradScaler is torch.amp.GradScaler, the same class
from .amp import GradScaler  # noqa: E402

# What ember's "build" has: LAPACK through NumPy's linalg, FFTs through numpy.fft; no MKL
# (NumPy's wheels ship OpenBLAS) and no OpenMP (ember runs its own thread pool).
has_lapack = True
has_spectral = True
has_mkl = False
has_openmp = False


class OutOfMemoryError(RuntimeError):
    """Raised when a device runs out of memory (``torch.OutOfMemoryError``).

    Example:
        >>> issubclass(ember.OutOfMemoryError, RuntimeError)
        True
    """

    __module__ = "ember"


class AcceleratorError(RuntimeError):
    """Raised when work on an accelerator fails (``torch.AcceleratorError``).

    Example:
        >>> issubclass(ember.AcceleratorError, RuntimeError)
        True
    """

    __module__ = "ember"


# -- float32 matmul precision -----------------------------------------------------------------

_matmul_precision = "highest"
# cuBLAS's float32 mode (``backends.cuda.matmul.fp32_precision``): "none" until either API sets
# it; set_float32_matmul_precision and ``matmul.allow_tf32`` each update the other, as in torch
_cublas_fp32_precision = "none"


def set_float32_matmul_precision(precision: str) -> None:
    """Set the float32 matmul precision: ``"highest"``, ``"high"`` or ``"medium"``. On GPUs
    PyTorch then allows TF32 or bfloat16 internally; NumPy and CuPy always multiply float32 in
    full precision, so in ember the setting is recorded and changes no result. Any other
    string warns and is ignored, as in PyTorch.

    Example:
        >>> ember.set_float32_matmul_precision("high")
        >>> ember.get_float32_matmul_precision()
        'high'
        >>> ember.set_float32_matmul_precision("highest")
    """
    global _matmul_precision, _cublas_fp32_precision
    if not isinstance(precision, str):
        raise RuntimeError("set_float32_matmul_precision expects a str, but got "
                           f"{type(precision).__name__}")
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _matmul_precision = precision
    _cublas_fp32_precision = "ieee" if precision == "highest" else "tf32"


def get_float32_matmul_precision() -> str:
    """The float32 matmul precision ``set_float32_matmul_precision`` set (``"highest"`` by
    default).

    Example:
        >>> ember.get_float32_matmul_precision()
        'highest'
    """
    return _matmul_precision


def set_flush_denormal(mode: bool) -> bool:
    """Ask the CPU to flush denormal floats to zero; returns whether that is supported. NumPy
    cannot switch its arithmetic to flush-to-zero, so ember answers False (PyTorch's answer on a
    CPU without the feature) and nothing changes.

    Example:
        >>> ember.set_flush_denormal(True)
        False
    """
    if not isinstance(mode, bool):
        raise RuntimeError(f"flush_denormal expects a bool, but got {type(mode).__name__}")
    return False


# -- interop threads ----------------------------------------------------------------------------

_interop_threads = None  # None until set: then PyTorch refuses a second call


def get_num_interop_threads() -> int:
    """The number of inter-op threads (one per CPU core unless set). ember runs no separate
    inter-op pool: the value is kept for programs that read it back.

    Example:
        >>> ember.get_num_interop_threads() >= 1
        True
    """
    return _cpus() if _interop_threads is None else _interop_threads


def set_num_interop_threads(n: int) -> None:
    """Set the number of inter-op threads, once per process (a second call raises, as in
    PyTorch). ember has no inter-op pool, so only ``get_num_interop_threads`` sees the value.

    Example:
        >>> ember.set_num_interop_threads(2)
        >>> ember.get_num_interop_threads()
        2
    """
    global _interop_threads
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"set_num_interop_threads expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    if _interop_threads is not None:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work has "
                           "started or set_num_interop_threads called")
    _interop_threads = n


# -- warnings ---------------------------------------------------------------------------------

_warn_always = False
_warned_once: set = set()


def set_warn_always(b: bool, /) -> None:
    """When True, warnings that PyTorch gives once per process (such as
    ``set_default_tensor_type``'s deprecation) are given every time.

    Example:
        >>> ember.set_warn_always(True)
        >>> ember.is_warn_always_enabled()
        True
        >>> ember.set_warn_always(False)
    """
    global _warn_always
    if not isinstance(b, bool):
        raise RuntimeError(f"setWarnOnlyOnce expects a bool, but got {type(b).__name__}")
    _warn_always = b


def is_warn_always_enabled() -> bool:
    """Whether ``set_warn_always(True)`` is in effect (False by default).

    Example:
        >>> ember.is_warn_always_enabled()
        False
    """
    return _warn_always


def _warn_once(key: str, message: str, stacklevel: int = 3) -> None:
    """A UserWarning given once per process, or every time under ``set_warn_always(True)``."""
    if _warn_always or key not in _warned_once:
        _warned_once.add(key)
        warnings.warn(message, UserWarning, stacklevel=stacklevel)


def _warn_once_outside(key: str, message: str) -> None:
    """A once-per-process UserWarning (a TORCH_WARN_ONCE of torch's C++ kernels), attributed
    to the first frame outside ember, as torch's C++ warnings are."""
    import sys

    level, frame = 1, sys._getframe(1)
    package = __name__.rsplit(".", 1)[0]
    root = package + "."
    # ember's own frames include the package's __init__ (its public-op wrappers live there)
    while frame is not None and (frame.f_globals.get("__name__", "") == package
                                 or frame.f_globals.get("__name__", "").startswith(root)):
        level, frame = level + 1, frame.f_back
    _warn_once(key, message, stacklevel=level + 2)


def _warn_complex_to_real() -> None:
    """PyTorch's warning for a complex -> real cast (``to``, ``float()``, ``copy_`` ...): one
    copy kernel gives it, so it comes once per process for all of them."""
    _warn_once_outside("complex_to_real",
                       "Casting complex values to real discards the imaginary part")


# -- legacy default tensor type -----------------------------------------------------------------

def _legacy_types() -> dict:
    """The legacy constructors ``set_default_tensor_type`` understands, mapped to their dtypes;
    the integer and bool ones map to their dtype too, so that they are refused as in PyTorch."""
    from . import _creation

    return {getattr(_creation, dt._legacy): dt for dt in
            (D.float16, D.bfloat16, D.float32, D.float64, D.int64, D.int32, D.int16, D.int8,
             D.uint8, D.bool)}


def _import_dotted_name(name: str):
    """``torch.FloatTensor`` (or ``ember.FloatTensor``) as an object; other dotted names are
    imported, as PyTorch does."""
    first, *rest = name.split(".")
    obj = _module() if first in ("torch", "ember") else importlib.import_module(first)
    for part in rest:
        obj = getattr(obj, part)
    return obj


def _module():
    import ember

    return ember


def set_default_tensor_type(t, /) -> None:
    """Deprecated: set the default floating dtype from a legacy tensor type, e.g.
    ``ember.DoubleTensor`` or the string ``"torch.DoubleTensor"``. Use ``set_default_dtype``.

    Example:
        >>> ember.set_default_tensor_type(ember.DoubleTensor)  # warns: deprecated
        >>> ember.tensor([1.0]).dtype
        torch.float64
        >>> ember.set_default_dtype(ember.float32)
    """
    if isinstance(t, str):
        t = _import_dotted_name(t)
    _warn_once("set_default_tensor_type",
               "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
               "torch.set_default_dtype() and torch.set_default_device() as alternatives.")
    sparse = importlib.import_module("ember.sparse")
    if any(t is getattr(sparse, dt._legacy, None) for dt in (D.float32, D.float64, D.float16,
                                                            D.bfloat16)):
        raise TypeError("only dense types are supported as the default type")
    dt = _legacy_types().get(t) if callable(t) else None
    if dt is None:
        raise TypeError("invalid type object: only floating-point types are supported as the "
                        "default type")
    if not dt.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    D.set_default_dtype(dt)


# -- small predicates on tensors ------------------------------------------------------------------

def _tensor(fname: str, value, name: str = "input", pos: int = 1) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fname}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(value).__name__}")
    return value


def typename(obj, /) -> str:
    """The type of ``obj`` as a string: a tensor's legacy type name (``'torch.FloatTensor'``),
    else the object's module and qualified name.

    Example:
        >>> ember.typename(ember.ones(2))
        'torch.FloatTensor'
        >>> ember.typename(3)
        'int'
    """
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def is_inference(input) -> bool:
    """Whether ``input`` was made under ``inference_mode``.

    Example:
        >>> ember.is_inference(ember.ones(2))
        False
    """
    return _tensor("is_inference", input).is_inference()


def is_nonzero(input) -> bool:
    """Whether a one-element tensor is nonzero; more or fewer elements raise RuntimeError.

    Example:
        >>> ember.is_nonzero(ember.tensor([0.5]))
        True
    """
    return _tensor("is_nonzero", input).is_nonzero()


def is_same_size(input, other) -> bool:
    """Whether two tensors have the same shape.

    Example:
        >>> ember.is_same_size(ember.zeros(2, 3), ember.ones(2, 3))
        True
    """
    _tensor("is_same_size", input)
    return input.is_same_size(_tensor("is_same_size", other, "other", 2))


def is_signed(input) -> bool:
    """Whether ``input``'s dtype is signed (False for bool and uint8).

    Example:
        >>> ember.is_signed(ember.tensor([1], dtype=ember.uint8))
        False
    """
    return _tensor("is_signed", input).is_signed()


def is_distributed(input) -> bool:
    """False: ember tensors are never distributed.

    Example:
        >>> ember.is_distributed(ember.ones(2))
        False
    """
    return _tensor("is_distributed", input).is_distributed()


def get_device(input) -> int:
    """The GPU index of a CUDA tensor, -1 for a CPU tensor.

    Example:
        >>> ember.get_device(ember.ones(2))
        -1
    """
    return _tensor("get_device", input).get_device()


def compiled_with_cxx11_abi() -> bool:
    """True, as for PyTorch's wheels (ember has no C++ part; C++-extension builds that ask get
    the answer they expect).

    Example:
        >>> ember.compiled_with_cxx11_abi()
        True
    """
    return True


# -- device modules and small switches ----------------------------------------------------------

def _device_type(device: str) -> str:
    """The type in a device string. ember's devices are CPU and CUDA; the other accelerators
    PyTorch names (``"mps"``, ``"xpu"``, ``"mtia"``) have modules that answer "not available",
    so their names are read here rather than refused."""
    try:
        return Device(device).type
    except RuntimeError:
        name = device.split(":")[0]
        if name in ("mps", "xpu", "mtia"):
            return name
        raise


def get_device_module(device=None):
    """The module for a device type (``ember.cuda`` for ``"cuda:0"``, ``ember.cpu`` for
    ``ember.device("cpu")``); with no device, the current accelerator's module, or
    ``ember.cpu`` when there is no accelerator.

    Example:
        >>> ember.get_device_module("cpu").__name__
        'ember.cpu'
    """
    if isinstance(device, Device):
        name = device.type
    elif isinstance(device, str):
        name = _device_type(device)
    elif device is None:
        accelerator = importlib.import_module("ember.accelerator").current_accelerator()
        name = "cpu" if accelerator is None else accelerator.type
    else:
        raise RuntimeError(f"Invalid value of device '{device}', expect torch.device, str, or "
                           "None")
    module = getattr(_module(), name, None)
    if module is None:
        raise RuntimeError(f"Device '{name}' does not have a corresponding module registered as "
                           f"'torch.{name}'.")
    return module


def is_vulkan_available() -> bool:
    """False: ember has no Vulkan backend (PyTorch's answer without one).

    Example:
        >>> ember.is_vulkan_available()
        False
    """
    return False


def init_num_threads() -> None:
    """Make the current thread use the ``set_num_threads`` setting. ember's thread count is
    process-wide, so every thread already does and this does nothing.

    Example:
        >>> ember.init_num_threads()
    """


class _ClassPropertyDescriptor:
    def __init__(self, fget):
        self.fget = fget

    def __get__(self, instance, owner=None):
        if owner is None:
            owner = type(instance)
        return self.fget.__get__(instance, owner)()


def classproperty(func):
    """A read-only property of a class (``torch.classproperty``): ``func`` gets the class.

    Example:
        >>> class Config:
        ...     @ember.classproperty
        ...     def name(cls):
        ...         return cls.__name__
        >>> Config.name
        'Config'
    """
    if not isinstance(func, (classmethod, staticmethod)):
        func = classmethod(func)
    return _ClassPropertyDescriptor(func)


# -- IPU and XLA autocast switches --------------------------------------------------------------
# ember drives neither device; PyTorch keeps these per thread and apart from the CPU and CUDA
# autocast state, so they are stored values here with PyTorch's defaults.

class _OtherAutocast(threading.local):
    def __init__(self):
        self.enabled = {"ipu": False, "xla": False}
        self.dtype = {"ipu": D.float16, "xla": D.bfloat16}


_other_autocast = _OtherAutocast()


def _deprecated_autocast(old: str, new: str) -> None:
    warnings.warn(f"torch.{old} is deprecated. Please use torch.{new} instead.",
                  DeprecationWarning, stacklevel=3)


def _check_enabled(enabled) -> None:
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool (got {type(enabled).__name__})")


def _check_dtype(dtype) -> None:
    if not isinstance(dtype, D.dtype):
        raise TypeError(f"dtype must be a torch.dtype (got {type(dtype).__name__})")


def is_autocast_ipu_enabled() -> bool:
    """Whether IPU autocast is on (deprecated in PyTorch, and warns so; False by default).

    Example:
        >>> ember.is_autocast_ipu_enabled()  # warns: deprecated
        False
    """
    _deprecated_autocast("is_autocast_ipu_enabled()", "is_autocast_enabled('ipu')")
    return _other_autocast.enabled["ipu"]


def set_autocast_ipu_enabled(enabled: bool, /) -> None:
    """Record IPU autocast as on or off (deprecated; ember has no IPU, so no op changes).

    Example:
        >>> ember.set_autocast_ipu_enabled(False)  # warns: deprecated
    """
    _check_enabled(enabled)
    _deprecated_autocast("set_autocast_ipu_enabled(enabled)",
                         "set_autocast_enabled('ipu', enabled)")
    _other_autocast.enabled["ipu"] = enabled


def get_autocast_ipu_dtype():
    """The dtype IPU autocast would cast to (deprecated; float16 by default).

    Example:
        >>> ember.get_autocast_ipu_dtype()  # warns: deprecated
        torch.float16
    """
    _deprecated_autocast("get_autocast_ipu_dtype()", "get_autocast_dtype('ipu')")
    return _other_autocast.dtype["ipu"]


def set_autocast_ipu_dtype(dtype, /) -> None:
    """Record the dtype IPU autocast would cast to (deprecated).

    Example:
        >>> ember.set_autocast_ipu_dtype(ember.float16)  # warns: deprecated
    """
    _check_dtype(dtype)
    _deprecated_autocast("set_autocast_ipu_dtype(dtype)", "set_autocast_dtype('ipu', dtype)")
    _other_autocast.dtype["ipu"] = dtype


def is_autocast_xla_enabled() -> bool:
    """Whether XLA autocast is on (deprecated in PyTorch, and warns so; False by default).

    Example:
        >>> ember.is_autocast_xla_enabled()  # warns: deprecated
        False
    """
    _deprecated_autocast("is_autocast_xla_enabled()", "is_autocast_enabled('xla')")
    return _other_autocast.enabled["xla"]


def set_autocast_xla_enabled(enabled: bool, /) -> None:
    """Record XLA autocast as on or off (deprecated; ember has no XLA, so no op changes).

    Example:
        >>> ember.set_autocast_xla_enabled(False)  # warns: deprecated
    """
    _check_enabled(enabled)
    _deprecated_autocast("set_autocast_xla_enabled(enabled)",
                         "set_autocast_enabled('xla', enabled)")
    _other_autocast.enabled["xla"] = enabled


def get_autocast_xla_dtype():
    """The dtype XLA autocast would cast to (deprecated; bfloat16 by default).

    Example:
        >>> ember.get_autocast_xla_dtype()  # warns: deprecated
        torch.bfloat16
    """
    _deprecated_autocast("get_autocast_xla_dtype()", "get_autocast_dtype('xla')")
    return _other_autocast.dtype["xla"]


def set_autocast_xla_dtype(dtype, /) -> None:
    """Record the dtype XLA autocast would cast to (deprecated).

    Example:
        >>> ember.set_autocast_xla_dtype(ember.bfloat16)  # warns: deprecated
    """
    _check_dtype(dtype)
    _deprecated_autocast("set_autocast_xla_dtype(dtype)", "set_autocast_dtype('xla', dtype)")
    _other_autocast.dtype["xla"] = dtype
