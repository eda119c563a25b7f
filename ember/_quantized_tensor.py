"""Quantized tensors: ``quantize_per_tensor``, ``quantize_per_channel``, ``dequantize`` and the
``QuantizedTensor`` class.

A quantized tensor stores integers ``q`` and reads them as ``(q - zero_point) * scale``, with
one scale and zero point for the whole tensor (``per_tensor_affine``) or one per slice along an
axis (``per_channel_affine``). It is a ``QuantizedTensor`` (a ``Tensor`` subclass, so
``isinstance(q, ember.Tensor)`` holds) whose ``_data`` is a ``QData`` payload. Dense tensors
are untouched: no dense op checks for quantized operands. A dense op that meets one anyway
finds a ``QData`` where it expects an array, and every array use of ``QData`` raises
PyTorch's ``NotImplementedError`` for the QuantizedCPU backend, which names ``.dequantize()``.

The arithmetic is PyTorch's, to the bit: ``q = clamp(nearbyint(zero_point + x * (1 / scale)),
qmin, qmax)`` in float32 (round half to even), dequantized as ``float32(q - zero_point) *
float32(scale)`` per tensor and ``float32((q - zero_point) * scale)`` (in float64) per channel.

Example:
    >>> q = ember.quantize_per_tensor(ember.tensor([-1.0, 0.0, 0.25]), 0.1, 10, ember.quint8)
    >>> q.int_repr()
    tensor([ 0, 10, 12], dtype=torch.uint8)
"""

from __future__ import annotations

import builtins
import warnings

import numpy as np

from . import _dtype as D
from ._backend import CPU, Device
from ._payloads import refuse_array_operators
from ._tensor import Tensor

__all__ = ["qscheme", "per_tensor_affine", "per_channel_affine", "per_tensor_symmetric",
           "per_channel_symmetric", "per_channel_affine_float_qparams", "quantize_per_tensor",
           "quantize_per_channel", "quantize_per_tensor_dynamic", "dequantize", "int_repr",
           "q_scale", "q_zero_point", "q_per_channel_scales", "q_per_channel_zero_points",
           "q_per_channel_axis", "_make_per_tensor_quantized_tensor",
           "_make_per_channel_quantized_tensor", "_empty_affine_quantized",
           "_empty_per_channel_affine_quantized", "quantized_max_pool1d",
           "quantized_max_pool2d"]


class qscheme:
    """How a quantized tensor maps its integers to real values (``ember.per_tensor_affine``,
    ``per_channel_affine``, ``per_tensor_symmetric``, ``per_channel_symmetric``,
    ``per_channel_affine_float_qparams``).

    Example:
        >>> ember.quantize_per_tensor(ember.ones(2), 0.1, 0, ember.qint8).qscheme()
        torch.per_tensor_affine
    """

    __slots__ = ("_name",)

    def __new__(cls, *args, **kwargs):
        raise TypeError("cannot create 'torch.qscheme' instances")

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self):
        return self._name  # pickled by name: loads as the same object


def _qscheme(name: str) -> qscheme:
    scheme = object.__new__(qscheme)
    scheme._name = name
    return scheme


per_tensor_affine = _qscheme("per_tensor_affine")
per_channel_affine = _qscheme("per_channel_affine")
per_tensor_symmetric = _qscheme("per_tensor_symmetric")
per_channel_symmetric = _qscheme("per_channel_symmetric")
per_channel_affine_float_qparams = _qscheme("per_channel_affine_float_qparams")


# -- errors -------------------------------------------------------------------------------------

def backend_error(op: str, backend: str = "QuantizedCPU") -> NotImplementedError:
    """PyTorch's dispatcher error for an op with no kernel for ``backend``, and the way out."""
    hint = (" In ember, call .dequantize() first and compute in floating point."
            if backend == "QuantizedCPU" else
            " This operation needs a quantized tensor (see torch.quantize_per_tensor).")
    return NotImplementedError(
        f"Could not run '{op}' with arguments from the '{backend}' backend. This could be "
        "because the operator doesn't exist for this backend, or was omitted during the "
        "selective/custom build process (if using custom build)." + hint)


_CREATION_WARNED = False


def _warn_deprecated() -> None:
    # PyTorch 2.13 warns once per process when a quantized tensor is first made
    global _CREATION_WARNED
    if not _CREATION_WARNED:
        _CREATION_WARNED = True
        warnings.warn(
            "torch.quantize_per_tensor, torch.quantize_per_channel and other quantized tensor "
            "creation functions that produce tensors with dtype torch.quint8, torch.qint8, and "
            "torch.qint32 are deprecated and will be removed in a future PyTorch release. Please "
            "see https://github.com/pytorch/pytorch/issues/184982 for more information.",
            UserWarning, stacklevel=4)


# -- the payload --------------------------------------------------------------------------------

class QData:
    """The payload of a quantized tensor: the stored integers ``ints`` (NumPy, the dtype's
    storage type), the scheme and its parameters. It answers shape queries as an array does;
    any other array use raises."""

    __slots__ = ("ints", "scheme", "scale", "zero_point", "scales", "zero_points", "axis")

    def __init__(self, ints, scheme, scale=None, zero_point=None, scales=None,
                 zero_points=None, axis=None):
        self.ints = ints
        self.scheme = scheme
        self.scale, self.zero_point = scale, zero_point
        self.scales, self.zero_points, self.axis = scales, zero_points, axis

    shape = property(lambda self: self.ints.shape)
    ndim = property(lambda self: self.ints.ndim)
    size = property(lambda self: self.ints.size)
    strides = property(lambda self: self.ints.strides)
    flags = property(lambda self: self.ints.flags)
    # the storage dtype lets a dense op go on to its NumPy call, whose refusal names the op
    dtype = property(lambda self: self.ints.dtype)

    def with_ints(self, ints) -> QData:
        """The same quantization parameters over other integers (a reshaped or sliced view)."""
        return QData(ints, self.scheme, self.scale, self.zero_point, self.scales,
                     self.zero_points, self.axis)

    def copy(self) -> QData:
        """An independent copy (``copy.deepcopy`` of a quantized tensor or module)."""
        copied = (None if a is None else a.copy() for a in (self.scales, self.zero_points))
        return QData(self.ints.copy(), self.scheme, self.scale, self.zero_point, *copied,
                     self.axis)

    def floats(self) -> np.ndarray:
        """The dequantized values, float32, as PyTorch computes them."""
        if self.scheme is per_tensor_affine:
            diff = self.ints.astype(np.int64) - self.zero_point
            return diff.astype(np.float32) * np.float32(self.scale)
        shape = [1] * self.ints.ndim
        shape[self.axis] = -1
        diff = self.ints.astype(np.int64) - self.zero_points.reshape(shape)
        return (diff * self.scales.reshape(shape)).astype(np.float32)

    def __array__(self, dtype=None, copy=None):
        raise backend_error("aten::_to_copy")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise backend_error(f"aten::{getattr(ufunc, '__name__', ufunc)}")

    def __array_function__(self, func, types, args, kwargs):
        raise backend_error(f"aten::{getattr(func, '__name__', func)}")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise backend_error(f"aten::{name}")

    def __repr__(self):
        return f"QData(shape={self.shape}, qscheme={self.scheme})"


refuse_array_operators(QData, lambda name: backend_error(f"aten::{name.strip('_')}"))


# -- the tensor class ---------------------------------------------------------------------------

def _wrap(payload: QData, dtype) -> QuantizedTensor:
    return QuantizedTensor._make(payload, dtype)


# Tensor operators with PyTorch's kernel names, refused on quantized tensors
_REFUSED_OPERATORS = {
    "__add__": "aten::add.out", "__radd__": "aten::add.out", "__iadd__": "aten::add.out",
    "__sub__": "aten::sub.out", "__rsub__": "aten::sub.out", "__isub__": "aten::sub.out",
    "__mul__": "aten::mul.out", "__rmul__": "aten::mul.out", "__imul__": "aten::mul.out",
    "__truediv__": "aten::div.out", "__rtruediv__": "aten::div.out",
    "__itruediv__": "aten::div.out", "__matmul__": "aten::mm", "__rmatmul__": "aten::mm",
    "__pow__": "aten::pow.Tensor_Scalar_out", "__neg__": "aten::neg.out",
    "__abs__": "aten::abs.out", "sum": "aten::sum.IntList_out", "exp": "aten::exp.out",
    "add": "aten::add.out", "sub": "aten::sub.out", "mul": "aten::mul.out",
    "div": "aten::div.out", "matmul": "aten::mm", "mm": "aten::mm", "log": "aten::log.out",
    "softmax": "aten::_softmax", "pow": "aten::pow.Tensor_Scalar_out",
    "abs": "aten::abs.out", "neg": "aten::neg.out", "sqrt": "aten::sqrt.out",
    "backward": "aten::backward",
}


class QuantizedTensor(Tensor):
    """A quantized tensor, as ``ember.quantize_per_tensor`` and ``quantize_per_channel`` make
    it: integers with a scale and zero point (``q_scale()``/``q_zero_point()``, or
    ``q_per_channel_scales()``/``q_per_channel_zero_points()``/``q_per_channel_axis()``).

    Supported: ``dequantize``, ``int_repr``, the ``q_*`` accessors, ``qscheme``, printing,
    ``clone``/``detach``/``contiguous``, the layout ops of a per-tensor quantized tensor
    (``view``, ``reshape``, ``flatten``, ``permute``, ``transpose``, ``t``, ``squeeze``,
    ``unsqueeze``, indexing), ``relu``, ``mean`` and ``max``/``min``; ``ones_like``,
    ``full_like`` and ``empty_like`` keep the quantization. Arithmetic raises
    ``NotImplementedError`` (PyTorch's QuantizedCPU message): dequantize first.

    Example:
        >>> q = ember.quantize_per_tensor(ember.tensor([0.5, -0.2]), 0.1, 0, ember.qint8)
        >>> q.dequantize()
        tensor([ 0.5000, -0.2000])
    """

    __slots__ = ()

    # -- what kind of tensor this is --------------------------------------------------------
    @property
    def is_quantized(self) -> bool:
        return True

    @property
    def device(self) -> Device:
        return CPU

    @property
    def requires_grad(self) -> bool:
        return False

    @requires_grad.setter
    def requires_grad(self, value) -> None:
        if value:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")

    def requires_grad_(self, requires_grad: bool = True):
        if requires_grad:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        return self

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.ints.flags.c_contiguous)

    def stride(self, dim=None):
        strides = tuple(s // self._data.ints.itemsize for s in self._data.ints.strides)
        return strides if dim is None else strides[dim]

    def storage_offset(self) -> int:
        return 0

    def type(self, dtype=None, non_blocking=False, **kwargs):
        if dtype is None:
            return f"torch.quantized.{self._dtype._legacy}"
        return super().type(dtype, non_blocking, **kwargs)

    # -- the quantization ---------------------------------------------------------------------
    def dequantize(self) -> Tensor:
        """The real values ``(q - zero_point) * scale`` as a float32 tensor."""
        return Tensor._make(self._data.floats(), D.float32)

    def int_repr(self) -> Tensor:
        """The stored integers (uint8 for quint8, int8 for qint8, int32 for qint32)."""
        return Tensor._make(self._data.ints.copy(), _INT_DTYPES[self._dtype])

    def qscheme(self) -> qscheme:
        """The quantization scheme (``torch.per_tensor_affine`` or ``per_channel_affine``)."""
        return self._data.scheme

    def q_scale(self) -> float:
        """The scale of a per-tensor quantized tensor."""
        self._need(per_tensor_affine)
        return self._data.scale

    def q_zero_point(self) -> int:
        """The zero point of a per-tensor quantized tensor."""
        self._need(per_tensor_affine)
        return self._data.zero_point

    def q_per_channel_scales(self) -> Tensor:
        """The float64 scales of a per-channel quantized tensor."""
        self._need(per_channel_affine)
        return Tensor._make(self._data.scales.copy(), D.float64)

    def q_per_channel_zero_points(self) -> Tensor:
        """The int64 zero points of a per-channel quantized tensor."""
        self._need(per_channel_affine)
        return Tensor._make(self._data.zero_points.copy(), D.int64)

    def q_per_channel_axis(self) -> int:
        """The dimension a per-channel quantized tensor's scales run along."""
        self._need(per_channel_affine)
        return self._data.axis

    def _need(self, scheme) -> None:
        if self._data.scheme is not scheme:
            want = "kPerTensorAffine" if scheme is per_tensor_affine else "kPerChannelAffine"
            raise RuntimeError(
                f"Expected quantizer->qscheme() == {want} to be true, but got false.  (Could "
                "this error message be improved?  If so, please report an enhancement request "
                "to PyTorch.)")

    # -- copies and layout ---------------------------------------------------------------------
    def clone(self, *, memory_format=None):
        return _wrap(self._data.with_ints(self._data.ints.copy()), self._dtype)

    def detach(self):
        return _wrap(self._data, self._dtype)

    def contiguous(self, memory_format=None):
        if self._data.ints.flags.c_contiguous:
            return self
        return _wrap(self._data.with_ints(np.ascontiguousarray(self._data.ints)), self._dtype)

    def cpu(self, memory_format=None):
        return self

    def to(self, *args, **kwargs):
        target = [a for a in args + tuple(kwargs.values()) if isinstance(a, D.dtype)]
        if target and target[0] is not self._dtype:
            raise RuntimeError(
                "Creation of quantized tensor requires quantized dtype like torch.quint8")
        return self

    def float(self, memory_format=None):
        raise RuntimeError(
            "Creation of quantized tensor requires quantized dtype like torch.quint8")

    double = half = float

    def numpy(self, *, force=False):
        raise TypeError(f"Got unsupported ScalarType {D.SCALAR_TYPE[self._dtype.name].upper()}")

    def tolist(self):
        raise RuntimeError("load_scalar: invalid type")

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        return builtins.float(self._data.floats().reshape(-1)[0])

    def _layout(self, ints) -> QuantizedTensor:
        # the layout ops keep one scale and zero point; a per-channel axis would have to move
        if self._data.scheme is not per_tensor_affine:
            raise NotImplementedError(
                "ember supports layout changes (view, reshape, permute, indexing) of per-tensor "
                "quantized tensors only; dequantize() a per-channel tensor first")
        return _wrap(self._data.with_ints(ints), self._dtype)

    def view(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        if not self._data.ints.flags.c_contiguous:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return self._layout(self._data.ints.reshape(shape))

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return self._layout(self._data.ints.reshape(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        shape = self._data.shape
        if not shape:
            return self._layout(self._data.ints.reshape(1))
        start, end = start_dim % len(shape), end_dim % len(shape)
        merged = int(np.prod(shape[start:end + 1], dtype=np.int64))
        return self._layout(self._data.ints.reshape(shape[:start] + (merged,) + shape[end + 1:]))

    def permute(self, *dims):
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return self._layout(self._data.ints.transpose(dims))

    def transpose(self, dim0: int, dim1: int):
        return self._layout(np.swapaxes(self._data.ints, dim0, dim1))

    def t(self):
        """The transpose of a quantized matrix (``x.t()``, a 0-d or 1-d tensor unchanged).

        Example:
            >>> q = ember.quantize_per_tensor(ember.tensor([[1.0, 2.0]]), 0.5, 0, ember.qint8)
            >>> q.t().int_repr()
            tensor([[2],
                    [4]], dtype=torch.int8)
        """
        if self._data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self._data.ndim}D")
        return self._layout(self._data.ints.T)

    @property
    def T(self):  # noqa: N802  (PyTorch's name)
        return self._layout(self._data.ints.T)

    def squeeze(self, dim=None):
        ints = self._data.ints
        if dim is None:
            return self._layout(ints.squeeze())
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = tuple(d % max(ints.ndim, 1) for d in dims if ints.ndim and ints.shape[d] == 1)
        return self._layout(ints.squeeze(dims) if dims else ints)

    def unsqueeze(self, dim: int):
        return self._layout(np.expand_dims(self._data.ints, dim % (self._data.ndim + 1)))

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.numpy()
        return self._layout(self._data.ints[index])

    def chunk(self, chunks: int, dim: int = 0):
        """Split along ``dim`` into pieces of ``ceil(size / chunks)`` (the last may be
        smaller), each keeping the scale and zero point."""
        ints = self._data.ints
        axis = dim % ints.ndim
        step = -(-ints.shape[axis] // chunks)
        lead = (slice(None),) * axis
        return tuple(self._layout(ints[lead + (slice(i, i + step),)])
                     for i in range(0, ints.shape[axis], step))

    def __len__(self) -> int:
        if not self._data.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # -- the value ops PyTorch's QuantizedCPU backend has, where ember has them too ------------
    def relu(self):
        """``max(x, 0)``: the stored integers clamped below at the zero point."""
        data = self._data
        if data.scheme is per_tensor_affine:
            ints = np.maximum(data.ints, data.ints.dtype.type(data.zero_point))
        else:
            shape = [1] * data.ndim
            shape[data.axis] = -1
            ints = np.maximum(data.ints, data.zero_points.reshape(shape)).astype(data.ints.dtype)
        return _wrap(data.with_ints(ints), self._dtype)

    def mean(self, dim=None, keepdim: bool = False, *, dtype=None):
        """The mean over ``dim`` (all dims by default), quantized with the input's scale and
        zero point (per-tensor tensors only)."""
        from ._quantized_ops import mean

        return mean(self, dim, keepdim)

    def relu_(self):
        self._data.ints[...] = self.relu()._data.ints
        return self

    def equal(self, other) -> bool:
        """Whether ``other`` is quantized alike and holds the same integers."""
        if not isinstance(other, QuantizedTensor) or other._dtype is not self._dtype:
            return False
        a, b = self._data, other._data
        if a.scheme is not b.scheme or a.shape != b.shape:
            return False
        if a.scheme is per_tensor_affine:
            same = a.scale == b.scale and a.zero_point == b.zero_point
        else:
            same = (a.axis == b.axis and np.array_equal(a.scales, b.scales)
                    and np.array_equal(a.zero_points, b.zero_points))
        return bool(same and np.array_equal(a.ints, b.ints))

    def __eq__(self, other):
        if isinstance(other, QuantizedTensor):
            return Tensor._make(self._data.floats() == other._data.floats(), D.bool)
        raise backend_error("aten::eq.Tensor")

    __hash__ = Tensor.__hash__

    # -- printing --------------------------------------------------------------------------------
    def __repr__(self, *, tensor_contents=None) -> str:
        from ._tensor_str import _add_suffixes, tensor_body

        prefix = "tensor("
        floats = Tensor._make(self._data.floats(), D.float32)
        body = "[]" if self._data.size == 0 else tensor_body(floats, len(prefix))
        data = self._data
        suffixes = [f"size={tuple(self.shape)}", f"dtype={self._dtype}",
                    f"quantization_scheme={data.scheme}"]
        if data.scheme is per_tensor_affine:
            suffixes += [f"scale={data.scale}", f"zero_point={data.zero_point}"]
        else:
            suffixes += [f"scale={Tensor._make(data.scales, D.float64)!r}",
                         f"zero_point={Tensor._make(data.zero_points, D.int64)!r}",
                         f"axis={data.axis}"]
        return _add_suffixes(prefix + body, suffixes, len(prefix))

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        # plain pickle (multiprocessing, copy.copy); ember.save writes PyTorch's format
        d = self._data
        return (_unpickle, (d.ints, self._dtype, d.scheme, d.scale, d.zero_point, d.scales,
                            d.zero_points, d.axis))


def _unpickle(ints, dtype, scheme, scale, zero_point, scales, zero_points, axis):
    return _wrap(QData(ints, scheme, scale, zero_point, scales, zero_points, axis), dtype)


def _refuse_method(name: str, op: str):
    def method(self, *args, **kwargs):
        raise backend_error(op)

    method.__name__ = name
    return method


for _name, _op in _REFUSED_OPERATORS.items():
    setattr(QuantizedTensor, _name, _refuse_method(_name, _op))


_INT_DTYPES = {D.qint8: D.int8, D.quint8: D.uint8, D.qint32: D.int32, D.quint4x2: D.uint8,
               D.quint2x4: D.uint8}


# -- making quantized tensors -------------------------------------------------------------------

def _check_float_input(input: Tensor) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"quantize_per_tensor(): argument 'input' (position 1) must be Tensor, "
                        f"not {type(input).__name__}")
    if input._dtype is not D.float32:
        raise RuntimeError("Quantize only works on Float Tensor, got "
                           f"{D.SCALAR_TYPE[input._dtype.name]}")


def _check_qdtype(dtype) -> None:
    if dtype not in D.QUANTIZED:
        raise RuntimeError(f"ScalarType {D.SCALAR_TYPE[dtype.name]} is not supported in "
                           "new_qtensor.")


def quantize_ints(x: np.ndarray, inv_scale, zero_point, dtype) -> np.ndarray:
    """``clamp(nearbyint(zero_point + x * inv_scale), qmin, qmax)`` in float32 (PyTorch's
    order of operations, so every tie rounds as it does), as ``dtype``'s storage integers.
    ``inv_scale`` and ``zero_point`` broadcast against ``x``."""
    with np.errstate(all="ignore"):
        y = np.asarray(zero_point, np.float32) + x * np.asarray(inv_scale, np.float32)
        y = np.rint(y.astype(np.float64))
        # NaN lands where PyTorch's kernels put it: the top level of the 8-bit types, the
        # bottom one of qint32
        nan = dtype.qmin if dtype.itemsize == 4 else dtype.qmax
        y = np.clip(np.nan_to_num(y, nan=nan), dtype.qmin, dtype.qmax)
    return y.astype(dtype.np_dtype)


def _inverse(scale):
    with np.errstate(divide="ignore"):
        return np.float32(1) / np.asarray(scale, np.float32)


def _per_tensor(input: Tensor, scale: builtins.float, zero_point: builtins.int, dtype):
    _check_float_input(input)
    _check_qdtype(dtype)
    if zero_point > dtype.qmax:
        raise RuntimeError(f"quantize_tensor_per_tensor_affine zero_point {zero_point} is above "
                           "upper bound.")
    if zero_point < dtype.qmin:
        raise RuntimeError(f"quantize_tensor_per_tensor_affine zero_point {zero_point} is below "
                           "lower bound.")
    _warn_deprecated()
    x = np.asarray(input._data)
    ints = quantize_ints(x, _inverse(scale), zero_point, dtype)
    return _wrap(QData(ints, per_tensor_affine, builtins.float(scale),
                       builtins.int(zero_point)), dtype)


def _scalar(value, kind):
    if isinstance(value, Tensor):
        return kind(value._data.reshape(-1)[0]) if value.numel() == 1 else value
    return kind(value)


def quantize_per_tensor(input, scale, zero_point, dtype):
    """Quantize a float32 tensor with one ``scale`` and ``zero_point``:
    ``q = clamp(round(x / scale) + zero_point, qmin, qmax)`` (ties to even). ``input`` may be
    a list of tensors, with ``scale`` and ``zero_point`` tensors holding one value each.

    Args:
        input: a float32 tensor (or a list of them).
        scale (float or Tensor): the step between representable values.
        zero_point (int or Tensor): the integer that stands for 0.0.
        dtype: ``ember.quint8``, ``ember.qint8``, ``ember.qint32`` (or ``quint4x2``,
            ``quint2x4``).

    Example:
        >>> ember.quantize_per_tensor(ember.tensor([-1.0, 0.0, 1.0]), 0.1, 10, ember.quint8)
        tensor([-1.,  0.,  1.], size=(3,), dtype=torch.quint8,
               quantization_scheme=torch.per_tensor_affine, scale=0.1, zero_point=10)
    """
    if isinstance(input, (list, tuple)):
        scales = np.asarray(scale._data if isinstance(scale, Tensor) else scale).reshape(-1)
        points = np.asarray(zero_point._data if isinstance(zero_point, Tensor)
                            else zero_point).reshape(-1)
        return tuple(_per_tensor(t, builtins.float(s), builtins.int(z), dtype)
                     for t, s, z in zip(input, scales, points))
    if isinstance(scale, Tensor):  # a tensor's scale is float32 (0.1 reads 0.10000000149...)
        scale = builtins.float(np.float32(scale._data.reshape(-1)[0]))
    return _per_tensor(input, builtins.float(scale), _scalar(zero_point, builtins.int), dtype)


def quantize_per_channel(input, scales, zero_points, axis, dtype):
    """Quantize a float32 tensor with one scale and zero point per slice along ``axis``.

    Args:
        input: a float32 tensor.
        scales (Tensor): 1-D, one per index of ``input``'s ``axis`` (kept as float64).
        zero_points (Tensor): 1-D integers, as many as ``scales`` (kept as int64).
        axis (int): the channel dimension.
        dtype: ``ember.quint8``, ``ember.qint8`` or ``ember.qint32``.

    Example:
        >>> x = ember.tensor([[-1.0, 0.0], [1.0, 2.0]])
        >>> q = ember.quantize_per_channel(x, ember.tensor([0.1, 0.2]), ember.tensor([0, 5]),
        ...                                0, ember.quint8)
        >>> q.int_repr()
        tensor([[ 0,  0],
                [10, 15]], dtype=torch.uint8)
    """
    for name, pos, value in (("scales", 2, scales), ("zero_points", 3, zero_points)):
        if not isinstance(value, Tensor):
            raise TypeError(f"quantize_per_channel(): argument '{name}' (position {pos}) must "
                            f"be Tensor, not {type(value).__name__}")
    _check_float_input(input)
    _check_qdtype(dtype)
    ndim = input.ndim
    if not 0 <= axis < ndim:
        raise RuntimeError("Channel axis out of range in per channel affine quantization. Got: "
                           f"{axis}Expected: [0, {ndim})")
    channels = input.shape[axis]
    s = np.asarray(scales._data, np.float64).reshape(-1)
    z = np.asarray(zero_points._data).astype(np.int64).reshape(-1)
    if s.size != channels:
        raise RuntimeError(f"length of scales must equal to channel, expected {channels} got, "
                           f"{s.size}")
    if z.size != channels:
        raise RuntimeError(f"length of zero_points must equal to channel expected {channels} "
                           f"got, {z.size}")
    for point in z:
        if point > dtype.qmax or point < dtype.qmin:
            side = "above upper" if point > dtype.qmax else "below lower"
            raise RuntimeError(f"quantize_tensor_per_channel_affine zero_point {point} is "
                               f"{side} bound.")
    _warn_deprecated()
    shape = [1] * ndim
    shape[axis] = -1
    ints = quantize_ints(np.asarray(input._data), _inverse(s).reshape(shape), z.reshape(shape),
                         dtype)
    return _wrap(QData(ints, per_channel_affine, scales=s.copy(), zero_points=z.copy(),
                       axis=axis), dtype)


_QDTYPE_OF_STORAGE = {D.int8: D.qint8, D.uint8: D.quint8, D.int32: D.qint32}


def _storage_ints(self: Tensor) -> tuple:
    qdtype = _QDTYPE_OF_STORAGE.get(getattr(self, "_dtype", None))
    if qdtype is None or isinstance(self, QuantizedTensor):
        raise RuntimeError(
            "Creation of quantized tensor requires quantized dtype like torch.quint8")
    return np.array(self._data, copy=True, order="C"), qdtype


def _make_per_tensor_quantized_tensor(input, scale, zero_point):
    """A per-tensor quantized tensor over a copy of the integers ``input`` (int8 gives qint8,
    uint8 quint8, int32 qint32), read as ``(input - zero_point) * scale``: the way to
    rebuild a quantized tensor from ``int_repr()`` and its parameters.

    Example:
        >>> ints = ember.tensor([1, -2], dtype=ember.int8)
        >>> ember._make_per_tensor_quantized_tensor(ints, 0.5, 0).dequantize()
        tensor([ 0.5000, -1.0000])
    """
    ints, qdtype = _storage_ints(input)
    if isinstance(scale, Tensor):  # read as float32, as in quantize_per_tensor
        scale = np.float32(scale._data.reshape(-1)[0])
    return _wrap(QData(ints, per_tensor_affine, builtins.float(scale),
                       _scalar(zero_point, builtins.int)), qdtype)


def _make_per_channel_quantized_tensor(input, scale, zero_point, axis):
    """A per-channel quantized tensor over a copy of the integers ``input`` with one
    ``scale``/``zero_point`` per index of ``axis`` (kept as float64/int64).

    Example:
        >>> ints = ember.tensor([[1, -2], [3, 4]], dtype=ember.int8)
        >>> q = ember._make_per_channel_quantized_tensor(
        ...     ints, ember.tensor([0.5, 0.25]), ember.tensor([0, 1]), 0)
        >>> q.dequantize()
        tensor([[ 0.5000, -1.0000],
                [ 0.5000,  0.7500]])
    """
    ints, qdtype = _storage_ints(input)
    if not 0 <= axis < ints.ndim:
        raise RuntimeError("Channel axis out of range in per channel affine quantization. Got: "
                           f"{axis}Expected: [0, {ints.ndim})")
    s = np.asarray(scale._data, np.float64).reshape(-1)
    z = np.asarray(zero_point._data).astype(np.int64).reshape(-1)
    if s.size != ints.shape[axis] or z.size != ints.shape[axis]:
        raise RuntimeError(f"length of scales and zero_points must equal the size of axis "
                           f"{axis} ({ints.shape[axis]}), got {s.size} and {z.size}")
    _warn_deprecated()
    return _wrap(QData(ints, per_channel_affine, scales=s, zero_points=z, axis=axis), qdtype)


def _c10_name(dtype) -> str:
    if dtype in D.QUANTIZED:
        return f"c10::{dtype.name}"
    return {D.float32: "float", D.float64: "double", D.float16: "c10::Half",
            D.bfloat16: "c10::BFloat16", D.int64: "long int", D.int32: "int",
            D.int16: "short int", D.int8: "signed char", D.uint8: "unsigned char",
            D.bool: "bool"}.get(dtype, dtype.name)


def quantized_like(input: QuantizedTensor, fname: str, fill_value=None, dtype=None):
    """``empty_like``/``ones_like``/``full_like``/``zeros_like`` of a quantized tensor, as
    PyTorch makes them: a quantized tensor with ``input``'s scheme and parameters, filled with
    ``fill_value`` quantized (``zeros_like`` raises: PyTorch has no quantized ``zero_``).

    Example:
        >>> q = ember.quantize_per_tensor(ember.zeros(2), 0.5, 3, ember.quint8)
        >>> ember.ones_like(q).int_repr()
        tensor([5, 5], dtype=torch.uint8)
    """
    if dtype is not None and D.to_dtype(dtype) is not input._dtype:
        raise RuntimeError(
            "It is currently not supported to specify a dtype that doesn't match the input "
            f"tensor's dtype via empty_like.  Specified: {_c10_name(D.to_dtype(dtype))} Input "
            f"tensor's dtype: {_c10_name(input._dtype)}")
    if fname == "zeros_like":
        raise backend_error("aten::zero_")
    data = input._data
    if fill_value is None:  # empty_like: PyTorch leaves the memory as it finds it
        return _wrap(data.with_ints(np.zeros_like(data.ints)), input._dtype)
    values = np.full(data.shape, fill_value, np.float32)
    if data.scheme is per_tensor_affine:
        ints = quantize_ints(values, _inverse(data.scale), data.zero_point, input._dtype)
    else:
        shape = [1] * data.ndim
        shape[data.axis] = -1
        ints = quantize_ints(values, _inverse(data.scales).reshape(shape),
                             data.zero_points.reshape(shape), input._dtype)
    return _wrap(data.copy().with_ints(ints), input._dtype)


def _quantized_storage(size, dtype):
    dtype = D.get_default_dtype() if dtype is None else dtype
    if dtype not in D.QUANTIZED:
        raise RuntimeError(
            "Creation of quantized tensor requires quantized dtype like torch.quint8")
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    # (PyTorch leaves the memory as it finds it)
    return np.zeros(tuple(builtins.int(n) for n in shape), dtype.np_dtype), dtype


def _empty_affine_quantized(*size, scale=1.0, zero_point=0, dtype=None, layout=None,
                            device=None, pin_memory=False, memory_format=None):
    """An uninitialized per-tensor quantized tensor of ``size`` with ``scale`` and
    ``zero_point`` (``dtype`` must be quantized), as quantized modules allocate their weights.

    Example:
        >>> q = ember._empty_affine_quantized([2, 3], scale=0.5, zero_point=3, dtype=ember.qint8)
        >>> q.q_scale(), q.q_zero_point(), q.shape
        (0.5, 3, torch.Size([2, 3]))
    """
    ints, dtype = _quantized_storage(size, dtype)
    return _wrap(QData(ints, per_tensor_affine, builtins.float(scale),
                       builtins.int(zero_point)), dtype)


def _empty_per_channel_affine_quantized(*size, scales, zero_points, axis, dtype=None,
                                        layout=None, device=None, pin_memory=False,
                                        memory_format=None):
    """An uninitialized per-channel quantized tensor of ``size``, one of ``scales`` and
    ``zero_points`` per index of ``axis``.

    Example:
        >>> q = ember._empty_per_channel_affine_quantized(
        ...     [2, 3], scales=ember.tensor([0.1, 0.2]), zero_points=ember.tensor([0, 1]),
        ...     axis=0, dtype=ember.qint8)
        >>> q.q_per_channel_zero_points()
        tensor([0, 1])
    """
    ints, dtype = _quantized_storage(size, dtype)
    return _make_per_channel_quantized_tensor(
        Tensor._make(ints, _INT_DTYPES[dtype]), scales, zero_points, axis)


def quantized_max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1,
                         ceil_mode=False):
    """``max_pool1d`` of a quantized tensor (its integers moved; scale and zero point kept).

    Example:
        >>> q = ember.quantize_per_tensor(ember.arange(4.0).reshape(1, 4), 0.5, 0, ember.quint8)
        >>> ember.quantized_max_pool1d(q, [2]).dequantize()
        tensor([[1., 3.]])
    """
    return _quantized_max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode)


def quantized_max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1,
                         ceil_mode=False):
    """``max_pool2d`` of a quantized tensor (its integers moved; scale and zero point kept).

    Example:
        >>> q = ember.quantize_per_tensor(ember.arange(16.0).reshape(1, 4, 4), 0.5, 0,
        ...                               ember.quint8)
        >>> ember.quantized_max_pool2d(q, [2, 2]).shape
        torch.Size([1, 2, 2])
    """
    return _quantized_max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode)


def _quantized_max_pool(nd, input, kernel_size, stride, padding, dilation, ceil_mode):
    if not isinstance(input, QuantizedTensor):
        raise backend_error(f"aten::quantized_max_pool{nd}d", "CPU")
    from .nn import functional as F

    pool = F.max_pool1d if nd == 1 else F.max_pool2d
    return pool(input, kernel_size, list(stride) or None, padding, dilation,
                ceil_mode=ceil_mode)


def choose_qparams(min_val: builtins.float, max_val: builtins.float, qmin: builtins.int,
                   qmax: builtins.int, preserve_sparsity: builtins.bool = False) -> tuple:
    """The (scale, zero_point) FBGEMM picks for values in ``[min_val, max_val]``: the range is
    widened to hold 0, the scale spreads it over ``qmax - qmin`` steps and the zero point is
    taken from whichever end loses less to rounding, then rounded and clamped into range.
    ``preserve_sparsity`` (symmetric schemes) makes a range that straddles 0 symmetric first,
    so that 0 is exactly representable with zero point 0."""
    min_val, max_val = builtins.float(min_val), builtins.float(max_val)
    if preserve_sparsity and min_val < 0 < max_val:
        sym_qmin = -((qmax - qmin) // 2 + 1)
        sym_qmax = (qmax - qmin) // 2
        step = max(abs(min_val / sym_qmin), abs(max_val / sym_qmax))
        min_val, max_val = step * sym_qmin, step * sym_qmax
    min_val, max_val = min(min_val, 0.0), max(max_val, 0.0)
    scale = (max_val - min_val) / (qmax - qmin)
    if np.float32(scale) == 0 or np.isinf(np.float32(1) / np.float32(scale)):
        scale = 0.1
    from_min = qmin - min_val / scale
    from_max = qmax - max_val / scale
    err_min = abs(qmin) - abs(min_val / scale)
    err_max = abs(qmax) - abs(max_val / scale)
    initial = from_min if err_min < err_max else from_max
    if initial < qmin:
        zero_point = qmin
    elif initial > qmax:
        zero_point = qmax
    else:
        zero_point = builtins.int(np.rint(initial))
    return scale, zero_point


def quantize_per_tensor_dynamic(input, dtype, reduce_range):
    """Quantize with a scale and zero point chosen from ``input``'s own range (including 0).
    ``reduce_range`` uses one bit less (0..127 for quint8, -64..63 for qint8), as x86 kernels
    need.

    Example:
        >>> q = ember.quantize_per_tensor_dynamic(ember.tensor([-1.0, 3.0]), ember.quint8, False)
        >>> q.q_zero_point()
        64
    """
    _check_float_input(input)
    if dtype not in (D.quint8, D.qint8):
        raise RuntimeError(f"dtype {dtype} is not supported by quantize_per_tensor_dynamic: "
                           "use torch.quint8 or torch.qint8")
    qmin, qmax = dtype.qmin, dtype.qmax
    if reduce_range:
        qmin, qmax = qmin // 2, qmax // 2
    x = np.asarray(input._data)
    lo, hi = (builtins.float(x.min()), builtins.float(x.max())) if x.size else (0.0, 0.0)
    scale, zero_point = choose_qparams(lo, hi, qmin, qmax)
    return _per_tensor(input, scale, zero_point, dtype)


# -- the function forms and the dense-tensor methods --------------------------------------------

def dequantize(input):
    """The float32 values of a quantized tensor (a float tensor is returned as it is); a list
    of tensors gives a tuple.

    Example:
        >>> q = ember.quantize_per_tensor(ember.tensor([0.25]), 0.1, 0, ember.qint8)
        >>> ember.dequantize(q)
        tensor([0.2000])
    """
    if isinstance(input, (list, tuple)):
        return tuple(dequantize(t) for t in input)
    return input.dequantize()


def _function(name: str, doc: str):
    def fn(input):
        return getattr(input, name)()

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


_EXAMPLE = ("\n\n    Example:\n        >>> q = ember.quantize_per_tensor(ember.ones(2), 0.5, 1, "
            "ember.quint8)\n        >>> ember.{name}(q)\n        {out}\n    ")
int_repr = _function("int_repr", "The stored integers of a quantized tensor." + _EXAMPLE.format(
    name="int_repr", out="tensor([3, 3], dtype=torch.uint8)"))
q_scale = _function("q_scale", "The scale of a per-tensor quantized tensor." + _EXAMPLE.format(
    name="q_scale", out="0.5"))
q_zero_point = _function("q_zero_point", "The zero point of a per-tensor quantized tensor."
                         + _EXAMPLE.format(name="q_zero_point", out="1"))
_CHANNEL_EXAMPLE = ("\n\n    Example:\n        >>> q = ember.quantize_per_channel(ember.ones(2), "
                    "ember.tensor([0.5, 0.25]), ember.tensor([0, 1]), 0, ember.qint8)\n"
                    "        >>> ember.{name}(q)\n        {out}\n    ")
q_per_channel_scales = _function(
    "q_per_channel_scales", "The float64 scales of a per-channel quantized tensor."
    + _CHANNEL_EXAMPLE.format(name="q_per_channel_scales",
                              out="tensor([0.5000, 0.2500], dtype=torch.float64)"))
q_per_channel_zero_points = _function(
    "q_per_channel_zero_points", "The int64 zero points of a per-channel quantized tensor."
    + _CHANNEL_EXAMPLE.format(name="q_per_channel_zero_points", out="tensor([0, 1])"))
q_per_channel_axis = _function(
    "q_per_channel_axis", "The channel dimension of a per-channel quantized tensor."
    + _CHANNEL_EXAMPLE.format(name="q_per_channel_axis", out="0"))


def _dense_dequantize(self):
    """The tensor itself: a tensor that is not quantized is already real-valued.

    Example:
        >>> ember.ones(2).dequantize()
        tensor([1., 1.])
    """
    return self


def _dense_refusal(name: str):
    def method(self, *args, **kwargs):
        raise backend_error(f"aten::{name}", "CPU")

    method.__name__ = name
    method.__doc__ = (f"Quantized tensors only (see ``ember.quantize_per_tensor``): a dense "
                      f"tensor raises NotImplementedError, as in PyTorch.\n\n    Example:\n"
                      f"        >>> q = ember.quantize_per_tensor(ember.ones(2), 0.5, 1, "
                      f"ember.quint8)\n        >>> _ = q.{name}()\n    ")
    return method


def bind_dense_methods() -> None:
    """Give ``Tensor`` the quantized accessors: ``dequantize`` returns a dense tensor itself,
    the others raise PyTorch's 'CPU backend' NotImplementedError."""
    Tensor.dequantize = _dense_dequantize
    for name in ("int_repr", "q_scale", "q_zero_point", "q_per_channel_scales",
                 "q_per_channel_zero_points", "q_per_channel_axis", "qscheme"):
        setattr(Tensor, name, _dense_refusal(name))
