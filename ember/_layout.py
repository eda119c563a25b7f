"""Memory layouts (``torch.layout``): ``ember.strided`` for dense tensors, ``ember.sparse_coo``
for sparse COO tensors; the compressed layouts exist as names so that programs comparing
against them run, though ember builds no tensor of those layouts."""

from __future__ import annotations

import numpy as np

from ._backend import MetaArray, get_array_module

__all__ = ["layout", "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr",
           "sparse_bsc", "jagged"]


class layout:
    """How a tensor's elements are stored: ``tensor.layout`` is ``ember.strided`` (dense) or
    ``ember.sparse_coo`` (a sparse COO tensor).

    Example:
        >>> ember.zeros(2).layout
        torch.strided
        >>> ember.zeros(2).to_sparse().layout == ember.sparse_coo
        True
    """

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self):
        return self._name  # pickled as the module-level name, so it loads as the same object


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
jagged = layout("jagged")


# -- memory formats -------------------------------------------------------------------------
# A tensor's memory format is not stored anywhere: as in PyTorch it is read from its strides
# (an ember tensor's NumPy array can have any strides). These helpers are torch's rules for
# reading a format from strides and for choosing the strides of a new tensor.

_RANKS = {"channels_last": 4, "channels_last_3d": 5}


def format_order(fmt, ndim: int):
    """The dims of a tensor in ``fmt``, outermost first in memory, or None for row-major
    (``contiguous_format``); raises as torch does when ``fmt`` needs another rank."""
    name = fmt._name
    if name == "preserve_format":
        raise RuntimeError("unsupported memory format Preserve")
    rank = _RANKS.get(name)
    if rank is None:
        return None
    if ndim != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {name} format")
    return (0,) + tuple(range(2, ndim)) + (1,)


def strides_for(shape, order) -> tuple:
    """Dense strides (in elements) laying ``shape`` out with dims ``order`` outermost first."""
    strides, step = [0] * len(shape), 1
    for d in reversed(order if order is not None else range(len(shape))):
        strides[d] = step
        step *= max(shape[d], 1)
    return tuple(strides)


def is_non_overlapping_and_dense(shape, strides) -> bool:
    """torch's ``is_non_overlapping_and_dense``: the elements fill their span exactly once."""
    if len(shape) == 1:
        return shape[0] < 2 or strides[0] == 1
    dims = sorted((d for d in range(len(shape)) if shape[d] >= 2), key=lambda d: strides[d])
    expected = 1
    for d in dims:
        if strides[d] != expected:
            return False
        expected *= shape[d]
    return True


def dims_by_stride(shape, strides) -> list:
    """The dims from innermost to outermost as torch orders them by stride: the stable
    insertion sort TensorIterator uses (larger strides go outside, zero strides and ties stay
    in place, a tie of equal strides puts the larger size outside)."""
    def should_swap(a, b):
        sa, sb = strides[a], strides[b]
        if sa == 0 or sb == 0:
            return 0
        if sa != sb:
            return -1 if sa < sb else 1
        return 1 if shape[a] > shape[b] else 0

    perm = list(reversed(range(len(shape))))  # innermost first
    for i in range(1, len(shape)):
        j = i
        for k in reversed(range(i)):
            cmp = should_swap(perm[k], perm[j])
            if cmp > 0:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
            elif cmp < 0:
                break
    return perm


def infer_dense_strides(shape, strides) -> tuple:
    """Dense strides that keep the order of ``strides`` (torch's ``infer_dense_strides``)."""
    out, step = [0] * len(shape), 1
    for d in dims_by_stride(shape, strides):
        out[d] = step
        if shape[d] > 1:
            step *= shape[d]
    return tuple(out)


def _strides_like_channels_last(shape, strides, order) -> bool:
    """torch's ``is_channels_last_strides_2d_s4`` / ``_3d_s5``: strides that order the dims
    as ``order`` does (size-1 dims ambiguous; NCHW wins ties)."""
    if strides[1] == 0:
        return False
    low = 0
    for d in (1,) + tuple(reversed(order[1:-1])) + (0,):
        if shape[d] == 0 or strides[d] < low:
            return False
        if d == 0 and low == strides[1]:
            return False
        low = strides[d] * (shape[d] if shape[d] > 1 else 1)
    return True


def suggest_memory_format(shape, strides):
    """The format torch reads from strides (``Tensor.suggest_memory_format``)."""
    from ._dtype import channels_last, channels_last_3d, contiguous_format

    n = len(shape)
    if n in (4, 5) and _strides_like_channels_last(shape, strides, (0,) + tuple(range(2, n))
                                                   + (1,)):
        return channels_last if n == 4 else channels_last_3d
    return contiguous_format


def element_strides(arr) -> tuple:
    return tuple(s // arr.itemsize for s in arr.strides)


def empty_strided_array(xp, shape, strides, np_dtype):
    """An uninitialised array with exactly these element strides. A permutation of a dense
    layout is built as a transposed dense array (so its storage is one ordinary buffer);
    other strides view a flat buffer of the span they need."""
    shape, strides = tuple(shape), tuple(int(s) for s in strides)
    if 0 in shape:
        return xp.empty(shape, np_dtype)
    order = sorted(range(len(shape)), key=lambda d: -strides[d])
    phys = xp.empty([shape[d] for d in order], np_dtype)
    arr = phys.transpose([order.index(d) for d in range(len(shape))])
    if element_strides(arr) == strides:
        return arr
    from ._backend import as_strided

    span = 1 + sum((n - 1) * s for n, s in zip(shape, strides))
    flat = xp.empty(span, np_dtype)
    return as_strided(flat, shape, [s * flat.itemsize for s in strides])


def preserved_strides(arr) -> tuple:
    """The strides ``preserve_format`` gives a copy of ``arr``: its own when it is dense,
    else dense strides in its order (torch's ``empty_like``)."""
    strides = element_strides(arr)
    if is_non_overlapping_and_dense(arr.shape, strides):
        return strides
    return infer_dense_strides(arr.shape, strides)


def target_strides(arr, fmt) -> tuple | None:
    """The strides of a new tensor shaped like ``arr`` in ``fmt`` (None: preserve); None
    when they are row-major ones."""
    if fmt is None or fmt._name == "preserve_format":
        if arr.flags.c_contiguous and 1 not in arr.shape:
            return None  # quick exit: row-major (only size-1 dims can have other strides)
        return preserved_strides(arr)
    order = format_order(fmt, arr.ndim)
    return None if order is None else strides_for(arr.shape, order)


def copy_with_strides(arr, strides):
    """A copy of ``arr`` laid out with ``strides`` (None: row-major), with the same values."""
    if strides is None or strides == strides_for(arr.shape, None):
        return arr.copy(order="C")
    out = empty_strided_array(get_array_module(arr), arr.shape, strides, arr.dtype)
    out[...] = arr
    return out


def channels_last_of(*arrays):
    """``channels_last`` / ``channels_last_3d`` when one of ``arrays`` (4-D or 5-D; None
    skipped) has strides that suggest it, else None: torch gives the output of a convolution,
    pooling, normalization or resampling kernel that layout."""
    for a in arrays:
        if a is None or a.ndim not in (4, 5) or not a.size or a.strides[1] == 0:
            continue
        if a.strides[-1] == a.itemsize and a.shape[-1] > 1 and a.shape[1] > 1:
            continue  # innermost W with C > 1: never channels_last-like (a quick NCHW exit)
        fmt = suggest_memory_format(a.shape, element_strides(a))
        if fmt._name != "contiguous_format":
            return fmt
    return None


def row_major(arr):
    """``arr`` in row-major order, copied only when it is not: the layout of kernels that
    make their input contiguous first (softmax, log_softmax, layer_norm, instance_norm)."""
    if arr.flags.c_contiguous or isinstance(arr, MetaArray):  # a meta array has no layout
        return arr
    return get_array_module(arr).ascontiguousarray(arr)


def dense_in_format(arr, fmt):
    """``arr`` laid out densely in ``fmt`` (None: row-major), copied only when it is not: the
    gradient of a kernel that lays it out in its input's format (pooling, batch norm)."""
    return row_major(arr) if fmt is None else in_format(arr, fmt)


def like_layout(arr, ref):
    """``arr`` (of ``ref``'s shape) laid out as ``empty_like(ref)`` would be (torch's
    ``preserve_format``), copied only when it is not."""
    if ref.flags.c_contiguous and 1 not in ref.shape or isinstance(arr, MetaArray):
        return row_major(arr)
    strides = preserved_strides(ref)
    return arr if element_strides(arr) == strides else copy_with_strides(arr, strides)


def in_format(arr, fmt):
    """``arr`` laid out in ``fmt`` (None: left as it is); a copy only when it is not already."""
    if fmt is None or arr.size == 0 or arr.ndim != _RANKS[fmt._name] or \
            isinstance(arr, MetaArray):
        return arr
    strides = strides_for(arr.shape, format_order(fmt, arr.ndim))
    return arr if element_strides(arr) == strides else copy_with_strides(arr, strides)


def empty_in_format(xp, shape, np_dtype, fmt):
    """An uninitialised array of ``shape`` laid out in ``fmt`` (None: row-major)."""
    if fmt is None or len(shape) != _RANKS[fmt._name]:
        return xp.empty(shape, np_dtype)
    return empty_strided_array(xp, shape, strides_for(shape, format_order(fmt, len(shape))),
                               np_dtype)


# -- elementwise ops: TensorIterator's output layout ----------------------------------------
# torch computes an elementwise op's output strides from its operands (outputs first, then
# inputs, in the op's argument order): the first operand that can tell two dims apart orders
# them, so ``a_channels_last + b_contiguous`` is channels_last and ``b + a`` is row-major.
# NumPy resolves such a conflict towards row-major instead, so only a mixed case needs work.

def _packed(order, shape, strides) -> bool:
    """Whether dims ``order`` (outermost first) lie densely packed (size-1 dims ignored)."""
    expected = 1
    for d in reversed(order):
        if shape[d] != 1:
            if strides[d] != expected:
                return False
            expected *= shape[d]
    return True


def iterator_strides(shape, operands) -> tuple | None:
    """The strides (in elements) torch's TensorIterator gives the output of shape ``shape``
    of an elementwise op over ``operands`` (arrays or numbers, in torch's operand order);
    None for row-major ones."""
    ndim = len(shape)
    ops = [(tuple(a.shape), element_strides(a)) if hasattr(a, "strides") else ((), ())
           for a in operands]
    if all(s == shape for s, _ in ops):  # TensorIterator's fast setup
        if all(_packed(range(ndim), s, st) for s, st in ops):
            return None
        order = (0,) + tuple(range(2, ndim)) + (1,)
        if ndim in (4, 5) and all(_packed(order, s, st) for s, st in ops):
            return strides_for(shape, order)
        first = ops[0][1]
        if all(st == first for _, st in ops) and is_non_overlapping_and_dense(shape, first):
            return first
    # broadcast dims (missing or size 1 against a larger size) take no part: stride 0
    per_op = []
    for s, st in ops:
        lead = ndim - len(s)
        per_op.append([0] * lead + [0 if s[i] == 1 and shape[lead + i] != 1 else st[i]
                                    for i in range(len(s))])

    def should_swap(d0, d1):
        for st in per_op:
            s0, s1 = st[d0], st[d1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return -1 if s0 < s1 else 1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    perm = list(reversed(range(ndim)))  # innermost first; the same insertion sort as torch's
    for i in range(1, ndim):
        j = i
        for k in reversed(range(i)):
            cmp = should_swap(perm[k], perm[j])
            if cmp > 0:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
            elif cmp < 0:
                break
    if perm == list(reversed(range(ndim))):
        return None
    out, step = [0] * ndim, 1
    for d in perm:
        out[d] = step
        step *= shape[d]
    return tuple(out)


def follow_operands(out, operands):
    """``out`` (NumPy's result of an elementwise op over ``operands``) laid out as torch lays
    it out, copied only when NumPy chose differently. ``Op.apply`` calls it when an operand is
    not row-major (otherwise both give row-major): NumPy settles a conflict between operands'
    layouts towards row-major, torch towards the first operand that orders the dims."""
    if type(out) is not np.ndarray or out.ndim < 2 or out.size == 0:
        return out  # a tuple of outputs, a scalar, a device or meta array: left as it is
    shape = out.shape
    first = operands[0]
    if getattr(first, "shape", None) == shape and 1 not in shape and 0 not in first.strides:
        # the first operand orders every pair of dims: dense strides in its order, which is
        # what empty_like builds
        if first.strides == out.strides:
            return out
        like = get_array_module(out).empty_like(first, dtype=out.dtype)
        like[...] = out
        return like
    strides = iterator_strides(shape, operands)
    if strides is None:
        return out if out.flags.c_contiguous else out.copy(order="C")
    return out if element_strides(out) == strides else copy_with_strides(out, strides)


def any_strided(arrays) -> bool:
    """Whether one of ``arrays`` (numbers skipped) is an array of 2 or more dims that is not
    row-major: the case where an elementwise op's layout needs ``follow_operands``."""
    for a in arrays:
        if type(a) is np.ndarray and a.ndim > 1 and not a.flags.c_contiguous:
            return True
    return False
