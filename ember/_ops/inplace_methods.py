"""In-place writes and in-place metadata changes: ``copy_``, ``fill_``, ``zero_``,
``fill_diagonal_``, ``squeeze_``/``unsqueeze_``/``t_``/``transpose_``, ``resize_``, and the
legacy conveniences ``apply_``/``map_``/``new``/``share_memory_``.

Writes that autograd must see go through ``apply_inplace`` with a small op whose node carries
PyTorch's name (``CopyBackwards``, ``FillBackward2``, ``ZeroBackward0``); writes that it need not
see (no grad mode, nothing requires grad) copy straight into the array.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._backend import get_array_module, to_device_array
from .._creation import checked_scalar
from .._tensor import Size, Tensor
from ..autograd import grad_mode
from ._core import NO_DIM as _NO_DIM
from ._core import Op, broadcast_shapes, unbroadcast
from .inplace import (
    apply_inplace,
    check_inplace,
    refuse_internal_overlap,
    refuse_vmap_mix,
    write_target,
)

_state = grad_mode._state


def _check_copy_shape(dst_shape: tuple, src_shape: tuple) -> None:
    if src_shape != dst_shape and broadcast_shapes(dst_shape, src_shape) != dst_shape:
        raise RuntimeError(f"output with shape {list(dst_shape)} doesn't match the broadcast "
                           f"shape {list(broadcast_shapes(dst_shape, src_shape))}")


def _real_part_for(dst, src):
    """``src`` as ``copy_`` writes it into ``dst``: a complex source loses its imaginary part
    for a real destination, with torch's warning (NumPy's own ComplexWarning is not it)."""
    if src.dtype.kind == "c" and dst.dtype.kind != "c":
        from .._config import _warn_complex_to_real

        _warn_complex_to_real()
        return src.real
    return src


class Copy(Op):
    """``dst.copy_(src)``: the old value of ``dst`` gets a zero gradient, ``src`` the rest."""

    _name = "torch::autograd::CopyBackwards"  # PyTorch's C++ node (class CopyBackwards)

    @staticmethod
    def forward(ctx, dst, src):
        s = ctx.inputs[1]
        ctx.src_meta = (src.shape, s._dtype, s.device)
        out = np.empty_like(dst)
        out[...] = _real_part_for(dst, to_device_array(src, ctx.inputs[0].device))
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, dtype, device = ctx.src_meta
        g_dst = grad.new_zeros(grad.shape) if ctx.needs_input_grad[0] else None
        g_src = None
        if ctx.needs_input_grad[1]:
            g_src = unbroadcast(grad, shape).to(device=device, dtype=dtype)
        return g_dst, g_src


def copy_(self: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` into ``self`` in place, broadcasting, casting and moving devices.

    Differentiable: ``src`` receives the gradient, ``self``'s previous value none.

    Example:
        >>> w = ember.zeros(2, 3)
        >>> w.copy_(ember.tensor([1, 2, 3]))   # broadcast over rows, cast to float32
    """
    if isinstance(src, np.generic):  # torch reads a NumPy scalar as a 0-d tensor of its dtype
        from .._creation import tensor

        src = tensor(src, device=self.device)
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'other' (position 1) must be Tensor, not "
                        f"{type(src).__name__}")
    _check_copy_shape(self._data.shape, src._data.shape)
    if src._vmap_levels:
        refuse_vmap_mix(self, src, "copy_")
    if self._inference:
        check_inplace(self)  # the writes below skip autograd's checks, not this one
    if _state.enabled and (self._requires_grad or src._requires_grad):
        return apply_inplace(self, Copy.apply(self, src), "copy_")
    if self.device.type == "meta":  # no data, but a write all the same: the version moves
        self._vbox[0] += 1
        return self
    refuse_internal_overlap(self, "copy_")
    data = _real_part_for(self._data, to_device_array(src._data, self.device))
    if self._dtype is not src._dtype and (self._dtype in D.FLOAT8 or src._dtype in D.FLOAT8):
        data = D.cast_float8(data, self._dtype)  # PyTorch's float8 rounding, not ml_dtypes'
    if self._dtype is D.float16 or self._dtype is D.bfloat16:  # through float32, as torch
        data = D.via_float32(data, self._dtype)
    write_target(self._data)[...] = data
    self._vbox[0] += 1
    return self


class Fill(Op):
    """``fill_``/``zero_``: the old value gets a zero gradient, a tensor value the sum."""

    _name = "FillBackward2"

    @staticmethod
    def forward(ctx, dst, value):
        if isinstance(ctx.inputs[1], Tensor):
            ctx._name = "FillBackward3"
            ctx.value_dtype = ctx.inputs[1]._dtype
        out = np.empty_like(dst)
        if D.is_float8_array(dst):  # PyTorch's float8 rounding, not ml_dtypes'
            out[...] = D.cast_float8(np.asarray(value, np.float32), D._FROM_NP[dst.dtype])
            return out
        out.fill(value.item() if hasattr(value, "item") else value)
        return out

    @staticmethod
    def backward(ctx, grad):
        g_dst = grad.new_zeros(grad.shape) if ctx.needs_input_grad[0] else None
        g_val = grad.sum().to(ctx.value_dtype) if ctx.needs_input_grad[1] else None
        return g_dst, g_val


class Zero(Fill):
    _name = "ZeroBackward0"


def _fill_value(value):
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions.")
        return value
    if not isinstance(value, (int, float, bool, complex, np.number, np.bool_)):
        raise TypeError(f"fill_(): argument 'value' must be Number or Tensor, not "
                        f"{type(value).__name__}")
    return value


def fill_(self: Tensor, value) -> Tensor:
    """Fill ``self`` with a number or a 0-d tensor, in place. Example: ``w.fill_(0.5)``."""
    value = _fill_value(value)
    if not isinstance(value, Tensor):
        # torch range-checks half and bfloat16 too, except when filling a single element
        value = checked_scalar(value, self._dtype, half_too=self.numel() != 1)
        if (self._dtype is D.float16 or self._dtype is D.bfloat16) and isinstance(value, float):
            value = np.float32(value)  # torch rounds a double to float32 before a half type
    if self._inference:
        check_inplace(self)
    if isinstance(value, Tensor) and value._vmap_levels:
        refuse_vmap_mix(self, value, "fill_")
    track = _state.enabled and (self._requires_grad or
                                (isinstance(value, Tensor) and value._requires_grad))
    if track:
        return apply_inplace(self, Fill.apply(self, value), "fill_")
    if self.device.type != "meta":
        # a tensor value is cast as tensors are (int8 from 300 wraps to 44), not range-checked
        fill = value.to(self._dtype).item() if isinstance(value, Tensor) else value
        write_target(self._data).fill(fill)
    self._vbox[0] += 1  # a meta tensor's too, as PyTorch's
    return self


def zero_(self: Tensor) -> Tensor:
    """Fill ``self`` with zeros, in place. Example: ``p.grad.zero_()``."""
    if self._inference:
        check_inplace(self)
    if _state.enabled and self._requires_grad:
        return apply_inplace(self, Zero.apply(self, 0), "zero_")
    if self.device.type != "meta":
        if self._dtype is D.float8_e8m0fnu:  # no zero there: torch writes bits 0 (2**-127)
            self._data.view(np.uint8)[...] = 0
        else:
            write_target(self._data).fill(0)
    self._vbox[0] += 1  # a meta tensor's too, as PyTorch's
    return self


def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal (all dims equal, or a 2-D matrix) in place.

    Example:
        >>> ember.zeros(3, 3).fill_diagonal_(1.0)
    """
    if self.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.ndim > 2 and len(set(self.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    if self._inference:
        check_inplace(self)
    mask = np.zeros(self._data.shape, bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    if not (_state.enabled and self._requires_grad):
        if self.device.type != "meta":
            self._data[to_device_array(mask, self.device)] = fill_value
            self._vbox[0] += 1
        return self
    from .pointwise.compare import where

    m = Tensor._make(to_device_array(mask, self.device), D.bool)
    return apply_inplace(self, where(m, fill_value, self), "fill_diagonal_")


# -- in-place metadata changes ---------------------------------------------------------------

# torch's nodes for the in-place forms of view ops (``t_`` records TBackward1)
_INPLACE_VIEW_NODES = {
    "TBackward0": "TBackward1", "TransposeBackward0": "TransposeBackward1",
    "SqueezeBackward0": "SqueezeBackward3", "SqueezeBackward1": "SqueezeBackward4",
    "SqueezeBackward2": "SqueezeBackward5", "UnsqueezeBackward0": "UnsqueezeBackward1",
    "AsStridedBackward0": "AsStridedBackward1"}


def _become(self: Tensor, result: Tensor) -> Tensor:
    """Make ``self`` take ``result``'s shape/strides (``result`` is a view of ``self``)."""
    self._data = result._data
    self._vbox[0] += 1
    if result.grad_fn is not None:
        name = _INPLACE_VIEW_NODES.get(result.grad_fn.name())
        if name is not None:
            result.grad_fn._name = name
        self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
        if self._base is not None:
            self._view_fn = result._view_fn
    return self


def squeeze_(self: Tensor, dim=_NO_DIM) -> Tensor:
    """``squeeze`` in place: ``self`` changes shape, keeping its memory."""
    from .shape.views import squeeze

    check_inplace(self)
    return _become(self, squeeze(self, dim))


def unsqueeze_(self: Tensor, dim: int) -> Tensor:
    """``unsqueeze`` in place."""
    from .shape.views import unsqueeze

    check_inplace(self)
    return _become(self, unsqueeze(self, dim))


def t_(self: Tensor) -> Tensor:
    """``t`` in place (a matrix becomes its transpose)."""
    from .shape.views import t

    check_inplace(self)
    return _become(self, t(self))


def transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """``transpose`` in place."""
    from .shape.views import transpose

    check_inplace(self)
    return _become(self, transpose(self, dim0, dim1))


def _sizes(sizes) -> tuple:
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, Size)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: "
                           f"{list(sizes)}")
    return sizes


def resize_(self: Tensor, *sizes, memory_format=None) -> Tensor:
    """Give ``self`` a new shape, keeping the leading elements (new ones are zero here; PyTorch
    leaves them uninitialised). Example: ``ember.arange(6.).resize_(2, 2)``."""
    if self._requires_grad and self.grad_fn is None or self._requires_grad and _state.enabled:
        raise RuntimeError("cannot resize variables that require grad")
    if self._inference:
        check_inplace(self)
    shape = _sizes(sizes)
    n = int(np.prod(shape, dtype=np.int64))
    data = self._data
    if n == data.size and data.flags.c_contiguous:
        self._data = data.reshape(shape)
    elif self.device.type != "meta":
        new = get_array_module(data).zeros(n, data.dtype)
        k = min(n, data.size)
        new[:k] = data.reshape(-1)[:k]
        self._data = new.reshape(shape)
    else:
        self._data = np.broadcast_to(np.empty((), data.dtype), shape)
    self._vbox[0] += 1
    return self


def resize_as_(self: Tensor, the_template: Tensor, memory_format=None) -> Tensor:
    """Give ``self`` ``the_template``'s shape in place (``self.resize_(the_template.shape)``),
    keeping its leading elements; also ``ember.resize_as_(input, the_template)``.

    Example:
        >>> ember.resize_as_(ember.arange(6.0), ember.zeros(2, 2))
        tensor([[0., 1.],
                [2., 3.]])
    """
    return resize_(self, the_template.shape)


# -- legacy and compatibility helpers --------------------------------------------------------

def type_as(self: Tensor, other: Tensor) -> Tensor:
    """``self`` cast to ``other``'s dtype (and device). Example: ``idx.type_as(x)``."""
    from .conversion import to

    return to(self, other)


def new(self: Tensor, *args, **kwargs) -> Tensor:
    """Legacy constructor: ``x.new()`` (empty), ``x.new(2, 3)`` (uninitialised of that size),
    ``x.new([1, 2])`` (data), all with ``x``'s dtype and device. Prefer ``new_empty``/
    ``new_tensor``."""
    from .._creation import empty, tensor

    dtype = kwargs.pop("dtype", self._dtype)
    device = kwargs.pop("device", self.device)
    if kwargs:
        raise TypeError(f"new() got unexpected keyword arguments {sorted(kwargs)}")
    if not args:
        return empty(0, dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0]._dtype is not dtype:
            raise TypeError(f"expected {dtype} (got {args[0]._dtype})")
        return args[0].detach()
    if len(args) == 1 and isinstance(args[0], (list, tuple)) and not isinstance(args[0], Size):
        return tensor(args[0], dtype=dtype, device=device)
    return empty(*_sizes(args), dtype=dtype, device=device)


def share_memory_(self: Tensor) -> Tensor:
    """Move this tensor's storage into shared memory (a no-op if it is there already, or on
    CUDA); returns ``self``. Views of the storage stay views of it, and processes forked or
    spawned afterwards that receive the tensor update the same memory (Hogwild training).

    Example:
        >>> t = ember.zeros(3); v = t[1:]
        >>> t.share_memory_().is_shared(), v.is_shared()
        (True, True)
    """
    from .. import _shared_memory

    _shared_memory.share([self])
    return self


def is_shared(self: Tensor) -> bool:
    """Whether this tensor's storage is in shared memory (always True on CUDA, as in PyTorch).

    Example:
        >>> t = ember.ones(2); t.is_shared()
        False
    """
    data = self._data
    if type(data) is np.ndarray and data.base is None:
        return False  # ordinary memory that owns itself: the common answer, without imports
    from .. import _shared_memory

    return _shared_memory.is_shared_data(data)


def pin_memory(self: Tensor, device=None) -> Tensor:
    """``self`` where an accelerator exists (NumPy memory is what pinned memory would be
    copied from); without one, PyTorch's RuntimeError, as ``torch.Tensor.pin_memory`` raises
    on a machine with no accelerator."""
    from .. import accelerator

    if not accelerator.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    return self


def is_pinned(self: Tensor, device=None) -> bool:
    """Always False (see ``pin_memory``)."""
    return False


def _require_cpu(self: Tensor, name: str) -> None:
    if self.device.type != "cpu":
        raise TypeError(f"{name} is only implemented on CPU tensors")
    if _state.enabled and self._requires_grad:
        raise RuntimeError(f"{name}() can't be used on a tensor that requires grad")


def apply_(self: Tensor, callable) -> Tensor:
    """Replace every element ``v`` with ``callable(v)`` in place (CPU, slow: one Python call per
    element). Example: ``x.apply_(lambda v: v * 2)``."""
    _require_cpu(self, "apply_")
    flat = self._data.reshape(-1) if self._data.flags.c_contiguous else None
    values = [callable(v) for v in self._data.reshape(-1).tolist()]
    if flat is not None:
        flat[:] = values
    else:
        self._data[...] = np.array(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._vbox[0] += 1
    return self


def map_(self: Tensor, tensor: Tensor, callable) -> Tensor:
    """``self[i] = callable(self[i], tensor[i])`` in place, ``tensor`` broadcast to ``self``
    (CPU, one Python call per element). Example: ``x.map_(y, lambda a, b: a + b)``."""
    _require_cpu(self, "map_")
    other = np.broadcast_to(tensor._data, self._data.shape).reshape(-1).tolist()
    values = [callable(a, b) for a, b in zip(self._data.reshape(-1).tolist(), other)]
    self._data[...] = np.array(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._vbox[0] += 1
    return self


__all__ = ["fill_", "zero_", "resize_as_"]

TENSOR_METHODS = {
    "copy_": copy_, "fill_": fill_, "zero_": zero_, "fill_diagonal_": fill_diagonal_,
    "squeeze_": squeeze_, "unsqueeze_": unsqueeze_, "t_": t_, "transpose_": transpose_,
    "swapaxes_": transpose_, "swapdims_": transpose_,
    "resize_": resize_, "resize_as_": resize_as_, "type_as": type_as, "new": new,
    "share_memory_": share_memory_, "is_shared": is_shared, "pin_memory": pin_memory,
    "is_pinned": is_pinned, "apply_": apply_, "map_": map_,
}
