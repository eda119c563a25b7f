"""Tensor creation: ``tensor``, ``from_numpy``, ``zeros``, ``arange``, ... legacy constructors."""

from __future__ import annotations

import builtins
import math
import warnings
from collections.abc import Sequence

import numpy as np

from . import _default_device
from . import _dtype as D
from ._backend import CPU, Device, get_array_module, meta_array, to_device_array
from ._errors import with_hint
from ._factory_args import check_dtype, out_args, write_out
from ._factory_args import sizes as _sizes
from ._layout import (
    copy_with_strides,
    element_strides,
    empty_strided_array,
    format_order,
    strides_for,
    target_strides,
)
from ._tensor import Tensor


def _uninferable(x) -> Exception:
    """torch's refusal of a value ``tensor()`` cannot read: text is an invalid data type, any
    other object has no dtype to infer (named as CPython's ``tp_name`` names its type)."""
    kind = type(x)
    if isinstance(x, (str, bytes)):
        error = TypeError(f"new(): invalid data type '{kind.__name__}'")
    else:
        heap = kind.__flags__ & (1 << 9) or kind.__module__ == "builtins"  # Py_TPFLAGS_HEAPTYPE
        name = kind.__name__ if heap else f"{kind.__module__}.{kind.__qualname__}"
        error = RuntimeError(f"Could not infer dtype of {name}")
    return with_hint(error, "ember.tensor takes numbers, nested lists or tuples of numbers, "
                            "NumPy arrays and tensors")


_OVERFLOW_HINT = "an integer does not fit in int64; pass dtype=ember.float64 for large values"
_STACK_HINT = "use ember.stack(tensors) to join whole tensors"

__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
    "ones_like", "full_like", "empty_like", "arange", "range", "linspace", "logspace", "eye",
    "empty_strided", "scalar_tensor", "FloatTensor", "DoubleTensor", "HalfTensor",
    "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor", "ByteTensor",
    "BoolTensor", "complex", "polar",
]


def _device(device) -> Device:
    """``device`` as a Device; None means the default device (``set_default_device``)."""
    if device is None:
        device = _default_device._state.device
        return CPU if device is None else device
    return Device(device)


def _finish(arr, dtype: D.dtype, device, requires_grad: bool) -> Tensor:
    """Place an array on its device and wrap it; shared tail of every creation function."""
    dev = _device(device)
    if dev.type != "cpu":
        arr = to_device_array(arr, dev)
    t = Tensor._make(arr, dtype)
    if requires_grad:
        t._set_requires_grad(True, "Only Tensors of floating point and complex dtype")
    return t


def _other_sequence(x) -> bool:
    """A sequence that torch reads as data though it is no list or tuple (``range``, ``deque``,
    ``array.array``): pyGCN-style code writes ``torch.LongTensor(range(140))``."""
    return not isinstance(x, (list, tuple, str, bytes, Tensor, int, float)) \
        and isinstance(x, Sequence)


def _infer_dtype(data) -> D.dtype:
    """The dtype ``ember.tensor(data)`` picks: bool, int64, default float or complex."""
    kinds = set()

    def walk(x):
        if isinstance(x, (list, tuple)):
            for y in x:
                walk(y)
        elif isinstance(x, Tensor):
            kinds.add(x.dtype)
        elif isinstance(x, np.ndarray):
            _warn_ndarray_list()
            kinds.add(D.from_numpy_dtype(x.dtype))
        elif isinstance(x, np.generic):
            kinds.add(D.from_numpy_dtype(x.dtype))
        elif isinstance(x, builtins.bool):
            kinds.add(D.bool)
        elif isinstance(x, int):
            kinds.add(D.int64)
        elif isinstance(x, float):
            kinds.add(D.get_default_dtype())
        elif isinstance(x, builtins.complex):
            kinds.add(D.scalar_dtype(x))
        elif _other_sequence(x):
            walk(list(x))  # NumPy reads nested ranges and deques as torch does
        else:
            raise _uninferable(x)

    walk(data)
    if not kinds:
        return D.get_default_dtype()
    result = None
    for k in kinds:
        result = k if result is None else D.promote_types(result, k)
    return result


def _to_array(data, dtype: D.dtype | None) -> tuple:
    if isinstance(data, Tensor):
        arr = np.array(to_device_array(data._data, CPU))
        if dtype is not None and dtype is not data.dtype and (
                dtype in D.FLOAT8 or data.dtype in D.FLOAT8):
            return D.cast_float8(arr, dtype), dtype
        if dtype is None:
            return arr, data.dtype
        return D.via_float32(arr, dtype).astype(dtype.np_dtype), dtype
    if isinstance(data, np.ndarray):
        dt = dtype or D.from_numpy_dtype(data.dtype)
        if data.dtype != dt.np_dtype and (dt in D.FLOAT8 or D.is_float8_array(data)):
            return D.cast_float8(data, dt), dt
        return np.array(D.via_float32(data, dt), dtype=dt.np_dtype), dt
    if _other_sequence(data):
        data = list(data)
    if isinstance(data, (list, tuple)) and data:
        _check_first_elements(data)
    dt = dtype or _infer_dtype(data)
    if dt.category == D._INT and _has_numpy_bool(data):
        # torch reads an integer element through __index__, which NumPy's bool lacks
        raise TypeError("'numpy.bool' object cannot be interpreted as an integer")
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _tensors_to_lists(data, dt.category < D._FLOAT)
    if dt is D.uint64 and any(isinstance(v, float) for v in (
            _flat(data) if isinstance(data, (list, tuple)) else [data])):
        raise TypeError("an integer is required")  # PyTorch's uint64 takes no Python floats
    if dt is D.uint64 and any(isinstance(v, int) and v < 0 for v in (
            _flat(data) if isinstance(data, (list, tuple)) else [data])):
        raise OverflowError("can't convert negative int to unsigned")
    try:
        # float8 values are rounded by PyTorch's rules (cast_float8), not ml_dtypes' ones
        # and Python numbers reach float16/bfloat16 through float32, as in PyTorch
        arr = np.array(data, dtype=np.float32 if dt is D.float16 or dt is D.bfloat16 else
                       dt.np_dtype if dt.category >= D._FLOAT and dt not in D.FLOAT8 else None)
    except ValueError:
        raise _ragged_error(data) from None
    except OverflowError:
        raise with_hint(ValueError("Overflow when unpacking long long"),
                        _OVERFLOW_HINT) from None
    if arr.dtype == object or arr.dtype == np.uint64 and dt is not D.uint8 or (
            arr.dtype.kind == "f" and dt.category == D._INT):  # [1, 2**63] is float64 to NumPy
        values = _flat(data) if isinstance(data, (list, tuple)) else [data]
        if any(isinstance(v, int) and not -2**63 <= v < 2**63 for v in values):
            raise with_hint(ValueError("Overflow when unpacking long long"), _OVERFLOW_HINT)
        if arr.dtype == object:
            raise ValueError("expected a rectangular nested sequence of numbers")
    if arr.dtype != dt.np_dtype:
        if dt.category == D._INT:
            _check_fits(arr, dt)
        arr = _cast_like_torch(arr, dt)
    return arr, dt


def _check_fits(arr: np.ndarray, dt: D.dtype, type_name: str | None = None) -> None:
    """torch refuses numbers an integer dtype cannot hold (a tensor's cast wraps instead).

    Unsigned types also take negative ints down to -max (they wrap: -1 -> 255), not floats.
    ``type_name`` is the name torch's message uses (``tensor`` says uint8, ``full`` uint8_t).
    """
    info = np.iinfo(dt.np_dtype)
    if arr.dtype == np.uint64:  # a Python int in [2**63, 2**64)
        raise ValueError("Overflow when unpacking long long")
    if arr.dtype.kind == "f":
        ok = np.isfinite(arr).all() and (arr.size == 0 or (arr.min() >= info.min
                                                          and arr.max() <= info.max))
    elif arr.dtype.kind in "iu":
        lo = -int(info.max) if info.min == 0 else int(info.min)
        ok = arr.size == 0 or (int(arr.min()) >= lo and int(arr.max()) <= int(info.max))
    else:
        return
    if not ok:
        raise RuntimeError(f"value cannot be converted to type {type_name or dt.name} without "
                           "overflow")


# the C type names torch's factory messages use
_C_NAMES = {"int32": "int"}


def checked_scalar(value, dt: D.dtype, *, half_too: bool = False):
    """A Python number as torch writes it into a ``dt`` tensor (``fill_``, ``masked_fill``,
    ``x[i] = v``): a RuntimeError when it does not fit, negative ints wrapping into unsigned
    types (-1 -> 255), and anything else unchanged. ``half_too``: float16 and bfloat16 refuse
    finite values past their range too (``masked_fill`` does; ``x[i] = v`` rounds to inf).

    Example:
        >>> checked_scalar(-1, ember.uint8)
        255
    """
    # the common case first (fills, masks and writes of small numbers): nothing to check
    kind = type(value)
    if (kind is float or kind is int) and -65504 <= value <= 65504 and (
            dt.category >= D._FLOAT or (kind is int and dt.category == D._INT and value >= 0
                                        and value < 128)):
        return value
    if kind is int:
        D.check_int_scalar(value)  # past 64 bits: torch's OverflowError, whatever the dtype
    if type(value) is np.complex64 or type(value) is np.clongdouble:
        value = float(value)  # torch reads them as a double (NumPy's ComplexWarning)
    if isinstance(value, (builtins.complex, np.complexfloating)) and not dt.is_complex \
            and dt is not D.bool:
        if value.imag != 0:  # torch refuses to drop an imaginary part
            # (naming double where half and bfloat16 take a number through a double first)
            name = "double" if dt.name in ("float16", "bfloat16") and not half_too \
                else _c_name(dt)
            raise RuntimeError(f"value cannot be converted to type {name} without overflow")
        value = value.real
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        return value
    if dt.category == D._INT and isinstance(value, int) and value >= 2**63:
        raise RuntimeError(f"value cannot be converted to type {_c_name(dt)} without overflow")
    if dt.category == D._INT:
        _check_fits(np.asarray(value), dt, _C_NAMES.get(dt.name, dt.name + "_t"))
        if value < 0 and np.iinfo(dt.np_dtype).min == 0:
            return int(value) + int(np.iinfo(dt.np_dtype).max) + 1
    elif dt.name in _FLOAT_LIMITS and (dt is D.float32 or half_too) and \
            math.isfinite(value) and abs(value) > _FLOAT_LIMITS[dt.name][0]:
        raise RuntimeError(f"value cannot be converted to type {_FLOAT_LIMITS[dt.name][1]} "
                           "without overflow")
    return value


# the largest finite value of each narrower float dtype, and torch's C name for it
_FLOAT_LIMITS = {"float32": (3.4028234663852886e38, "float"),
                 "float16": (65504.0, "c10::Half"),
                 "bfloat16": (3.3895313892515355e38, "c10::BFloat16")}


def _c_name(dt: D.dtype) -> str:
    """The C type name torch's conversion messages give ``dt`` (int, double, int8_t ...)."""
    if dt.name in _FLOAT_LIMITS:
        return _FLOAT_LIMITS[dt.name][1]
    return {"float64": "double"}.get(dt.name) or _C_NAMES.get(dt.name, dt.name + "_t")


def _ragged_error(data) -> Exception:
    """torch's error for a ragged nested list: ValueError where the lengths disagree,
    TypeError where a number stands for a sequence (``[[1], 2]``: "not a sequence") or a
    sequence for a number (``[1, [2]]``)."""
    def walk(x, dim):
        if not isinstance(x, (list, tuple)) or not x or not isinstance(x[0], (list, tuple)):
            return None
        n = len(x[0])
        for y in x:
            if not isinstance(y, (list, tuple, np.ndarray, Tensor)):
                return TypeError("not a sequence")
            if len(y) != n:
                got = len(y) if isinstance(y, (list, tuple)) else type(y).__name__
                return ValueError(f"expected sequence of length {n} at dim {dim + 1} (got {got})")
        for y in x:
            err = walk(y, dim + 1)
            if err:
                return err
        return None

    return walk(data, 0) or TypeError(
        "expected a number, got a nested sequence where the first elements set a number: "
        "the nested lists must be rectangular")


def _has_numpy_bool(data) -> bool:
    """Whether ``data`` (a number or nested lists and tuples) holds a NumPy bool scalar; one
    ``set(map(type, ...))`` per list, a tenth of the conversion's own cost."""
    if isinstance(data, np.bool_):
        return True
    if not isinstance(data, (list, tuple)):
        return False
    kinds = set(map(type, data))
    if np.bool_ in kinds:
        return True
    return (list in kinds or tuple in kinds) and any(
        _has_numpy_bool(x) for x in data if type(x) is list or type(x) is tuple)


def _check_first_elements(data) -> None:
    """torch reads a nested sequence's shape from its first elements: a 0-d NumPy array met
    there is asked for its length (``tensor([np.array(2)])`` is a TypeError; elsewhere, as
    in ``tensor([1, np.array(2)])``, it is read as a number)."""
    x = data
    while isinstance(x, (list, tuple)) and x:
        x = x[0]
    if isinstance(x, np.ndarray):
        _warn_ndarray_list()
        if x.ndim == 0:
            raise TypeError("len() of unsized object")
    if isinstance(x, str) and x:  # a string is a sequence of strings, without end
        raise with_hint(ValueError("too many dimensions 'str'"),
                        "tensor() takes numbers; encode text first (a vocabulary of ids)")


_ndarray_list_warned = False


def _warn_ndarray_list() -> None:
    """torch's once-per-process warning for NumPy arrays inside a list given as data."""
    global _ndarray_list_warned
    if not _ndarray_list_warned:
        from ._ops.reduction.statistics import _user_stacklevel

        _ndarray_list_warned = True
        warnings.warn("Creating a tensor from a list of numpy.ndarrays is extremely slow. Please "
                      "consider converting the list to a single numpy.ndarray with numpy.array() "
                      "before converting to a tensor.", UserWarning,
                      stacklevel=_user_stacklevel())


def _flat(xs):
    for x in xs:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _tensors_to_lists(x, integral: bool = False):
    if isinstance(x, Tensor):
        if x.numel() != 1:  # torch converts each tensor in a list to a Python scalar
            if integral:  # torch's integer (and bool) conversion goes through __index__
                raise with_hint(TypeError("only integer tensors of a single element can be "
                                          "converted to an index"), _STACK_HINT)
            raise with_hint(ValueError("only one element tensors can be converted to Python "
                                       "scalars"), _STACK_HINT)
        return x.item()
    if isinstance(x, (list, tuple)):
        return [_tensors_to_lists(y, integral) for y in x]
    return x


def _cast_like_torch(arr, dt: D.dtype):
    """Cast as PyTorch does: floats truncate toward zero into ints, ints wrap around."""
    if dt in D.FLOAT8 or D.is_float8_array(arr):
        return D.cast_float8(arr, dt)
    if dt in D.UNSIGNED_SHELL and arr.dtype.kind == "f":
        return D.float_to_int(arr, dt)
    if dt.category == D._INT and arr.dtype.kind == "f":
        arr = np.trunc(arr)
    with np.errstate(all="ignore"):
        return D.via_float32(arr, dt).astype(dt.np_dtype)


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """Make a new tensor from data (a number, nested lists, a NumPy array), always copying.

    Example:
        >>> ember.tensor([[1, 2], [3, 4]], dtype=ember.float32)
        tensor([[1., 2.],
                [3., 4.]])
    """
    dt = D.to_dtype(dtype) if dtype is not None else None
    if isinstance(data, Tensor):
        import warnings

        warnings.warn(
            "To copy construct from a tensor, it is recommended to use "
            "sourceTensor.detach().clone() or sourceTensor.detach().clone().requires_grad_(True), "
            "rather than ember.tensor(sourceTensor).", UserWarning, stacklevel=2)
    arr, dt = _to_array(data, dt)
    return _finish(arr, dt, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a tensor or NumPy array when it can (same dtype,
    and the device asked for, or the default device, is where the data already is).

    Example:
        >>> a = np.zeros(2, np.float32); ember.as_tensor(a).data_ptr() == a.ctypes.data
        True
    """
    dt = D.to_dtype(dtype) if dtype is not None else None
    if device is None:
        device = _default_device._state.device  # None unless a default device was set
    if isinstance(data, Tensor):
        if (dt is None or dt is data.dtype) and (device is None or Device(device) == data.device):
            return data
        return data.to(device=device, dtype=dt)
    if isinstance(data, np.ndarray) and (dt is None or dt.np_dtype == data.dtype):
        t = from_numpy(data)
        return t if device is None else t.to(device)
    return tensor(data, dtype=dt, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False) -> Tensor:
    """Convert ``obj`` (a tensor, NumPy array, number or nested sequence) to a tensor, sharing
    memory where it can; ``copy=True`` always copies.

    Example:
        >>> ember.asarray([1, 2, 3])
        tensor([1, 2, 3])
    """
    t = tensor(obj, dtype=dtype, device=device) if copy else as_tensor(obj, dtype, device)
    if requires_grad:
        t._set_requires_grad(True, "Only Tensors of floating point and complex dtype")
    return t


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (changes show through both ways).

    Example:
        >>> a = np.array([1, 2, 3]); t = ember.from_numpy(a); a[0] = 9; t
        tensor([9, 2, 3])
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    dt = D.from_numpy_dtype(ndarray.dtype)
    if ndarray.dtype.byteorder not in ("=", "|") and ndarray.dtype.byteorder != (
            "<" if np.little_endian else ">"):
        raise ValueError("given numpy array has byte order different from the native byte order. "
                         "Conversion between byte orders is currently not supported.")
    if any(s < 0 for s in ndarray.strides):
        raise ValueError(
            "At least one stride in the given numpy array is negative, and tensors with negative "
            "strides are not currently supported. (You can probably work around this by making "
            "a copy of your array  with array.copy().) ")  # (torch's trailing space)
    return Tensor._make(ndarray, dt)


def _shape(size) -> tuple:
    """The shape from a creation function's varargs (ints, or one tuple/list/Size)."""
    return _sizes("zeros", size)


def _filled(shape, value, dtype, device, requires_grad):
    dt = D.to_dtype(dtype) if dtype is not None else None
    if type(value) is int:
        D.check_int_scalar(value)  # past 64 bits: torch's OverflowError, whatever the dtype
    if dt is None:
        dt = D.get_default_dtype() if value is None else D.scalar_dtype(value)
    nbytes = check_storage_size(shape, dt.itemsize)
    if _device(device).type == "meta":
        return _finish(meta_array(shape, dt.np_dtype), dt, "meta", requires_grad)
    if dt.category == D._INT and isinstance(value, (int, float)) \
            and not isinstance(value, builtins.bool):
        c_name = _C_NAMES.get(dt.name, dt.name + "_t")
        if type(value) is int and value >= 2**63:  # a uint64 to torch's parser
            if dt is not D.uint64:
                raise RuntimeError(f"value cannot be converted to type {c_name} without "
                                   "overflow")
        else:  # (a uint64 holds every int in [2**63, 2**64): check_int_scalar saw the rest)
            _check_fits(np.asarray(value), dt, c_name)
        if value < 0 and np.iinfo(dt.np_dtype).min == 0:
            value = int(value) + int(np.iinfo(dt.np_dtype).max) + 1  # -1 -> 255, as torch
    elif dt.category >= D._FLOAT and value is not None:
        value = checked_scalar(value, dt)  # 1e40 into float32: torch's overflow error
        if dt is D.complex64 and isinstance(value, (builtins.complex, float, np.number)) and \
                any(math.isfinite(p) and abs(p) > 3.4028234663852886e38
                    for p in (value.real, value.imag)):
            raise RuntimeError("value cannot be converted to type c10::complex<float> without "
                               "overflow")
    try:
        if value is None:
            arr = np.empty(shape, dt.np_dtype)
        elif value == 0 and not isinstance(value, builtins.bool):
            arr = np.zeros(shape, dt.np_dtype)
        else:
            with np.errstate(over="ignore"):  # 1e40 into float16: inf, silently as torch
                arr = np.full(shape, value, dt.np_dtype)
    except MemoryError:  # torch's allocator raises RuntimeError
        raise RuntimeError(f"DefaultCPUAllocator: can't allocate memory: you tried to allocate "
                           f"{nbytes} bytes. Error code 12 (Cannot allocate memory)") from None
    return _finish(arr, dt, device, requires_grad)


def _factory(fname, shape, value, dtype, device, requires_grad, out):
    """zeros/ones/empty/full: the result, or ``out`` filled with it. zeros/ones default to
    the default float dtype (their fill value alone would say int64)."""
    if dtype is not None and not isinstance(dtype, D.dtype):
        check_dtype(fname, dtype)
    if out is not None:
        dtype, device = out_args(fname, dtype, device, out)
        return write_out(_filled(shape, value, dtype, device, False), out, requires_grad)
    if dtype is None and fname in ("zeros", "ones"):
        dtype = D.get_default_dtype()
    return _filled(shape, value, dtype, device, requires_grad)


def zeros(*sizes, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor of zeros; the shape as ints, one sequence or ``size=``.

    Example:
        >>> ember.zeros(2, 3).shape
        torch.Size([2, 3])
    """
    return _factory("zeros", _sizes("zeros", sizes, size), 0, dtype, device, requires_grad,
                    out)


def ones(*sizes, size=None, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor of ones; the shape as ints, one sequence or ``size=``.

    Example:
        >>> ember.ones((2, 3)).shape
        torch.Size([2, 3])
    """
    return _factory("ones", _sizes("ones", sizes, size), 1, dtype, device, requires_grad, out)


def empty(*sizes, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory=False, memory_format=None) -> Tensor:
    """An uninitialised tensor (its values are whatever memory held).

    Example:
        >>> ember.empty(2, 3).shape
        torch.Size([2, 3])
    """
    shape = _sizes("empty", sizes, size)
    if memory_format is not None:
        if not isinstance(memory_format, D.memory_format):
            raise TypeError("empty(): argument 'memory_format' must be torch.memory_format, not "
                            f"{type(memory_format).__name__}")
        order = format_order(memory_format, len(shape))  # raises for preserve / a wrong rank
        if order is not None and out is None:
            return empty_strided(shape, strides_for(shape, order), dtype=dtype, device=device,
                                 requires_grad=requires_grad)
    return _factory("empty", shape, None, dtype, device, requires_grad, out)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False) -> Tensor:
    """An uninitialized tensor of shape ``size`` with strides ``stride`` (in elements), as
    torch lays it out (``stride`` may leave gaps; the storage spans what it needs).

    Example:
        >>> ember.empty_strided((2, 3), (1, 2)).stride()
        (1, 2)
    """
    shape = _sizes("empty_strided", (), size)
    dt = D.to_dtype(dtype or D.get_default_dtype())
    _check_strides(shape, stride, dt.itemsize)
    out = empty(size=shape, dtype=dt, device=device, requires_grad=False)
    if out.device.type != "meta" and 0 not in shape \
            and element_strides(out._data) != tuple(stride):
        out._data = empty_strided_array(get_array_module(out._data), shape, stride, dt.np_dtype)
    return out.requires_grad_(requires_grad) if requires_grad else out


def _check_strides(shape: tuple, stride, itemsize: int) -> None:
    """torch's checks of empty_strided's strides: the storage they span must be computable."""
    stride = tuple(stride)
    if len(stride) != len(shape):
        raise RuntimeError(f"dimensionality of sizes ({len(shape)}) must match dimensionality "
                           f"of strides ({len(stride)})")
    for i, s in enumerate(stride):
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"empty_strided(): argument 'stride' (position 2) must be tuple of "
                            f"ints, but found element of type {type(s).__name__} at pos {i}")
    if 0 in shape:
        return
    extent = 1 + sum((n - 1) * int(s) for n, s in zip(shape, stride))
    if any(s < 0 and n > 1 for n, s in zip(shape, stride)) or extent * itemsize >= 2**63:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(shape)} and "
                           f"strides={list(stride)}")


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype follows the value (int64 for 7).

    Example:
        >>> ember.full((2,), 7)
        tensor([7, 7])
    """
    if isinstance(fill_value, Tensor):
        if fill_value.ndim:  # torch takes a number or a 0-d tensor, not [2.5]
            raise TypeError("full(): argument 'fill_value' (position 2) must be Number, not "
                            "Tensor")
        fill_value = fill_value.item()
    elif fill_value is None:  # (None means "no fill" to ember's own empty())
        raise TypeError("full(): argument 'fill_value' must be Number, not NoneType")
    return _factory("full", _sizes("full", (), size), fill_value, dtype, device, requires_grad,
                    out)


def laid_out_like(out: Tensor, input: Tensor, memory_format, fname: str) -> Tensor:
    """``out`` (a new row-major tensor shaped like ``input``) re-laid out as torch lays out a
    ``*_like`` result: ``memory_format``, or by default (``preserve_format``) ``input``'s own
    strides when it is dense, else dense strides in its order. Values are unchanged."""
    if memory_format is not None and not isinstance(memory_format, D.memory_format):
        raise TypeError(f"{fname}(): argument 'memory_format' must be torch.memory_format, "
                        f"not {type(memory_format).__name__}")
    src = input._data if memory_format in (None, D.preserve_format) else out._data
    if out.device.type == "meta" or input.device.type == "meta" or out._data.size == 0:
        return out
    strides = target_strides(src, memory_format)  # None: row-major, as out already is
    if strides is not None and strides != element_strides(out._data):
        out._data = copy_with_strides(out._data, strides)
    return out


def _like(t: Tensor, dtype, device, fname: str = "zeros_like"):
    if dtype is not None and not isinstance(dtype, D.dtype) and not any(
            dtype is py for py in _PY_TYPES):
        raise TypeError(f"{fname}(): argument 'dtype' must be torch.dtype, not "
                        f"{type(dtype).__name__}")
    if isinstance(dtype, type):  # torch reads Python's types as double precision
        dtype = _PY_TYPES[dtype]
    return (D.to_dtype(dtype) if dtype is not None else t.dtype,
            device if device is not None else t.device)


def _quantized_like(input, fname, fill_value, dtype):
    from ._quantized_tensor import quantized_like  # (quantized tensors load after creation)

    return quantized_like(input, fname, fill_value, dtype)


_PY_TYPES = {builtins.float: D.float64, builtins.int: D.int64, builtins.bool: D.bool,
             builtins.complex: D.complex128}


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    """Zeros with the shape, dtype and device of ``input``."""
    if getattr(input, "is_quantized", False):
        return _quantized_like(input, "zeros_like", 0, dtype)
    dt, dev = _like(input, dtype, device, "zeros_like")
    out = _filled(tuple(input.shape), 0, dt, dev, requires_grad)
    return laid_out_like(out, input, memory_format, "zeros_like")


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    """Ones with the shape, dtype and device of ``input``."""
    if getattr(input, "is_quantized", False):
        return _quantized_like(input, "ones_like", 1.0, dtype)
    dt, dev = _like(input, dtype, device, "ones_like")
    out = _filled(tuple(input.shape), 1, dt, dev, requires_grad)
    return laid_out_like(out, input, memory_format, "ones_like")


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    """An uninitialized tensor with ``input``'s shape (and its dtype and device unless given).

    Example:
        >>> ember.empty_like(ember.zeros(2, 3)).shape
        torch.Size([2, 3])
    """
    if getattr(input, "is_quantized", False):
        return _quantized_like(input, "empty_like", None, dtype)
    dt, dev = _like(input, dtype, device, "empty_like")
    out = _filled(tuple(input.shape), None, dt, dev, requires_grad)
    return laid_out_like(out, input, memory_format, "empty_like")


def full_like(input: Tensor, fill_value, *, dtype=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    """A tensor with ``input``'s shape filled with ``fill_value``.

    Example:
        >>> ember.full_like(ember.zeros(2), 7.0)
        tensor([7., 7.])
    """
    if getattr(input, "is_quantized", False):
        return _quantized_like(input, "full_like", fill_value, dtype)
    dt, dev = _like(input, dtype, device, "full_like")
    out = _filled(tuple(input.shape), fill_value, dt, dev, requires_grad)
    return laid_out_like(out, input, memory_format, "full_like")


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A 0-d tensor holding ``s`` (in the default float dtype unless ``dtype`` is given).

    Example:
        >>> ember.scalar_tensor(3)
        tensor(3.)
    """
    return full((), s, dtype=dtype or D.get_default_dtype(), device=device,
                requires_grad=requires_grad)


# -- legacy constructors --------------------------------------------------------------------

# the C++ names PyTorch's legacy constructors print for a dtype they refuse
_CPP_NAMES = {D.float32: "float", D.float64: "double", D.float16: "c10::Half",
              D.bfloat16: "c10::BFloat16", D.int64: "long int", D.int32: "int",
              D.int16: "short int", D.int8: "signed char", D.uint8: "unsigned char",
              D.bool: "bool", D.complex64: "c10::complex<float>",
              D.complex128: "c10::complex<double>"}


def _legacy_alias(dt: D.dtype, src: Tensor, any_dtype: bool) -> Tensor:
    """``FloatTensor(t)``: ``t`` itself under another name (shared data, gradient passed
    through), as in PyTorch; a typed constructor refuses a tensor of another dtype."""
    if not any_dtype and src._dtype is not dt:
        def opts(d, dev):
            return (f"TensorOptions(dtype={_CPP_NAMES.get(d, d)}, device={dev}, "
                    "layout=Strided, requires_grad=false (default), pinned_memory=false "
                    "(default), memory_format=(nullopt))")
        raise TypeError(f"expected {opts(dt, 'cpu')} (got {opts(src._dtype, src.device)})")
    from ._ops.shape.views import Alias

    out = Alias.apply(src)
    out.__class__ = Tensor  # a Parameter's alias is a plain tensor, as in PyTorch
    return out


def _legacy_new(dt: D.dtype, *args, device=None, _any_dtype=False, **kwargs):
    if kwargs:
        raise TypeError(f"unexpected keyword arguments {sorted(kwargs)} for a legacy constructor")
    if len(args) == 1 and isinstance(args[0], Tensor) and device is None \
            and not args[0].is_sparse and not args[0].is_nested:
        return _legacy_alias(dt, args[0], _any_dtype)
    if device is None:
        device = CPU  # as in PyTorch, the default device does not apply to legacy constructors
    if not args:
        return _finish(np.empty(0, dt.np_dtype), dt, device, False)
    if len(args) == 1 and (isinstance(args[0], (list, tuple, np.ndarray, Tensor))
                           or _other_sequence(args[0])) and not (
            isinstance(args[0], tuple) and all(isinstance(a, int) for a in args[0])
            and type(args[0]) is not tuple):
        data = args[0]
        if isinstance(data, np.ndarray):
            return _finish(np.array(data, dt.np_dtype), dt, device, False)
        arr, _ = _to_array(data, dt)
        return _finish(arr, dt, device, False)
    return _filled(_shape(args), None, dt, device, False)


class _TensorType(type):
    """The metaclass of the CPU legacy tensor types (``torch.tensortype`` in PyTorch): old
    programs both call them (``FloatTensor(2, 3)``) and test against them
    (``isinstance(x, torch.FloatTensor)``: a dense CPU tensor of that dtype)."""

    def __instancecheck__(cls, instance):
        return (isinstance(instance, Tensor) and instance.dtype is cls.dtype
                and instance.device.type == "cpu" and not instance.is_sparse)

    def __call__(cls, *args, device=None, **kwargs):
        return _legacy_new(cls.dtype, *args, device=device, **kwargs)

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _legacy(dt: D.dtype, name: str) -> type:
    doc = f"""Legacy tensor type of dense {dt} CPU tensors.

    ``{name}([1, 2])`` makes one from data, ``{name}(2, 3)`` an uninitialised one of that
    shape; ``isinstance(t, {name})`` asks whether ``t`` is one.

    Example:
        >>> isinstance(ember.{name}(2), ember.{name})
        True
    """
    return _TensorType(name, (), {"dtype": dt, "is_cuda": False, "is_sparse": False,
                                  "__doc__": doc, "__module__": "ember"})


FloatTensor = _legacy(D.float32, "FloatTensor")
DoubleTensor = _legacy(D.float64, "DoubleTensor")
HalfTensor = _legacy(D.float16, "HalfTensor")
BFloat16Tensor = _legacy(D.bfloat16, "BFloat16Tensor")
LongTensor = _legacy(D.int64, "LongTensor")
IntTensor = _legacy(D.int32, "IntTensor")
ShortTensor = _legacy(D.int16, "ShortTensor")
CharTensor = _legacy(D.int8, "CharTensor")
ByteTensor = _legacy(D.uint8, "ByteTensor")
BoolTensor = _legacy(D.bool, "BoolTensor")


def check_storage_size(shape, itemsize: int) -> int:
    """The byte count of a ``shape`` tensor; PyTorch's refusal when it overflows int64 (before
    any memory is asked for)."""
    nbytes = itemsize
    for n in shape:
        nbytes *= n
    if nbytes >= 2**63:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(shape)}")
    return nbytes


# Ranges, matrices and complex builders live in _creation_ranges, re-exported here. Imported
# last: that module takes _finish, _cast_like_torch and check_storage_size from this one.
from ._creation_ranges import arange, complex, eye, linspace, logspace, polar, range  # noqa: E402
