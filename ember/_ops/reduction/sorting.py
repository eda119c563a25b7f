"""Sorting and searching: ``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``, ``unique``,
``unique_consecutive``, ``searchsorted``, ``bucketize``, ``isin``.

Values come out through ``gather`` with the sorting indices, so gradients flow to the selected
positions (and are differentiable again); index outputs carry no gradient.
"""

from __future__ import annotations

from operator import itemgetter

import numpy as np

from ... import _dtype as D
from ..._backend import as_array, ascontiguousarray
from ..._backend import get_array_module as xp_of
from ..._tensor import Tensor
from .._core import bool_arg, int_arg, wrap_dim
from .._dispatch import not_implemented_for, refuse, refuse_shell

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "unique", "unique_consecutive",
           "searchsorted", "bucketize", "isin"]


def _return_type(name: str) -> type:
    """A tuple with ``.values``/``.indices`` like ``torch.return_types.<name>``."""

    def __new__(cls, values, indices):
        return tuple.__new__(cls, (values, indices))

    def __repr__(self):
        return f"torch.return_types.{name}(\nvalues={self[0]!r},\nindices={self[1]!r})"

    def __reduce__(self):
        return (type(self), tuple(self))

    return type(name, (tuple,), {
        "__new__": __new__, "__repr__": __repr__, "__reduce__": __reduce__, "__slots__": (),
        "_fields": ("values", "indices"), "__module__": "ember.return_types",
        "values": property(itemgetter(0)), "indices": property(itemgetter(1))})


sort_type = _return_type("sort")
topk_type = _return_type("topk")
kthvalue_type = _return_type("kthvalue")
sort_out_type = _return_type("sort_out")
topk_out_type = _return_type("topk_out")

# the C++ element types torch's out= dtype checks name
_CPP_TYPES = {"float32": "float", "float64": "double", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
              "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
              "bool": "bool", "complex64": "c10::complex<float>",
              "complex128": "c10::complex<double>"}


def _check_pair_out(name: str, out, input: Tensor):
    """torch's checks of a ``(values, indices)`` out= pair, in its order: the argument's
    form, autograd, each tensor's dtype, then the in-place write itself (inference tensors)."""
    if out is None:
        return None
    if not isinstance(out, (tuple, list)):
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        f"(Tensor, out={type(out).__name__}): out= takes a tuple of two "
                        "Tensors (values, indices)")
    if len(out) != 2:
        raise TypeError(f"expected tuple of 2 elements but got {len(out)}")
    for i, t in enumerate(out):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 3, but got "
                            f"{type(t).__name__}")
    from ...autograd import grad_mode

    if grad_mode._state.enabled and any(t._requires_grad for t in (input, *out)):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad.")
    for t, want in zip(out, (input._dtype, D.int64)):
        if t._dtype is not want:
            raise RuntimeError(f"Expected out tensor to have dtype "
                               f"{_CPP_TYPES.get(want.name, want.name)}, but got "
                               f"{_CPP_TYPES.get(t._dtype.name, t._dtype.name)} instead")
    from ..inplace import check_inplace

    for t in out:
        check_inplace(t)
    return tuple(out)


def _write_pair_out(result, out, kind):
    """Copy ``(values, indices)`` into the out pair (resizing a mis-shaped one, with torch's
    warning for a non-empty one) and return it as ``kind``."""
    from .._dispatch import finish_out

    return kind(*(finish_out(r.detach(), o, "out") for r, o in zip(result, out)))


def _long(arr) -> Tensor:
    return Tensor._make(arr.astype(np.int64, copy=False), D.int64)


def _argsort(x: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    if not descending:
        return np.argsort(x, axis=dim, kind="stable")
    # a stable ascending sort of the reversed array, reversed, keeps ties in input order and
    # puts NaN first, which is torch's descending order
    n = x.shape[dim]
    rev = np.flip(x, dim)
    return n - 1 - np.flip(np.argsort(rev, axis=dim, kind="stable"), dim)


_RADIX_MIN = 32768  # torch's GRAIN_SIZE: from here its 1-D integer ascending sort is a radix sort
_EMULATED_MAX = 1 << 14  # elements of tied rows re-sorted in Python per call, at most (~25 ms)


def _sort_order(x, dim: int, descending: bool, stable: bool):
    """The order torch's CPU ``sort``/``argsort`` gives. With ``stable=False`` torch sorts each
    row with the C++ ``std::sort`` (an introsort: not stable past 16 elements), so among equal
    values the indices come out in the order that algorithm leaves them; MoE dispatchers that
    ``argsort`` expert ids see it. Rows without ties come out the same either way; rows with
    ties are re-sorted with the same algorithm (``_topk_order``), except where torch itself
    takes a stable path (a 1-D integer ascending sort of at least 32768 elements: a radix
    sort) and where the tied rows hold more than ``_EMULATED_MAX`` elements in all (the
    stable order is kept there, to keep the sort fast)."""
    order = _argsort(x, dim, descending)
    n = x.shape[dim]
    if stable or n <= 16 or type(x) is not np.ndarray or x.dtype.kind == "c":
        return order
    if x.ndim == 1 and not descending and n >= _RADIX_MIN and x.dtype.kind in "iu":
        return order
    rows = np.moveaxis(x, dim, -1).reshape(-1, n)
    ordered = np.take_along_axis(rows, np.moveaxis(order, dim, -1).reshape(-1, n), axis=1)
    same = ordered[:, 1:] == ordered[:, :-1]
    if ordered.dtype.kind == "f":
        same |= np.isnan(ordered[:, 1:]) & np.isnan(ordered[:, :-1])
    tied = np.flatnonzero(same.any(axis=1))
    if not tied.size or tied.size * n > _EMULATED_MAX:
        return order  # (past the cap the pure-Python introsort costs more than a second)
    from ._topk_order import _Row

    flat = np.moveaxis(order, dim, -1).reshape(-1, n).copy()
    for r in tied.tolist():
        row = _Row(rows[r].tolist(), descending)
        row.sort(0, n)
        flat[r] = [i for _, i in row.a]
    return np.moveaxis(flat.reshape(np.moveaxis(order, dim, -1).shape), -1, dim)


def _leading_order(x, dim: int, m: int, descending: bool):
    """The first ``m`` positions of ``_argsort(x, dim, descending)``. For small ``m`` (topk's
    usual case) a partition finds them without sorting the whole axis: the candidates are put
    back in input order, so the stable sort of their values orders ties as the full sort does
    (which of several values tied at the cut is taken only matters where topk re-orders ties
    the way PyTorch does anyway)."""
    n = x.shape[dim]
    if m * 8 >= n or type(x) is not np.ndarray:
        return _argsort(x, dim, descending)[(slice(None),) * dim + (slice(0, m),)]
    kth = n - m if descending else m - 1  # NaN partitions as the largest value
    part = np.argpartition(x, kth, axis=dim)
    part = np.sort(part[(slice(None),) * dim + (slice(kth, n) if descending else slice(0, m),)],
                   axis=dim)
    vals = np.take_along_axis(x, part, axis=dim)
    return np.take_along_axis(part, _argsort(vals, dim, descending), axis=dim)


def _no_complex(input: Tensor, message: str | None = None, kernel: str | None = None) -> None:
    """torch's CPU sorts and selections have no complex kernel: RuntimeError(message) or
    NotImplementedError naming ``kernel`` (torch's sort/topk messages start with a space)."""
    if input._dtype.is_complex:
        raise RuntimeError(message) if message else not_implemented_for(kernel, input._dtype)


def _refuse(input: Tensor, op: str) -> None:
    """torch's NotImplementedError where it has no ``op`` kernel for uint16/32/64 or float8
    (a 0-d tensor needs no kernel: it is its own sort)."""
    if input._dtype in D.SHELL and input.ndim:
        refuse_shell(op, input._dtype)


def _gather(input: Tensor, dim: int, idx: np.ndarray, name: str) -> Tensor:
    from ..indexing.gather_scatter import gather_any_dtype as gather

    out = gather(input, dim, _long(idx))
    if out.grad_fn is not None:
        out.grad_fn._name = name  # torch's node name for the op, not for its gather
    return out


_UNSET = object()

_SORT_OVERLOADS = {
    "sort": (" * (Tensor input, *, bool stable, int dim = -1, bool descending = False, tuple of "
             "Tensors out = None)\n * (Tensor input, int dim = -1, bool descending = False, *, "
             "tuple of Tensors out = None)\n"),
    "argsort": (" * (Tensor input, *, bool stable, int dim = -1, bool descending = False, Tensor "
                "out = None)\n * (Tensor input, int dim = -1, bool descending = False)\n"),
}


def _stable_by_keyword(fn):
    """PyTorch's ``sort``/``argsort`` take ``stable`` only in an overload whose ``dim`` and
    ``descending`` are keywords: ``sort(x, 0, stable=True)`` is a TypeError there (a program
    that ran on ember would fail on torch), ``sort(x, dim=0, stable=True)`` is the call."""
    import functools

    def refuse_mixed(input, args, kwargs):
        if ("stable" in kwargs and args) or len(args) > 2:
            got = [type(v).__name__ for v in (input, *args)]
            got += [f"{k}={type(v).__name__}" for k, v in kwargs.items()]
            raise TypeError(f"{fn.__name__}() received an invalid combination of arguments - got "
                            f"({', '.join(got)}), but expected one of:\n"
                            + _SORT_OVERLOADS[fn.__name__])

    if fn.__name__ == "sort":  # ``out`` in the signature: ember's generic out= leaves it be
        @functools.wraps(fn)
        def checked(input, *args, out=None, **kwargs):
            refuse_mixed(input, args, kwargs)
            return fn(input, *args, out=out, **kwargs)
    else:  # ``dim`` named here, so that ember's axis= alias still finds it; out= is generic
        @functools.wraps(fn)
        def checked(input, *args, dim=_UNSET, **kwargs):
            if dim is not _UNSET:
                kwargs["dim"] = dim
            refuse_mixed(input, args, kwargs)
            return fn(input, *args, **kwargs)
    return checked


@_stable_by_keyword
def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = _UNSET, *,
         out=None):
    """Sorted values and their original indices along ``dim``; among equal values, the
    indices come in torch's order (``std::sort``'s unless ``stable=True``).

    Example:
        >>> ember.tensor([3., 1., 2.]).sort()
        torch.return_types.sort(values=tensor([1., 2., 3.]), indices=tensor([1, 2, 0]))
    """
    if descending is not False and descending is not True:  # torch: a bool, not 1
        bool_arg(descending, "sort", "descending")
    # torch's overload that takes ``stable`` (given at all, even None) names its node
    # SortBackward1; the overload without it, SortBackward0
    backward_name = "SortBackward0" if stable is _UNSET else "SortBackward1"
    stable = False if stable is _UNSET else stable
    if stable is not False and stable is not None:  # torch: a bool or None, not 1
        bool_arg(stable, "sort", "stable")
    _no_complex(input, " Sort does not support complex dtypes on CPU")
    _refuse(input, "sort")
    out = _check_pair_out("sort", out, input)
    if input.ndim == 0:
        wrap_dim(dim, 0)
        result = sort_type(input.clone(), _long(xp_of(input._data).zeros((), np.int64)))
    else:
        dim = wrap_dim(dim, input.ndim)
        idx = _sort_order(input._data, dim, descending, stable)
        result = sort_type(_gather(input, dim, idx, backward_name), _long(idx))
    return result if out is None else _write_pair_out(result, out, sort_out_type)


@_stable_by_keyword
def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim``."""
    if descending is not False and descending is not True:  # torch: a bool, not 1
        bool_arg(descending, "argsort", "descending")
    if stable is not False and stable is not None:  # torch: a bool, not 1
        bool_arg(stable, "argsort", "stable")
    _no_complex(input, " Sort does not support complex dtypes on CPU")
    _refuse(input, "sort")
    if input.ndim == 0:
        return _long(xp_of(input._data).zeros((), np.int64))
    dim = wrap_dim(dim, input.ndim)
    return _long(_sort_order(input._data, dim, descending, stable))


def msort(input: Tensor) -> Tensor:
    """``sort(input, dim=0).values``."""
    if input.ndim == 0:
        return sort(input, dim=0).values
    _no_complex(input, " Sort does not support complex dtypes on CPU")
    _refuse(input, "sort")
    # the stable order is the fast one, and the values do not depend on the tie order; the
    # node is torch's plain overload's, SortBackward0
    return _gather(input, 0, _sort_order(input._data, 0, False, True), "SortBackward0")


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,
         out=None):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices.

    Example:
        >>> ember.tensor([1., 5., 3.]).topk(2).values
        tensor([5., 3.])
    """
    if type(k) is not int or largest is not True or sorted is not True:  # torch's types
        int_arg(k, "topk", "k")
        bool_arg(largest, "topk", "largest")
        bool_arg(sorted, "topk", "sorted")
    _no_complex(input, " topk does not support complex dtypes on CPU")
    if input._dtype is D.bool:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    _refuse(input, "topk")
    n = input._data.shape[wrap_dim(dim, input.ndim)] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    out = _check_pair_out("topk", out, input)
    if input.ndim == 0:
        result = topk_type(input.clone(), _long(xp_of(input._data).zeros((), np.int64)))
    else:
        dim = wrap_dim(dim, input.ndim)
        order = _leading_order(input._data, dim, min(k + 1, n), largest)
        idx = _topk_order_as_torch(input._data, dim, k, largest, sorted, order)
        result = topk_type(_gather(input, dim, idx, "TopkBackward0"), _long(idx))
    return result if out is None else _write_pair_out(result, out, topk_out_type)


# ``sorted=False`` leaves the order unspecified; PyTorch's CPU kernel then returns its partition
# order, which ember replays row by row in Python (about 0.3 ms per row of 1000). Past this many
# elements that costs more than the order is worth, and the sorted order (a valid answer) is
# returned instead.
_UNSORTED_REPLAY_LIMIT = 1 << 16


def _topk_order_as_torch(x, dim: int, k: int, largest: bool, sorted: bool, order):
    """The first ``k`` of the stable ``order`` along ``dim``, with the rows whose answer the
    values leave open (ties among the selected, or any row when ``sorted=False`` selects by
    partition, up to ``_UNSORTED_REPLAY_LIMIT`` elements) re-ordered as PyTorch's CPU kernel
    orders them. Device arrays keep the stable
    order (PyTorch's CUDA kernel orders ties differently again)."""
    idx = order[(slice(None),) * dim + (slice(0, k),)]
    n = x.shape[dim]
    if not isinstance(x, np.ndarray) or k == 0 or x.size == 0:
        return idx
    from ._topk_order import topk_row

    rows = np.moveaxis(x, dim, -1).reshape(-1, n)
    picks = np.moveaxis(idx, dim, -1).reshape(-1, k)
    if not sorted and k * 64 > n and rows.size <= _UNSORTED_REPLAY_LIMIT:
        redo = np.ones(len(rows), bool)
    else:
        head = np.moveaxis(order[(slice(None),) * dim + (slice(0, k + 1),)], dim, -1)
        head = np.take_along_axis(rows, head.reshape(len(rows), -1), axis=-1)
        a, b = head[:, :-1], head[:, 1:]
        redo = ((a == b) | ((a != a) & (b != b))).any(axis=1)
    if not redo.any():
        return idx
    picks = picks.copy()
    for r in np.flatnonzero(redo):
        picks[r] = topk_row(rows[r], k, largest, sorted)
    shape = np.moveaxis(idx, dim, -1).shape
    return np.moveaxis(picks.reshape(shape), -1, dim)


def _gt_or_nan(a, b) -> bool:
    # NaN sorts above every number (and ties with NaN), as in PyTorch's selection
    return a > b or (a != a and b == b)


def _quickselect(vals: list, k: int) -> int:
    """The position, in ``vals``, that a median-of-three quickselect (Hoare partition, the
    classic "select" routine) leaves at rank ``k``: among tied values it is the one PyTorch's
    CPU ``kthvalue`` reports."""
    arr, pos = list(vals), list(range(len(vals)))

    def swap(a, b):
        arr[a], arr[b] = arr[b], arr[a]
        pos[a], pos[b] = pos[b], pos[a]

    lo, hi = 0, len(arr) - 1
    while hi > lo:
        if hi == lo + 1:
            if _gt_or_nan(arr[lo], arr[hi]):
                swap(lo, hi)
            break
        swap(lo + (hi - lo) // 2, lo + 1)  # median of three: arr[lo+1] <= arr[lo] <= arr[hi]
        if _gt_or_nan(arr[lo + 1], arr[hi]):
            swap(lo + 1, hi)
        if _gt_or_nan(arr[lo], arr[hi]):
            swap(lo, hi)
        if _gt_or_nan(arr[lo + 1], arr[lo]):
            swap(lo + 1, lo)
        i, j, pivot = lo + 1, hi, arr[lo]
        while True:
            i += 1
            while _gt_or_nan(pivot, arr[i]):
                i += 1
            j -= 1
            while _gt_or_nan(arr[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(lo, j)
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1
    return pos[k]


def _kth_ties_as_torch(x, dim: int, k: int, idx):
    """``idx`` (the stable sort's pick, size 1 along ``dim``) with rows whose k-th value is
    tied re-picked as PyTorch's CPU quickselect does; values are unchanged either way.
    Device arrays keep the sort's pick (PyTorch's CUDA kernel selects differently)."""
    if not isinstance(x, np.ndarray):
        return idx
    n = x.shape[dim]
    rows = np.moveaxis(x, dim, -1).reshape(-1, n)
    ordered = np.sort(rows, axis=-1)  # NaN last, as in the stable argsort
    kth = ordered[:, k - 1]

    def same(a):
        return (a == kth) | ((a != a) & (kth != kth))

    tied = np.zeros(len(rows), bool)
    if k > 1:
        tied |= same(ordered[:, k - 2])
    if k < n:
        tied |= same(ordered[:, k])
    if not tied.any():
        return idx
    picks = np.moveaxis(idx, dim, -1).reshape(-1).copy()
    for r in np.flatnonzero(tied):
        picks[r] = _quickselect(rows[r].tolist(), k - 1)
    shape = np.moveaxis(idx, dim, -1).shape
    return np.moveaxis(picks.reshape(shape), -1, dim)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, out=None):
    """The ``k``-th smallest value along ``dim`` (1-based) and its index.

    Example:
        >>> ember.tensor([3., 1., 2.]).kthvalue(2).values
        tensor(2.)
    """
    if type(k) is not int or (keepdim is not False and keepdim is not True):  # torch's types
        int_arg(k, "kthvalue", "k")
        keepdim = bool_arg(keepdim, "kthvalue")
    _no_complex(input, kernel="kthvalue_cpu")
    _refuse(input, "kthvalue")
    if input.ndim:
        refuse("kthvalue", input._dtype)  # bool
    dim = wrap_dim(dim, input.ndim)  # a 0-d input has dims -1 and 0, as in torch
    n = input._data.shape[dim] if input.ndim else 1
    if n == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {dim} to have non-zero size.")
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
    if input.ndim == 0:
        return kthvalue_type(input.clone(), _long(xp_of(input._data).zeros((), np.int64)))
    idx = _argsort(input._data, dim, False)
    idx = _kth_ties_as_torch(input._data, dim, k, idx[(slice(None),) * dim + (slice(k - 1, k),)])
    values = _gather(input, dim, idx, "KthvalueBackward0")
    if not keepdim:
        values, idx = values.squeeze(dim), idx.squeeze(dim)
        if values.grad_fn is not None:
            values.grad_fn._name = "KthvalueBackward0"
    return kthvalue_type(values, _long(idx))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """The distinct elements (or slices along ``dim``), sorted; optionally the inverse indices
    and the counts.

    Example:
        >>> ember.unique(ember.tensor([2, 1, 2]), return_counts=True)
        (tensor([1, 2]), tensor([1, 2]))
    """
    for name, flag in (("sorted", sorted), ("return_inverse", return_inverse),
                       ("return_counts", return_counts)):
        if flag is not True and flag is not False:  # torch: bools, not 1 or np.True_
            bool_arg(flag, "_unique2" if dim is None else "unique_dim", name)
    _no_complex(input, kernel="unique")
    if input._dtype in D.FLOAT8:
        raise not_implemented_for("unique" if dim is None else "unique_dim", input._dtype)
    if input._vmap_levels:  # the count of distinct values differs per element: torch refuses
        from ...func._vmap import refuse_if_batched

        refuse_if_batched(input, "unique" if dim is None else "unique_dim")
    data = input._data
    if dim is None:
        # equal_nan=False: as torch, every NaN is its own distinct value
        vals, inv, counts = np.unique(data.reshape(-1), return_inverse=True,
                                      return_counts=True, equal_nan=False)
        inv = inv.reshape(data.shape)
    else:
        dim = wrap_dim(dim, input.ndim)
        vals, inv, counts = np.unique(data, return_inverse=True, return_counts=True, axis=dim)
        inv = inv.reshape(-1)
    out = Tensor._make(ascontiguousarray(vals), input._dtype)
    extra = ([_long(inv)] if return_inverse else []) + ([_long(counts)] if return_counts else [])
    return (out, *extra) if extra else out


def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim: int | None = None):
    """Collapse runs of equal consecutive elements (or slices along ``dim``)."""
    if input._dtype in D.FLOAT8:
        raise not_implemented_for("unique" if dim is None else "unique_dim", input._dtype)
    if input._vmap_levels:  # the count of runs differs per element: torch refuses
        from ...func._vmap import refuse_if_batched

        refuse_if_batched(input, "unique_consecutive")
    data = input._data
    if dim is None:
        flat = data.reshape(-1)
        change = np.ones(flat.shape[0], bool)
        change[1:] = flat[1:] != flat[:-1]
        vals = flat[change]
        inv_shape = data.shape
    else:
        dim = wrap_dim(dim, input.ndim)
        moved = np.moveaxis(data, dim, 0)
        change = np.ones(moved.shape[0], bool)
        if moved.shape[0] > 1:
            change[1:] = np.any((moved[1:] != moved[:-1]).reshape(moved.shape[0] - 1, -1), 1)
        vals = np.moveaxis(moved[change], 0, dim)
        inv_shape = (moved.shape[0],)
    inv = (np.cumsum(change) - 1).reshape(inv_shape)
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, change.shape[0]))
    out = Tensor._make(ascontiguousarray(vals), input._dtype)
    extra = ([_long(inv)] if return_inverse else []) + ([_long(counts)] if return_counts else [])
    return (out, *extra) if extra else out


def _warn_non_contiguous(input, boundaries: Tensor, sorter) -> None:
    """torch copies a non-contiguous input, boundary or sorter tensor and says so, once per
    program for each, naming the first caller outside ember as its C++ warnings do."""
    named = (("input value", input), ("boundary", boundaries), ("sorter", sorter))
    slow = [(what, t) for what, t in named if isinstance(t, Tensor) and not t.is_contiguous()]
    if not slow:
        return
    import sys

    from ..._config import _warn_once

    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "ember":
        level, frame = level + 1, frame.f_back
    for what, _ in slow:
        _warn_once(f"searchsorted_{what}", f"torch.searchsorted(): {what} tensor is "
                   "non-contiguous, this will lower the performance due to extra data copy "
                   "when converting non-contiguous tensor to contiguous, please use contiguous "
                   f"{what} tensor if possible. This message will only appear once per "
                   "program.", stacklevel=level + 1)


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, out=None,
                 sorter: Tensor | None = None) -> Tensor:
    """Where each value of ``input`` would be inserted into ``sorted_sequence`` (the last dim,
    batched over the leading ones) to keep it sorted.

    Example:
        >>> ember.searchsorted(ember.tensor([1, 3, 5]), ember.tensor([3, 6]))
        tensor([1, 3])
    """
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    if sorted_sequence._dtype in D.SHELL:
        refuse_shell("searchsorted", sorted_sequence._dtype)
    _warn_non_contiguous(input, sorted_sequence, sorter)
    seq = sorted_sequence._data
    if sorter is not None:
        seq = np.take_along_axis(seq, sorter._data, -1)
    scalar = not isinstance(input, Tensor)
    vals = np.asarray(input) if scalar else input._data
    how = "right" if right else "left"
    if seq.ndim <= 1:
        res = np.searchsorted(seq, vals, side=how)
    else:
        if vals.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(
                "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                "dimensions of boundaries tensor and input value tensor must match, but we got "
                f"boundaries tensor {list(seq.shape)} and input value tensor "
                f"{list(vals.shape)}")
        rows_s = seq.reshape(-1, seq.shape[-1])
        rows_v = vals.reshape(-1, vals.shape[-1])
        res = np.stack([np.searchsorted(s, v, side=how) for s, v in zip(rows_s, rows_v)])
        res = res.reshape(vals.shape)
    dt = D.int32 if out_int32 else D.int64
    return Tensor._make(as_array(res).astype(dt.np_dtype), dt)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False,
              out=None) -> Tensor:
    """The bucket of each element of ``input`` given 1-D sorted ``boundaries``."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


TENSOR_METHODS = {
    "sort": sort, "argsort": argsort, "msort": msort, "topk": topk, "kthvalue": kthvalue,
    "unique": unique, "unique_consecutive": unique_consecutive,
}


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each of ``elements`` is in ``test_elements`` (either may be a number).

    Example:
        >>> ember.isin(ember.tensor([1, 2, 3]), ember.tensor([2, 5]))
        tensor([False,  True, False])
    """
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() expects elements or test_elements to be a Tensor")
    like = elements if isinstance(elements, Tensor) else test_elements
    if like._dtype in D.SHELL and isinstance(test_elements, Tensor):
        # torch compares elementwise when test_elements is small (a kernel these dtypes lack)
        # and otherwise sorts the unique values of both (float8 has no unique)
        n = elements.numel() if isinstance(elements, Tensor) else 1
        small = test_elements.numel() < 10.0 * n ** 0.145
        refuse_shell("isin" if small else "unique", like._dtype)
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    res = np.isin(e, t, assume_unique=assume_unique, invert=invert)
    result = Tensor._make(np.asarray(res), D.bool).to(like.device)
    levels = tuple(lv for x in (elements, test_elements) if isinstance(x, Tensor)
                   for lv in x._vmap_levels if lv.active)
    if levels:  # no Op.apply here to pass vmap's tag on (see func._vmap)
        result._vmap_levels = tuple(dict.fromkeys(levels))
    return result
