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
import math

import numpy as np

__all__ = [
    "dtype", "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
    "float32", "float64", "complex64", "complex128", "uint16", "uint32", "uint64",
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
    "get_default_dtype", "set_default_dtype",
    "promote_types", "result_type", "can_cast", "finfo", "iinfo", "memory_format",
    "contiguous_format", "preserve_format", "channels_last", "channels_last_3d",
    "legacy_contiguous_format", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
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
        # Runs only when a slot is unset: bfloat16's and the float8 types' NumPy dtypes come
        # from ml_dtypes, whose import costs more than the rest of ``import ember`` (~1.3 s for
        # 0.7.0), so it is imported when such data is first made or asked for, not at
        # ``import ember``.
        if attr == "np_dtype" and object.__getattribute__(self, "name") in _ML_DTYPES:
            _load_ml_dtypes()
            return object.__getattribute__(self, "np_dtype")
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
    ``ember.channels_last_3d`` (NCHW / NCDHW shape with channels-innermost strides), for
    ``memory_format=`` arguments and ``is_contiguous``.

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
# PyTorch's "shell" dtypes: storage, conversion, copies and a few kernels; promotion with other
# integer dtypes is refused (see promote_types).
uint16 = dtype("uint16", np.uint16, _INT, False, "UInt16Tensor")
uint32 = dtype("uint32", np.uint32, _INT, False, "UInt32Tensor")
uint64 = dtype("uint64", np.uint64, _INT, False, "UInt64Tensor")
# float8: storage and conversion types (quantized checkpoints); NumPy dtypes from ml_dtypes.
float8_e4m3fn = dtype("float8_e4m3fn", None, _FLOAT, True, "Float8_e4m3fnTensor", itemsize=1)
float8_e5m2 = dtype("float8_e5m2", None, _FLOAT, True, "Float8_e5m2Tensor", itemsize=1)
float8_e4m3fnuz = dtype("float8_e4m3fnuz", None, _FLOAT, True, "Float8_e4m3fnuzTensor",
                        itemsize=1)
float8_e5m2fnuz = dtype("float8_e5m2fnuz", None, _FLOAT, True, "Float8_e5m2fnuzTensor",
                        itemsize=1)
float8_e8m0fnu = dtype("float8_e8m0fnu", None, _FLOAT, False, "Float8_e8m0fnuTensor",
                       itemsize=1)


class _QuantizedDtype(dtype):
    """A quantized element type (``ember.qint8`` ...): the integers a quantized tensor stores,
    read through its scale and zero point. Neither floating nor complex; PyTorch refuses to say
    whether it is signed and to promote it with anything."""

    __slots__ = ("qmin", "qmax")

    def __init__(self, name, np_dtype, legacy, qmin, qmax):
        self.name = name
        self.np_dtype = np.dtype(np_dtype)  # the storage type of int_repr()
        self.itemsize = self.np_dtype.itemsize
        self.category = _INT
        self._legacy = legacy
        self.qmin, self.qmax = qmin, qmax

    @property
    def is_signed(self):
        raise RuntimeError("isSignedType not supported for quantized types")

    def to_complex(self):
        raise RuntimeError(f"Unknown Complex ScalarType for {SCALAR_TYPE[self.name]}")


# quint4x2 / quint2x4 pack two 4-bit / four 2-bit values into a byte in PyTorch; ember keeps
# one value per byte (int_repr differs, values and printing agree).
qint8 = _QuantizedDtype("qint8", np.int8, "QInt8Tensor", -128, 127)
quint8 = _QuantizedDtype("quint8", np.uint8, "QUInt8Tensor", 0, 255)
qint32 = _QuantizedDtype("qint32", np.int32, "QInt32Tensor", -2 ** 31, 2 ** 31 - 1)
quint4x2 = _QuantizedDtype("quint4x2", np.uint8, "QUInt4x2Tensor", 0, 15)
quint2x4 = _QuantizedDtype("quint2x4", np.uint8, "QUInt2x4Tensor", 0, 3)
QUANTIZED = (qint8, quint8, qint32, quint4x2, quint2x4)

FLOAT8 = (float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, float8_e8m0fnu)
UNSIGNED_SHELL = (uint16, uint32, uint64)
_UNPROMOTABLE = frozenset(FLOAT8 + QUANTIZED)  # promote_types refuses these with anything else
ALL_DTYPES = (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64,
              complex64, complex128) + UNSIGNED_SHELL + FLOAT8
# dtypes whose NumPy dtype is ml_dtypes' type of the same name, loaded on first use.
_ML_DTYPES = frozenset(["bfloat16"] + [d.name for d in FLOAT8])

# Binary ops PyTorch 2.13 has no CPU kernel for on uint16/32/64 and float8 (op class name ->
# the kernel its NotImplementedError names). mul, eq/ne, bitwise ops on the unsigned types and
# true division of them (computed in float) do work there; so do copies, views and indexing.
SHELL = frozenset(UNSIGNED_SHELL + FLOAT8)
SHELL_BINARY_KERNELS = {
    "Add": "add_stub", "Sub": "add_stub", "Div": "div_cpu", "FloorDivide": "div_floor_cpu",
    "Remainder": "remainder_cpu", "Fmod": "fmod_cpu", "Pow": "pow", "Maximum": "maximum_cpu",
    "Minimum": "minimum_cpu", "Hypot": "hypot_cpu", "Atan2": "atan2_cpu",
    "Fmax": "maximum_cpu", "Fmin": "minimum_cpu",  # (float8's fmax_cpu/fmin_cpu: binary_math)
}

# PyTorch's ScalarType names, which its dtype error messages use.
SCALAR_TYPE = {
    "bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
    "int64": "Long", "float16": "Half", "bfloat16": "BFloat16", "float32": "Float",
    "float64": "Double", "complex64": "ComplexFloat", "complex128": "ComplexDouble",
    "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "float8_e4m3fn": "Float8_e4m3fn",
    "float8_e5m2": "Float8_e5m2", "float8_e4m3fnuz": "Float8_e4m3fnuz",
    "float8_e5m2fnuz": "Float8_e5m2fnuz", "float8_e8m0fnu": "Float8_e8m0fnu",
    "qint8": "QInt8", "quint8": "QUInt8", "qint32": "QInt32", "quint4x2": "QUInt4x2",
    "quint2x4": "QUInt2x4",
}


class _NumpyDtypes(dict):
    """NumPy dtype -> ember dtype. bfloat16 and the float8 types join when ml_dtypes is first
    imported (by ember, or by another library whose arrays of those types reach ember)."""

    def __missing__(self, key):
        if isinstance(key, np.dtype) and key.name in _ML_DTYPES:
            _load_ml_dtypes()
            if key in self:
                return self[key]
        raise KeyError(key)


_FROM_NP = _NumpyDtypes((d.np_dtype, d) for d in ALL_DTYPES if d.name not in _ML_DTYPES)


def _load_ml_dtypes() -> None:
    """Import ml_dtypes and give bfloat16 and the float8 dtypes their NumPy dtypes (once)."""
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError('bfloat16 and float8 tensors need the ml_dtypes package: pip install '
                          'ml_dtypes (it is one of ember\'s dependencies)') from None
    for d in (bfloat16,) + FLOAT8:
        np_dtype = np.dtype(getattr(ml_dtypes, d.name))
        d.np_dtype = np_dtype
        _FROM_NP[np_dtype] = d


def is_float8_array(arr) -> builtins.bool:
    """Whether ``arr`` holds one of ml_dtypes' float8 types (without importing ml_dtypes)."""
    dt = arr.dtype  # (ml_dtypes gives some float8 types kind "f" and others kind "V")
    return dt.itemsize == 1 and dt.name.startswith("float8")


def via_float32(arr, dt: dtype):
    """``arr`` made ready for a NumPy cast to ``dt``: PyTorch converts wide sources (float64,
    32/64-bit ints, complex) to float16/bfloat16 by rounding to float32 first, so a value can
    land on a different neighbour than NumPy's direct rounding (13407.9998 -> bfloat16 13440).
    Other targets and narrow sources pass through untouched (no extra pass)."""
    if (dt is float16 or dt is bfloat16) and arr.dtype.itemsize >= 4 and arr.dtype != np.float32:
        with np.errstate(all="ignore"):
            return (arr.real if arr.dtype.kind == "c" else arr).astype(np.float32)
    return arr


def cast_float8(arr, dt: dtype):
    """``arr`` cast to ``dt`` as PyTorch casts when either side is a float8 type.

    PyTorch converts through float32 both ways (float8 values are all exact in float32; a wider
    source is rounded to float32 first), then applies its own rules where ml_dtypes' differ:
    float8_e4m3fn saturates out-of-range values and infinities to +-448 instead of giving NaN;
    float8_e5m2's NaN keeps the source's sign with all mantissa bits set; float8_e8m0fnu (an
    unsigned power of two) takes the magnitude and sends zero to its smallest value 2**-127.
    """
    if is_float8_array(arr):
        wide = arr.astype(np.float32)
        if arr.dtype.name.endswith("fnuz"):
            wide[np.isnan(wide)] = np.nan  # the fnuz NaN (bits 0x80) is a positive NaN in torch
        if dt in FLOAT8:
            return cast_float8(wide, dt)
        with np.errstate(all="ignore"):
            if dt.category == _INT:
                return float_to_int(wide, dt)
            return wide.astype(dt.np_dtype)
    if arr.dtype.kind == "c":
        arr = arr.real
    with np.errstate(all="ignore"):
        wide = arr.astype(np.float32)
        if dt is float8_e8m0fnu:
            out = np.asarray(np.abs(wide)).astype(dt.np_dtype)
            bits = out.view(np.uint8)
            bits[wide == 0] = 0
            return out
        out = wide.astype(dt.np_dtype)
    if dt is float8_e4m3fn or dt is float8_e5m2:
        bits = out.view(np.uint8)
        nan = np.isnan(wide)
        if dt is float8_e4m3fn:
            over = np.isnan(out.astype(np.float32)) & ~nan
            bits[over] = np.where(np.signbit(wide[over]), 0xFE, 0x7E)
        bits[nan] = np.where(np.signbit(wide[nan]), 0xFF, 0x7F)
    return out
_BY_NAME = {d.name: d for d in ALL_DTYPES + QUANTIZED}
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


def float_to_int(arr, dt: dtype):
    """Floats truncated into the integer dtype ``dt`` as PyTorch's CPU casts do: uint16 and
    uint32 go through int64 and wrap (-1.0 -> 65535), uint64 too for negative values only."""
    with np.errstate(all="ignore"):
        arr = np.trunc(arr)
        if dt is uint16 or dt is uint32:
            return arr.astype(np.int64).astype(dt.np_dtype)
        if dt.itemsize < 4 and dt is not bool:  # int8/int16/uint8 go through int32 and wrap
            return arr.astype(np.int32).astype(dt.np_dtype)
        if dt is uint64:
            return np.where(arr < 0, arr.astype(np.int64).astype(np.uint64),
                            arr.astype(np.uint64))
        return arr.astype(dt.np_dtype)


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` cast to safely, by PyTorch's table.

    PyTorch refuses to promote a float8 type with any other dtype, and uint16/uint32/uint64 with
    anything but themselves and the floating types (RuntimeError).

    Example:
        >>> ember.promote_types(ember.uint8, ember.int8)
        torch.int16
    """
    if a is b:
        return a
    if a in _UNPROMOTABLE or b in _UNPROMOTABLE:  # one set test keeps the common path short
        if a in QUANTIZED or b in QUANTIZED:
            raise RuntimeError("promoteTypes with quantized numbers is not handled yet; figure "
                               "out what the correct rules should be, offending types: "
                               f"{SCALAR_TYPE[a.name]} {SCALAR_TYPE[b.name]}")
        raise RuntimeError("Promotion for Float8 Types is not supported, attempted to promote "
                           f"{SCALAR_TYPE[a.name]} and {SCALAR_TYPE[b.name]}")
    if a in UNSIGNED_SHELL or b in UNSIGNED_SHELL:
        other = b if a in UNSIGNED_SHELL else a
        if other.category != _FLOAT:
            raise RuntimeError(
                "Promotion for uint16, uint32, uint64 types is not supported, attempted to "
                f"promote {SCALAR_TYPE[a.name]} and {SCALAR_TYPE[b.name]}")
        return other
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


def check_int_scalar(v: int) -> None:
    """PyTorch's OverflowError for a Python int that is neither an int64 nor a uint64 (its
    argument parser's two readings of an int): ``ones(2) + 2**64`` raises even for a float
    tensor, where ``ones(2) + (2**64 - 1)`` is a number.

    Example:
        >>> check_int_scalar(2**64)
        Traceback (most recent call last):
        OverflowError: int too big to convert
    """
    if not -9223372036854775808 <= v <= 18446744073709551615:
        raise OverflowError("int too big to convert" if v > 0 else
                            "can't convert negative int to unsigned")


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
    if isinstance(x, np.bool_):  # torch's argument parser reads numpy.bool_ as a double
        return _default
    if isinstance(x, np.generic):  # NumPy scalars (saved promoted operands) act as Python ones
        if isinstance(x, np.complexfloating) and not isinstance(x, builtins.complex):
            return _default  # complex64/clongdouble: torch's parser reads them as a double
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
            raise TypeError("torch.finfo() requires a floating point input type. Use "
                            "torch.iinfo to handle 'torch.finfo'")
        self.dtype = d.to_real().name
        if d in FLOAT8:
            # PyTorch's own numbers (its float8_e5m2fnuz eps is 2**-3 where ml_dtypes says 2**-2)
            self.bits = 8
            self.eps, self.max, self.min, self.tiny = _FLOAT8_INFO[d.name]
        else:
            if d is bfloat16:
                import ml_dtypes

                info = ml_dtypes.finfo(d.np_dtype)
            else:
                info = np.finfo(d.to_real().np_dtype)
            self.bits = int(info.bits)
            self.eps = float(info.eps)
            self.max = float(info.max)
            self.min = float(info.min)
            self.tiny = float(info.tiny)
        self.smallest_normal = self.tiny
        # PyTorch's: 10 ** -(the decimal digits eps resolves), so float32 gives exactly 1e-06
        self.resolution = 10.0 ** -math.floor(-math.log10(self.eps))

    def __eq__(self, other) -> bool:
        # equal when they describe the same dtype (complex64's finfo is float32's); unhashable
        # as torch's
        return type(other) is finfo and other.dtype == self.dtype

    __hash__ = None

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


# float8 finfo as PyTorch 2.13 reports it: eps, max, min, tiny (= smallest_normal)
_FLOAT8_INFO = {
    "float8_e4m3fn": (0.125, 448.0, -448.0, 2.0 ** -6),
    "float8_e5m2": (0.25, 57344.0, -57344.0, 2.0 ** -14),
    "float8_e4m3fnuz": (0.125, 240.0, -240.0, 2.0 ** -7),
    "float8_e5m2fnuz": (0.125, 57344.0, -57344.0, 2.0 ** -15),
    "float8_e8m0fnu": (1.0, 2.0 ** 127, 2.0 ** -127, 2.0 ** -127),
}


class iinfo:
    """Machine limits for an integer dtype: ``bits, min, max``.

    Example:
        >>> ember.iinfo(ember.uint8).max
        255
    """

    def __init__(self, type: dtype):
        d = to_dtype(type)
        if d is bool:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if d.category != _INT:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        info = np.iinfo(d.np_dtype) if d is not bool else None
        self.dtype = d.name
        self.bits = d.itemsize * 8
        self.min = int(info.min) if info else 0
        self.max = int(info.max) if info else 1

    def __eq__(self, other) -> bool:
        return type(other) is iinfo and other.dtype == self.dtype

    __hash__ = None

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
