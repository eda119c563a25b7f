"""Shared machinery for elementwise ops: promotion, device checks, ``out=`` and in-place writes.

Every binary op promotes its operands with ``_dtype.result_type`` *before* NumPy sees them, so
NumPy never picks a result dtype (``int32_array * 2.5`` would be float64 in NumPy, float32 in
PyTorch).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.forward_ad import _current as _forward_ad
from ._core import broadcast_shapes
from .inplace import _check_result, _type_title, apply_inplace, check_inplace

_state = grad_mode._state
_NUMBER = (bool, int, float, complex, np.generic)


def _scalar(v, dt: D.dtype):
    """A Python number as an operand of dtype ``dt`` (ints wrap around as in PyTorch)."""
    try:
        return dt.np_dtype.type(v)
    except (OverflowError, ValueError, TypeError):
        with np.errstate(all="ignore"):
            return np.asarray(v).astype(dt.np_dtype)[()]


def _cast(x, dt: D.dtype):
    """Cast an operand (Tensor or Python number) to ``dt`` (differentiably for tensors)."""
    if isinstance(x, Tensor):
        return x if x._dtype is dt else x.to(dt)
    if isinstance(x, _NUMBER):
        return _scalar(x, dt)
    raise TypeError(
        f"unsupported operand type: expected a Tensor or a number, got {type(x).__name__}")


def promote(a, b, compute: D.dtype | None = None):
    """Cast two operands to their common dtype (or to ``compute``); returns (a, b, dtype)."""
    if type(a) is Tensor and type(b) is Tensor and a._dtype is b._dtype and compute is None:
        return a, b, a._dtype
    dt = compute or D.result_type(a, b)
    return _cast(a, dt), _cast(b, dt), dt


def check_devices(a, b):
    if isinstance(a, Tensor) and isinstance(b, Tensor) and type(a._data) is not type(b._data):
        da, db = a.device, b.device
        if da != db and da.type != "meta" and db.type != "meta":
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{da} and {db}! Move them with .to(device) first.")


def align_devices(a, b):
    """``(a, b)`` on one device: as in PyTorch, a 0-d CPU tensor may meet a tensor on another
    device (it moves there, differentiably); any other mix raises ``check_devices``' error."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and type(a._data) is not type(b._data):
        da, db = a.device, b.device
        if da != db and da.type != "meta" and db.type != "meta":
            if da.type == "cpu" and not a._data.ndim:
                return a.to(db), b
            if db.type == "cpu" and not b._data.ndim:
                return a, b.to(da)
            check_devices(a, b)
    return a, b


def binary(cls, a, b, compute: D.dtype | None = None, **kwargs):
    """Run a binary op with promotion and PyTorch's broadcast error."""
    a, b = align_devices(a, b)
    a2, b2, dt = promote(a, b, compute)
    if dt in D.SHELL:  # kernels torch lacks for uint16/32/64 and float8
        if cls.__name__ in D.SHELL_BINARY_KERNELS:
            raise not_implemented_for(D.SHELL_BINARY_KERNELS[cls.__name__], dt)
        if cls.__name__ == "Mul" and dt in D.FLOAT8 and not (
                isinstance(a, Tensor) and isinstance(b, Tensor)):
            raise not_implemented_for("mul_cpu_reduced_float", dt)  # float8 * number
    try:
        return cls.apply(a2, b2, **kwargs)
    except ValueError:
        broadcast_shapes(np.shape(_raw(a2)), np.shape(_raw(b2)))
        raise


def _raw(x):
    return x._data if isinstance(x, Tensor) else x


def _shape_of(x):
    return x._data.shape if isinstance(x, Tensor) else ()


def as_tensor(x, like=None) -> Tensor:
    """A Python number (or list) given where a tensor is expected, as a tensor.

    A number takes its own scalar dtype (``2`` -> int64, ``2.5`` -> the default float dtype);
    wrapped this way it still promotes like a number, because it is 0-d.
    """
    from .._creation import tensor

    device = like.device if isinstance(like, Tensor) else None
    if isinstance(x, _NUMBER):
        return tensor(x, dtype=D.scalar_dtype(x), device=device)
    return tensor(x, device=device)


def require_tensor(x, fname: str, arg: str = "input", pos: int = 1):
    """PyTorch's TypeError for a non-tensor where only a tensor is accepted."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{fname}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def not_implemented_for(op: str, dt: D.dtype):
    """PyTorch's NotImplementedError for a dtype a kernel does not support."""
    return NotImplementedError(f'"{op}" not implemented for \'{_type_title(dt)}\'')


# -- out= and in-place ---------------------------------------------------------------------

def finish_out(result: Tensor, out: Tensor | None, name: str, *inputs) -> Tensor:
    """Write ``result`` into ``out`` (PyTorch's ``out=``): same-kind cast, resize when needed."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if _state.enabled and (out._requires_grad or any(
            isinstance(x, Tensor) and x._requires_grad for x in inputs)):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad. Call it under "
            "`with ember.no_grad():` or drop out= and assign the result.")
    if result._dtype is not out._dtype and not D.can_cast(result._dtype, out._dtype):
        raise RuntimeError(f"result type {_type_title(result._dtype)} can't be cast to the "
                           f"desired output type {_type_title(out._dtype)}")
    if out._data.shape != result._data.shape:
        if out._data.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(out._data.shape)}, which does not match the required output shape "
                f"{list(result._data.shape)}. This behavior is deprecated; pass an empty out "
                "tensor or one of the right shape.", UserWarning, stacklevel=3)
        out._data = result._data.astype(out._dtype.np_dtype, copy=True)
    else:
        np.copyto(out._data, result._data, casting="unsafe")
    out._version[0] += 1
    return out


def no_autograd(t: Tensor, other=None) -> bool:
    """True when an in-place op on ``t`` needs no graph bookkeeping (the fast path)."""
    if _forward_ad["level"] is not None and not _forward_ad["paused"] and (
            "_fw_tangent" in t.__dict__
            or isinstance(other, Tensor) and "_fw_tangent" in other.__dict__):
        return False  # tangents must follow the write (forward-mode AD)
    if not _state.enabled:
        return type(t._data) is np.ndarray
    if t._requires_grad or (isinstance(other, Tensor) and other._requires_grad):
        return False
    return type(t._data) is np.ndarray


def inplace_ufunc(t: Tensor, ufunc, other, name: str, outplace):
    """``t = ufunc(t, other)`` in place. Without autograd it writes straight into ``t``'s
    memory (no temporary, no copy); otherwise it goes through ``apply_inplace``."""
    if no_autograd(t, other):
        if isinstance(other, Tensor):
            check_devices(t, other)
            dt = t._dtype if other._dtype is t._dtype else D.result_type(t, other)
        else:
            dt = D.result_type(t, other)
        # uint16/32/64 and float8 take the out-of-place op, which refuses what torch refuses
        if dt is t._dtype and (dt not in D.SHELL or outplace is None):
            o = _cast(other, dt)
            o = o._data if isinstance(o, Tensor) else o
            oshape = np.shape(o)
            if oshape != t._data.shape and len(oshape):
                _check_result(t, dt, broadcast_shapes(t._data.shape, oshape), name)
            check_inplace(t)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ufunc(t._data, o, out=t._data)
            t._version[0] += 1
            return t
    return apply_inplace(t, outplace(), name)
