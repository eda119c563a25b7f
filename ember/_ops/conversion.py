"""Conversions between dtypes and devices: ``to``, ``type``, ``float()``, ``cpu()``, ``cuda()``."""

from __future__ import annotations

from .. import _dtype as D
from .._backend import Device, same_device, to_device_array
from .._layout import suggest_memory_format
from .._tensor import Tensor
from ._core import Op
from .shape.views import Cast, Clone

__all__: list = []


class ToDevice(Op):
    _name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, device):
        ctx.src = ctx.inputs[0].device
        return to_device_array(x, device)

    @staticmethod
    def backward(ctx, grad):
        return grad.to(ctx.src)


def _is_dtype_arg(a) -> bool:
    return isinstance(a, (D.dtype, type)) and not isinstance(a, Device)


def _parse_to(args, kwargs):
    """torch's three ``to`` forms: ``(device=None, dtype=None, non_blocking=False, copy=False)``,
    ``(dtype, non_blocking=False, copy=False)`` and ``(tensor, non_blocking=False, copy=False)``;
    returns ``(device, dtype, copy)``. ``None`` is a device that changes nothing, as torch
    (``x.to(None)`` is ``x``)."""
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    if args:
        first = args[0]
        flags = list(args[1:]) if len(args) > 1 else []
        if isinstance(first, Tensor):
            device, dtype = first.device, first.dtype
        elif _is_dtype_arg(first):
            dtype = first
        elif first is None or isinstance(first, (str, Device)) or (
                isinstance(first, int) and not isinstance(first, bool)):
            device = first
            if flags:  # the second place is the dtype's (None: unchanged)
                second = flags.pop(0)
                if second is not None and not _is_dtype_arg(second):
                    flags.append(None)  # refused below
                elif second is not None:
                    dtype = second
        else:
            raise _to_overload_error(args)
        if len(args) > 4:
            raise TypeError(f"to() takes from 0 to 4 positional arguments but {len(args)} were "
                            "given")
        if flags and (len(flags) > 2 or any(not isinstance(f, bool) for f in flags)):
            raise _to_overload_error(args)
        if len(flags) == 2:
            copy = flags[1]
    return (Device(device) if device is not None else None,
            D.to_dtype(dtype) if dtype is not None else None, copy)


def _to_overload_error(args) -> TypeError:
    """torch's refusal of positional ``to()`` arguments that fit none of its overloads."""
    def kind(a) -> str:  # as torch's parser names an argument's type
        if isinstance(a, Tensor):
            return "Tensor"
        if isinstance(a, (D.dtype, Device)):
            return f"torch.{type(a).__name__.lower()}"
        return type(a).__name__

    got = ", ".join(kind(a) for a in args)
    tail = ("bool non_blocking = False, bool copy = False, *, torch.memory_format "
            "memory_format = None)")
    return TypeError(
        f"to() received an invalid combination of arguments - got ({got}), but expected one "
        f"of:\n * (torch.device device = None, torch.dtype dtype = None, {tail}\n"
        f" * (torch.dtype dtype, {tail}\n * (Tensor tensor, {tail}\n")


def to(self: Tensor, *args, **kwargs) -> Tensor:
    """Convert dtype, device and/or memory format: ``x.to('cuda')``, ``x.to(ember.float64)``,
    ``x.to(other)``, ``x.to(memory_format=ember.channels_last)``.

    Returns ``self`` when nothing changes (unless ``copy=True``); for ``memory_format`` that is
    when the strides already suggest that format, as in torch.

    Example:
        >>> ember.zeros(2, 3, 4, 5).to(memory_format=ember.channels_last).stride()
        (60, 1, 15, 3)
    """
    memory_format = kwargs.pop("memory_format", None)
    if memory_format is not None and not isinstance(memory_format, D.memory_format):
        raise TypeError("to() received an invalid combination of arguments: memory_format "
                        f"must be torch.memory_format, not {type(memory_format).__name__}")
    device, dtype, copy = _parse_to(args, kwargs)
    out = self
    if memory_format is not None and memory_format is not D.preserve_format and (
            copy or suggest_memory_format(tuple(self.shape), self.stride()) is not memory_format):
        out, copy = Clone.apply(out, memory_format=memory_format), False
    if device is not None and not same_device(device, out.device):
        out = ToDevice.apply(out, device=device)
    if dtype is not None and dtype is not out._dtype:
        out = Cast.apply(out, dtype=dtype)  # astype's order "K" keeps the layout
    if copy and out is self:
        out = self.clone()
    return out


def _caster(dt: D.dtype):
    def method(self: Tensor, memory_format=None) -> Tensor:
        return to(self, dt, memory_format=memory_format)

    method.__doc__ = f"``self.to({dt})``."
    return method


_LEGACY = {d._legacy: d for d in D.ALL_DTYPES}


def type_(self: Tensor, dtype=None, non_blocking=False):
    """With no argument, the legacy type name (``'torch.FloatTensor'``); else a cast."""
    if dtype is None:
        from .._tensor_str import type_name

        return type_name(self)
    if isinstance(dtype, str):
        # torch reads only legacy names here: 'torch.FloatTensor', 'torch.cuda.FloatTensor'
        prefix, _, name = dtype.rpartition(".")
        if prefix not in ("torch", "torch.cuda") or name not in _LEGACY:
            raise ValueError(f"invalid type: {dtype!r}")
        return to(self, _LEGACY[name], device="cuda" if prefix == "torch.cuda" else "cpu")
    if not isinstance(dtype, (type, D.dtype)):
        raise TypeError("dtype must be a type, str, or dtype object")
    if callable(dtype) and getattr(dtype, "__name__", "") in _LEGACY:
        # a legacy class names its device too: ember.cuda.FloatTensor is a GPU type
        return to(self, _LEGACY[dtype.__name__],
                  device="cuda" if getattr(dtype, "is_cuda", False) else "cpu")
    return to(self, dtype)


def cpu(self: Tensor, memory_format=None) -> Tensor:
    return to(self, "cpu", memory_format=memory_format)


def cuda(self: Tensor, device=None, non_blocking=False, memory_format=None) -> Tensor:
    if isinstance(device, int):
        device = f"cuda:{device}"
    return to(self, Device(device or "cuda"), memory_format=memory_format)


TENSOR_METHODS = {
    "to": to, "type": type_, "cpu": cpu, "cuda": cuda,
    "float": _caster(D.float32), "double": _caster(D.float64), "half": _caster(D.float16),
    "bfloat16": _caster(D.bfloat16), "long": _caster(D.int64), "int": _caster(D.int32),
    "short": _caster(D.int16), "char": _caster(D.int8), "byte": _caster(D.uint8),
    "bool": _caster(D.bool), "cfloat": _caster(D.complex64), "cdouble": _caster(D.complex128),
}
