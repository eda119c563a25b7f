"""Gather/scatter families: ``gather``, ``scatter``, ``scatter_add``, ``index_select``,
``index_add``, ``index_copy``, ``index_fill``, ``index_put``, ``masked_*``, ``take``, ``put``,
``nonzero`` (and ``nonzero_static``), ``unravel_index``, ``one_hot``.

Each is written with three primitives from ``subscript.py`` (``AdvancedIndex``: read at an index;
``IndexAccumulate``: add into zeros at an index; ``IndexPut``: overwrite at an index), whose
backwards are each other, so every gradient here is differentiable again.
"""

from __future__ import annotations

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._backend import asarray_like, ufunc_at
from ..._backend import get_array_module as xp_of
from ..._creation import checked_scalar
from ..._errors import with_hint
from ..._layout import row_major
from ..._tensor import Tensor
from .._core import Op, _named, int_arg, list_inputs, unbroadcast, wrap_dim
from .._dispatch import refuse_shell
from ..inplace import _type_title, apply_inplace, refuse_vmap_mix
from .subscript import (
    AdvancedIndex,
    IndexAccumulate,
    IndexPut,
    _check_value_shape,
    _Index,
    _region_shape,
    parse_index,
)

__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "index_copy",
           "index_fill", "index_put", "masked_fill", "masked_select", "masked_scatter", "take",
           "take_along_dim", "nonzero", "argwhere", "put", "nonzero_static", "unravel_index",
           "index_put_"]


def _size(shape: tuple, d: int) -> int:
    """torch's ensure_nonempty_size: a 0-d tensor counts as one element along any dim."""
    return shape[d] if shape else 1


def _shapes_fit(shape: tuple, idx_shape: tuple, dim: int, src: Tensor | None) -> bool:
    """Whether ``idx_shape`` passes the gather/scatter shape checks against ``shape``/``src``."""
    nd = max(len(shape), 1)
    if max(len(idx_shape), 1) != nd:
        return False
    if any(d != dim and _size(idx_shape, d) > _size(shape, d) for d in range(nd)):
        return False
    if src is None:
        return True
    s = src._data.shape
    return max(len(s), 1) == nd and all(_size(idx_shape, d) <= _size(s, d) for d in range(nd))


def _gather_shape_check(shape: tuple, idx_shape: tuple, dim: int) -> None:
    """torch's gather_shape_check, with its words."""
    nd = max(len(shape), 1)
    if max(len(idx_shape), 1) != nd:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(nd):
        if d != dim and _size(idx_shape, d) > _size(shape, d):
            raise RuntimeError(
                f"Size does not match at dimension {d} expected index {list(idx_shape)} to be no "
                f"larger than self {list(shape)} apart from dimension {dim}")


def _scatter_shape_check(shape: tuple, idx_shape: tuple, dim: int, src: Tensor | None) -> None:
    """torch's scatter_shape_check, in its order: index against self (apart from ``dim``), then
    against ``src`` (whose missing dims raise IndexError), then src's dimension count."""
    nd = max(len(shape), 1)
    if max(len(idx_shape), 1) != nd:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    wrong = any(d != dim and _size(idx_shape, d) > _size(shape, d) for d in range(nd))
    if src is None:
        if wrong:
            raise RuntimeError(f"Expected index {list(idx_shape)} to be no larger than self "
                               f"{list(shape)} apart from dimension {dim}")
        return
    s = src._data.shape
    for d in range(nd):
        if wrong:
            break
        if s and d >= len(s):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-len(s)}, "
                             f"{len(s) - 1}], but got {d})")
        wrong = _size(idx_shape, d) > _size(s, d)
    if max(len(s), 1) != nd:
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    if wrong:
        raise RuntimeError(f"Expected index {list(idx_shape)} to be no larger than self "
                           f"{list(shape)} apart from dimension {dim} and to be no larger size "
                           f"than src {list(s)}")


def _dim_index(input: Tensor, dim: int, index: Tensor, name: str, src: Tensor | None = None):
    """The NumPy index tuple that addresses ``input`` at ``index`` along ``dim`` (the other
    coordinates run over index's own shape), with torch's checks; None for an empty index
    whose shape torch takes unchecked (nothing is read or written)."""
    if not isinstance(index, Tensor) or index._dtype not in (D.int64, D.int32):
        raise RuntimeError(f"{'gather' if name == 'gather' else 'scatter'}(): Expected dtype "
                           "int32/int64 for index")
    idx = index._data
    shape = input._data.shape
    dim = wrap_dim(dim, len(shape))
    if idx.size == 0 and not _shapes_fit(shape, idx.shape, dim, src):
        return None  # torch skips its shape checks for an empty index
    if name == "gather":
        _gather_shape_check(shape, idx.shape, dim)
    else:
        _scatter_shape_check(shape, idx.shape, dim, src)
    if len(shape) == 0:
        shape, idx = (1,), idx.reshape(-1)
    elif idx.ndim == 0:  # a 0-d index on a 1-d input addresses one element
        idx = idx.reshape(1)
    if idx.size:
        hi, lo = int(idx.max()), int(idx.min())
        if hi >= shape[dim] or lo < 0:  # torch gathers and scatters take no negative indices
            bad = hi if hi >= shape[dim] else lo
            raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size "
                               f"{shape[dim]}")
    grids = np.ogrid[tuple(slice(0, n) for n in idx.shape)] if idx.ndim else []
    full = tuple(idx if d == dim else grids[d] for d in range(idx.ndim))
    return full if input.ndim else (full[0],) if full else (idx,)


def _region(src: Tensor, shape: tuple) -> Tensor:
    """``src`` cut down to the index's shape (torch reads only that corner of ``src``)."""
    if src._data.shape == shape:
        return src
    return src[tuple(slice(0, n) for n in shape)]


class _RowMajorIndex(AdvancedIndex):
    """An advanced-index read whose result torch writes row-major whatever the layout of the
    input or index (NumPy's fancy indexing would keep theirs)."""

    @staticmethod
    def forward(ctx, x, index, unique):
        return row_major(AdvancedIndex.forward(ctx, x, index, unique))


class Gather(_RowMajorIndex):
    _name = "GatherBackward0"


class IndexSelect(_RowMajorIndex):
    _name = "IndexSelectBackward0"


class MaskedSelect(AdvancedIndex):
    _name = "MaskedSelectBackward0"


class Take(AdvancedIndex):
    _name = "TakeBackward0"


def _full_index(adv) -> _Index:
    return _Index((Ellipsis,), adv, False)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False,
           out=None) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` for ``dim=1`` (and likewise for other dims).

    Example:
        >>> ember.tensor([[1, 2], [3, 4]]).gather(1, ember.tensor([[1], [0]]))
        tensor([[2], [3]])
    """
    if input._dtype in D.SHELL:
        refuse_shell("gather", input._dtype)
    return gather_any_dtype(input, dim, index)


def gather_any_dtype(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """``gather`` without torch's dtype refusals: sort, topk and median on uint16/32/64 gather
    their results with it (torch's own kernels need no gather there)."""
    full = _dim_index(input, dim, index, "gather")
    if full is None:  # an empty index of any shape gathers an empty tensor of its shape
        return input.reshape(-1)[:0].reshape(index.shape)
    x = input if input.ndim else input.reshape(1)
    out = Gather.apply(x, index=full, unique=False)
    return out.reshape(()) if not input.ndim or not index.ndim else out


def _scatter(input, dim, index, src, value, reduce, name):
    src_t = src if isinstance(src, Tensor) else None
    if src_t is not None and src_t._dtype is not input._dtype:
        # torch's check sits in the shared scatter kernel: every variant names it scatter()
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if input._dtype in D.SHELL:
        refuse_shell("scatter" if src_t is not None else "scatter_value", input._dtype)
    full = _dim_index(input, dim, index, name, src_t)
    if full is None:  # an empty index writes nothing
        return input.clone()
    shape = index._data.shape if input.ndim else (index._data.size,)
    x = input if input.ndim else input.reshape(1)
    if src_t is not None:
        v = _region(src_t, shape) if src_t.ndim else src_t
    else:
        v = value
    if reduce is None:
        out = IndexPut.apply(x, v, idx=_full_index(full))
    elif reduce == "add":
        if not isinstance(v, Tensor):
            v = _full_like(x, v, shape)
        out = x + IndexAccumulate.apply(v, shape=x._data.shape, index=full, unique=False)
    elif reduce == "multiply":
        out = ScatterMultiply.apply(x, v, index=full)
    else:
        raise RuntimeError("reduce argument must be either add or multiply.")
    return out.reshape(()) if not input.ndim else out


def _full_like(x: Tensor, value, shape) -> Tensor:
    return Tensor._make(xp_of(x._data).full(shape, value, dtype=x._data.dtype), x._dtype)


class ScatterMultiply(Op):
    @staticmethod
    def forward(ctx, x, v, index):
        out = x.copy()
        ufunc_at(np.multiply, out, index, v)
        return out

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("scatter(reduce='multiply') has no gradient in ember (nor in torch "
                           "for src tensors); use scatter_reduce with reduce='prod'.")


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce: str | None = None) -> Tensor:
    """Write ``src`` (a tensor) or ``value`` into a copy of ``input`` at ``index`` along ``dim``;
    ``reduce='add'|'multiply'`` combines instead of overwriting.

    Example:
        >>> ember.zeros(2, 3).scatter(1, ember.tensor([[2], [0]]), 1.0)
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing 1 required argument: 'src' or 'value'")
    if type(src) is int:
        D.check_int_scalar(src)  # past 64 bits: torch's OverflowError
    if reduce is not None and isinstance(src, Tensor):
        _warn_reduce_with_tensor_src()
    out = _scatter(input, dim, index, src, src, reduce, "scatter")
    if reduce is None:  # torch's node names: a tensor src, or a scalar value (not listed)
        if isinstance(src, Tensor):
            return _named(out, "ScatterBackward0")
        return list_inputs(_named(out, "ScatterBackward1"), (0,)) if input.ndim else out
    return out


_reduce_src_warned = False


def _warn_reduce_with_tensor_src() -> None:
    """PyTorch's deprecation of ``scatter(..., src=Tensor, reduce=...)``, given once per
    program as PyTorch gives it (a number ``value`` with ``reduce`` is not deprecated)."""
    global _reduce_src_warned
    if not _reduce_src_warned:
        _reduce_src_warned = True
        import os
        import sys
        import warnings

        # name the user's line, however many ember frames (Tensor.scatter_, aliases) lie between
        ember_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        frame, level = sys._getframe(1), 2
        while frame is not None and frame.f_code.co_filename.startswith(ember_dir + os.sep):
            frame, level = frame.f_back, level + 1
        warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and "
                      "will be removed in a future PyTorch release. Use torch.scatter_reduce "
                      "instead for more reduction options.", UserWarning, stacklevel=level)


def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
    return apply_inplace(self, scatter(self, dim, index, src, value=value, reduce=reduce),
                         "scatter_")


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Add ``src`` into a copy of ``input`` at ``index`` along ``dim`` (repeats accumulate)."""
    return _named(_scatter(input, dim, index, src, None, "add", "scatter_add"),
                  "ScatterAddBackward0")


def scatter_add_(self, dim, index, src):
    return apply_inplace(self, scatter_add(self, dim, index, src), "scatter_add_")


# the index dtypes each op takes, and torch's error (type and words) for another dtype
_INDEX_DTYPES = {
    "index_select": ((D.int64, D.int32), RuntimeError,
                     "index_select(): Expected dtype int32 or int64 for index"),
    "index_add": ((D.int64, D.int32), RuntimeError,
                  "index_add_(): Expected dtype int32/int64 for index but got: {}"),
    "index_copy": ((D.int64,), RuntimeError,
                   "index_copy_(): Expected a long tensor for index, but got {}"),
    "index_fill": ((D.int64,), IndexError, "index_fill_(): Expected dtype int64 for index."),
}


def _not_a_vector(name: str, index: Tensor) -> Exception:
    """torch's error (type and words differ per op) for an index of more than one dim."""
    if name == "index_add":
        return IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: "
                          f"{index.ndim} with type: {_type_title(index._dtype)} and size: "
                          f"{list(index.shape)}")
    if name == "index_copy":
        return IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {index.ndim})")
    if name == "index_fill":
        return RuntimeError("Index has to be a vector/scalar")
    return IndexError(f"{name}(): Index is supposed to be a vector")


def _vector_index(input: Tensor, dim: int, index: Tensor, name: str, source=None,
                  scaled: bool = False):
    """The full subscript of ``index`` along ``dim``, after torch's checks for ``name``
    (``scaled``: an index_add with ``alpha != 1``, which torch checks on another path)."""
    dtypes, error, words = _INDEX_DTYPES[name]
    if not isinstance(index, Tensor) or index._dtype not in dtypes:
        got = _type_title(index._dtype) if isinstance(index, Tensor) else type(index).__name__
        raise with_hint(error(words.format(got)), "call index.long()")
    if index.ndim > 1:
        raise _not_a_vector(name, index)
    dim = wrap_dim(dim, input.ndim)
    idx = index._data.reshape(-1)
    if name == "index_add" and source is not None:
        _check_source_shape(input, dim, idx.size, source, name)
        if input._data.size == 0:  # torch writes nothing into an empty self: no range check
            return None
    elif source is not None:
        _check_copy_source(input, dim, idx.size, source)
    n = input._data.shape[dim] if input.ndim else 1
    if name == "index_fill" and idx.size and int(idx.min()) < 0:
        idx = xp_of(idx).where((idx < 0) & (idx >= -n), idx + n, idx)  # wraps -n..-1
    if idx.size and (int(idx.max()) >= n or int(idx.min()) < 0):
        bad = int(idx[(idx >= n) | (idx < 0)][0])
        where = f"index {bad} is out of bounds for dimension {dim} with size {n}"
        if name == "index_copy":
            raise IndexError(f"index_copy_(): {where}")
        if name == "index_add" and not scaled and input.ndim == 2 and index._dtype is D.int64:
            raise RuntimeError(where)  # torch's 2-D fast path words it so; others as select
        if name == "index_fill":
            raise IndexError(where)
        raise IndexError("index out of range in self")
    return (slice(None),) * dim + (idx,)


def _check_copy_source(input: Tensor, dim: int, count: int, source: Tensor):
    """torch's checks of an index_copy source, in its order: rank, count, slice shapes."""
    if source.ndim == 0:
        if count != 1:
            raise IndexError("index_copy_(): When source is scalar, index should have one "
                             f"element (got {count})")
        return
    if input.ndim and source.ndim != input.ndim:
        raise IndexError("index_copy_(): When source and destination are not scalars, their "
                         f"dimensionality must match. Source dimensionality ({source.ndim}), "
                         f"destination dimensionality ({input.ndim})")
    n_src = source.shape[dim] if input.ndim else source.shape[0]
    if count != n_src:
        raise IndexError(f"index_copy_(): Number of indices ({count}) should be equal to "
                         f"source.size(dim) ({n_src})")
    a, b = list(input.shape), list(source.shape)
    if input.ndim and a[:dim] + a[dim + 1:] != b[:dim] + b[dim + 1:]:
        raise RuntimeError(
            "index_copy_(): Source/destination tensor must have same slice shapes. Destination "
            f"slice shape: {' '.join(map(str, a[:dim] + a[dim + 1:]))} at dimension {dim} and "
            f"source slice shape: {' '.join(map(str, b[:dim] + b[dim + 1:]))} at dimension 0.")


def _check_source_shape(input: Tensor, dim: int, count: int, source: Tensor, name: str):
    """torch's checks of an index_add source: one slice per index, shaped like self's."""
    n_src = source.shape[dim] if source.ndim > dim else 1
    if count != n_src:
        raise RuntimeError(f"{name}_(): Number of indices ({count}) should be equal to "
                           f"source.size(dim): ({n_src}), for dim: {dim}")
    a, b = list(input.shape), list(source.shape)
    if len(a) != len(b) or a[:dim] + a[dim + 1:] != b[:dim] + b[dim + 1:]:
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {a} source.shape = {b}")


def index_select(input: Tensor, dim: int, index: Tensor, *, out=None) -> Tensor:
    """The slices of ``input`` at the positions ``index`` (1-D) along ``dim`` (a copy).

    Example:
        >>> ember.arange(6).view(3, 2).index_select(0, ember.tensor([2, 0]))
    """
    full = _vector_index(input, dim, index, "index_select")
    if input._dtype in D.SHELL and input.ndim <= 1:  # torch copies rows of wider tensors
        refuse_shell("index_select", input._dtype)
    if input.ndim == 0:  # a scalar's one value, as a scalar
        if index.numel() != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                               f"{index.numel()} value(s)")
        return IndexSelect.apply(input.reshape(1), index=full, unique=False).reshape(())
    return IndexSelect.apply(input, index=full, unique=False)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """``input`` with ``alpha * source`` slices added at ``index`` along ``dim``."""
    if source._dtype is not input._dtype:  # torch's kernel writes source into self uncast
        raise RuntimeError(f"index_add_(): self ({_type_title(input._dtype)}) and source "
                           f"({_type_title(source._dtype)}) must have the same scalar type")
    full = _vector_index(input, dim, index, "index_add", source, scaled=alpha != 1)
    if input._dtype in D.SHELL:  # torch's index_add is a scatter_add
        refuse_shell("scatter", input._dtype)
    if full is None:  # an empty self
        return input.clone()
    if input.ndim == 0:  # a scalar is one slot: index 0
        return _named(index_add(input.reshape(1), 0, index, source.reshape(-1), alpha=alpha)
                      .reshape(()), "IndexAddBackward0")
    if alpha != 1:
        source = source * alpha
    out = input + IndexAccumulate.apply(source, shape=input._data.shape, index=full,
                                        unique=False)
    # self keeps its dtype (a bool self adds as a logical or: any true source sets it)
    return _named(out, "IndexAddBackward0") if out._dtype is input._dtype else out.to(input._dtype)


def index_add_(self, dim, index, source, *, alpha=1):
    return apply_inplace(self, index_add(self, dim, index, source, alpha=alpha), "index_add_")


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """``input`` with slices at ``index`` along ``dim`` replaced by ``source``'s."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(index_copy, "index_copy", input, dim, index, source)
    if source._dtype is not input._dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, "
                           f"but got (self) {_type_title(input._dtype)} and (source) "
                           f"{_type_title(source._dtype)}")
    full = _vector_index(input, dim, index, "index_copy", source)
    if input._dtype in D.SHELL:
        refuse_shell("index_copy", input._dtype)
    if input.ndim == 0:  # a scalar is one slot: index 0
        return _named(index_copy(input.reshape(1), 0, index, source.reshape(-1)).reshape(()),
                      "IndexCopyBackward0")
    return _named(IndexPut.apply(input, source, idx=_full_index(full)), "IndexCopyBackward0")


def index_copy_(self, dim, index, source):
    return apply_inplace(self, index_copy(self, dim, index, source), "index_copy_")


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """``input`` with slices at ``index`` along ``dim`` set to ``value``."""
    full = _vector_index(input, dim, index, "index_fill")
    if input._dtype in D.SHELL:
        refuse_shell("index_fill", input._dtype)
    if type(value) is int:
        D.check_int_scalar(value)  # past 64 bits: torch's OverflowError
    # torch's index_fill.int_Tensor overload records IndexFillBackward1
    return _named(IndexPut.apply(input, value, idx=_full_index(full)),
                  "IndexFillBackward1" if isinstance(value, Tensor) else "IndexFillBackward0")


def index_fill_(self, dim, index, value):
    return apply_inplace(self, index_fill(self, dim, index, value), "index_fill_")


def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """``input`` with ``input[indices] = values`` (or ``+=`` with ``accumulate=True``)."""
    indices = tuple(indices)
    for i, index in enumerate(indices):  # torch's binding takes a list of tensors only
        if not isinstance(index, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(index).__name__}")
    if len(indices) > input.ndim:
        raise IndexError(f"too many indices for tensor of dimension {input.ndim} "
                         f"(got {len(indices)})")
    idx = parse_index(input._data.shape, indices)
    if input._dtype in D.SHELL:
        refuse_shell("index_put", input._dtype)
    if not isinstance(values, Tensor):
        values = Tensor._make(np.asarray(values, dtype=input._data.dtype), input._dtype)
    elif (not accumulate and len(indices) == 1 and indices[0]._dtype in (D.bool, D.uint8)
          and values.numel() == 1 and values.device.type == "cpu"):
        # torch writes a lone mask with one value through ``masked_fill_``: the value is cast
        # to ``input``'s dtype (so an int64 label map takes ``tensor(255.)``), a uint8 mask fails
        if indices[0]._dtype is D.uint8:
            raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with "
                               "dtype unsigned char")
        values = values.to(input._dtype)
    if values._dtype is not input._dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_type_title(input._dtype)} for the destination and "
                           f"{_type_title(values._dtype)} for the source.")
    # torch broadcasts values to the indexed region as they are (no leading 1s dropped)
    region_shape = _region_shape(input, idx)
    _check_value_shape(values._data.shape, region_shape, True, input._dtype)
    if not accumulate:
        return IndexPut.apply(input, values, idx=idx)
    region = input._data[idx.basic]
    values = values.expand(region_shape)
    if idx.adv is None:  # basic only: the region is a plain slice
        from .subscript import BasicIndexBackward

        return _named(input + BasicIndexBackward.apply(values, shape=input._data.shape,
                                                       index=idx.basic), "IndexPutBackward0")
    from .subscript import BasicIndexBackward

    inner = IndexAccumulate.apply(values, shape=region.shape, index=idx.adv, unique=False)
    return _named(input + BasicIndexBackward.apply(inner, shape=input._data.shape,
                                                   index=idx.basic), "IndexPutBackward0")


def index_put_(self, indices, values, accumulate=False):
    """In-place ``index_put``: writes (or with ``accumulate``, adds) ``values`` at ``indices``.

    Example:
        >>> ember.index_put_(ember.zeros(3), (ember.tensor([0, 2]),), ember.tensor(1.))
        tensor([1., 0., 1.])
    """
    return apply_inplace(self, index_put(self, indices, values, accumulate), "index_put_")


class MaskedFill(Op):
    holds_saved = True  # keeps the mask on ctx; PyTorch saves it (Op._free)

    @staticmethod
    def forward(ctx, x, value, mask):
        ctx.mask, ctx.x_shape = mask, x.shape
        ctx.v_shape = np.shape(value)
        # row-major whatever x's layout, as torch's (np.where would keep x's order)
        return row_major(np.where(mask, asarray_like(value, x, x.dtype), x))

    @staticmethod
    def backward(ctx, grad):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = unbroadcast(MaskedFill.apply(grad, 0.0, mask=ctx.mask), ctx.x_shape)
        if ctx.needs_input_grad[1]:
            gv = MaskedFill.apply(grad, 0.0, mask=~ctx.mask).sum()
        return gx, gv


# the C++ element type torch's masked_fill_ names in its refusal of a non-bool mask
_CPP_TYPE_NAMES = {"uint8": "unsigned char", "int8": "signed char", "int16": "short int",
                   "int32": "int", "int64": "long int", "uint16": "short unsigned int",
                   "uint32": "unsigned int", "uint64": "long unsigned int", "float16": "c10::Half",
                   "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double",
                   "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _check_mask(mask, name):
    if not isinstance(mask, Tensor) or mask._dtype is not D.bool:
        if not isinstance(mask, Tensor):
            dt = type(mask).__name__
        elif name == "masked_select:":
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        elif name == "masked_fill_":
            dt = _CPP_TYPE_NAMES.get(mask._dtype.name, f"c10::{_type_title(mask._dtype)}")
        else:
            dt = _type_title(mask._dtype)
        raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype {dt}")


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` where ``mask`` is True (``mask`` broadcasts).

    Example:
        >>> x = ember.zeros(3); x.masked_fill(ember.tensor([True, False, True]), 1.0)
        tensor([1., 0., 1.])
    """
    _check_mask(mask, "masked_fill_")
    if input._dtype in D.SHELL:
        refuse_shell("masked_fill", input._dtype)
    tensor_value = isinstance(value, Tensor)
    if tensor_value:
        if value.ndim:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        if value._dtype is not input._dtype:
            value = value.to(input._dtype)
    else:
        value = checked_scalar(value, input._dtype, half_too=True)
    m = mask._data
    if m.shape != input._data.shape:
        from .._core import broadcast_shapes

        # torch's out-of-place masked_fill broadcasts the mask first: it is tensor a
        m = np.broadcast_to(m, broadcast_shapes(m.shape, input._data.shape))
    result = MaskedFill.apply(input, value, mask=m)
    # torch's masked_fill.Tensor overload records MaskedFillBackward1; its Scalar overload's
    # node lists no value
    return _named(result, "MaskedFillBackward1") if tensor_value else list_inputs(result, (0,))


def masked_fill_(self, mask, value):
    if isinstance(mask, Tensor) and mask._data.shape != self._data.shape:
        from .._core import broadcast_shapes

        broadcast_shapes(self._data.shape, mask._data.shape)  # in place, self is tensor a
    for operand in (mask, value):
        if isinstance(operand, Tensor) and operand._vmap_levels:
            refuse_vmap_mix(self, operand, "masked_fill_")
    return apply_inplace(self, masked_fill(self, mask, value), "masked_fill_")


def masked_select(input: Tensor, mask: Tensor, *, out=None) -> Tensor:
    """The elements of ``input`` where ``mask`` is True, as a 1-D tensor."""
    _check_mask(mask, "masked_select:")
    if input._dtype in D.SHELL:
        refuse_shell("masked_select", input._dtype)
    if mask._vmap_levels:  # a mapped mask selects a different count per element
        from ...func._vmap import refuse_if_batched

        refuse_if_batched(mask, "masked_select")
    from .._core import broadcast_shapes

    shape = broadcast_shapes(mask._data.shape, input._data.shape)  # torch names the mask a
    if not shape:  # NumPy has no nonzero of a 0-d array; the result is 1-d anyway
        return input.reshape(1)[Tensor._make(mask._data.reshape(1), D.bool)]
    x = input if input._data.shape == shape else input.expand(shape)
    idx = np.nonzero(np.broadcast_to(mask._data, shape))
    return MaskedSelect.apply(x, index=idx, unique=True)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the positions where ``mask`` is True filled, in order, from ``source``."""
    _check_mask(mask, "masked_scatter_")
    if input._dtype in D.SHELL:
        refuse_shell("masked_scatter", input._dtype)
    if source._dtype is not input._dtype:  # torch's message, its missing space included
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got{_type_title(input._dtype)} and {_type_title(source._dtype)}")
    from .._core import broadcast_shapes

    # the out-of-place form broadcasts input and mask (torch names the mask tensor a)
    shape = broadcast_shapes(mask._data.shape, input._data.shape)
    m = np.broadcast_to(mask._data, shape)
    count = int(m.sum())
    if source.numel() < count:
        raise RuntimeError(f"Number of elements of source < number of ones in mask (source has "
                           f"{source.numel()}, mask has {count})")
    values = source.reshape(-1)[:count]
    x = input if input._data.shape == shape else input.expand(shape)
    if not shape:  # NumPy has no nonzero of a 0-d array
        return _named(IndexPut.apply(x.reshape(1), values, idx=_Index(
            (Ellipsis,), np.nonzero(m.reshape(1)), True)).reshape(()), "MaskedScatterBackward0")
    return _named(IndexPut.apply(x, values, idx=_Index((Ellipsis,), np.nonzero(m), True)),
                  "MaskedScatterBackward0")


def masked_scatter_(self, mask, source):
    return apply_inplace(self, masked_scatter(self, mask, source), "masked_scatter_")


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input.flatten()[index]`` (the result has ``index``'s shape)."""
    if input._dtype in D.SHELL:
        refuse_shell("take", input._dtype)
    if index._dtype is not D.int64:
        raise with_hint(RuntimeError("take(): Expected a long tensor for index, but got "
                                     f"{_type_title(index._dtype)}"), "call index.long()")
    n = input.numel()
    idx = index._data
    if idx.size and (int(idx.max()) >= n or int(idx.min()) < -n):
        bad = int(idx.max()) if int(idx.max()) >= n else int(idx.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")
    return Take.apply(input.reshape(-1), index=(idx,), unique=False)


def _take_flat(input: Tensor, indices: Tensor) -> Tensor:
    """take_along_dim without a dim: torch gathers from the flattened input, with gather's
    index dtypes and its bounds error (no negative indices)."""
    if indices._dtype not in (D.int64, D.int32):
        raise RuntimeError("gather(): Expected dtype int32/int64 for index")
    idx = indices._data.reshape(-1)
    n = input.numel()
    outside = (idx < 0) | (idx >= n)
    if outside.any():
        raise RuntimeError(f"index {int(idx[outside][0])} is out of bounds for dimension 0 with "
                           f"size {n}")
    return Take.apply(input.reshape(-1), index=(idx,), unique=False)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None, *, out=None):
    """``gather`` with broadcasting of ``input`` and ``indices`` outside ``dim``."""
    if dim is None:
        if input._dtype in D.SHELL:  # torch gathers from the flattened tensor
            refuse_shell("gather_flat", input._dtype)
            refuse_shell("gather", input._dtype)
        return _named(_take_flat(input, indices), "GatherBackward0")  # torch gathers, flat
    if indices._dtype is not D.int64:
        raise with_hint(RuntimeError("torch.take_along_dim(): dtype of indices should be Long "
                                     f"but got {_type_title(indices._dtype)}"),
                        "call indices.long()")
    dim = wrap_dim(dim, input.ndim)
    from .._core import broadcast_shapes

    xs, ids = list(input._data.shape), list(indices._data.shape)
    xs[dim] = ids[dim] = 1
    shape = broadcast_shapes(tuple(xs), tuple(ids))
    xshape = shape[:dim] + (input._data.shape[dim],) + shape[dim + 1:]
    ishape = shape[:dim] + (indices._data.shape[dim],) + shape[dim + 1:]
    return _named(gather(input.expand(xshape), dim, indices.expand(ishape)), "GatherBackward0")


def nonzero(input: Tensor, *, out=None, as_tuple: bool = False):
    """Indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or a tuple of 1-D ones.

    Example:
        >>> ember.tensor([0, 3, 0, 4]).nonzero()
        tensor([[1], [3]])
    """
    if input._dtype in D.SHELL:
        refuse_shell("nonzero", input._dtype)
    if input._vmap_levels:  # its size would differ per batch element: torch's vmap refuses
        from ...func._vmap import refuse_if_batched

        refuse_if_batched(input, "nonzero_tuple" if as_tuple else "nonzero")
    data = input._data
    if as_tuple:
        parts = np.nonzero(data.reshape(1) if data.ndim == 0 else data)
        return tuple(Tensor._make(p.astype(np.int64), D.int64) for p in parts)
    return Tensor._make(np.argwhere(data).astype(np.int64), D.int64)


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero(input)`` with a fixed number of rows, ``size``: extra matches are dropped,
    missing rows are filled with ``fill_value``.

    Example:
        >>> ember.nonzero_static(ember.tensor([0, 3, 4]), size=3)
        tensor([[ 1],
                [ 2],
                [-1]])
    """
    if not isinstance(size, (int, np.integer)) or size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    # not nonzero(): torch's vmap runs nonzero_static once per element (a fixed size)
    found = _nonzero_rows(input)._data[:size]
    xp = xp_of(found)
    out = xp.full((size, input.ndim), fill_value, np.int64)
    out[:found.shape[0]] = found
    return _keep_vmap_tag(Tensor._make(out, D.int64), input)


def unravel_index(indices: Tensor, shape) -> tuple:
    """The coordinates, in a tensor of ``shape``, of flat (C-order) ``indices``: a tuple of
    int64 tensors, one per dim. Negative indices count from the end.

    Example:
        >>> ember.unravel_index(ember.tensor([4, 7]), (2, 4))
        (tensor([1, 1]), tensor([0, 3]))
    """
    if indices._dtype.is_complex or indices._dtype.is_floating_point or indices._dtype is D.bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    elif not isinstance(shape, (list, tuple)):
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {type(shape)}")
    for n in shape:
        if not isinstance(n, (int, np.integer)):
            raise TypeError(f"expected 'shape' sequence to only contain ints, but got {type(n)}")
    shape = tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    strides = [int(np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape))]
    xp = xp_of(indices._data)
    coefs = Tensor._make(xp.asarray(strides, np.int64).reshape(-1), D.int64)
    sizes = Tensor._make(xp.asarray(shape, np.int64).reshape(-1), D.int64)
    # torch's formula: Python's floor division and modulo wrap negative indices from the end
    return (indices.unsqueeze(-1).floor_divide(coefs) % sizes).unbind(-1)


def _nonzero_rows(input: Tensor) -> Tensor:
    """``nonzero(input)`` without vmap's refusal (argwhere and nonzero_static run per element
    under torch's vmap and fail only when the elements' counts differ)."""
    if input._dtype in D.SHELL:
        refuse_shell("nonzero", input._dtype)
    return Tensor._make(np.argwhere(input._data).astype(np.int64), D.int64)


def _keep_vmap_tag(result: Tensor, input: Tensor) -> Tensor:
    if input._vmap_levels:  # made without Op.apply, which would pass vmap's tag on
        result._vmap_levels = input._vmap_levels
    return result


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: the indices of the non-zero elements, one row each.

    Example:
        >>> ember.argwhere(ember.tensor([[0, 2], [3, 0]]))
        tensor([[0, 1],
                [1, 0]])
    """
    return _keep_vmap_tag(_nonzero_rows(input), input)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding: a new last dim of size ``num_classes`` (inferred as max + 1).

    Example:
        >>> ember.nn.functional.one_hot(ember.tensor([0, 2])).tolist()
        [[1, 0, 0], [0, 0, 1]]
    """
    if type(num_classes) is not int:  # torch: an int, not a bool
        int_arg(num_classes, "one_hot", "num_classes")
    if tensor._dtype is not D.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    data = tensor._data
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(data.max()) + 1
    if data.size:
        if int(data.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(data.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = (data[..., None] == asarray_like(np.arange(num_classes), data)).astype(np.int64)
    return Tensor._make(out, D.int64)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` with ``source`` written at the flat positions ``index``."""
    if input._dtype in D.SHELL:
        refuse_shell("put", input._dtype)
    if source._dtype is not input._dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {_type_title(input._dtype)} and source.dtype = "
                           f"{_type_title(source._dtype)}")
    flat = input.reshape(-1).clone()
    idx = index.reshape(-1)
    n = flat.shape[0]
    if idx.numel() and (idx._data.max() >= n or idx._data.min() < -n):
        raise IndexError(f"out of range: tried to access index {int(idx._data.max())} on a "
                         f"tensor of {n} elements.")
    res = flat.index_put((idx,), source.reshape(-1), accumulate=accumulate)
    return _named(res.view(input.shape), "PutBackward0")


def put_(self: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    return apply_inplace(self, put(self, index, source, accumulate), "put_")

TENSOR_METHODS = {
    "gather": gather, "scatter": scatter, "scatter_": scatter_, "scatter_add": scatter_add,
    "scatter_add_": scatter_add_, "index_select": index_select, "index_add": index_add,
    "index_add_": index_add_, "index_copy": index_copy, "index_copy_": index_copy_,
    "index_fill": index_fill, "index_fill_": index_fill_, "index_put": index_put,
    "index_put_": index_put_, "masked_fill": masked_fill, "masked_fill_": masked_fill_,
    "masked_select": masked_select, "masked_scatter": masked_scatter,
    "masked_scatter_": masked_scatter_, "take": take, "take_along_dim": take_along_dim,
    "nonzero": nonzero, "argwhere": argwhere, "put": put, "put_": put_,
    "nonzero_static": nonzero_static,
}
