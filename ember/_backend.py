"""The one place that knows NumPy from CuPy from meta.

Ops call NumPy functions on whatever array a tensor holds: CuPy arrays answer NumPy's
``__array_ufunc__``/``__array_function__`` protocols, so one code path serves both. Creation and
transfer go through here. CuPy is imported only when a CUDA device is first asked for.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["device", "Device", "to_device_array", "array_device", "cuda_available",
           "get_array_module"]

_cupy = None
_cupy_checked = False


def _get_cupy():
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy

            if cupy.cuda.runtime.getDeviceCount() > 0:
                _cupy = cupy
        except Exception:  # no CuPy, no driver or no GPU: CUDA is simply unavailable
            _cupy = None
        if _cupy is not None:
            _track_memory(_cupy)
    return _cupy


def use_cuda_module(module):
    """Back the ``cuda`` device with ``module`` (a CuPy stand-in, for tests) instead of CuPy;
    ``None`` goes back to looking for CuPy. Returns the previous module (or None).

    Example:
        >>> prev = _backend.use_cuda_module(fake_cupy)  # tests/device's fixture does this
    """
    global _cupy, _cupy_checked
    prev = _cupy if _cupy_checked else None
    _cupy, _cupy_checked = module, module is not None
    return prev


def get_array_module(arr):
    """The array module of ``arr``: CuPy for a GPU array, else NumPy (CuPy is never imported
    for a NumPy array)."""
    if _cupy is not None and isinstance(arr, _cupy.ndarray):
        return _cupy
    return np


def _on_device(arr) -> bool:
    return _cupy is not None and isinstance(arr, _cupy.ndarray)


# -- CPU fast paths and their device twins -------------------------------------------------------
# Ops call these instead of NumPy where NumPy would copy a device array to the host (which CuPy
# refuses) or use a NumPy-only feature; the NumPy branch is the fast path, taken first.

def is_host(arr) -> bool:
    """True for NumPy memory (``cpu`` and ``meta`` tensors): where host-only fast paths may
    run (OpenBLAS through ctypes, ``np.add.at``, stride tricks, thread-pool chunking)."""
    return isinstance(arr, np.ndarray)


def as_array(x, dtype=None):
    """``np.asarray(x, dtype)`` that keeps device arrays on their device: the NumPy scalars
    that NumPy's reductions and 0-d operations hand back become 0-d arrays."""
    if _on_device(x):
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    return np.asarray(x, dtype=dtype)


def asarray_like(value, like, dtype=None):
    """``value`` (a host array, list or number, or an array on ``like``'s device) as an array
    on the device of the array ``like``: how ops put host constants and index arrays next to
    device data."""
    if isinstance(like, np.ndarray) or not _on_device(like):
        return np.asarray(value, dtype=dtype)
    if _on_device(value):
        return value if dtype is None or value.dtype == dtype else value.astype(dtype)
    with _cupy.cuda.Device(like.device.id):
        return _cupy.asarray(value, dtype=dtype)


def ascontiguousarray(arr):
    """``arr`` as a C-contiguous array on its own device (itself when it already is)."""
    if isinstance(arr, np.ndarray):
        return np.ascontiguousarray(arr)
    return get_array_module(arr).ascontiguousarray(arr)


_SCATTER = {"add": "scatter_add", "maximum": "scatter_max", "minimum": "scatter_min"}


def ufunc_at(ufunc, target, index, values) -> None:
    """``ufunc.at(target, index, values)`` (unbuffered: repeated indices all count): NumPy's
    on the host; CuPy's scatter kernels on a GPU, with the index moved to the device (ufuncs
    CuPy has no kernel for, ``multiply``, go through the host)."""
    if isinstance(target, np.ndarray):
        if not _rows_at(ufunc, target, index, values):
            ufunc.at(target, index, values)
        return
    method = _SCATTER.get(ufunc.__name__)
    if method is None:
        host = to_numpy(target)
        ufunc.at(host, _host_index(index), to_numpy(values) if _on_device(values) else values)
        target[...] = asarray_like(host, target)
        return
    if isinstance(index, tuple):
        index = tuple(asarray_like(i, target) if isinstance(i, (np.ndarray, list)) else i
                      for i in index)
    elif isinstance(index, (np.ndarray, list)):
        index = asarray_like(index, target)
    getattr(target, method)(index, values)


def _rows_at(ufunc, target, index, values) -> bool:
    """``ufunc.at`` of whole rows (a 1-D index into axis 0, one value row per index, as an
    embedding's or index_add's gradient is) through the flat element index instead: the same
    elements in the same order, but NumPy's 1-D fast path, 4-5x faster for 512 rows of 128.
    False (nothing done) where the call is not of that form or an index is out of range, so
    that NumPy raises its own error."""
    if (type(index) is not np.ndarray or index.ndim != 1 or index.dtype.kind not in "iu"
            or target.ndim < 2 or type(values) is not np.ndarray
            or values.shape != index.shape + target.shape[1:] or values.dtype != target.dtype
            or not target.flags.c_contiguous or index.size == 0):
        return False
    rows = target.shape[0]
    if index.min() < -rows or index.max() >= rows:
        return False
    width = target.size // rows if rows else 0
    flat = np.where(index < 0, index + rows, index).astype(np.intp, copy=False)
    if ufunc is np.add and _add_rows_grouped(target, flat, values):
        return True
    flat = (flat[:, None] * width + np.arange(width, dtype=np.intp)).reshape(-1)
    ufunc.at(target.reshape(-1), flat, np.ascontiguousarray(values).reshape(-1))
    return True


# Most repeats of one row for which _add_rows_grouped adds in passes (one pass per repeat)
_GROUPED_MAX_REPEATS = 8


def _add_rows_grouped(target, rows, values) -> bool:
    """``np.add.at(target, rows, values)`` for whole rows (``rows``: non-negative, in range),
    as fancy-indexed adds of distinct rows: the lookups that are each row's first occurrence,
    then the second ones, and so on. Every row still receives its values one at a time in
    lookup order (the same bits as ``np.add.at``), but each pass is one vectorised gather, add
    and scatter: 1.4x faster for an embedding gradient of 512 lookups of 256 rows of 128,
    4x where no row repeats (a position embedding's). False (nothing done) where a row repeats
    more than ``_GROUPED_MAX_REPEATS`` times or ``values`` may overlap ``target``.

    Example:
        >>> t = np.zeros((3, 2), np.float32)
        >>> _add_rows_grouped(t, np.array([2, 0, 2]), np.ones((3, 2), np.float32)), float(t[2, 0])
        (True, 2.0)
    """
    n = rows.size
    if n == 0 or np.may_share_memory(target, values):
        return False
    order = np.argsort(rows, kind="stable")  # each row's lookups together, in lookup order
    ordered = rows[order]
    first = np.empty(n, bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    at = np.arange(n)
    repeat = at - np.maximum.accumulate(np.where(first, at, 0))  # 0 for a first occurrence
    most = int(repeat.max()) + 1  # (sorting costs n log n, whatever the table's size)
    if most > _GROUPED_MAX_REPEATS:
        return False
    if most == 1:
        target[rows] += values
        return True
    lookups = order[np.argsort(repeat, kind="stable")]  # by repeat, lookup order within
    start = 0
    for size in np.bincount(repeat):
        group = lookups[start:start + size]
        target[rows[group]] += values[group]
        start += size
    return True


def _host_index(index):
    if isinstance(index, tuple):
        return tuple(_host_index(i) for i in index)
    return to_numpy(index) if _on_device(index) else index


def ufunc_accumulate(ufunc, arr, axis: int):
    """``ufunc.accumulate(arr, axis)``; on a GPU, where CuPy has no accumulate for most ufuncs
    (``logaddexp``), one ufunc call per step along ``axis``, in the same order."""
    if isinstance(arr, np.ndarray):
        return ufunc.accumulate(arr, axis=axis)
    xp = get_array_module(arr)
    moved = xp.moveaxis(arr, axis, 0)
    out = xp.empty_like(moved)
    if moved.shape[0]:
        out[0] = moved[0]
    for i in range(1, moved.shape[0]):
        ufunc(out[i - 1], moved[i], out=out[i])
    return xp.moveaxis(out, 0, axis)


def add_at(target, index, values) -> None:
    """``target[index] += values`` adding where ``index`` repeats (``np.add.at``; CuPy's
    scatter-add on a GPU)."""
    ufunc_at(np.add, target, index, values)


def as_strided(arr, shape, strides, writeable: bool = True):
    """A strided view of ``arr``: ``np.lib.stride_tricks.as_strided`` or CuPy's (whose views
    are always writable)."""
    if isinstance(arr, np.ndarray):
        return np.lib.stride_tricks.as_strided(arr, shape, strides, writeable=writeable)
    return get_array_module(arr).lib.stride_tricks.as_strided(arr, shape, strides)


def sliding_window_view(arr, size: int, axis: int):
    """Writable windows of ``size`` along ``axis`` (a new last axis), sharing ``arr``'s
    memory: NumPy's ``sliding_window_view`` on the host, a strided view on a GPU."""
    if isinstance(arr, np.ndarray):
        return np.lib.stride_tricks.sliding_window_view(arr, size, axis=axis, writeable=True)
    shape = arr.shape[:axis] + (arr.shape[axis] - size + 1,) + arr.shape[axis + 1:] + (size,)
    return as_strided(arr, shape, arr.strides + (arr.strides[axis],))


# -- GPU memory statistics -----------------------------------------------------------------------
# CuPy's pool reports the bytes in use now, not the peak; a memory hook on the thread that first
# uses CUDA (ember's) counts every pool allocation and free, so ``max_memory_allocated`` sees
# peaks between calls, as PyTorch's does.
_mem_live: dict = {}   # device index -> bytes in use, as the hook counted them
_mem_peak: dict = {}   # device index -> most bytes in use since the last reset
_mem_reserved_peak: dict = {}  # device index -> most bytes the pool held since the last reset
_mem_hook = None


def _track_memory(cp) -> None:
    global _mem_hook
    try:
        from cupy.cuda import memory_hook

        class _PeakHook(memory_hook.MemoryHook):
            name = "ember_memory_stats"

            def malloc_postprocess(self, **kw):
                dev = kw["device_id"]
                live = _mem_live.get(dev, 0) + kw["mem_size"]
                _mem_live[dev] = live
                if live > _mem_peak.get(dev, 0):
                    _mem_peak[dev] = live

            def alloc_postprocess(self, **kw):  # the pool grew (a cudaMalloc): rare
                dev = kw["device_id"]
                held = int(cp.get_default_memory_pool().total_bytes())
                if held > _mem_reserved_peak.get(dev, 0):
                    _mem_reserved_peak[dev] = held

            def free_postprocess(self, **kw):
                dev = kw["device_id"]
                _mem_live[dev] = max(0, _mem_live.get(dev, 0) - kw["mem_size"])

        hook = _PeakHook()
        hook.__enter__()  # stays registered for the life of the process
        _mem_hook = hook
    except Exception:  # an older CuPy without memory hooks: peaks fall back to current use
        _mem_hook = None


def memory_stats(index: int) -> dict:
    """Bytes of CuPy's default pool on GPU ``index``: ``allocated`` (in arrays), ``reserved``
    (held by the pool, used or cached) and the peaks of both since the last reset."""
    cp = _get_cupy()
    if cp is None:
        return {"allocated": 0, "reserved": 0, "peak_allocated": 0, "peak_reserved": 0}
    with cp.cuda.Device(index):
        pool = cp.get_default_memory_pool()
        used, held = int(pool.used_bytes()), int(pool.total_bytes())
    # arrays made on another thread or before the hook: a peak is never below the present
    peak = _mem_peak[index] = max(_mem_peak.get(index, 0), used)
    peak_held = _mem_reserved_peak[index] = max(_mem_reserved_peak.get(index, 0), held)
    return {"allocated": used, "reserved": held, "peak_allocated": peak,
            "peak_reserved": peak_held}


def reset_peak_memory(index: int) -> None:
    """Start both peaks over from the bytes in use and held now."""
    now = memory_stats(index)
    _mem_live[index] = _mem_peak[index] = now["allocated"]
    _mem_reserved_peak[index] = now["reserved"]


def cuda_available() -> bool:
    return _get_cupy() is not None


def cuda_device_count() -> int:
    cp = _get_cupy()
    return cp.cuda.runtime.getDeviceCount() if cp is not None else 0


_TORCH_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep",
                       "hip", "ve", "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta",
                       "hpu", "mtia", "privateuseone")
_DEVICE_STRING = re.compile(r"([a-zA-Z_]+)(?::([1-9]\d*|0))?")


def _type_name(value) -> str:
    return type(value).__name__


def _device_overload_error(arg) -> TypeError:
    """torch's refusal of a ``device()`` argument that is neither a device, a string nor an
    int, naming a list's or tuple's element types as its parser does."""
    kind = type(arg).__name__
    if isinstance(arg, list):
        described = f"list of [{', '.join(type(v).__name__ for v in arg)}]"
    elif isinstance(arg, tuple):
        names = [type(v).__name__ for v in arg]
        described = f"tuple of ({', '.join(names)}{',' if len(names) == 1 else ''})"
    else:
        described = kind
    return TypeError(
        f"device() received an invalid combination of arguments - got ({kind}), but expected "
        "one of:\n * (torch.device device)\n      didn't match because some of the arguments "
        f"have invalid types: (!{described}!)\n * (str type, int index = -1)\n")


class Device:
    """Where a tensor lives: ``cpu``, ``cuda[:n]`` or ``meta`` (shapes and dtypes, no data).

    Example:
        >>> ember.device("cuda" if ember.cuda.is_available() else "cpu")
        device(type='cpu')
    """

    __slots__ = ("type", "index")

    def __new__(cls, type="cpu", index: int | None = None):  # noqa: A002 - torch's name
        type_or_str = type
        if isinstance(type_or_str, Device):
            return type_or_str
        if isinstance(type_or_str, int) and not isinstance(type_or_str, bool):
            type_or_str, index = "cuda", type_or_str
        if not isinstance(type_or_str, str):
            raise _device_overload_error(type_or_str)
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            raise TypeError(f"device(): argument 'index' (position 2) must be int, not "
                            f"{_type_name(index)}")
        if index is not None and not -2**63 <= index < 2**63:  # torch reads a C long long
            raise ValueError("Overflow when unpacking long long")
        kind = type_or_str
        if not kind:
            raise RuntimeError("Device string must not be empty")
        parsed = _DEVICE_STRING.fullmatch(kind)
        if parsed is None:
            raise RuntimeError(f"Invalid device string: '{type_or_str}'")
        kind, idx = parsed.groups()
        if idx is not None:
            if index is not None:
                raise RuntimeError("type (string) must not include an index because index was "
                                   f"passed explicitly: {type_or_str}")
            index = int(idx)
        if kind not in ("cpu", "cuda", "meta"):
            from ._errors import with_hint

            known = kind in _TORCH_DEVICE_TYPES
            raise with_hint(RuntimeError(
                f"Expected one of {', '.join(_TORCH_DEVICE_TYPES)} device type at start of "
                f"device string: {type_or_str}"),
                f"ember runs on cpu, cuda and meta; '{kind}' is "
                f"{'not supported' if known else 'no device type'}")
        if index is not None and index < 0:
            from ._errors import with_hint

            raise with_hint(RuntimeError("Device index must not be negative"),
                            f"got index {index}")
        key = (kind, index)
        cached = _DEVICES.get(key)
        if cached is not None:
            return cached
        self = object.__new__(cls)
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "index", index)
        _DEVICES[key] = self
        return self

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __eq__(self, other):
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __reduce__(self):
        return (Device, (str(self),))

    def __enter__(self):
        """``with ember.device("meta"):`` makes this the default device of creation ops."""
        from ._default_device import push

        push(self)
        return self

    def __exit__(self, *exc):
        from ._default_device import pop

        pop()


_DEVICES: dict = {}
# PyTorch spells the class torch.device: type(d).__name__ is "device" in user code that prints it
# or dispatches on it. The alias below keeps pickles that name the class resolvable.
Device.__name__ = Device.__qualname__ = "device"
device = Device
CPU = Device("cpu")
META = Device("meta")


def same_device(requested: Device, actual: Device) -> bool:
    """Whether a tensor on ``actual`` is already where ``requested`` asks: plain ``cuda``
    means the current GPU, as in PyTorch (``x.to("cuda") is x`` for a tensor on it)."""
    if requested == actual:
        return True
    if requested.type == actual.type == "cuda" and requested.index is None:
        cp = _get_cupy()
        return cp is not None and actual.index == int(cp.cuda.runtime.getDevice())
    return False


def array_device(arr) -> Device:
    """The device an array lives on."""
    if isinstance(arr, MetaArray):
        return META
    if isinstance(arr, (np.ndarray, np.generic)):
        return CPU
    dev = getattr(arr, "device", None)
    return Device("cuda", int(getattr(dev, "id", 0)))


class CudaUnavailableError(RuntimeError, AssertionError):
    """No CUDA here. torch raises AssertionError ("Torch not compiled with CUDA enabled");
    this is both that and a RuntimeError, so either ``except`` clause catches it."""


def _require_cuda(dev: Device, what: str | None = None):
    cp = _get_cupy()
    if cp is None:
        raise CudaUnavailableError(
            f"{what or f'Tensor asked for device {str(dev)!r}'}, but CUDA is not available: "
            "ember uses CuPy for GPUs and found no CuPy or no GPU. Check with "
            "ember.cuda.is_available() and fall back to 'cpu', e.g. device = 'cuda' if "
            "ember.cuda.is_available() else 'cpu'.")
    if dev.index is not None and dev.index >= cp.cuda.runtime.getDeviceCount():
        raise RuntimeError(f"CUDA error: invalid device ordinal {dev.index}")
    return cp


class MetaArray(np.ndarray):
    """The array type of ``meta`` tensors: right shape and dtype; the values mean nothing."""


def meta_array(shape, np_dtype):
    """A stand-in for a meta tensor: one element of memory broadcast to the shape."""
    return np.broadcast_to(np.zeros((), np_dtype), tuple(shape)).view(MetaArray)


def to_device_array(arr, dev: Device):
    """Move an array to a device (a no-op when it is already there)."""
    if dev.type == "cpu":
        if type(arr) is np.ndarray:
            return arr
        if isinstance(arr, MetaArray):
            from ._errors import with_hint

            raise with_hint(NotImplementedError("Cannot copy out of meta tensor; no data!"),
                            "A meta tensor has a shape and a dtype only: create the tensor on "
                            "'cpu' (or call module.to_empty(device='cpu') and load weights).")
        get = getattr(arr, "get", None)
        return get() if get is not None else np.asarray(arr)
    if dev.type == "meta":
        return meta_array(arr.shape, arr.dtype)
    cp = _require_cuda(dev)
    with cp.cuda.Device(dev.index or 0):
        return cp.asarray(arr)


def to_numpy(arr) -> np.ndarray:
    return to_device_array(arr, CPU)
