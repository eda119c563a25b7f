"""Direct calls into the OpenBLAS that NumPy loaded: its thread controls and two level-1
kernels that fuse what would be several NumPy passes.

NumPy offers no ``y = a*x + b*y`` in one pass: written with ufuncs it is three passes and a
temporary. OpenBLAS has it (``axpby``), vectorised and threaded for long vectors. Every name
here is ``None`` where that BLAS is not found (another BLAS, another platform); callers then
use plain NumPy.
"""

from __future__ import annotations

import ctypes
import re

import numpy as np

from ._backend import is_host

__all__ = ["axpby", "axpy"]

set_num_threads = get_num_threads = thread_shutdown = None
_kernels: dict = {}  # dtype -> (axpby, axpy) C functions


def _find():
    """Bind the OpenBLAS that NumPy loaded (found among the process's mapped libraries)."""
    global set_num_threads, get_num_threads, thread_shutdown
    try:
        with open("/proc/self/maps") as f:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so[\w.\-]*)", f.read())))
    except OSError:
        return
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
            setter = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
            getter = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
            if setter is None or getter is None:
                continue
            setter.argtypes = [ctypes.c_int]
            setter.restype = None
            getter.restype = ctypes.c_int
            set_num_threads, get_num_threads = setter, getter
            # the pool shutdown OpenBLAS's own fork handler calls (see _threads)
            thread_shutdown = getattr(lib, "blas_thread_shutdown_", None)
            _bind_kernels(lib, prefix, suffix)
            return


def _bind_kernels(lib, prefix: str, suffix: str) -> None:
    integer = ctypes.c_int64 if suffix == "64_" else ctypes.c_int
    ptr = ctypes.c_void_p
    for dtype, letter, scalar in ((np.float32, "s", ctypes.c_float),
                                  (np.float64, "d", ctypes.c_double)):
        fby = getattr(lib, f"{prefix}cblas_{letter}axpby{suffix}", None)
        fy = getattr(lib, f"{prefix}cblas_{letter}axpy{suffix}", None)
        if fby is None or fy is None:
            continue
        fby.argtypes = [integer, scalar, ptr, integer, scalar, ptr, integer]
        fy.argtypes = [integer, scalar, ptr, integer, ptr, integer]
        fby.restype = fy.restype = None
        _kernels[np.dtype(dtype)] = (fby, fy)


def _fits(x: np.ndarray, y: np.ndarray):
    """The kernels for ``x`` and ``y`` if both are host (NumPy) arrays, C-contiguous, of one
    float dtype and size, and ``y`` is writeable; else ``None`` (GPU arrays take the NumPy-API
    path, which CuPy runs with its own kernels)."""
    if not (is_host(x) and is_host(y)):
        return None
    k = _kernels.get(y.dtype)
    if (k is None or x.dtype != y.dtype or x.size != y.size
            or not y.flags.writeable or not x.flags.c_contiguous or not y.flags.c_contiguous):
        return None
    return k


def _address(a: np.ndarray) -> int:
    """The address of ``a``'s first element. ``a.ctypes.data`` builds a helper object per
    call (~3 µs, as long as the kernel itself on a 64 KiB array); borrowing the buffer through
    ctypes takes ~0.4 µs. Read-only arrays (which ctypes will not borrow) take the slow way."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    except (TypeError, ValueError):
        return a.ctypes.data


def axpby(a: float, x: np.ndarray, b: float, y: np.ndarray) -> bool:
    """``y = a*x + b*y`` in place, in one pass; ``False`` (nothing done) if BLAS can't.

    Example:
        >>> y = np.ones(3, np.float32); _ = axpby(2.0, np.ones(3, np.float32), 0.5, y); y
        array([2.5, 2.5, 2.5], dtype=float32)
    """
    k = _fits(x, y)
    if k is None:
        return False
    if y.size:  # ctypes cannot borrow an empty buffer
        k[0](y.size, a, _address(x), 1, b, _address(y), 1)
    return True


def axpy(a: float, x: np.ndarray, y: np.ndarray) -> bool:
    """``y += a*x`` in place, in one pass; ``False`` (nothing done) if BLAS can't.

    Example:
        >>> y = np.ones(3, np.float32); _ = axpy(-1.0, np.ones(3, np.float32), y); y
        array([0., 0., 0.], dtype=float32)
    """
    k = _fits(x, y)
    if k is None:
        return False
    if y.size:
        k[1](y.size, a, _address(x), 1, _address(y), 1)
    return True


_find()  # NumPy, imported above, has loaded its BLAS by now
