"""Indexing: ``x[...]`` and ``x[...] = v`` with PyTorch's rules.

An index is split the way PyTorch's ``applySlicing`` splits it: integers, slices, ``None`` and
``...`` make a *basic* index that NumPy answers with a view (so ``x[0]`` shares memory and the
version counter with ``x``); integer and boolean tensors (and lists) then make an *advanced*
index on that view, which copies. Doing the integers first is what makes ``x[0, :, [0, 1]]``
come out as PyTorch's ``(3, 2)`` rather than NumPy's ``(2, 3)``.
"""

from __future__ import annotations

import operator

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ..autograd import grad_mode
from ._core import Op
from .inplace import apply_inplace, check_inplace

__all__: list = []

_INT_KINDS = "iu"


class _Index:
    """A parsed index: ``basic`` (a NumPy tuple giving a view) then ``adv`` (a NumPy tuple of
    full slices and integer arrays on that view, or None). ``unique`` is true when the advanced
    index cannot name an element twice (it came from boolean masks)."""

    __slots__ = ("basic", "adv", "unique")

    def __init__(self, basic, adv, unique):
        self.basic, self.adv, self.unique = basic, adv, unique


def _seq_as_tuple(seq) -> bool:
    # PyTorch's treatSequenceAsTuple: a short list holding slices, None, ... or sequences
    # is an old-style multi-dimensional index, not an index tensor.
    if len(seq) >= 32:
        return False
    return any(isinstance(s, (Tensor, slice, list, tuple, np.ndarray)) or s is None
               or s is Ellipsis for s in seq)


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _as_index_array(item, xp):
    if isinstance(item, Tensor):
        arr = item._data
    else:
        arr = np.asarray(item)
        if arr.dtype.kind == "f" and arr.size == 0:
            arr = arr.astype(np.int64)  # x[[]] indexes with an empty long tensor, as torch does
    if arr.dtype.kind not in "iub":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return arr


def parse_index(shape: tuple, index, xp=np) -> _Index:
    """Split ``index`` into a basic (view) part and an advanced (copy) part, checking bounds."""
    if type(index) is not tuple:
        if isinstance(index, list) and _seq_as_tuple(index):
            index = tuple(index)
        else:
            index = (index,)
    ndim = len(shape)
    specified = 0
    for item in index:
        if item is None or item is Ellipsis or isinstance(item, (bool, np.bool_)):
            continue
        if isinstance(item, Tensor):
            specified += item.ndim if item._dtype in (D.bool, D.uint8) else 1
        elif isinstance(item, np.ndarray) and item.dtype.kind == "b":
            specified += item.ndim
        else:
            specified += 1
    if specified > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")

    basic = []
    adv = {}           # result dim of the view -> index array
    unique = True
    src = 0            # dimension of the input being consumed
    res = 0            # dimension of the view being produced
    seen_ellipsis = False
    for item in index:
        if _is_int(item) or (isinstance(item, Tensor) and item.ndim == 0
                             and item._dtype.category == D._INT):
            i = int(item)
            n = shape[src]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {src} with size {n}")
            basic.append(i)
            src += 1
        elif isinstance(item, slice):
            step = 1 if item.step is None else operator.index(item.step)
            if step <= 0:
                raise ValueError("step must be greater than zero")
            start = None if item.start is None else operator.index(item.start)
            stop = None if item.stop is None else operator.index(item.stop)
            basic.append(slice(start, stop, step))
            src += 1
            res += 1
        elif item is None:
            basic.append(None)
            res += 1
        elif item is Ellipsis:
            if seen_ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen_ellipsis = True
            k = ndim - specified
            basic.extend([slice(None)] * k)
            src += k
            res += k
        elif isinstance(item, (bool, np.bool_)) or (
                isinstance(item, Tensor) and item.ndim == 0 and item._dtype is D.bool):
            # torch indexes a new size-1 dim with [0] (True) or [] (False): a copy, not a view
            basic.append(None)
            adv[res] = xp.zeros(1 if bool(item) else 0, np.int64)
            res += 1
        elif isinstance(item, (Tensor, list, tuple, np.ndarray)):
            arr = _as_index_array(item, xp)
            if arr.dtype.kind == "b" or (isinstance(item, Tensor) and item._dtype is D.uint8):
                k = arr.ndim
                for j in range(k):
                    if arr.shape[j] != shape[src + j]:
                        raise IndexError(
                            f"The shape of the mask {list(arr.shape)} at index {j} does not "
                            f"match the shape of the indexed tensor {list(shape)} at index "
                            f"{src + j}")
                for j, part in enumerate(xp.nonzero(arr.astype(bool))):
                    adv[res + j] = part
                basic.extend([slice(None)] * k)
                src += k
                res += k
            else:
                unique = False
                adv[res] = arr
                basic.append(slice(None))
                src += 1
                res += 1
        else:
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                f"are valid indices (got {type(item).__name__})")
    # a trailing ``...`` makes NumPy return a 0-d array view rather than a scalar copy
    basic.append(Ellipsis)
    if not adv:
        return _Index(tuple(basic), None, True)
    return _Index(tuple(basic), _advanced(shape, basic, adv, res, ndim - src), unique)


def _advanced(shape, basic, adv, res, rest):
    view_shape = _view_shape(shape, basic)
    full = [slice(None)] * (res + rest)
    for k, (d, arr) in enumerate(sorted(adv.items())):
        n = view_shape[d]
        if arr.size and arr.dtype.kind != "b":
            hi, lo = int(arr.max()), int(arr.min())
            if hi >= n or lo < -n:
                bad = hi if hi >= n else lo
                raise IndexError(f"index {bad} is out of bounds for dimension {k} with size {n}")
        full[d] = arr
    try:
        np.broadcast_shapes(*(a.shape for a in adv.values()))
    except ValueError:
        shapes = ", ".join(str(list(a.shape)) for _, a in sorted(adv.items()))
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together "
                         f"with shapes {shapes}") from None
    return tuple(full)


def _view_shape(shape, basic):
    # a zero-strided dummy answers "what shape does this basic index give" without allocating
    dummy = np.broadcast_to(np.zeros((), np.bool_), shape)
    return dummy[tuple(basic)].shape


# -- ops --------------------------------------------------------------------------------------

def _basic_name(index) -> str:
    """torch's node for a basic index is that of its last non-trivial step."""
    for item in reversed(index):
        if item is None:
            return "UnsqueezeBackward0"
        if type(item) is slice:
            if item.start not in (None, 0) or item.stop is not None or item.step not in (None, 1):
                return "SliceBackward0"
        elif item is not Ellipsis:
            return "SelectBackward0"
    return "SliceBackward0" if index and type(index[0]) is slice else "AliasBackward0"


class BasicIndex(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape = x.shape
        ctx.index = index
        ctx.view_args = {"index": index}
        if ctx._record:
            ctx._name = _basic_name(index)
        out = x[index]
        if None in index and out.size:
            out = _unsqueeze_strides(x, index, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return BasicIndexBackward.apply(grad, shape=ctx.in_shape, index=ctx.index)


def _unsqueeze_strides(x, index, out):
    """Give dims made by ``None`` PyTorch's strides (``size * stride`` of the dim they precede,
    1 at the end) where NumPy gives 0, so ``stride()`` agrees with torch."""
    strides = list(out.strides)
    src = res = 0
    for item in index:
        if item is None:
            strides[res] = x.shape[src] * x.strides[src] if src < x.ndim else x.itemsize
            res += 1
        elif item is Ellipsis:
            break
        else:
            src += 1
            res += not isinstance(item, (int, np.integer))
    return strided_view(out, out.shape, strides)


def strided_view(arr, shape, strides):
    """A writable view of ``arr``'s memory with the given shape and byte strides."""
    if not isinstance(arr, np.ndarray):
        return arr.__class__(shape, arr.dtype, arr.data, strides=strides)  # CuPy
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    offset = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    try:  # an ndarray over the root buffer keeps the base chain that storage_offset() walks
        return np.ndarray(shape, arr.dtype, buffer=root, offset=offset, strides=strides)
    except (TypeError, ValueError):
        return np.lib.stride_tricks.as_strided(arr, shape, strides, writeable=True)


class BasicIndexBackward(Op):
    @staticmethod
    def forward(ctx, g, shape, index):
        ctx.index = index
        out = np.zeros(shape, dtype=g.dtype) if isinstance(g, np.ndarray) else \
            _zeros_like_shape(g, shape)
        out[index] = g
        return out

    @staticmethod
    def backward(ctx, grad):
        return BasicIndex.apply(grad, index=ctx.index)


class AdvancedIndex(Op):
    _name = "IndexBackward0"  # gather, index_select, sort ... rename their nodes

    @staticmethod
    def forward(ctx, x, index, unique):
        ctx.in_shape, ctx.index, ctx.unique = x.shape, index, unique
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        return IndexAccumulate.apply(grad, shape=ctx.in_shape, index=ctx.index,
                                     unique=ctx.unique)


class IndexAccumulate(Op):
    """Scatter ``g`` into zeros at an advanced index, adding where the index repeats."""

    @staticmethod
    def forward(ctx, g, shape, index, unique):
        ctx.index, ctx.unique = index, unique
        out = _zeros_like_shape(g, shape)
        if unique:
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    @staticmethod
    def backward(ctx, grad):
        return AdvancedIndex.apply(grad, index=ctx.index, unique=ctx.unique)


def _zeros_like_shape(g, shape):
    xp = np if isinstance(g, np.ndarray) else __import__("cupy")
    return xp.zeros(shape, dtype=g.dtype)


def _apply_index(x: Tensor, idx: _Index) -> Tensor:
    out = BasicIndex.apply(x, index=idx.basic)
    if idx.adv is not None:
        out = AdvancedIndex.apply(out, index=idx.adv, unique=idx.unique)
    return out


def getitem(self: Tensor, index) -> Tensor:
    """``self[index]`` with PyTorch's semantics: basic indexing gives a view, integer and
    boolean tensor indices give a copy.

    Example:
        >>> x = ember.arange(6).view(2, 3)
        >>> x[1, ::2], x[:, [2, 0]], x[x > 3]
    """
    if type(index) is int:  # fast path: x[i]
        n = self._data.shape[0] if self._data.ndim else 0
        if self._data.ndim and -n <= index < n:
            return BasicIndex.apply(self, index=(index, Ellipsis))
    return _apply_index(self, parse_index(self._data.shape, index, _xp(self)))


def _xp(t: Tensor):
    return np if isinstance(t._data, np.ndarray) else __import__("cupy")


# -- setitem ----------------------------------------------------------------------------------

class IndexPut(Op):
    """``out = x.clone(); out[idx] = v`` (v already broadcastable to the indexed region)."""

    @staticmethod
    def forward(ctx, x, v, idx):
        ctx.idx = idx
        ctx.v_shape = np.shape(v)
        out = x.copy()
        region = out[idx.basic]
        if idx.adv is None:
            region[...] = v
        else:
            region[idx.adv] = v
        return out

    @staticmethod
    def backward(ctx, grad):
        from ._core import unbroadcast

        idx = ctx.idx
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = IndexPut.apply(grad, 0.0, idx=idx)
        if ctx.needs_input_grad[1]:
            gv = unbroadcast(_apply_index(grad, idx), ctx.v_shape)
        return gx, gv


def _strip_leading_ones(v: Tensor) -> Tensor:
    shape = v._data.shape
    k = 0
    while k < len(shape) and shape[k] == 1:
        k += 1
    return v.reshape(shape[k:]) if k else v


def _region_shape(self: Tensor, idx: _Index) -> tuple:
    region = self._data[idx.basic]
    return region[idx.adv].shape if idx.adv is not None else region.shape


def _check_value_shape(vshape: tuple, target: tuple, advanced: bool, dtype: D.dtype) -> None:
    if vshape == target:
        return
    if advanced:
        try:
            if np.broadcast_shapes(vshape, target) == target:
                return
        except ValueError:
            pass
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(vshape)} cannot be "
                           f"broadcast to indexing result of shape {list(target)}")
    from .movement import expand

    # raises PyTorch's copy_/expand message when the value does not broadcast
    expand(Tensor._make(np.broadcast_to(np.zeros((), dtype.np_dtype), vshape), dtype), target)


def setitem(self: Tensor, index, value) -> None:
    """``self[index] = value``: writes in place, broadcasting ``value`` (a number or tensor)
    and casting it to ``self.dtype``. Differentiable: ``value`` gets the gradient of the
    region it fills, the overwritten part of ``self``'s old value gets zero.

    Example:
        >>> x = ember.zeros(2, 3); x[:, 1] = ember.tensor([1., 2.]); x[x > 1] = -1
    """
    check_inplace(self)
    idx = parse_index(self._data.shape, index, _xp(self))
    if isinstance(value, Tensor):
        value = _strip_leading_ones(value)
        if value._dtype is not self._dtype:
            if idx.adv is not None:
                from .inplace import _type_title

                raise RuntimeError(
                    "Index put requires the source and destination dtypes match, got "
                    f"{_type_title(self._dtype)} for the destination and "
                    f"{_type_title(value._dtype)} for the source. Convert the value with "
                    f".to({self._dtype}) first.")
            value = value.to(self._dtype)
        vshape = value._data.shape
    elif isinstance(value, (bool, int, float, complex, np.generic)):
        vshape = ()
    else:
        from .._creation import tensor

        value = _strip_leading_ones(tensor(value, dtype=self._dtype, device=self.device))
        vshape = value._data.shape
    target = _region_shape(self, idx)
    _check_value_shape(vshape, target, idx.adv is not None, self._dtype)
    track = grad_mode._state.enabled and (
        self._requires_grad or (isinstance(value, Tensor) and value._requires_grad))
    if track:
        apply_inplace(self, IndexPut.apply(self, value, idx=idx), "setitem")
        return
    raw = value._data if isinstance(value, Tensor) else value
    region = self._data[idx.basic]
    with np.errstate(all="ignore"):
        if idx.adv is None:
            region[...] = raw
        else:
            region[idx.adv] = raw
    self._version[0] += 1


TENSOR_METHODS = {"getitem": getitem, "setitem": setitem}

# The gather/scatter and sorting families live in their own files; they are exported from here.
from . import scatter as _scatter  # noqa: E402
from . import sorting as _sorting  # noqa: E402
from .scatter import one_hot  # noqa: E402,F401  (nn.functional.one_hot calls indexing.one_hot)

for _mod in (_scatter, _sorting):
    __all__ += _mod.__all__
    globals().update({name: getattr(_mod, name) for name in _mod.__all__})
    TENSOR_METHODS.update(_mod.TENSOR_METHODS)
