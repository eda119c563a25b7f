"""Indexing: ``x[...]`` and ``x[...] = v`` with PyTorch's rules.

An index is split the way PyTorch's ``applySlicing`` splits it: integers, slices, ``None`` and
``...`` make a *basic* index that NumPy answers with a view (so ``x[0]`` shares memory and the
version counter with ``x``); integer and boolean tensors (and lists) then make an *advanced*
index on that view, which copies. Doing the integers first is what makes ``x[0, :, [0, 1]]``
come out as PyTorch's ``(3, 2)`` rather than NumPy's ``(2, 3)``.
"""

from __future__ import annotations

import operator
import warnings

import numpy as np

from ... import _dtype as D
from ..._backend import add_at, as_strided, get_array_module, is_host
from ..._creation import checked_scalar
from ..._errors import with_hint
from ..._tensor import Tensor
from ...autograd import grad_mode
from .. import _core
from .._core import Op
from ..inplace import (
    apply_inplace,
    check_inplace,
    leaf_view_error,
    refuse_vmap_mix,
    write_target,
)

__all__: list = []

_INT_KINDS = "iu"


class _Index:
    """A parsed index: ``basic`` (a NumPy tuple giving a view) then ``adv`` (a NumPy tuple of
    full slices and integer arrays on that view, or None). ``unique`` is true when the advanced
    index cannot name an element twice (it came from boolean masks)."""

    __slots__ = ("basic", "adv", "unique", "uint8", "uint8_fill")

    def __init__(self, basic, adv, unique, uint8=False, uint8_fill=False):
        self.basic, self.adv, self.unique = basic, adv, unique
        self.uint8 = uint8  # a (deprecated) uint8 mask was used
        # the advanced part is one uint8 mask and nothing else: torch's setitem sends that to
        # masked_fill_ when the value has one element, which refuses uint8 masks
        self.uint8_fill = uint8_fill


_NON_TUPLE_WARNING = (
    "Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed "
    "in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be "
    "interpreted as tensor index, x[torch.tensor(seq)], which will result either in an error "
    "or a different result")
_UINT8_WARNING = ("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                  "torch.bool instead.")


# the index tensors torch takes (int16, int8 and the wider unsigned types are refused)
_INDEX_DTYPES = frozenset(np.dtype(t) for t in (np.int64, np.int32, np.uint8, np.bool_))
_SEQUENCE_TYPES = frozenset((list, tuple, range, np.ndarray))
_SCALAR_TYPES = frozenset((int, float, bool, complex, slice, type(None), type(Ellipsis)))


_PLAIN_ITEMS = frozenset((int, bool, slice, type(None), type(Ellipsis), Tensor))


def _is_sequence(obj) -> bool:
    """Python's ``PySequence_Check`` as torch's indexing uses it: lists, tuples, ranges, NumPy
    arrays, strings, deques ... but not dicts, sets or NumPy scalars."""
    t = type(obj)
    if t in _SEQUENCE_TYPES:
        return True
    if t in _SCALAR_TYPES or isinstance(obj, (dict, np.generic, Tensor)):
        return False
    return isinstance(obj, (list, tuple, range, np.ndarray)) or \
        getattr(t, "__getitem__", None) is not None


def _seq_as_tuple(seq) -> bool:
    # PyTorch's treatSequenceAsTuple (NumPy's old heuristic): a short sequence holding
    # tensors, sequences, slices, None or ... is a multi-dimensional index, with a warning.
    try:
        n = len(seq)
    except TypeError:
        return False
    if n >= 32:
        return False
    for s in seq:
        if isinstance(s, (Tensor, slice)) or _is_sequence(s) or s is None or s is Ellipsis:
            warnings.warn(_NON_TUPLE_WARNING, UserWarning, stacklevel=5)
            return True
    return False


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _type_name(obj) -> str:
    """``tp_name`` as torch's messages print it: ``numpy.float64``, ``float``, ``MyIndex``."""
    t = type(obj)
    if t.__flags__ & (1 << 9) or t.__module__ == "builtins":  # a class defined in Python
        return t.__name__
    return f"{t.__module__}.{t.__name__}"


def _invalid_index(item) -> IndexError:
    return IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
        f"are valid indices (got {_type_name(item)})")


_warned_complex: list = []


def _sequence_to_index(seq) -> np.ndarray:
    """torch's ``indexing_tensor_from_data``: a Python or NumPy sequence becomes a bool or uint8
    mask when its inferred dtype is bool or uint8, and an int64 index otherwise (floats are
    truncated)."""
    if isinstance(seq, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(seq).__name__}'")
    if isinstance(seq, np.ndarray):
        arr = seq
    else:
        try:
            arr = np.asarray(seq if isinstance(seq, (list, tuple)) else list(seq))
        except ValueError as e:
            raise IndexError(f"could not convert the index {seq!r} to a tensor: {e}") from None
    dt = arr.dtype
    kind = dt.kind
    if kind == "b" or dt.char == "B":  # bool, uint8
        return arr
    if kind in "iu":
        return arr if kind == "i" and dt.itemsize == 8 else arr.astype(np.int64)
    if kind == "f":
        if arr.size and not (np.isfinite(arr).all() and np.abs(arr).max() < 2.0 ** 63):
            raise RuntimeError("value cannot be converted to type int64 without overflow")
        return arr.astype(np.int64)
    if kind == "c" and isinstance(seq, np.ndarray):
        if not _warned_complex:  # torch warns once per process
            _warned_complex.append(True)
            warnings.warn("Casting complex values to real discards the imaginary part",
                          UserWarning, stacklevel=6)
        return _sequence_to_index(arr.real)
    bad = next((v for v in arr.ravel() if not isinstance(v, (int, float, bool, np.generic))),
               arr.ravel()[0] if arr.size else None)
    if isinstance(bad, complex):
        raise TypeError("'complex' object cannot be interpreted as an integer")
    raise TypeError(f"new(): invalid data type '{type(bad).__name__}'")


def _normalize_item(item):
    """One element of an index, as torch's applySlicing reads it: ints (NumPy's too, and
    objects with ``__index__``), slices, None, ..., Python bools and tensors stay; any other
    sequence becomes an index array (see ``_sequence_to_index``)."""
    if (_is_int(item) or item is None or item is Ellipsis or isinstance(item, (slice, bool))
            or isinstance(item, Tensor)):
        return item
    if _is_sequence(item):
        return _sequence_to_index(item)
    if isinstance(item, (np.generic, float, complex)):
        raise _invalid_index(item)
    try:
        return operator.index(item)
    except TypeError:
        raise _invalid_index(item) from None


def _wrap_tuple(index) -> tuple:
    """torch's wrapTuple: a tuple as is; a tensor, a NumPy array or a scalar as a 1-tuple; a
    short list of sequences (or slices, None, ...) as a tuple of its items."""
    if type(index) is tuple:
        return index
    if isinstance(index, tuple):
        return tuple(index)
    if isinstance(index, (Tensor, np.ndarray)) or not _is_sequence(index):
        return (index,)
    return tuple(index) if _seq_as_tuple(index) else (index,)


def _is_mask(item) -> bool:
    if isinstance(item, Tensor):
        return item._dtype in (D.bool, D.uint8)
    return isinstance(item, np.ndarray) and (item.dtype.kind == "b" or item.dtype == np.uint8)


def parse_index(shape: tuple, index, xp=np, warn_uint8: bool = True) -> _Index:
    """Split ``index`` into a basic (view) part and an advanced (copy) part, checking bounds.

    ``index`` is anything torch accepts: ints, slices, None, ..., bools, tensors, and any
    sequence (list, tuple, range, NumPy array, ...), which becomes an index tensor.
    """
    index = _wrap_tuple(index)
    ndim = len(shape)
    specified = 0
    for item in index:
        if item is None or item is Ellipsis or isinstance(item, bool):
            continue
        if isinstance(item, Tensor):
            specified += item.ndim if item._dtype in (D.bool, D.uint8) else 1
        else:
            specified += 1  # torch counts a sequence as one dim, whatever mask it becomes
    if specified > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    index = [item if type(item) in _PLAIN_ITEMS else _normalize_item(item) for item in index]
    for item in index:
        if isinstance(item, Tensor) and item._vmap_levels and item._dtype is D.bool:
            # a mask computed from a mapped input selects a different count per element
            from ...func._vmap import refuse_if_batched

            refuse_if_batched(item, "bool_mask")

    basic = []
    adv = {}           # result dim of the view -> index array
    unique = True
    src = 0            # dimension of the input being consumed
    res = 0            # dimension of the view being produced
    seen_ellipsis = False
    uint8 = False      # a uint8 mask was used (deprecated in torch)
    n_adv = 0          # advanced items: index arrays, masks, bools
    # torch's out-of-bounds message names the integer's position in the index, not the
    # dimension it selects from (``t[..., 5]`` on a 3-d tensor reports dimension 1)
    for pos, item in enumerate(index):
        if src >= ndim and seen_ellipsis and item is not Ellipsis and item is not None:
            # torch expands every ``...`` to the same width, so a second one can run past
            # the last dim: a full slice there selects nothing new, an integer finds size 0
            if item == slice(None):
                src += 1
                continue
            if _is_int(item):
                raise IndexError(f"index {int(item)} is out of bounds for dimension {pos} "
                                 "with size 0")
            raise IndexError(f"too many indices for tensor of dimension {ndim}")
        if _is_int(item) or (isinstance(item, (Tensor, np.ndarray)) and item.ndim == 0
                             and not _is_mask(item)):
            # the raw value: a tensor index batched by vmap is data, not a refused .item()
            if isinstance(item, Tensor):
                if _core.capturing():  # a traced index would be baked into the graph
                    from ...fx.capture import refuse_traced_value

                    refuse_traced_value(item, "indexing with a 0-d Tensor (x[i])")
                i = int(item._data)
            else:
                i = int(item)
            n = shape[src]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {pos} with size {n}")
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
            # torch accepts several and expands each to the dims left unindexed
            seen_ellipsis = True
            k = ndim - specified
            present = max(0, min(k, ndim - src))
            basic.extend([slice(None)] * present)
            src += k
            res += present
        elif isinstance(item, bool) or (
                isinstance(item, (Tensor, np.ndarray)) and item.ndim == 0 and _is_mask(item)):
            # torch indexes a new size-1 dim with [0] (True) or [] (False): a copy, not a view
            basic.append(None)
            adv[res] = xp.zeros(1 if bool(item) else 0, np.int64)
            n_adv += 1
            res += 1
        elif isinstance(item, (Tensor, np.ndarray)):
            arr = item._data if isinstance(item, Tensor) else item
            if arr.dtype not in _INDEX_DTYPES:
                raise IndexError("tensors used as indices must be long, int, byte or bool "
                                 "tensors")
            n_adv += 1
            if _is_mask(item):
                if arr.dtype.kind != "b":
                    uint8 = True
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
            raise _invalid_index(item)
    if uint8 and warn_uint8:
        warnings.warn(_UINT8_WARNING, UserWarning, stacklevel=3)
    # a trailing ``...`` makes NumPy return a 0-d array view rather than a scalar copy
    basic.append(Ellipsis)
    if not adv:
        return _Index(tuple(basic), None, True)
    return _Index(tuple(basic), _advanced(shape, basic, adv, res, max(0, ndim - src)), unique,
                  uint8=uint8, uint8_fill=uint8 and n_adv == 1)


def _advanced(shape, basic, adv, res, rest):
    view_shape = _view_shape(shape, basic)
    full = [slice(None)] * (res + rest)
    for k, (d, arr) in enumerate(sorted(adv.items())):
        n = view_shape[d]
        if arr.size and arr.dtype.kind != "b":
            hi, lo = int(arr.max()), int(arr.min())
            if hi >= n or lo < -n:
                flat = arr.ravel()
                bad = int(flat[((flat >= n) | (flat < -n)).argmax()])  # the first, as torch
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
    if not is_host(arr):
        return as_strided(arr, shape, strides)
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
        out = _zeros_like_shape(g, shape)
        out[index] = g
        return out

    @staticmethod
    def backward(ctx, grad):
        return BasicIndex.apply(grad, index=ctx.index)


def _row_major(x) -> bool:
    """Whether ``x``'s strides fall from the first dim to the last (C order, perhaps sliced)."""
    strides = [st for n, st in zip(x.shape, x.strides) if n > 1]
    return all(a >= b for a, b in zip(strides, strides[1:]))


class AdvancedIndex(Op):
    holds_saved = True  # keeps the index on ctx; PyTorch saves it (Op._free)
    _name = "IndexBackward0"  # gather, index_select, sort ... rename their nodes

    @staticmethod
    def forward(ctx, x, index, unique):
        ctx.in_shape, ctx.index, ctx.unique = x.shape, index, unique
        out = x[index]
        # NumPy hands back a transposed result when the advanced index is not in front
        # (x[:, idx]); torch's is contiguous for a row-major input, and .view() relies on it
        if not out.flags.c_contiguous and _row_major(x):
            out = out.copy(order="C")
        return out

    @staticmethod
    def backward(ctx, grad):
        return IndexAccumulate.apply(grad, shape=ctx.in_shape, index=ctx.index,
                                     unique=ctx.unique)


class IndexAccumulate(Op):
    """Scatter ``g`` into zeros at an advanced index, adding where the index repeats."""

    holds_saved = True  # keeps the index on ctx; PyTorch saves it (Op._free)

    @staticmethod
    def forward(ctx, g, shape, index, unique):
        ctx.index, ctx.unique = index, unique
        out = _zeros_like_shape(g, shape)
        if unique:
            # PyTorch accumulates into the zeros even here, so a -0.0 gradient lands as +0.0
            out[index] = g + 0 if g.dtype.kind in "fc" else g
        else:
            add_at(out, index, g)
        return out

    @staticmethod
    def backward(ctx, grad):
        return AdvancedIndex.apply(grad, index=ctx.index, unique=ctx.unique)


def _zeros_like_shape(g, shape):
    return get_array_module(g).zeros(shape, dtype=g.dtype)


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
    return get_array_module(t._data)


# -- setitem ----------------------------------------------------------------------------------

class IndexPut(Op):
    """``out = x.clone(); out[idx] = v`` (v already broadcastable to the indexed region)."""
    holds_saved = True  # keeps the index on ctx; PyTorch saves it (Op._free)

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
        from .._core import unbroadcast

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
    # raises PyTorch's copy_/expand message when the value does not broadcast
    Tensor._make(np.broadcast_to(np.zeros((), dtype.np_dtype), vshape), dtype).expand(target)


def _refuse_shell_write(self: Tensor, index, value) -> None:
    """torch's refusal of an advanced-index write into uint16/32/64 or float8: ``t[mask] = v``
    with one value is its masked_fill_ (no kernel for any of them), other writes its index_put
    (none for the unsigned types and float8_e8m0fnu). Basic slicing writes them all."""
    from .._dispatch import refuse_shell

    n = value.numel() if isinstance(value, Tensor) else np.size(value)
    if isinstance(index, Tensor) and index._dtype is D.bool and n == 1:
        refuse_shell("masked_fill", self._dtype)
    refuse_shell("index_put", self._dtype)


def _c_type_name(value) -> str:
    """The type name CPython's ``tp_name`` gives (torch's message): a class written in Python
    by its bare name, a C type with its module (``numpy.ndarray``, ``decimal.Decimal``)."""
    kind = type(value)
    if kind.__name__ == "Size" and kind.__module__.startswith("ember"):
        return "torch.Size"  # a C type in torch
    if kind.__flags__ & (1 << 9) or kind.__module__ == "builtins":  # Py_TPFLAGS_HEAPTYPE
        return kind.__name__
    return f"{kind.__module__}.{kind.__qualname__}"


def _selects_part(shape: tuple, basic: tuple) -> bool:
    """Whether the basic index ``basic`` makes a view other than the whole tensor (torch
    returns ``self`` itself for full slices and ``...``)."""
    dim = 0
    for item in basic:
        if item is Ellipsis:
            continue
        if item is None or not isinstance(item, slice):
            return True
        if item.indices(shape[dim]) != (0, shape[dim], 1):
            return True
        dim += 1
    return False


def _refuse_leaf_write(self: Tensor, index) -> None:
    """torch's error for a write into a leaf that requires grad. A basic index other than the
    whole tensor writes through a view of it, made (and bounds-checked) first; any other index
    writes into the leaf itself, refused before its index is read."""
    try:
        idx = parse_index(self._data.shape, index, _xp(self), warn_uint8=False)
    except IndexError:
        if all(item is None or item is Ellipsis or isinstance(item, slice) or _is_int(item)
               for item in _wrap_tuple(index)):
            raise
        idx = None
    if idx is not None and idx.adv is None and _selects_part(self._data.shape, idx.basic):
        raise leaf_view_error()
    check_inplace(self)  # raises: a leaf that requires grad


def setitem(self: Tensor, index, value) -> None:
    """``self[index] = value``: writes in place, broadcasting ``value`` (a number or tensor)
    and casting it to ``self.dtype``. Differentiable: ``value`` gets the gradient of the
    region it fills, the overwritten part of ``self``'s old value gets zero.

    Example:
        >>> x = ember.zeros(2, 3); x[:, 1] = ember.tensor([1., 2.]); x[x > 1] = -1
    """
    if (self._requires_grad and self.grad_fn is None and self._base is None
            and grad_mode._state.enabled):
        _refuse_leaf_write(self, index)
    check_inplace(self)
    idx = parse_index(self._data.shape, index, _xp(self), warn_uint8=False)
    if idx.adv is not None and self._dtype in D.SHELL:
        _refuse_shell_write(self, index, value)
    if idx.uint8:
        if idx.uint8_fill and (value.numel() if isinstance(value, Tensor)
                               else np.size(value)) == 1:
            raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with "
                               "dtype unsigned char")
        warnings.warn(_UINT8_WARNING, UserWarning, stacklevel=2)
    if isinstance(value, Tensor):
        if value._vmap_levels:
            refuse_vmap_mix(self, value, "setitem")
        value = _strip_leading_ones(value)
        if value._dtype is not self._dtype:
            if idx.adv is not None:
                from ..inplace import _type_title

                raise with_hint(RuntimeError(
                    "Index put requires the source and destination dtypes match, got "
                    f"{_type_title(self._dtype)} for the destination and "
                    f"{_type_title(value._dtype)} for the source."),
                    f"Convert the value with .to({self._dtype}) first.")
            value = value.to(self._dtype)
        vshape = value._data.shape
    elif isinstance(value, (bool, int, float, complex, np.generic)):
        if isinstance(value, np.generic) and not isinstance(value, (int, float, complex,
                                                                     np.integer)):
            # torch takes Python numbers (numpy.float64 is one) and NumPy integers only
            raise TypeError(f"can't assign a numpy.{type(value).__name__} to a {self.type()}")
        if isinstance(value, int) and not -2**63 <= value < 2**63:  # read as a C long long
            raise ValueError("Overflow when unpacking long long")
        value = checked_scalar(value, self._dtype)
        vshape = ()
    else:  # torch takes tensors and numbers only: no lists, tuples or NumPy arrays
        raise TypeError(f"can't assign a {_c_type_name(value)} to a {self.type()}")
    target = _region_shape(self, idx)
    _check_value_shape(vshape, target, idx.adv is not None, self._dtype)
    track = grad_mode._state.enabled and (
        self._requires_grad or (isinstance(value, Tensor) and value._requires_grad))
    if track:
        apply_inplace(self, IndexPut.apply(self, value, idx=idx), "setitem")
        return
    raw = value._data if isinstance(value, Tensor) else value
    if not isinstance(value, Tensor) and self._dtype in D.FLOAT8:
        raw = D.cast_float8(np.asarray(raw), self._dtype)  # torch's rounding, not ml_dtypes'
    region = write_target(self._data)[idx.basic]  # (an expand's shared memory too, as torch)
    with np.errstate(all="ignore"):
        if idx.adv is None:
            region[...] = raw
        else:
            region[idx.adv] = raw
    self._vbox[0] += 1


TENSOR_METHODS = {"getitem": getitem, "setitem": setitem}

