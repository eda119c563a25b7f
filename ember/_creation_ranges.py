"""Tensor creation, ranges and matrices: ``arange``, ``range``, ``linspace``, ``logspace``,
``eye``, ``complex``, ``polar``. Re-exported by ``ember._creation``."""

from __future__ import annotations

import math

import numpy as np

from . import _dtype as D
from ._creation import _cast_like_torch, _finish
from ._tensor import Tensor


def arange(start=0, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` up to (not including) ``end`` in steps of ``step``.

    Example:
        >>> ember.arange(5)
        tensor([0, 1, 2, 3, 4])
    """
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is not None:
        dt = D.to_dtype(dtype)
    elif all(isinstance(v, int) for v in vals):
        dt = D.int64
    else:
        dt = D.get_default_dtype()
    n = max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
    arr = (vals[0] + np.arange(n, dtype=np.float64 if dt.category >= D._FLOAT else np.int64)
           * vals[2])
    return _finish(_cast_like_torch(arr, dt), dt, device, requires_grad)


def range(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Deprecated in PyTorch: like ``arange`` but includes ``end``; floats by default."""
    if end is None:
        start, end = 0, start
    n = int(math.floor((end - start) / step)) + 1
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    arr = start + np.arange(n, dtype=np.float64) * step
    return _finish(_cast_like_torch(arr, dt), dt, device, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    # PyTorch fills the first half from start and the second half from end (symmetric error).
    # Its step is rounded to the result's precision and applied with a fused multiply-add
    # (one rounding), which shows in the last bit: linspace(-5, 5, 7)[3] is 1.1921e-07.
    work = np.float32 if dt in (D.float32, D.float16, D.bfloat16) else np.float64
    idx = np.arange(steps, dtype=np.float64)
    step = float(work((end - start) / (steps - 1))) if steps > 1 else 0.0
    half = steps // 2
    first, last = float(work(start)), float(work(end))
    arr = np.where(idx < half, first + step * idx, last - step * (steps - 1 - idx)).astype(work)
    if steps == 1:
        arr[0] = start  # torch gives [start] for one step
    if dt.category < D._FLOAT:
        arr = np.floor(arr) if step >= 0 else np.ceil(arr)
    return _finish(_cast_like_torch(arr, dt), dt, device, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` values from ``base**start`` to ``base**end`` evenly spaced in the exponent."""
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    exps = linspace(start, end, steps, dtype=D.float64)._data
    return _finish(_cast_like_torch(np.power(base, exps), dt), dt, device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """An ``n x m`` identity matrix."""
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return _finish(np.eye(n, m, dtype=dt.np_dtype), dt, device, requires_grad)


def complex(real: Tensor, imag: Tensor) -> Tensor:
    """A complex tensor from real and imaginary parts (not differentiable in ember yet)."""
    dt = D.complex128 if real.dtype is D.float64 else D.complex64
    return _finish((real._data + 1j * imag._data).astype(dt.np_dtype), dt, real.device, False)


def polar(abs: Tensor, angle: Tensor) -> Tensor:
    """The complex tensor ``abs * (cos(angle) + i sin(angle))``.

    Example:
        >>> ember.polar(ember.tensor([2.0]), ember.tensor([0.0]))
        tensor([2.+0.j])
    """
    return complex(abs * angle.cos(), abs * angle.sin())
