"""``torch.cuda.memory``: the GPU memory statistics and allocator controls, over CuPy's memory
pool (ember's GPU arrays come from CuPy's default pool).

Without CUDA the statistics are zeros and empty dicts, the resets do nothing, and the calls
that need a GPU raise PyTorch's error. Where torch's CPU build fails by accident (a missing
binding: ``reset_peak_memory_stats``, ``memory_snapshot``; a KeyError in ``memory_summary``),
ember answers as a CUDA build does before any GPU work: nothing to reset, no segments, a table
of zeros.

Example:
    >>> ember.cuda.memory_allocated()  # on a machine without a GPU
    0
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import numbers
import warnings

from .. import _backend
from . import _runtime
from ._runtime import is_initialized  # torch.cuda.memory has it too

__all__ = [
    "caching_allocator_alloc", "caching_allocator_delete", "caching_allocator_enable",
    "caching_allocator_disabled", "set_per_process_memory_fraction",
    "get_per_process_memory_fraction", "empty_cache", "memory_stats",
    "memory_stats_as_nested_dict", "reset_accumulated_memory_stats", "reset_peak_memory_stats",
    "reset_max_memory_allocated", "reset_max_memory_cached", "host_memory_stats",
    "host_memory_stats_as_nested_dict", "reset_accumulated_host_memory_stats",
    "reset_peak_host_memory_stats", "memory_allocated", "max_memory_allocated",
    "memory_reserved", "max_memory_reserved", "memory_cached", "max_memory_cached",
    "memory_snapshot", "memory_summary", "list_gpu_processes", "mem_get_info",
    "get_allocator_backend", "CUDAPluggableAllocator", "change_current_allocator", "MemPool",
    "use_mem_pool", "is_initialized",
]

_fractions: dict = {}     # device index -> the fraction set_per_process_memory_fraction set
_raw_blocks: dict = {}    # pointer -> CuPy MemoryPointer handed out by caching_allocator_alloc
_caching_enabled = [True]


# -- the counters: CuPy's pool, peaks kept by ember's memory hook ---------------------------------

def _stats(device) -> dict:
    if not _runtime.cuda_available():
        return _backend.memory_stats(0)  # zeros
    return _backend.memory_stats(_runtime.index(device))


def memory_allocated(device=None) -> int:
    """Bytes held by live GPU tensors (0 without CUDA).

    Example:
        >>> ember.cuda.memory_allocated()  # on a machine without a GPU
        0
    """
    return _stats(device)["allocated"]


def max_memory_allocated(device=None) -> int:
    """The most bytes held by live GPU tensors since the start or the last
    ``reset_peak_memory_stats`` (0 without CUDA).

    Example:
        >>> ember.cuda.max_memory_allocated()  # on a machine without a GPU
        0
    """
    return _stats(device)["peak_allocated"]


def memory_reserved(device=None) -> int:
    """Bytes CuPy's memory pool holds on the GPU, in use or cached (0 without CUDA).

    Example:
        >>> ember.cuda.memory_reserved()  # on a machine without a GPU
        0
    """
    return _stats(device)["reserved"]


def max_memory_reserved(device=None) -> int:
    """The most bytes the memory pool held since the start or the last reset (0 without CUDA).

    Example:
        >>> ember.cuda.max_memory_reserved()  # on a machine without a GPU
        0
    """
    return _stats(device)["peak_reserved"]


def memory_cached(device=None) -> int:
    """Deprecated name of ``memory_reserved`` (warns, as PyTorch does).

    Example:
        >>> ember.cuda.memory_cached()  # doctest: +SKIP  (FutureWarning)
        0
    """
    warnings.warn("`torch.cuda.memory_cached` has been renamed to `torch.cuda.memory_reserved`",
                  FutureWarning, stacklevel=2)
    return memory_reserved(device)


def max_memory_cached(device=None) -> int:
    """Deprecated name of ``max_memory_reserved`` (warns, as PyTorch does).

    Example:
        >>> ember.cuda.max_memory_cached()  # doctest: +SKIP  (FutureWarning)
        0
    """
    warnings.warn("`torch.cuda.max_memory_cached` has been renamed to "
                  "`torch.cuda.max_memory_reserved`", FutureWarning, stacklevel=2)
    return max_memory_reserved(device)


def reset_peak_memory_stats(device=None) -> None:
    """Start ``max_memory_allocated``/``max_memory_reserved`` over from the present use
    (nothing to reset without CUDA).

    Example:
        >>> ember.cuda.reset_peak_memory_stats()
    """
    if _runtime.cuda_available():
        _backend.reset_peak_memory(_runtime.index(device))


def reset_max_memory_allocated(device=None) -> None:
    """Start ``max_memory_allocated`` over (PyTorch's older spelling of the reset).

    Example:
        >>> ember.cuda.reset_max_memory_allocated()
    """
    reset_peak_memory_stats(device)


def reset_max_memory_cached(device=None) -> None:
    """Deprecated: ``reset_peak_memory_stats``, which resets every peak (warns, as PyTorch
    does).

    Example:
        >>> ember.cuda.reset_max_memory_cached()  # doctest: +SKIP  (FutureWarning)
    """
    warnings.warn("torch.cuda.reset_max_memory_cached now calls "
                  "torch.cuda.reset_peak_memory_stats, which resets /all/ peak memory stats.",
                  FutureWarning, stacklevel=2)
    reset_peak_memory_stats(device)


def reset_accumulated_memory_stats(device=None) -> None:
    """Reset the accumulated counters (allocation counts). ember's counters are CuPy's
    present-use figures and the peaks, so there is nothing accumulated to reset.

    Example:
        >>> ember.cuda.reset_accumulated_memory_stats()
    """
    if _runtime.cuda_available():
        _runtime.index(device)  # still refuses a non-cuda device


def reset_peak_host_memory_stats() -> None:
    """Reset the pinned host memory peaks (ember keeps none: nothing to do).

    Example:
        >>> ember.cuda.reset_peak_host_memory_stats()
    """


def reset_accumulated_host_memory_stats() -> None:
    """Reset the pinned host memory counters (ember keeps none: nothing to do).

    Example:
        >>> ember.cuda.reset_accumulated_host_memory_stats()
    """


def memory_stats(device=None) -> collections.OrderedDict:
    """The allocator's statistics as a flat ``OrderedDict`` of PyTorch's keys
    (``"allocated_bytes.all.current"``, ``"reserved_bytes.all.peak"`` …), sorted by key; empty
    without CUDA, as in PyTorch's CPU build.

    Example:
        >>> ember.cuda.memory_stats()  # on a machine without a GPU
        OrderedDict()
    """
    if not _runtime.cuda_available():
        return collections.OrderedDict()
    s = _stats(device)
    flat = {"num_alloc_retries": 0, "num_ooms": 0, "num_sync_all_streams": 0,
            "num_device_alloc": 0, "num_device_free": 0, "max_split_size": -1}
    figures = {"allocated_bytes": (s["allocated"], s["peak_allocated"]),
               "active_bytes": (s["allocated"], s["peak_allocated"]),
               "requested_bytes": (s["allocated"], s["peak_allocated"]),
               "reserved_bytes": (s["reserved"], s["peak_reserved"]),
               "inactive_split_bytes": (s["reserved"] - s["allocated"], 0)}
    for name, (current, peak) in figures.items():
        for pool in ("all", "large_pool", "small_pool"):
            # CuPy's pool has one arena: it is reported as the large pool (and as "all")
            cur, top = (current, peak) if pool != "small_pool" else (0, 0)
            flat[f"{name}.{pool}.current"] = cur
            flat[f"{name}.{pool}.peak"] = max(top, cur)
            flat[f"{name}.{pool}.allocated"] = max(top, cur)
            flat[f"{name}.{pool}.freed"] = max(top, cur) - cur
    return collections.OrderedDict(sorted(flat.items()))


def _nest(flat: dict) -> dict:
    nested: dict = {}
    for key, value in flat.items():
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def memory_stats_as_nested_dict(device=None) -> dict:
    """``memory_stats`` as nested dicts (``{"allocated_bytes": {"all": {"current": …}}}``);
    ``{}`` without CUDA.

    Example:
        >>> ember.cuda.memory_stats_as_nested_dict()  # on a machine without a GPU
        {}
    """
    return _nest(memory_stats(device))


def host_memory_stats() -> collections.OrderedDict:
    """Statistics of the pinned host memory allocator. ember pins no host memory of its own,
    so this is empty, as in PyTorch's CPU build.

    Example:
        >>> ember.cuda.host_memory_stats()
        OrderedDict()
    """
    return collections.OrderedDict()


def host_memory_stats_as_nested_dict() -> dict:
    """``host_memory_stats`` as nested dicts (empty).

    Example:
        >>> ember.cuda.host_memory_stats_as_nested_dict()
        {}
    """
    return _nest(host_memory_stats())


def _format_size(n: int) -> str:
    for unit in ("B  ", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:6d} {unit}" if unit == "B  " else f"{n:6.0f} {unit}"
        n /= 1024
    return str(n)


def memory_summary(device=None, abbreviated: bool = False) -> str:
    """A printable table of the memory statistics (current, peak, total allocated and freed).
    Without CUDA every figure is zero: PyTorch's CPU build fails here with a KeyError, ember
    prints the table a CUDA build prints before any GPU work.

    Example:
        >>> print(ember.cuda.memory_summary())  # doctest: +SKIP
    """
    stats = memory_stats(device) if _runtime.cuda_available() else {}
    index = _runtime.index(device) if _runtime.cuda_available() else 0
    rule = "=" * 75
    thin = "-" * 75
    lines = [rule,
             f"{'PyTorch CUDA memory summary, device ID ' + str(index):^75}",
             thin,
             f"{'CUDA OOMs: ' + str(stats.get('num_ooms', 0)):<36}|"
             f"{'cudaMalloc retries: ' + str(stats.get('num_alloc_retries', 0)):>38}",
             rule,
             "        Metric         | Cur Usage  | Peak Usage | Tot Alloc  | Tot Freed  ",
             thin]
    rows = [("allocated_bytes", "Allocated memory"), ("active_bytes", "Active memory"),
            ("requested_bytes", "Requested memory"), ("reserved_bytes", "GPU reserved memory"),
            ("inactive_split_bytes", "Non-releasable memory")]
    pools = ("all",) if abbreviated else ("all", "large_pool", "small_pool")
    for key, title in rows:
        for pool in pools:
            label = title if pool == "all" else f"      from {pool.split('_')[0]} pool"
            cells = [_format_size(int(stats.get(f"{key}.{pool}.{what}", 0)))
                     for what in ("current", "peak", "allocated", "freed")]
            lines.append(f"{label:<23}| " + " | ".join(cells) + " ")
        lines.append(thin)
    lines.append(rule)
    return "|" + "|\n|".join(lines) + "|\n"


def memory_snapshot(mempool_id=None, include_traces: bool = True) -> list:
    """The allocator's segments. CuPy's pool does not describe its segments, so this is empty
    (as a CUDA build's snapshot is before any GPU work).

    Example:
        >>> ember.cuda.memory_snapshot()
        []
    """
    return []


def empty_cache() -> None:
    """Give the unused blocks cached in CuPy's memory pool back to the driver (nothing without
    CUDA).

    Example:
        >>> ember.cuda.empty_cache()
    """
    cp = _runtime.loaded_cupy()
    if cp is not None:
        cp.get_default_memory_pool().free_all_blocks()


def mem_get_info(device=None) -> tuple[int, int]:
    """``(free, total)`` bytes of the GPU's memory, as the driver reports them.

    Example:
        >>> free, total = ember.cuda.mem_get_info()  # on a GPU machine
    """
    cp = _runtime.cupy()
    with cp.cuda.Device(_runtime.index(device)):
        free, total = cp.cuda.runtime.memGetInfo()
    return int(free), int(total)


def set_per_process_memory_fraction(fraction, device=None) -> None:
    """Cap the memory pool of ``device`` at ``fraction`` (0 to 1) of the GPU's memory: CuPy's
    pool then raises OutOfMemoryError past it, as PyTorch's allocator does.

    Example:
        >>> ember.cuda.set_per_process_memory_fraction(0.5)  # on a GPU machine
    """
    cp = _runtime.cupy()
    idx = _runtime.index(device)
    if not isinstance(fraction, float):
        raise TypeError("Invalid type for fraction argument, must be `float`")
    if not 0 <= fraction <= 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    with cp.cuda.Device(idx):
        cp.get_default_memory_pool().set_limit(fraction=fraction)
    _fractions[idx] = fraction


def get_per_process_memory_fraction(device=None) -> float:
    """The fraction set by ``set_per_process_memory_fraction`` (1.0 when never set).

    Example:
        >>> ember.cuda.get_per_process_memory_fraction()  # on a GPU machine
        1.0
    """
    _runtime.cupy()
    return _fractions.get(_runtime.index(device), 1.0)


def caching_allocator_alloc(size, device=None, stream=None) -> int:
    """Take ``size`` bytes from the memory pool and return the device pointer (an int); give
    them back with ``caching_allocator_delete``.

    Example:
        >>> ptr = ember.cuda.caching_allocator_alloc(1024)  # on a GPU machine
        >>> ember.cuda.caching_allocator_delete(ptr)
    """
    cp = _runtime.cupy()
    idx = _runtime.index(device)
    if not isinstance(size, numbers.Integral) or isinstance(size, bool):
        raise TypeError(f"Invalid type for size argument: {type(size).__name__}")
    with cp.cuda.Device(idx):
        block = cp.get_default_memory_pool().malloc(int(size))
    _raw_blocks[int(block.ptr)] = block
    return int(block.ptr)


def caching_allocator_delete(mem_ptr) -> None:
    """Give back a block from ``caching_allocator_alloc`` (to the pool, not the driver).

    Example:
        >>> ember.cuda.caching_allocator_delete(ptr)  # doctest: +SKIP  (a GPU machine)
    """
    _runtime.cupy()
    if _raw_blocks.pop(int(mem_ptr), None) is None:
        raise RuntimeError("invalid device pointer: " + hex(int(mem_ptr)))


def caching_allocator_enable(value: bool = True) -> None:
    """Turn the caching memory pool on or off: off, every GPU array is a fresh ``cudaMalloc``
    (CuPy's pool bypassed). Nothing to switch without CUDA.

    Example:
        >>> ember.cuda.caching_allocator_enable(True)
    """
    _caching_enabled[0] = bool(value)
    cp = _runtime.loaded_cupy()
    if cp is not None and hasattr(cp.cuda, "set_allocator"):
        cp.cuda.set_allocator(cp.get_default_memory_pool().malloc if value else None)


@contextlib.contextmanager
def caching_allocator_disabled():
    """A block with the caching memory pool off (see ``caching_allocator_enable``).

    Example:
        >>> with ember.cuda.caching_allocator_disabled():
        ...     pass
    """
    before = _caching_enabled[0]
    caching_allocator_enable(False)
    try:
        yield
    finally:
        caching_allocator_enable(before)


def get_allocator_backend() -> str:
    """The GPU allocator in use: ``"native"`` (CuPy's caching pool plays PyTorch's native
    caching allocator).

    Example:
        >>> ember.cuda.get_allocator_backend()  # on a GPU machine
        'native'
    """
    _runtime.cupy()
    return "native"


class CUDAPluggableAllocator:
    """An allocator loaded from a shared library (``path_to_so_file``) exporting
    ``alloc_fn_name`` and ``free_fn_name``. Loading it works anywhere (a missing file raises
    OSError, as in PyTorch); ember cannot route CuPy's arrays through it, so
    ``change_current_allocator`` refuses it.

    Example:
        >>> ember.cuda.CUDAPluggableAllocator("alloc.so", "my_malloc", "my_free")  # doctest: +SKIP
    """

    def __init__(self, path_to_so_file: str, alloc_fn_name: str, free_fn_name: str):
        self._library = ctypes.CDLL(path_to_so_file)
        self._alloc = getattr(self._library, alloc_fn_name)
        self._free = getattr(self._library, free_fn_name)

    def allocator(self):
        """The loaded library's allocation function."""
        return self._alloc


def change_current_allocator(allocator) -> None:
    """Swap the GPU allocator. ember's GPU memory is CuPy's pool, so no other allocator can be
    plugged in: this raises NotImplementedError on a GPU (PyTorch's error without CUDA).

    Example:
        >>> ember.cuda.change_current_allocator(alloc)  # doctest: +SKIP
    """
    _runtime.cupy()
    raise NotImplementedError("ember.cuda.change_current_allocator: ember's GPU memory comes "
                              "from CuPy's memory pool; a pluggable allocator cannot replace it")


class MemPool:
    """A private memory pool: GPU arrays made inside ``with ember.cuda.use_mem_pool(pool):``
    come from it (a CuPy ``MemoryPool`` of its own).

    Example:
        >>> pool = ember.cuda.MemPool()  # on a GPU machine
        >>> with ember.cuda.use_mem_pool(pool):
        ...     x = ember.ones(3, device="cuda")
    """

    def __init__(self, allocator=None, use_on_oom: bool = False, no_split: bool = False):
        cp = _runtime.cupy("ember.cuda.MemPool needs a GPU")
        if allocator is not None:
            raise NotImplementedError("ember.cuda.MemPool: a pluggable allocator cannot back "
                                      "a CuPy memory pool")
        self._pool = cp.cuda.MemoryPool()
        self.allocator = None

    @property
    def id(self) -> tuple[int, int]:
        """An identifier of the pool, as a pair (as PyTorch's)."""
        return (0, id(self))

    def use_count(self) -> int:
        """How many ``use_mem_pool`` blocks are using the pool (plus the owner)."""
        return 1 + getattr(self, "_users", 0)

    def snapshot(self) -> list:
        """The pool's segments (CuPy's pools do not describe them: empty)."""
        return []


@contextlib.contextmanager
def use_mem_pool(pool: MemPool, device=None):
    """Route GPU allocations made in the block to ``pool``.

    Example:
        >>> with ember.cuda.use_mem_pool(ember.cuda.MemPool()):  # on a GPU machine
        ...     x = ember.ones(3, device="cuda")
    """
    cp = _runtime.cupy()
    _runtime.index(device)
    if not isinstance(pool, MemPool):
        raise TypeError(f"use_mem_pool(): expected a torch.cuda.MemPool, got "
                        f"{type(pool).__name__}")
    pool._users = getattr(pool, "_users", 0) + 1
    try:
        with cp.cuda.using_allocator(pool._pool.malloc):
            yield
    finally:
        pool._users -= 1


def list_gpu_processes(device=None) -> str:
    """The processes using the GPU and their memory, from NVML (``pynvml``); without pynvml,
    the note PyTorch returns.

    Example:
        >>> print(ember.cuda.list_gpu_processes())  # without pynvml
        pynvml module not found, please install nvidia-ml-py
    """
    try:
        import pynvml
    except ModuleNotFoundError:
        return "pynvml module not found, please install nvidia-ml-py"
    idx = _runtime.checked_index(device)
    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(idx)
    procs = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
    lines = [f"GPU:{idx}"]
    if not procs:
        lines.append("no processes are running")
    for p in procs:
        mem = (p.usedGpuMemory or 0) / (1024 * 1024)
        lines.append(f"process {p.pid:>10d} uses {mem:>12.3f} MB GPU memory")
    return "\n".join(lines)
