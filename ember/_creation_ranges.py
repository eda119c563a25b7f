"""Tensor creation, ranges and matrices: ``arange``, ``range``, ``linspace``, ``logspace``,
``eye``, ``complex``, ``polar``. Re-exported by ``ember._creation``."""

from __future__ import annotations

import math

import numpy as np

from . import _autocast
from . import _dtype as D
from ._autocast import hot as _amp
from ._creation import _cast_like_torch, _finish, check_storage_size
from ._factory_args import check_dtype, out_args, write_out
from ._ops._core import NOT_GIVEN
from ._ops._dispatch import type_name
from ._ops.pointwise.arithmetic import fused_multiply_add64 as _fma64
from ._tensor import Tensor


def _out(fname, result_fn, dtype, device, requires_grad, out):
    """Run a range factory, into ``out`` when given (its dtype and device, PyTorch's checks)."""
    if dtype is not None and not isinstance(dtype, D.dtype):
        check_dtype(fname, dtype)
    if out is None:
        return result_fn(dtype, device, requires_grad)
    dtype, device = out_args(fname, dtype, device, out)
    return write_out(result_fn(dtype, device, False), out, requires_grad)


def _check_kernel(kernel: str, dt: D.dtype) -> None:
    """PyTorch has no range kernels for uint16/32/64 and float8: its NotImplementedError."""
    if dt in D.SHELL:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{D.SCALAR_TYPE[dt.name]}\'')


def arange(start=0, end=NOT_GIVEN, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Values from ``start`` up to (not including) ``end`` in steps of ``step``.

    Example:
        >>> ember.arange(5)
        tensor([0, 1, 2, 3, 4])
    """
    if end is NOT_GIVEN:
        start, end = 0, start
    if end is None or step is None:  # given as None: torch has no such overload
        raise TypeError("arange() received an invalid combination of arguments - got a None "
                        f"{'end' if end is None else 'step'}, but expected one of:\n"
                        " * (Number end, ...)\n * (Number start, Number end, ...)\n"
                        " * (Number start, Number end, Number step, ...)")
    # NumPy integers count as ints (an int64 range), as torch's argument parser reads them
    vals = [v.item() if isinstance(v, (Tensor, np.integer)) else v for v in (start, end, step)]
    if vals[2] == 0 or vals[2] != vals[2]:  # (a NaN step too, as torch)
        raise RuntimeError("step must be nonzero")
    if any(isinstance(v, float) and not math.isfinite(v) for v in vals[:2]):
        raise RuntimeError(f"unsupported range: {float(vals[0]):g} -> {float(vals[1]):g}")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")

    def make(dtype, device, requires_grad):
        if dtype is not None:
            dt = D.to_dtype(dtype)
        elif all(isinstance(v, int) for v in vals):
            dt = D.int64
        else:
            dt = D.get_default_dtype()
        _check_kernel("arange_cpu", dt)
        if dt.category < D._FLOAT and dt is not D.bool:
            # PyTorch computes integer ranges in int64 from truncated bounds; the length comes
            # from the truncated bounds for int64 and from the given ones for narrower types.
            x0, x1, dx = (math.trunc(v) for v in vals)
            if dt is D.int64:
                if dx == 0:
                    raise ValueError("step must be nonzero")
                sgn = (dx > 0) - (dx < 0)
                n = max(0, (x1 - x0 + dx - sgn) // dx)  # ceil((x1 - x0) / dx)
            else:
                n = max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
            check_storage_size((n,), dt.itemsize)
            arr = x0 + np.arange(n, dtype=np.int64) * dx
        else:
            n = max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
            check_storage_size((n,), dt.itemsize)
            arr = vals[0] + np.arange(n, dtype=np.float64) * vals[2]
            if dt is D.float64 and n:
                arr = _arange64(float(vals[0]), float(vals[2]), n)
        return _finish(_cast_like_torch(arr, dt), dt, device, requires_grad)

    return _out("arange", make, dtype, device, requires_grad, out)


def _arange64(start: float, step: float, n: int) -> np.ndarray:
    """float64 ``arange`` values as PyTorch's CPU kernel makes them (one thread, established
    by comparing with it): blocks of eight in vectors of four lanes, each vector's base
    ``fma(step, i0, start)`` and each lane ``fma(step, k, base)``; the tail after the last
    whole block is ``fma(step, i, start)``."""
    i = np.arange(n, dtype=np.float64)
    base = i - i % 4
    whole = n - n % 8
    return np.where(i < whole, _fma64(step, i - base, _fma64(step, base, start)),
                    _fma64(step, i, start))


def range(start, end, step=1, *, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False) -> Tensor:
    """Deprecated in PyTorch (and warns, as there): like ``arange`` but includes ``end``;
    floats by default.

    Example:
        >>> ember.range(0, 2)
        tensor([0., 1., 2.])
    """
    import warnings

    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its "
        "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
        "which produces values in [start, end).", UserWarning, stacklevel=2)

    if device is None:
        device = "cpu"  # PyTorch's deprecated range does not follow the default device

    def make(dtype, device, requires_grad):
        n = int(math.floor((end - start) / step)) + 1
        dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
        _check_kernel("range_cpu", dt)
        arr = start + np.arange(n, dtype=np.float64) * step
        return _finish(_cast_like_torch(arr, dt), dt, device, requires_grad)

    return _out("range", make, dtype, device, requires_grad, out)


def _steps(fname: str, steps) -> int:
    """``steps`` as torch's parser reads it: an int, a NumPy int or a 0-d integer tensor; a
    bool or a float is a TypeError, not read as 0/1 or truncated."""
    if isinstance(steps, Tensor) and steps.ndim == 0 and steps.dtype.category == D._INT:
        return int(steps.item())
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, (bool, np.bool_)):
        return int(steps)
    raise TypeError(f"{fname}(): argument 'steps' must be int, not {type_name(steps)}")


def _scalar_ends(fname: str, start, end) -> None:
    """torch's linspace/logspace take 0-d tensors as ends, not longer ones."""
    bad = [f"{name} with {v.ndim} dimension(s)" for name, v in (("start", start), ("end", end))
           if isinstance(v, Tensor) and v.ndim]
    if bad:
        raise RuntimeError(f"{fname} only supports 0-dimensional start and end tensors, but got "
                           f"{' and '.join(bad)}.")


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    Example:
        >>> ember.linspace(0, 1, 3)
        tensor([0.0000, 0.5000, 1.0000])
    """
    if type(steps) is not int:
        steps = _steps("linspace", steps)
    if isinstance(start, Tensor) or isinstance(end, Tensor):
        _scalar_ends("linspace", start, end)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return _out("linspace", lambda dt, dev, rg: _linspace(start, end, steps, dt, dev, rg),
                dtype, device, requires_grad, out)


def _linspace(start, end, steps, dtype, device, requires_grad, fused: bool = True):
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    _check_kernel("linspace_cpu", dt)
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    # PyTorch fills the first half from start and the second half from end (symmetric error).
    # Its step is rounded to the result's precision and applied with a fused multiply-add
    # (one rounding), which shows in the last bit: linspace(-5, 5, 7)[3] is 1.1921e-07.
    if dt in (D.float16, D.bfloat16):
        return _finish(_linspace_16bit(start, end, steps, dt.np_dtype.type), dt, device,
                       requires_grad)
    work = np.float32 if dt is D.float32 else np.float64
    integral = dt.category < D._FLOAT
    idx = np.arange(steps, dtype=np.float64)
    # the ends are rounded first (integer results: truncated to integers) and the step
    # computed from them in that precision
    first, last = (work(int(start)), work(int(end))) if integral else (work(start), work(end))
    step = float((last - first) / work(steps - 1)) if steps > 1 else 0.0
    half = steps // 2
    first, last = float(first), float(last)
    if (dt is D.float64 or integral) and fused:  # a real fused multiply-add in float64
        arr = np.where(idx < half, _fma64(step, idx, first),
                       _fma64(-step, steps - 1 - idx, last))
    else:
        arr = np.where(idx < half, first + step * idx, last - step * (steps - 1 - idx))
    arr = arr.astype(work)
    if steps == 1:
        arr[0] = start  # torch gives [start] for one step
    if integral:
        arr = np.trunc(arr)  # toward zero, as C's conversion
    return _finish(_cast_like_torch(arr, dt), dt, device, requires_grad)


def _linspace_16bit(start, end, steps, half_type):
    """linspace in float16/bfloat16 as PyTorch's kernel runs it: every operation rounded to
    the 16-bit type (no wider accumulation, no fused multiply-add)."""
    first, last = half_type(start), half_type(end)
    if steps == 1:
        return np.array([first], half_type)
    step = (last - first) / half_type(max(steps - 1, 1))
    idx = np.arange(steps)
    up = first + step * idx.astype(half_type)
    down = last - step * idx[::-1].astype(half_type)
    return np.where(idx < steps // 2, up, down).astype(half_type)


def logspace(start, end, steps: int, base: float = 10.0, *, out=None, dtype=None, layout=None,
             device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``steps`` values from ``base**start`` to ``base**end`` evenly spaced in the exponent.

    Example:
        >>> ember.logspace(0, 2, 3)
        tensor([  1.,  10., 100.])
    """
    if type(steps) is not int:
        steps = _steps("logspace", steps)
    if isinstance(start, Tensor) or isinstance(end, Tensor):
        _scalar_ends("logspace", start, end)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")

    def make(dtype, device, requires_grad):
        dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
        _check_kernel("logspace_cpu", dt)
        # (torch's logspace exponents are not its fused linspace: two roundings match it more)
        exps = _linspace(start, end, steps, D.float64, "cpu", False, fused=False)._data
        return _finish(_cast_like_torch(np.power(base, exps), dt), dt, device, requires_grad)

    return _out("logspace", make, dtype, device, requires_grad, out)


def eye(n: int, m: int | None = NOT_GIVEN, *, out=None, dtype=None, layout=None, device=None,
        requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An ``n x m`` identity matrix.

    Example:
        >>> ember.eye(2)
        tensor([[1., 0.],
                [0., 1.]])
    """
    if m is NOT_GIVEN:
        m = None
    elif m is None:  # given as None: torch has no such overload
        raise TypeError("eye() received an invalid combination of arguments - got (int, "
                        "NoneType), but expected one of:\n * (int n, ...)\n"
                        " * (int n, int m, ...)")
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")

    def make(dtype, device, requires_grad):
        dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
        if dt in D.UNSIGNED_SHELL:  # (float8 eye works in PyTorch)
            _check_kernel("eye", dt)
        return _finish(np.eye(n, m, dtype=dt.np_dtype), dt, device, requires_grad)

    return _out("eye", make, dtype, device, requires_grad, out)


def complex(real: Tensor, imag: Tensor) -> Tensor:
    """A complex tensor from real and imaginary parts (broadcast; differentiable in both).

    Example:
        >>> ember.complex(ember.tensor([1.0]), ember.tensor([2.0]))
        tensor([1.+2.j])
    """
    names = {D.float16: "Half", D.float32: "Float", D.float64: "Double"}
    if real.dtype not in names or imag.dtype not in names:
        title = {D.int64: "Long", D.int32: "Int", D.bool: "Bool", D.bfloat16: "BFloat16"}
        raise RuntimeError("Expected both inputs to be Half, Float or Double tensors but got "
                           f"{title.get(real.dtype, names.get(real.dtype, str(real.dtype)))} "
                           f"and {title.get(imag.dtype, names.get(imag.dtype, str(imag.dtype)))}")
    if real.dtype is not imag.dtype:
        raise RuntimeError(f"Expected object of scalar type {names[real.dtype]} but got scalar "
                           f"type {names[imag.dtype]} for second argument")
    if real.requires_grad or imag.requires_grad:
        from ._ops.pointwise.complex import view_as_complex
        from ._ops.shape.joining import stack

        real, imag = real.broadcast_to(_broadcast_shape(real, imag)), imag.broadcast_to(
            _broadcast_shape(real, imag))
        from ._ops._core import set_node_name

        return set_node_name(view_as_complex(stack([real, imag], -1)), "ComplexBackward0")
    dt = D.complex128 if real.dtype is D.float64 else D.complex64
    return _finish((real._data + 1j * imag._data).astype(dt.np_dtype), dt, real.device, False)


def _broadcast_shape(a: Tensor, b: Tensor) -> tuple:
    return tuple(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))


def polar(abs: Tensor, angle: Tensor) -> Tensor:
    """The complex tensor ``abs * (cos(angle) + i sin(angle))``.

    Example:
        >>> ember.polar(ember.tensor([2.0]), ember.tensor([0.0]))
        tensor([2.+0.j])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(polar, "polar", abs, angle)
    if abs.dtype is D.float16 and angle.dtype is D.float16:
        raise NotImplementedError("\"polar_cpu\" not implemented for 'Half'")
    if abs.dtype is not angle.dtype or abs.dtype not in (D.float32, D.float64):
        complex(abs, angle)  # raises PyTorch's error for these dtypes, as polar does
    out = complex(abs * angle.cos(), abs * angle.sin())
    if out.grad_fn is None:
        return out
    from ._ops._core import set_node_name

    return set_node_name(out, "PolarBackward0")  # torch's node, as printed with the tensor
