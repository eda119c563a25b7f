"""Storages: what ``Tensor.untyped_storage()`` and ``Tensor.storage()`` return, and the
classes a program builds itself (``torch.UntypedStorage(8)``, ``torch.FloatStorage([1, 2])``).

ember keeps data in NumPy (or CuPy) arrays; a storage here is the root array under a tensor's
views, seen as a flat buffer: bytes for ``UntypedStorage``, elements of one dtype for
``TypedStorage``. Storages share memory with the tensors over them (``tensor.set_(storage)``).

One difference from PyTorch: ``TypedStorage`` subclasses ``UntypedStorage`` here, so
``isinstance(t.storage(), UntypedStorage)`` is True (it is False in PyTorch).
"""

from __future__ import annotations

import collections.abc
import numbers
import operator
import sys
import warnings

import numpy as np

from . import _dtype as D
from ._backend import CPU, Device, MetaArray, to_device_array, to_numpy


def _root(arr):
    while isinstance(getattr(arr, "base", None), np.ndarray):
        arr = arr.base
    return arr


def _flat(root):
    """The root array as one flat buffer in memory order (a view)."""
    if isinstance(root, MetaArray):
        raise NotImplementedError("Cannot access data pointer of a meta storage: it has no data")
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        raise RuntimeError("this storage is not one contiguous buffer (a NumPy array that views "
                           "other memory)")
    return root.reshape(-1, order="A")


def _device(device) -> Device:
    if device is None:
        return CPU
    if not isinstance(device, (str, Device)):
        raise TypeError(f"argument 'device' must be torch.device, not {type(device).__name__}")
    return Device(device)


def _index(i, n: int) -> int:
    if i < -n or i >= n:
        raise IndexError(f"index {i} out of range for storage of size {n}")
    return i % n if n else i


_MISSING = object()
_FROM_BUFFER_PARAMS = ("buffer", "byte_order", "count", "offset", "dtype")
# One-byte dtypes whose bytes need no ordering; every other dtype (bool included, which is
# normalized to 0/1) makes PyTorch insist on an explicit ``byte_order``.
_NO_BYTE_ORDER = ("uint8", "int8", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2",
                  "float8_e5m2fnuz")
# dtypes PyTorch cannot read from a buffer, by the scalar-type name its error message uses.
_UNREADABLE = {"uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64",
               "complex32": "ComplexHalf", "qint8": "QInt8", "quint8": "QUInt8",
               "qint32": "QInt32", "quint4x2": "QUInt4x2", "quint2x4": "QUInt2x4",
               "float8_e8m0fnu": "Float8_e8m0fnu"}


def _type_name(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, D.dtype):
        return "torch.dtype"
    return type(value).__name__


def _as_index(value) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"'{_type_name(value)}' object cannot be interpreted as an "
                        "integer") from None


def _buffer_bytes(args, kwargs) -> tuple:
    """Parse ``from_buffer``'s arguments as PyTorch does and copy the selected bytes.

    Returns ``(uint8 array, dtype)``; the array is already in native byte order (and 0/1 for
    bool), so it can be viewed as ``dtype`` directly.
    """
    given = len(args) + len(kwargs)
    if given > len(_FROM_BUFFER_PARAMS):
        raise TypeError(f"function takes at most {len(_FROM_BUFFER_PARAMS)} arguments "
                        f"({given} given)")
    values = dict(zip(_FROM_BUFFER_PARAMS, args))
    for key, value in kwargs.items():
        if key not in _FROM_BUFFER_PARAMS:
            raise TypeError(f"'{key}' is an invalid keyword argument for this function")
        if key in values:
            raise TypeError(f"argument for function given by name ('{key}') and position "
                            f"({_FROM_BUFFER_PARAMS.index(key) + 1})")
        values[key] = value
    if "buffer" not in values:
        raise TypeError("function missing required argument 'buffer' (pos 1)")
    byte_order = values.get("byte_order", _MISSING)
    if byte_order is not _MISSING and not isinstance(byte_order, str):
        raise TypeError(f"argument 2 must be str, not {_type_name(byte_order)}")
    count = _as_index(values.get("count", -1))
    offset = _as_index(values.get("offset", 0))
    dtype = values.get("dtype")
    if dtype is None:
        raise RuntimeError("argument 'dtype' cannot be None")
    if not isinstance(dtype, D.dtype):
        raise RuntimeError("argument 'dtype' must be of type torch.dtype")
    ordered = dtype.name not in _NO_BYTE_ORDER
    if ordered:
        if byte_order is _MISSING:
            raise RuntimeError("function missing required argument 'byte_order' (pos 2)")
        if byte_order not in ("big", "little", "native"):
            raise ValueError(f"invalid byte_order '{byte_order}' (expected 'big', 'little', "
                             "or 'native')")
    if dtype.name in _UNREADABLE:
        raise RuntimeError(f"Unknown type: {_UNREADABLE[dtype.name]}")
    buffer = values["buffer"]
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(buffer).__name__}'") \
            from None
    if not view.c_contiguous:
        raise ValueError(f"{type(buffer).__name__} is not C-contiguous")
    raw = np.frombuffer(view.cast("B"), np.uint8)
    size = dtype.itemsize
    # PyTorch's own messages: the offset one names the two numbers the other way round,
    # and "elements" in the count one counts bytes.
    if offset < 0 or offset > raw.size:
        raise ValueError(f"offset must be non-negative and no greater than buffer length "
                         f"({offset}) , but got {raw.size}")
    left = raw.size - offset
    if count < 0:
        if left % size:
            raise ValueError(f"buffer size ({raw.size}) must be a multiple of element size "
                             f"({size})")
        count = left // size
    elif count * size > left:
        raise ValueError(f"buffer has only {left} elements after offset {offset}, but "
                         f"specified a size of {count}")
    data = raw[offset:offset + count * size].copy()  # a copy: later writes to buffer don't show
    if ordered and byte_order != "native" and byte_order != sys.byteorder:
        # complex numbers are two floats, each with its own byte order
        unit = size // 2 if dtype.is_complex else size
        data = np.ascontiguousarray(data.reshape(-1, unit)[:, ::-1]).reshape(-1)
    if dtype is D.bool:
        data = (data != 0).astype(np.uint8)
    return data, dtype


class UntypedStorage:
    """The bytes under a tensor (``torch.UntypedStorage``).

    ``UntypedStorage()`` is empty, ``UntypedStorage(n)`` holds ``n`` zero bytes and
    ``UntypedStorage([1, 2])`` the given bytes (ints, taken modulo 256).

    Example:
        >>> s = ember.UntypedStorage([1, 2, 3])
        >>> s.size(), s[0], s[1:].tolist()
        (3, 1, [2, 3])
    """

    def __init__(self, *args, device=None):
        if len(args) > 1:
            raise TypeError(f"UntypedStorage(): expected at most 1 positional argument, got "
                            f"{len(args)}")
        arg = args[0] if args else 0
        if isinstance(arg, numbers.Integral) and not isinstance(arg, bool):
            n = int(arg)
            if n < 0:
                raise RuntimeError(f"Trying to create a storage with negative size {n} bytes")
            data = np.zeros(n, np.uint8)
        elif isinstance(arg, collections.abc.Sequence):
            for v in arg:
                if not isinstance(v, numbers.Integral) or isinstance(v, bool):
                    raise RuntimeError(
                        f"torch.UntypedStorage(): tried to construct a storage from a sequence "
                        f"({type(arg).__name__}), but one of the items was of type "
                        f"{type(v).__name__} instead of int")
            data = (np.array([int(v) for v in arg], np.int64) % 256).astype(np.uint8)
        else:
            raise TypeError(f"UntypedStorage(): argument must be an int size or a sequence of "
                            f"ints, not {type(arg).__name__}")
        self.device = _device(device)
        self._root = to_device_array(data, self.device)

    @classmethod
    def _wrap(cls, root, device):
        self = object.__new__(cls)
        self._root, self.device = root, device
        return self

    @classmethod
    def from_buffer(cls, *args, **kwargs):
        """A new CPU storage holding a copy of a bytes-like object's bytes.

        ``from_buffer(buffer, byte_order, count=-1, offset=0, *, dtype)``: ``dtype`` is
        required; ``byte_order`` (``'little'``, ``'big'`` or ``'native'``) too unless
        ``dtype`` is one byte wide. ``count`` elements (all that fit, when negative) are read
        from byte ``offset`` on and stored in native byte order.

        Example:
            >>> s = ember.UntypedStorage.from_buffer(b"\\x01\\x02", "big", dtype=ember.int16)
            >>> s.tolist()
            [2, 1]
        """
        data, _ = _buffer_bytes(args, kwargs)
        return UntypedStorage._wrap(data, CPU)

    def _bytes(self):
        return _flat(self._root).view(np.uint8)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_sparse(self) -> bool:
        return False

    def data_ptr(self) -> int:
        r = self._root
        return r.__array_interface__["data"][0] if isinstance(r, np.ndarray) else int(r.data.ptr)

    def nbytes(self) -> int:
        return int(self._root.nbytes)

    def size(self) -> int:
        return self.nbytes()

    def __len__(self) -> int:
        return self.size()

    def element_size(self) -> int:
        return 1

    def tolist(self) -> list:
        return to_numpy(self._bytes()).tolist()

    def __iter__(self):
        return iter(self.tolist())

    def __getitem__(self, idx):
        data = self._bytes()
        if isinstance(idx, slice):
            start, stop, step = idx.indices(len(data))
            if step != 1:
                raise RuntimeError(f"Trying to slice with a step of {step}, but only a step of "
                                   "1 is supported")
            return UntypedStorage._wrap(data[start:max(start, stop)], self.device)
        if isinstance(idx, numbers.Integral):
            return int(data[_index(int(idx), len(data))])
        raise RuntimeError(f"can't index a {type(self)} with {type(idx)}")

    def __setitem__(self, idx, value):
        data = self._bytes()
        if isinstance(idx, numbers.Integral):
            idx = _index(int(idx), len(data))
        elif not isinstance(idx, slice):
            raise RuntimeError(f"can't index a {type(self)} with {type(idx)}")
        data[idx] = int(value) % 256

    def fill_(self, value):
        """Set every byte to ``value``; returns the storage.

        Example:
            >>> ember.UntypedStorage(2).fill_(7).tolist()
            [7, 7]
        """
        self._bytes()[...] = int(value) % 256
        return self

    def copy_(self, source, non_blocking=None):
        """Copy ``source``'s bytes (a storage of the same byte size) into this one.

        Example:
            >>> ember.UntypedStorage(2).copy_(ember.UntypedStorage([4, 5])).tolist()
            [4, 5]
        """
        if source.nbytes() != self.nbytes():
            raise RuntimeError(f"size mismatch, storage of {self.nbytes()} bytes can't be "
                               f"copied from a storage of {source.nbytes()} bytes")
        self._bytes()[...] = to_device_array(source._bytes(), self.device)
        return self

    def clone(self):
        """A copy of this storage in new memory.

        Example:
            >>> ember.UntypedStorage([1]).clone().tolist()
            [1]
        """
        return UntypedStorage._wrap(self._bytes().copy(), self.device)

    def cpu(self):
        """This storage on the CPU (itself when it is there already).

        Example:
            >>> ember.UntypedStorage([1]).cpu().device
            device(type='cpu')
        """
        if self.device.type == "cpu":
            return self
        return UntypedStorage._wrap(to_numpy(self._bytes()), CPU)

    def untyped(self):
        """The storage's bytes, as an ``UntypedStorage``.

        Example:
            >>> ember.UntypedStorage(3).untyped().nbytes()
            3
        """
        return UntypedStorage._wrap(self._root, self.device)

    def is_shared(self) -> bool:
        """Whether these bytes are in shared memory (see ``share_memory_``).

        Example:
            >>> ember.UntypedStorage(2).is_shared()
            False
        """
        from ._shared_memory import is_shared_data

        return is_shared_data(self._root)

    def share_memory_(self):
        """Move these bytes into shared memory, with every tensor over them; returns the
        storage.

        Example:
            >>> t = ember.ones(2); _ = t.untyped_storage().share_memory_(); t.is_shared()
            True
        """
        from ._shared_memory import share

        share([self])
        return self

    def type(self, dtype=None, non_blocking=False):
        return "torch.UntypedStorage" if dtype is None else dtype

    def __repr__(self):
        body = "\n".join(f" {v}" for v in self.tolist()) if not isinstance(
            self._root, MetaArray) else " ..."
        return f"{body}\n[torch.storage.UntypedStorage(device={self.device}) " \
               f"of size {self.nbytes()}]"


_removal_warned = False


def _warn_typed_storage_removal() -> None:
    global _removal_warned
    if not _removal_warned:
        _removal_warned = True  # once per process, as PyTorch does
        warnings.warn("TypedStorage is deprecated. It will be removed in the future and "
                      "UntypedStorage will be the only storage class. This should only matter "
                      "to you if you are using storages directly.  To access UntypedStorage "
                      "directly, use tensor.untyped_storage() instead of tensor.storage()",
                      UserWarning, stacklevel=3)


_INIT_HELP = ("TypedStorage.__init__ received an invalid combination of arguments. Expected one "
              "of:\n * (*, torch.device device, torch.dtype dtype)\n * (int size, *, "
              "torch.device device, torch.dtype dtype)\n * (Sequence data, *, torch.device "
              "device, torch.dtype dtype)\n * (*, UntypedStorage wrap_storage, torch.dtype "
              "dtype)")


def _from_data(arg, dt: D.dtype):
    """The array of a typed storage built from an int size or a sequence of values."""
    if isinstance(arg, numbers.Integral) and not isinstance(arg, bool):
        if arg < 0:
            raise RuntimeError(f"Trying to create a storage with negative size {int(arg)}")
        return np.zeros(int(arg), dt.np_dtype)
    if not isinstance(arg, collections.abc.Sequence) or isinstance(arg, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(arg).__name__}'")
    from ._creation import tensor

    return to_numpy(tensor(list(arg), dtype=dt)._data).reshape(-1)


class TypedStorage(UntypedStorage):
    """The elements under a tensor, of one dtype (``torch.TypedStorage``; deprecated in
    PyTorch, which warns once on construction).

    Example:
        >>> import warnings; warnings.simplefilter("ignore")
        >>> s = ember.TypedStorage([1, 2], dtype=ember.int64)
        >>> s.size(), s[1], s.tolist()
        (2, 2, [1, 2])
    """

    is_sparse = False

    def __init__(self, *args, device=None, dtype=None, wrap_storage=None, _internal=False):
        if not _internal:
            _warn_typed_storage_removal()
        if wrap_storage is not None:
            if args:
                raise RuntimeError(_INIT_HELP + "\nNo positional arguments should be given when "
                                   "using 'wrap_storage'")
            if dtype is None:
                raise RuntimeError(_INIT_HELP + "\nArgument 'dtype' must be specified")
            if not isinstance(dtype, D.dtype):
                raise TypeError(_INIT_HELP + f"\nArgument 'dtype' must be torch.dtype, not "
                                f"{type(dtype)}")
            if device is not None:
                raise RuntimeError(_INIT_HELP + "\nArgument 'device' should not be specified "
                                   "when 'wrap_storage' is given")
            if type(wrap_storage) is not UntypedStorage:
                raise TypeError(_INIT_HELP + "\nArgument 'wrap_storage' must be UntypedStorage, "
                                f"but got {type(wrap_storage)}")
            self._root, self.device, self.dtype = wrap_storage._root, wrap_storage.device, dtype
            return
        if len(args) > 1:
            raise RuntimeError(_INIT_HELP + "\nToo many positional arguments")
        if dtype is not None and not isinstance(dtype, D.dtype):
            raise TypeError(_INIT_HELP + f"\nArgument 'dtype' must be torch.dtype, not "
                            f"{type(dtype)}")
        self.dtype = D.get_default_dtype() if dtype is None else dtype
        self.device = _device(device)
        self._root = to_device_array(_from_data(args[0] if args else 0, self.dtype),
                                     self.device)

    @classmethod
    def _wrap(cls, root, device, dtype):
        self = object.__new__(cls)
        self._root, self.device, self.dtype = root, device, dtype
        return self

    @classmethod
    def from_buffer(cls, *args, dtype=None, device=None, **kwargs):
        """A new CPU ``TypedStorage`` of ``dtype`` (the default dtype when omitted) holding a
        copy of a buffer's bytes; the other arguments are ``UntypedStorage.from_buffer``'s.

        Example:
            >>> import warnings; warnings.simplefilter("ignore")
            >>> ember.TypedStorage.from_buffer(b"\\x00\\x01", "big", dtype=ember.int16)[0]
            1
        """
        _warn_typed_storage_removal()
        if device is not None and Device(device).type != "cpu":
            raise RuntimeError(f"TypedStorage.from_buffer: Not available for device "
                               f"{Device(device).type}")
        if dtype is None:
            dtype = D.get_default_dtype()
        data, dtype = _buffer_bytes(args, dict(kwargs, dtype=dtype))
        return TypedStorage._wrap(data.view(dtype.np_dtype), CPU, dtype)

    def _elements(self):
        flat = _flat(self._root)
        if flat.dtype == self.dtype.np_dtype:
            return flat
        data = flat.view(np.uint8)
        n = data.size // self.dtype.itemsize
        return data[:n * self.dtype.itemsize].view(self.dtype.np_dtype)

    def size(self) -> int:
        return int(self._root.nbytes) // self.dtype.itemsize

    def element_size(self) -> int:
        return self.dtype.itemsize

    @property
    def _untyped_storage(self) -> UntypedStorage:
        return UntypedStorage._wrap(self._root, self.device)

    def untyped(self) -> UntypedStorage:
        """The bytes of this storage, sharing its memory.

        Example:
            >>> ember.ones(2).storage().untyped().nbytes()
            8
        """
        return self._untyped_storage

    def tolist(self) -> list:
        data = to_numpy(self._elements())
        if self.dtype is D.bfloat16:
            data = data.astype(np.float32)
        return data.tolist()

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        if not isinstance(idx, numbers.Integral) or isinstance(idx, bool):
            raise RuntimeError(f"can't index a {type(self)} with {type(idx)}")
        data = self._elements()
        v = to_numpy(data[_index(int(idx), data.size)])
        return (v.astype(np.float32) if self.dtype is D.bfloat16 else v).item()

    def __setitem__(self, idx, value):
        if not isinstance(idx, (numbers.Integral, slice)) or isinstance(idx, bool):
            raise RuntimeError(f"can't index a {type(self)} with {type(idx)}")
        data = self._elements()
        if isinstance(idx, numbers.Integral):
            idx = _index(int(idx), data.size)
        data[idx] = value

    def fill_(self, value):
        """Set every element to ``value``; returns the storage.

        Example:
            >>> ember.ones(2).storage().fill_(3).tolist()
            [3.0, 3.0]
        """
        self._elements()[...] = value
        return self

    def clone(self):
        """A copy of this storage in new memory.

        Example:
            >>> ember.ones(1).storage().clone().tolist()
            [1.0]
        """
        return TypedStorage._wrap(self._elements().copy(), self.device, self.dtype)

    def cpu(self):
        """This storage on the CPU (itself when it is there already).

        Example:
            >>> ember.ones(1).storage().cpu().tolist()
            [1.0]
        """
        if self.device.type == "cpu":
            return self
        return TypedStorage._wrap(to_numpy(self._elements()), CPU, self.dtype)

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return f"torch.{_LEGACY_NAMES.get(self.dtype, 'TypedStorage')}"
        return dtype

    def __repr__(self):
        body = "\n".join(f" {v}" for v in self.tolist()) if not isinstance(
            self._root, MetaArray) else " ..."
        return f"{body}\n[torch.storage.TypedStorage(dtype={self.dtype}, device={self.device}) " \
               f"of size {self.size()}]"


class _LegacyStorageMeta(type):
    """``isinstance(t.storage(), FloatStorage)`` asks about the dtype, as in PyTorch: the legacy
    classes only build ``TypedStorage`` objects."""

    @property
    def dtype(cls):
        return D.get_default_dtype() if cls._dtype is None else cls._dtype

    def __instancecheck__(cls, instance):
        return (type(instance) is TypedStorage and instance.device.type == "cpu"
                and instance.dtype is cls.dtype)


class _LegacyStorage(TypedStorage, metaclass=_LegacyStorageMeta):
    """Base of ``FloatStorage`` and friends: ``FloatStorage(3)``, ``FloatStorage([1, 2])`` or
    ``FloatStorage(wrap_storage=untyped)`` make a CPU ``TypedStorage`` of that dtype."""

    _dtype = None

    def __new__(cls, *args, wrap_storage=None, dtype=None, device=None):
        _warn_typed_storage_removal()
        if cls is _LegacyStorage:
            raise RuntimeError("Only child classes of _LegacyStorage can be instantiated")
        help_ = (f"<class 'torch.{cls.__name__}'>.__new__ received an invalid combination of "
                 "arguments. Expected one of:\n * no arguments\n * (int size)\n * (Sequence "
                 "data)\n * (*, UntypedStorage wrap_storage)")
        if device is not None:
            raise RuntimeError(help_ + "\nKeyword argument 'device' cannot be specified")
        if dtype is not None:
            raise RuntimeError(help_ + "\nKeyword argument 'dtype' cannot be specified")
        if wrap_storage is not None:
            if args:
                raise RuntimeError(help_ + "\nNo positional arguments should be given when "
                                   "using 'wrap_storage'")
            if type(wrap_storage) is not UntypedStorage:
                raise TypeError(help_ + "\nArgument 'wrap_storage' must be UntypedStorage, but "
                                f"got {type(wrap_storage)}")
            return TypedStorage(wrap_storage=wrap_storage, dtype=cls.dtype, _internal=True)
        if len(args) > 1:
            raise RuntimeError(help_ + "\nToo many positional arguments")
        if args and not isinstance(args[0], (numbers.Integral, collections.abc.Sequence)):
            raise TypeError(help_ + f"\nArgument type not recognized: {type(args[0])}")
        return TypedStorage(*args, dtype=cls.dtype, device="cpu", _internal=True)

    @classmethod
    def from_buffer(cls, *args, **kwargs):
        """A new CPU ``TypedStorage`` of this class's dtype holding a copy of a buffer's
        bytes (see ``UntypedStorage.from_buffer``; ``dtype``/``device`` are not accepted).

        Example:
            >>> import warnings; warnings.simplefilter("ignore")
            >>> ember.ShortStorage.from_buffer(b"\\x00\\x01", "big").tolist()
            [1]
        """
        _warn_typed_storage_removal()
        for key in ("dtype", "device"):
            if key in kwargs:
                raise RuntimeError(f"from_buffer: '{key}' can only be specified in "
                                   "UntypedStorage.from_buffer and TypedStorage.from_buffer")
        return TypedStorage.from_buffer(*args, dtype=cls.dtype, **kwargs)


def _legacy(name: str, dt) -> type:
    doc = f"""``torch.{name}``: builds a CPU ``TypedStorage`` of dtype {dt}.

    Example:
        >>> import warnings; warnings.simplefilter("ignore")
        >>> ember.{name}(2).size()
        2
    """
    return _LegacyStorageMeta(name, (_LegacyStorage,),
                              {"_dtype": dt, "__doc__": doc, "__module__": __name__})


_LEGACY = {
    "FloatStorage": D.float32, "DoubleStorage": D.float64, "HalfStorage": D.float16,
    "BFloat16Storage": D.bfloat16, "LongStorage": D.int64, "IntStorage": D.int32,
    "ShortStorage": D.int16, "CharStorage": D.int8, "ByteStorage": D.uint8,
    "BoolStorage": D.bool, "ComplexFloatStorage": D.complex64,
    "ComplexDoubleStorage": D.complex128,
}
_LEGACY_NAMES = {dt: name for name, dt in _LEGACY.items()}
FloatStorage = _legacy("FloatStorage", D.float32)
DoubleStorage = _legacy("DoubleStorage", D.float64)
HalfStorage = _legacy("HalfStorage", D.float16)
BFloat16Storage = _legacy("BFloat16Storage", D.bfloat16)
LongStorage = _legacy("LongStorage", D.int64)
IntStorage = _legacy("IntStorage", D.int32)
ShortStorage = _legacy("ShortStorage", D.int16)
CharStorage = _legacy("CharStorage", D.int8)
ByteStorage = _legacy("ByteStorage", D.uint8)
BoolStorage = _legacy("BoolStorage", D.bool)
ComplexFloatStorage = _legacy("ComplexFloatStorage", D.complex64)
ComplexDoubleStorage = _legacy("ComplexDoubleStorage", D.complex128)

# torch.Storage is the legacy class of the default dtype (FloatStorage unless
# set_default_dtype changed it); here one class whose dtype follows the default.
Storage = _LegacyStorageMeta("Storage", (_LegacyStorage,), {
    "_dtype": None, "__module__": __name__,
    "__doc__": """``torch.Storage``: the legacy storage class of the default dtype.

    Example:
        >>> import warnings; warnings.simplefilter("ignore")
        >>> ember.Storage([1, 2]).dtype
        torch.float32
    """})


def storage_of(t) -> UntypedStorage:
    return UntypedStorage._wrap(_root(t._data), t.device)


def typed_storage_of(t) -> TypedStorage:
    return TypedStorage._wrap(_root(t._data), t.device, t.dtype)


def check_view_bounds(size, stride, storage_offset: int, storage_numel: int,
                      itemsize: int) -> None:
    """The one bounds check for a strided view over a storage: checkpoint loads (zip, legacy,
    mmap), ``as_strided`` and ``set_`` all call it before a view is made, so no size, stride or
    offset from a file or a user can reach memory outside the storage.

    ``storage_numel`` is the storage's size in elements of ``itemsize`` bytes. Raises
    RuntimeError with PyTorch's messages; a view with no elements needs no storage.

    Example:
        >>> check_view_bounds((2, 3), (3, 1), 0, 6, 4)   # fits: returns None
    """
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    for v in (*size, *stride, storage_offset):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise RuntimeError(f"sizes, strides and the storage offset must be integers, got "
                               f"sizes {list(size)}, strides {list(stride)}, storage offset "
                               f"{storage_offset!r}")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)}")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    if storage_offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {storage_offset}")
    if 0 in size:
        return
    need = int(storage_offset) + 1 + sum((int(n) - 1) * int(s) for n, s in zip(size, stride))
    if need > storage_numel:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
            f"{storage_offset}, and itemsize {itemsize} requiring a storage size of "
            f"{need * itemsize} are out of bounds for storage of size {storage_numel * itemsize}")
