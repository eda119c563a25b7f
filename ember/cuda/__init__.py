"""``ember.cuda``: PyTorch's ``torch.cuda`` over CuPy (False, cleanly, without CuPy or a GPU).

ember's GPU arrays are CuPy arrays from CuPy's default memory pool, and its kernels run on
CuPy's current stream, so the memory statistics, streams and events here are CuPy's.

Without CUDA every name answers as in PyTorch's CPU build: counters are 0, statistics empty,
``get_rng_state_all()`` is ``[]``, seeding does nothing, and the calls that need a GPU raise
PyTorch's error (a ``CudaUnavailableError``: both the AssertionError torch raises and a
RuntimeError, with a message naming the fix). Where torch's CPU build fails by accident (an
AttributeError for a binding it lacks, a KeyError, a TypeError comparing None), ember answers
as a CUDA build does before any GPU work, or raises that same clean error.

The concepts live in submodules, as in PyTorch: ``memory``, ``random``, ``streams``,
``graphs``, ``nvtx``, ``sparse``, ``amp``, ``profiler``, ``tunable``, ``nccl``, ``gds``,
``green_contexts``, ``jiterator``.

Example:
    >>> device = "cuda" if ember.cuda.is_available() else "cpu"
"""

from __future__ import annotations

# The standard-library and typing names torch.cuda's namespace carries, so that code reaching
# them through torch.cuda (rare, but public) finds the same objects.
import importlib  # noqa: F401
import os  # noqa: F401
import platform  # noqa: F401
import threading  # noqa: F401
import traceback  # noqa: F401
import warnings  # noqa: F401
from collections.abc import Callable  # noqa: F401
from functools import lru_cache  # noqa: F401
from typing import TYPE_CHECKING, Any, NewType, Optional, cast  # noqa: F401

from .._backend import Device, cuda_available, cuda_device_count  # noqa: F401  (torch.cuda.Device)
from .._config import AcceleratorError, OutOfMemoryError
from ..amp._device_aliases import cuda_amp as amp  # torch.cuda.amp: deprecated amp spellings
from . import (
    _runtime,
    gds,
    graphs,
    green_contexts,
    jiterator,
    memory,
    nccl,
    nvtx,
    profiler,
    random,
    sparse,
    streams,
    tunable,
)
from ._legacy_types import STORAGE_TYPES, TENSOR_TYPES
from ._runtime import is_initialized
from .graphs import (
    CUDAGraph,
    graph,
    graph_pool_handle,
    is_current_stream_capturing,
    make_graphed_callables,
)
from .green_contexts import GreenContext
from .memory import *  # noqa: F403  (torch.cuda re-exports torch.cuda.memory)
from .random import *  # noqa: F403  (and torch.cuda.random)
from .streams import (
    Event,
    ExternalStream,
    Stream,
    StreamContext,
    current_stream,
    default_stream,
    get_stream_from_external,
    set_stream,
    stream,
)

__all__ = [
    "is_available", "is_initialized", "init", "device_count", "current_device", "set_device",
    "device", "device_of", "get_device_name", "get_device_capability", "get_device_properties",
    "get_arch_list", "get_gencode_flags", "can_device_access_peer", "synchronize",
    "is_bf16_supported", "is_tf32_supported", "ipc_collect", "cudart", "check_error",
    "current_blas_handle", "current_solver_handle", "get_sync_debug_mode",
    "set_sync_debug_mode", "clock_rate", "device_memory_used", "memory_usage", "power_draw",
    "temperature", "utilization", "CudaError", "DeferredCudaCallError", "OutOfMemoryError",
    "AcceleratorError", "cudaStatus", "has_half", "has_magma", "default_generators",  # noqa: F405  (module __getattr__)
    # torch.cuda.memory's and torch.cuda.random's names, as those modules list them
    *(n for n in memory.__all__ if n != "is_initialized"), *random.__all__,
    # streams and graphs
    "Stream", "ExternalStream", "Event", "StreamContext", "stream", "current_stream",
    "default_stream", "set_stream", "get_stream_from_external", "CUDAGraph", "graph",
    "graph_pool_handle", "is_current_stream_capturing", "make_graphed_callables",
    "GreenContext",
    # submodules
    "amp", "memory", "random", "streams", "graphs", "nvtx", "sparse", "jiterator", "tunable",
    "profiler", "nccl", "gds", "green_contexts",
    *TENSOR_TYPES, *STORAGE_TYPES,
]

globals().update(TENSOR_TYPES)   # FloatTensor, LongTensor … (the GPU tensor types)
globals().update(STORAGE_TYPES)  # FloatStorage, LongStorage …

has_half = True    # every GPU ember runs on computes float16
has_magma = False  # ember's GPU linear algebra is CuPy's (cuSOLVER), not MAGMA

# ember ships no CUDA binaries, so it has no compute-capability requirements of its own to
# check a GPU against (torch's tables describe its wheels' builds)
DEVICE_REQUIREMENT: dict = {}
PYTORCH_RELEASES_CODE_CC: dict = {}


class _ClassPropertyDescriptor:
    def __init__(self, fget):
        self.fget = fget

    def __get__(self, instance, owner=None):
        return self.fget(owner if owner is not None else type(instance))


def classproperty(func):
    """A read-only property of the class (it works on the class and on its instances).

    Example:
        >>> class A:
        ...     @ember.cuda.classproperty
        ...     def name(cls):
        ...         return cls.__name__
        >>> A.name
        'A'
    """
    if isinstance(func, classmethod):
        func = func.__func__
    return _ClassPropertyDescriptor(func)


class CudaError(RuntimeError):
    """A CUDA runtime error, from its error code (``check_error`` raises it).

    Example:
        >>> str(ember.cuda.CudaError(2)).startswith("CUDA error")  # doctest: +SKIP
        True
    """

    def __init__(self, code: int) -> None:
        message = "CUDA error"
        cp = _runtime.loaded_cupy()
        get_string = getattr(getattr(cp, "cuda", None), "runtime", None)
        get_string = getattr(get_string, "getErrorString", None)
        if get_string is not None:
            try:
                text = get_string(code)
                message = text.decode() if isinstance(text, bytes) else str(text)
            except Exception:  # an unknown code: keep the number
                pass
        super().__init__(f"{message} ({code})")


class DeferredCudaCallError(Exception):
    """Raised when a CUDA call queued before CUDA started fails once it starts.

    Example:
        >>> issubclass(ember.cuda.DeferredCudaCallError, Exception)
        True
    """


class cudaStatus:
    """The CUDA runtime status codes ``check_error`` knows.

    Example:
        >>> ember.cuda.cudaStatus.SUCCESS
        0
    """

    SUCCESS: int = 0
    ERROR_NOT_READY: int = 34


def check_error(res: int) -> None:
    """Raise ``CudaError`` for a nonzero CUDA status code (0 is success).

    Example:
        >>> ember.cuda.check_error(0)
    """
    if res != cudaStatus.SUCCESS:
        raise CudaError(res)


def is_available() -> bool:
    """True when CuPy is installed and a GPU is present.

    Example:
        >>> ember.cuda.is_available()  # on a machine without a GPU
        False
    """
    return cuda_available()


def device_count() -> int:
    """The number of GPUs CuPy sees (0 without CuPy or a GPU).

    Example:
        >>> ember.cuda.device_count()  # on a machine without a GPU
        0
    """
    return cuda_device_count()


def init() -> None:
    """Start CUDA now rather than on first use (raises without CUDA, as in PyTorch).

    Example:
        >>> ember.cuda.init()  # on a GPU machine
    """
    _runtime.cupy("ember.cuda.init() starts CUDA")


def current_device() -> int:
    """The index of the current GPU.

    Example:
        >>> ember.cuda.current_device()  # on a GPU machine
        0
    """
    return int(_runtime.cupy().cuda.runtime.getDevice())


def set_device(device) -> None:
    """Make ``device`` (an index, ``"cuda:1"`` or an ember.device) the current GPU; a negative
    index does nothing, as in PyTorch.

    Example:
        >>> ember.cuda.set_device(0)  # on a GPU machine
    """
    index = _runtime.index(device)
    if index < 0:
        return
    cp = _runtime.cupy()
    if index >= cp.cuda.runtime.getDeviceCount():
        raise RuntimeError(f"CUDA error: invalid device ordinal {index}")
    cp.cuda.runtime.setDevice(index)


class device:
    """``with ember.cuda.device(1):`` makes GPU 1 current for the block and puts the previous
    one back after it. A negative index or None changes nothing (on any machine); a non-cuda
    device raises ValueError.

    Example:
        >>> with ember.cuda.device(-1):
        ...     pass
    """

    def __init__(self, device):
        self.idx = -1 if device is None else _runtime.index(device, optional=True) \
            if not isinstance(device, str) or device != "cuda" else None
        self.prev_idx = -1

    def __enter__(self):
        if self.idx is None or self.idx < 0:
            return None
        cp = _runtime.cupy(f"ember.cuda.device({self.idx}) needs a GPU")
        self.prev_idx = int(cp.cuda.runtime.getDevice())
        if self.idx != self.prev_idx:
            set_device(self.idx)
        return None

    def __exit__(self, *exc):
        if self.idx is not None and self.idx >= 0 and self.prev_idx != self.idx:
            _runtime.cupy().cuda.runtime.setDevice(self.prev_idx)
        return False


class device_of(device):
    """``with ember.cuda.device_of(t):`` makes ``t``'s GPU current for the block (a CPU
    tensor changes nothing).

    Example:
        >>> with ember.cuda.device_of(ember.zeros(2)):
        ...     pass
    """

    def __init__(self, obj):
        dev = getattr(obj, "device", None)
        is_cuda = getattr(dev, "type", None) == "cuda"
        super().__init__(dev.index if is_cuda and dev.index is not None else -1)


def get_device_name(device=None) -> str:
    """The GPU's name, e.g. ``'NVIDIA H200'``.

    Example:
        >>> ember.cuda.get_device_name(0)  # on a GPU machine
        'NVIDIA H200'
    """
    return get_device_properties(device).name


def get_device_capability(device=None) -> tuple[int, int]:
    """The GPU's compute capability as ``(major, minor)``.

    Example:
        >>> ember.cuda.get_device_capability()  # on an H100 or H200
        (9, 0)
    """
    props = get_device_properties(device)
    return props.major, props.minor


class _CudaDeviceProperties:
    """What ``get_device_properties`` returns: the GPU's name, capability, memory and SMs."""

    def __init__(self, raw: dict):
        def text(key, default=""):
            value = raw.get(key, default)
            return value.decode(errors="replace") if isinstance(value, bytes) else str(value)

        self.name = text("name")
        self.major, self.minor = int(raw.get("major", 0)), int(raw.get("minor", 0))
        self.total_memory = int(raw.get("totalGlobalMem", 0))
        self.multi_processor_count = int(raw.get("multiProcessorCount", 0))
        self.is_integrated = int(raw.get("integrated", 0))
        self.is_multi_gpu_board = int(raw.get("isMultiGpuBoard", 0))
        self.max_threads_per_multi_processor = int(raw.get("maxThreadsPerMultiProcessor", 0))
        self.warp_size = int(raw.get("warpSize", 32))
        self.regs_per_multiprocessor = int(raw.get("regsPerMultiprocessor", 0))
        self.shared_memory_per_block = int(raw.get("sharedMemPerBlock", 0))
        self.shared_memory_per_multiprocessor = int(raw.get("sharedMemPerMultiprocessor", 0))
        self.L2_cache_size = int(raw.get("l2CacheSize", 0))
        self.clock_rate = int(raw.get("clockRate", 0))
        self.memory_clock_rate = int(raw.get("memoryClockRate", 0))
        self.memory_bus_width = int(raw.get("memoryBusWidth", 0))
        self.pci_bus_id = int(raw.get("pciBusID", 0))
        self.pci_device_id = int(raw.get("pciDeviceID", 0))
        self.pci_domain_id = int(raw.get("pciDomainID", 0))
        uuid = raw.get("uuid", b"")
        self.uuid = uuid.hex() if isinstance(uuid, bytes) else str(uuid)

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // (1024 * 1024)}MB, "
                f"multi_processor_count={self.multi_processor_count}, uuid={self.uuid}, "
                f"L2_cache_size={self.L2_cache_size // (1024 * 1024)}MB)")


def get_device_properties(device=None) -> _CudaDeviceProperties:
    """The GPU's properties (``name``, ``major``/``minor``, ``total_memory``,
    ``multi_processor_count`` …), from CuPy's ``getDeviceProperties``.

    Example:
        >>> ember.cuda.get_device_properties(0).total_memory  # on a GPU machine
        150300016640
    """
    idx = _runtime.checked_index(device, "ember.cuda.get_device_properties() needs a GPU")
    return _CudaDeviceProperties(_runtime.cupy().cuda.runtime.getDeviceProperties(idx))


def _capabilities() -> list[tuple[int, int]]:
    return sorted({get_device_capability(i) for i in range(device_count())})


def get_arch_list() -> list[str]:
    """The GPU architectures ember's kernels are built for: CuPy compiles for each GPU
    present, so its ``sm_XY``; ``[]`` without CUDA, as in PyTorch's CPU build.

    Example:
        >>> ember.cuda.get_arch_list()  # on a machine without a GPU
        []
    """
    if not is_available():
        return []
    return [f"sm_{major}{minor}" for major, minor in _capabilities()]


def get_gencode_flags() -> str:
    """The ``-gencode`` flags for ``get_arch_list``'s architectures (``''`` without CUDA).

    Example:
        >>> ember.cuda.get_gencode_flags()  # on a machine without a GPU
        ''
    """
    if not is_available():
        return ""
    return " ".join(f"-gencode compute=compute_{major}{minor},code=sm_{major}{minor}"
                    for major, minor in _capabilities())


def can_device_access_peer(device, peer_device) -> bool:
    """Whether GPU ``device`` can read ``peer_device``'s memory directly.

    Example:
        >>> ember.cuda.can_device_access_peer(0, 1)  # on a two-GPU machine
        True
    """
    idx = _runtime.checked_index(device)
    peer = _runtime.checked_index(peer_device)
    return bool(_runtime.cupy().cuda.runtime.deviceCanAccessPeer(idx, peer))


def synchronize(device=None) -> None:
    """Wait until all work queued on the GPU is done.

    Example:
        >>> ember.cuda.synchronize()  # on a GPU machine
    """
    cp = _runtime.cupy("ember.cuda.synchronize() waits for the GPU")
    with cp.cuda.Device(_runtime.index(device)):
        cp.cuda.runtime.deviceSynchronize()


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """True on a GPU (ember computes bfloat16 through CuPy's float32 kernels); False without
    CUDA, as in PyTorch.

    Example:
        >>> ember.cuda.is_bf16_supported()  # on a machine without a GPU
        False
    """
    return cuda_available()


def is_tf32_supported() -> bool:
    """Whether the GPU has TensorFloat-32 matmuls (compute capability 8.0 or later); False
    without CUDA.

    Example:
        >>> ember.cuda.is_tf32_supported()  # on a machine without a GPU
        False
    """
    return cuda_available() and get_device_capability()[0] >= 8


def ipc_collect() -> None:
    """Free GPU memory that other processes released through CUDA IPC. ember shares no GPU
    memory between processes, so on a GPU there is nothing to collect.

    Example:
        >>> ember.cuda.ipc_collect()  # on a GPU machine
    """
    _runtime.cupy("ember.cuda.ipc_collect() needs a GPU")


def cudart():
    """The CUDA runtime module: CuPy's ``cupy.cuda.runtime``.

    Example:
        >>> ember.cuda.cudart().getDeviceCount()  # on a GPU machine
        1
    """
    return _runtime.cupy("ember.cuda.cudart() needs a GPU").cuda.runtime


def current_blas_handle() -> int:
    """The cuBLAS handle of the current GPU (CuPy's), as an int.

    Example:
        >>> handle = ember.cuda.current_blas_handle()  # on a GPU machine
    """
    cp = _runtime.cupy("ember.cuda.current_blas_handle() needs a GPU")
    return int(cp.cuda.device.get_cublas_handle())


def current_solver_handle() -> int:
    """The cuSOLVER handle of the current GPU (CuPy's), as an int.

    Example:
        >>> handle = ember.cuda.current_solver_handle()  # on a GPU machine
    """
    cp = _runtime.cupy("ember.cuda.current_solver_handle() needs a GPU")
    return int(cp.cuda.device.get_cusolver_handle())


_SYNC_DEBUG = {"default": 0, "warn": 1, "error": 2}
_sync_debug_mode = [0]


def set_sync_debug_mode(debug_mode) -> None:
    """Set the mode for reporting synchronizing operations (0/"default", 1/"warn",
    2/"error"). ember keeps the mode but reports nothing: its ops copy small values to the
    host freely.

    Example:
        >>> ember.cuda.set_sync_debug_mode("warn")  # on a GPU machine
    """
    _runtime.cupy("ember.cuda.set_sync_debug_mode() needs a GPU")
    if isinstance(debug_mode, str):
        if debug_mode not in _SYNC_DEBUG:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, "
                               "`warn`, `error`")
        debug_mode = _SYNC_DEBUG[debug_mode]
    _sync_debug_mode[0] = int(debug_mode)


def get_sync_debug_mode() -> int:
    """The mode ``set_sync_debug_mode`` set (0 when never set).

    Example:
        >>> ember.cuda.get_sync_debug_mode()  # on a GPU machine
        0
    """
    _runtime.cupy("ember.cuda.get_sync_debug_mode() needs a GPU")
    return _sync_debug_mode[0]


# -- NVML readings: through pynvml, which PyTorch also asks for ------------------------------------

def _nvml_handle(device):
    try:
        import pynvml
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError("nvidia-ml-py does not seem to be installed or it can't be "
                                  "imported.") from err
    idx = _runtime.checked_index(device, "ember.cuda's NVML readings need a GPU")
    pynvml.nvmlInit()
    return pynvml, pynvml.nvmlDeviceGetHandleByIndex(idx)


def utilization(device=None) -> int:
    """Percent of the last sample period in which a kernel ran on the GPU (NVML; needs
    ``pynvml``, ModuleNotFoundError without it, as in PyTorch).

    Example:
        >>> ember.cuda.utilization()  # on a GPU machine with pynvml
        0
    """
    nvml, handle = _nvml_handle(device)
    return int(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)


def memory_usage(device=None) -> int:
    """Percent of the last sample period in which GPU memory was read or written (NVML).

    Example:
        >>> ember.cuda.memory_usage()  # on a GPU machine with pynvml
        0
    """
    nvml, handle = _nvml_handle(device)
    return int(nvml.nvmlDeviceGetUtilizationRates(handle).memory)


def device_memory_used(device=None) -> int:
    """Bytes of GPU memory in use by all processes, as NVML reports.

    Example:
        >>> ember.cuda.device_memory_used()  # on a GPU machine with pynvml
        524288000
    """
    nvml, handle = _nvml_handle(device)
    return int(nvml.nvmlDeviceGetMemoryInfo(handle).used)


def temperature(device=None) -> int:
    """The GPU's temperature in degrees Celsius (NVML).

    Example:
        >>> ember.cuda.temperature()  # on a GPU machine with pynvml
        34
    """
    nvml, handle = _nvml_handle(device)
    return int(nvml.nvmlDeviceGetTemperature(handle, 0))  # 0: NVML_TEMPERATURE_GPU


def power_draw(device=None) -> int:
    """The GPU's power draw in milliwatts (NVML).

    Example:
        >>> ember.cuda.power_draw()  # on a GPU machine with pynvml
        71000
    """
    nvml, handle = _nvml_handle(device)
    return int(nvml.nvmlDeviceGetPowerUsage(handle))


def clock_rate(device=None) -> int:
    """The GPU's streaming-multiprocessor clock in MHz (NVML).

    Example:
        >>> ember.cuda.clock_rate()  # on a GPU machine with pynvml
        1980
    """
    nvml, handle = _nvml_handle(device)
    return int(nvml.nvmlDeviceGetClockInfo(handle, 1))  # 1: NVML_CLOCK_SM


def __getattr__(name):
    # default_generators: one per GPU; ember's GPU draws come from its one default generator
    if name == "default_generators":
        from .._random import default_generator

        return tuple(default_generator for _ in range(device_count()))
    if name == "torch":  # torch.cuda.torch is torch itself
        import ember

        return ember
    raise AttributeError(f"module 'ember.cuda' has no attribute '{name}'")
