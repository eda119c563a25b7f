"""dtypes and PyTorch's type-promotion rules.

One table decides every result dtype in ember; ops never let NumPy choose.

Promotion (PyTorch's, not NumPy's): operands fall into three tiers — tensors with one or more
dimensions, 0-d tensors, and Python scalars. A lower tier takes part only when its *category*
(bool < integer < floating < complex) is higher than the tiers above it, so
``uint8_tensor + 1000`` stays uint8 and ``int_tensor * 2.5`` becomes the default float dtype.

==========  ===========  =====================================
a           b            result
==========  ===========  =====================================
uint8       int8         int16
int32       int64        int64
int64       float16      float16
float16     bfloat16     float32
float32     float64      float64
float32     complex64    complex64
float64     complex64    complex128
==========  ===========  =====================================
"""

from __future__ import annotations

import builtins

import numpy as np

__all__ = [
    "dtype", "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
    "float32", "float64", "complex64", "complex128", "get_default_dtype", "set_default_dtype",
    "promote_types", "result_type", "can_cast", "finfo", "iinfo", "memory_format",
    "contiguous_format", "preserve_format", "channels_last", "channels_last_3d",
    "legacy_contiguous_format",
]

# Category ranks: bool < integer < floating < complex.
_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


class dtype:
    """A tensor element type, such as ``ember.float32``.

    Example:
        >>> ember.tensor([1, 2]).dtype
        torch.int64
    """

    __slots__ = ("name", "np_dtype", "itemsize", "category", "is_signed", "_legacy")

    def __init__(self, name: str, np_dtype, category: int, is_signed: bool, legacy: str,
                 itemsize: int | None = None):
        self.name = name
        if np_dtype is not None:  # None: filled in on first use (bfloat16, see __getattr__)
            self.np_dtype = np.dtype(np_dtype)
        self.itemsize = np.dtype(np_dtype).itemsize if itemsize is None else itemsize
        self.category = category
        self.is_signed = is_signed
        self._legacy = legacy  # the legacy tensor type name, e.g. FloatTensor

    def __getattr__(self, attr):
        # Runs only when a slot is unset: bfloat16's NumPy dtype comes from ml_dtypes, whose
        # import costs more than the rest of ``import ember`` (~1.3 s for 0.7.0), so it is
        # imported when bfloat16 data is first made or asked for, not at ``import ember``.
        if attr == "np_dtype" and object.__getattribute__(self, "name") == "bfloat16":
            return _load_bfloat16()
        raise AttributeError(f"'torch.dtype' object has no attribute '{attr}'")

    @property
    def is_floating_point(self) -> builtins.bool:
        return self.category == _FLOAT

    @property
    def is_complex(self) -> builtins.bool:
        return self.category == _COMPLEX

    def to_real(self) -> dtype:
        return {complex64: float32, complex128: float64}.get(self, self)

    def to_complex(self) -> dtype:
        return {float64: complex128}.get(self, complex64) if self.category != _COMPLEX else self

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return self.name  # pickled by name (ember._dtype.<name>): loads as the same object


class memory_format:
    """How a tensor's elements are ordered in memory: ``ember.contiguous_format`` (row-major),
    ``ember.preserve_format`` (keep the input's order), ``ember.channels_last`` and
    ``ember.channels_last_3d``. ember's arrays are row-major; functions taking
    ``memory_format=`` accept these objects.

    Example:
        >>> ember.zeros(2, 3).contiguous(memory_format=ember.contiguous_format).shape
        torch.Size([2, 3])
        >>> ember.channels_last
        torch.channels_last
    """

    __slots__ = ("_name",)

    def __new__(cls, *args, **kwargs):
        raise TypeError("cannot create 'torch.memory_format' instances")

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self):
        return self._name  # pickled as the module-level name, so it loads as the same object


def _memory_format(name: str) -> memory_format:
    fmt = object.__new__(memory_format)
    fmt._name = name
    return fmt


contiguous_format = _memory_format("contiguous_format")
preserve_format = _memory_format("preserve_format")
channels_last = _memory_format("channels_last")
channels_last_3d = _memory_format("channels_last_3d")
legacy_contiguous_format = contiguous_format  # the same object in PyTorch

bool = dtype("bool", np.bool_, _BOOL, False, "BoolTensor")
uint8 = dtype("uint8", np.uint8, _INT, False, "ByteTensor")
int8 = dtype("int8", np.int8, _INT, True, "CharTensor")
int16 = dtype("int16", np.int16, _INT, True, "ShortTensor")
int32 = dtype("int32", np.int32, _INT, True, "IntTensor")
int64 = dtype("int64", np.int64, _INT, True, "LongTensor")
float16 = dtype("float16", np.float16, _FLOAT, True, "HalfTensor")
bfloat16 = dtype("bfloat16", None, _FLOAT, True, "BFloat16Tensor", itemsize=2)
float32 = dtype("float32", np.float32, _FLOAT, True, "FloatTensor")
float64 = dtype("float64", np.float64, _FLOAT, True, "DoubleTensor")
complex64 = dtype("complex64", np.complex64, _COMPLEX, True, "ComplexFloatTensor")
complex128 = dtype("complex128", np.complex128, _COMPLEX, True, "ComplexDoubleTensor")

ALL_DTYPES = (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64,
              complex64, complex128)


class _NumpyDtypes(dict):
    """NumPy dtype -> ember dtype. bfloat16 joins when ml_dtypes is first imported (by ember, or
    by another library whose bfloat16 arrays reach ember)."""

    def __missing__(self, key):
        if getattr(key, "name", None) == "bfloat16" and getattr(key, "kind", None) == "V":
            if bfloat16.np_dtype == key:
                return bfloat16
        raise KeyError(key)


_FROM_NP = _NumpyDtypes((d.np_dtype, d) for d in ALL_DTYPES if d is not bfloat16)


def _load_bfloat16() -> np.dtype:
    """Import ml_dtypes and give ember.bfloat16 its NumPy dtype (once)."""
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError('bfloat16 tensors need the ml_dtypes package: pip install ml_dtypes '
                          '(it is one of ember\'s dependencies)') from None
    np_dtype = np.dtype(ml_dtypes.bfloat16)
    bfloat16.np_dtype = np_dtype
    _FROM_NP[np_dtype] = bfloat16
    return np_dtype
_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update(float=float32, double=float64, half=float16, long=int64, int=int32,
                short=int16, cfloat=complex64, cdouble=complex128)


def from_numpy_dtype(np_dtype) -> dtype:
    """The ember dtype for a NumPy dtype; raises TypeError for unsupported ones."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        pass
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types "
            "are: float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
            "uint8, and bool.") from None


def to_dtype(x) -> dtype:
    """Accept an ember dtype, a NumPy dtype, a Python type or a name and return an ember dtype."""
    if isinstance(x, dtype):
        return x
    # Python's types name PyTorch's double-width dtypes whatever the default dtype is:
    # torch.zeros(2, dtype=float) is float64, dtype=complex is complex128
    if x is builtins.float:
        return float64
    if x is builtins.int:
        return int64
    if x is builtins.bool:
        return bool
    if x is builtins.complex:
        return complex128
    if isinstance(x, str):
        name = x[6:] if x.startswith("torch.") else x
        if name in _BY_NAME:
            return _BY_NAME[name]
        raise TypeError(f"unknown dtype name {x!r}")
    return from_numpy_dtype(x)


_default = float32


def get_default_dtype() -> dtype:
    """The dtype new floating tensors get (float32 unless changed)."""
    return _default


def set_default_dtype(d) -> None:
    """Set the dtype of new floating tensors; only float16/bfloat16/float32/float64 are allowed.

    Example:
        >>> ember.set_default_dtype(ember.float64)
    """
    global _default
    d = to_dtype(d)
    if d not in (float16, bfloat16, float32, float64):
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default = d


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` cast to safely, by PyTorch's table."""
    if a is b:
        return a
    if a.category != b.category:
        hi, lo = (a, b) if a.category > b.category else (b, a)
        if hi.category == _COMPLEX and lo.category == _FLOAT and lo is float64:
            return complex128
        return hi
    if a.category == _FLOAT:
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.itemsize > b.itemsize else b
    if a.category == _COMPLEX:
        return a if a.itemsize > b.itemsize else b
    # Integers: NumPy's rule matches PyTorch's for the dtypes ember has.
    return _FROM_NP[np.promote_types(a.np_dtype, b.np_dtype)]


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    """Let a lower tier's dtype take part only when its category is higher (PyTorch's rule)."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.category == _COMPLEX:
        return higher
    if lower.category == _COMPLEX:
        return higher.to_complex() if higher.category == _FLOAT else lower
    if higher.category == _FLOAT:
        return higher
    if higher is bool or lower.category == _FLOAT:
        return promote_types(higher, lower)
    return higher


def scalar_dtype(x) -> dtype:
    """The dtype a Python scalar takes when it is the only operand."""
    if isinstance(x, builtins.bool):
        return bool
    if isinstance(x, builtins.int):
        return int64
    if isinstance(x, builtins.float):
        return _default
    if isinstance(x, builtins.complex):
        return complex64 if _default is not float64 else complex128
    if isinstance(x, np.generic):  # NumPy scalars (saved promoted operands) act as Python ones
        return scalar_dtype(x.item())
    raise TypeError(f"expected a number, got {type(x).__name__}")


def result_type(*operands) -> dtype:
    """The dtype PyTorch gives an op on ``operands`` (tensors and Python scalars).

    Example:
        >>> ember.result_type(ember.tensor([1], dtype=ember.uint8), 1000)
        torch.uint8
    """
    dim = zero = wrapped = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        elif isinstance(x, dtype):
            dim = x if dim is None else promote_types(dim, x)
        else:
            d = scalar_dtype(x)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))


def can_cast(from_: dtype, to: dtype) -> builtins.bool:
    """Whether PyTorch allows casting ``from_`` to ``to`` in in-place ops (same-kind rule)."""
    return from_.category <= to.category


class finfo:
    """Machine limits for a floating dtype: ``bits, eps, max, min, tiny, resolution``.

    Example:
        >>> ember.finfo(ember.float32).eps
        1.1920928955078125e-07
    """

    def __init__(self, type: dtype | None = None):
        d = to_dtype(type) if type is not None else _default
        if d.category < _FLOAT:
            raise TypeError(f"torch.finfo() requires a floating point input type, got {d}")
        if d is bfloat16:
            import ml_dtypes

            info = ml_dtypes.finfo(d.np_dtype)
        else:
            info = np.finfo(d.to_real().np_dtype)
        self.dtype = d.to_real().name
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = float(info.resolution)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Machine limits for an integer dtype: ``bits, min, max``.

    Example:
        >>> ember.iinfo(ember.uint8).max
        255
    """

    def __init__(self, type: dtype):
        d = to_dtype(type)
        if d.category not in (_INT, _BOOL):
            raise TypeError(f"torch.iinfo() requires an integer input type, got {d}")
        info = np.iinfo(d.np_dtype) if d is not bool else None
        self.dtype = d.name
        self.bits = d.itemsize * 8
        self.min = int(info.min) if info else 0
        self.max = int(info.max) if info else 1

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
