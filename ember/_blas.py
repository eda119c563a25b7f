"""Direct calls into the OpenBLAS that NumPy loaded: its thread controls, two level-1
kernels that fuse what would be several NumPy passes, and the rank-one update behind an
exact outer product (``outer``).

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

__all__ = ["axpby", "axpy", "outer"]

set_num_threads = get_num_threads = thread_shutdown = None
_kernels: dict = {}  # dtype -> (axpby, axpy) C functions
_ger: dict = {}  # dtype -> the rank-one update (cblas_?ger)


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
        ger = getattr(lib, f"{prefix}cblas_{letter}ger{suffix}", None)
        if ger is not None:
            # (order, m, n, alpha, x, incx, y, incy, a, lda)
            ger.argtypes = [ctypes.c_int, integer, integer, scalar, ptr, integer, ptr, integer,
                            ptr, integer]
            ger.restype = None
            _ger[np.dtype(dtype)] = ger


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
    n = y.size
    # OpenBLAS's AVX2 saxpy fuses multiply and add (one rounding) in blocks of 32 and rounds
    # twice in the rest of each thread's share; PyTorch's kernels fuse every element. So the
    # kernel gets a length whose shares are whole blocks (it splits evenly among its threads),
    # and the tail is computed here, in float64 (where a float32 product is exact).
    if y.dtype == np.float32:
        block = _SAXPY_BLOCK * max(get_num_threads() if get_num_threads else 1, 1)
        body = n - n % block
    else:
        body = n
    if body:
        k[1](body, a, _address(x), 1, _address(y), 1)
    if body < n:
        tail_x, tail_y = x.reshape(-1)[body:], y.reshape(-1)[body:]
        exact = tail_x.astype(np.float64) * np.float64(np.float32(a))
        exact += tail_y
        tail_y[...] = exact
    return True


_SAXPY_BLOCK = 32


# Below this many elements NumPy's broadcast multiply is as fast as the ctypes call and the fill
# (measured crossover: 128x128 6 against 8 µs, 256x128 11 against 10 µs).
_OUTER_MIN = 1 << 15
_ROW_MAJOR = 101  # CBLAS's CblasRowMajor


def outer(x: np.ndarray, y: np.ndarray):
    """``x[:, None] * y[None, :]`` for 1-D float vectors of one dtype as a new C-contiguous
    array, bit for bit, or ``None`` where BLAS can't (small, other dtypes, no OpenBLAS).

    NumPy's broadcast multiply pays its loop overhead once per row (a 256x784 float32 outer
    product: ~53 µs against ~12 µs for a flat pass of the same size). ``ger`` adds
    ``x[i] * y[j]`` to every element in one pass; started from ``-0.0``, the sum is each
    product exactly: ``-0.0 + p`` is ``p`` for every float ``p`` (signed zeros, infinities and
    NaN included), where a ``+0.0`` start would turn a ``-0.0`` product into ``+0.0``.
    OpenBLAS runs it on one thread (~35 µs for 256x784 with the fill): its threaded ``ger``
    took 27 µs on an idle second core but 4-8 ms in one call out of ten when other processes
    kept that core busy (2 cores).

    Example:
        >>> outer(np.full(300, 2, np.float32), np.full(200, -0.0, np.float32))[0, 0]
        np.float32(-0.0)
    """
    ger = _ger.get(y.dtype)
    m, n = x.size, y.size
    if (ger is None or m * n < _OUTER_MIN or x.dtype != y.dtype or type(x) is not np.ndarray
            or type(y) is not np.ndarray or not x.flags.c_contiguous
            or not y.flags.c_contiguous):
        return None
    out = np.empty((m, n), y.dtype)
    out.fill(-0.0)
    from . import _threads

    # under the lock that parallel regions take to hold OpenBLAS at one thread, so a region
    # starting meanwhile restores the count it saw before this call
    with _threads._lock:
        threads = get_num_threads() if _threads._blas_regions == 0 else 1
        if threads > 1:
            set_num_threads(1)
        try:
            ger(_ROW_MAJOR, m, n, 1.0, _address(x), 1, _address(y), 1, _address(out), n)
        finally:
            if threads > 1:
                set_num_threads(threads)
    return out


_find()  # NumPy, imported above, has loaded its BLAS by now
