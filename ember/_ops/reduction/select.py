"""Selection reductions: ``max``, ``min``, ``amax``, ``amin``, ``aminmax``, ``argmax``,
``argmin``, ``median``, ``mode``.

Gradients follow PyTorch: a reduction over all elements (``max()``, ``amax``, ``median()``)
splits the gradient evenly among tied extremes; one that returns indices (``max(dim)``,
``median(dim)``, ``mode``) sends it to the selected index only. Both are a constant mask times
the expanded gradient, so they are differentiable to any order.
"""

from __future__ import annotations

import operator
from operator import itemgetter
from types import SimpleNamespace

import numpy as np

from ... import _dtype as D
from ..._backend import as_array, asarray_like, to_numpy
from ..._backend import get_array_module as xp_of
from ..._errors import with_hint
from ..._layout import row_major
from ..._tensor import Tensor
from .._core import NO_DIM as _NO_DIM
from .._core import Op, bool_arg, wrap_dim, wrap_dims
from .._dispatch import refuse_shell
from . import _topk_order
from .sums import expand_reduced

__all__ = ["max", "min", "amax", "amin", "aminmax", "argmax", "argmin", "median", "mode",
           "return_types"]


def return_type(name: str, fields: tuple = ("values", "indices")) -> type:
    """A tuple subclass like ``torch.return_types.<name>``: named fields, torch's repr."""

    def __new__(cls, *items):
        return tuple.__new__(cls, items)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"

    def __reduce__(self):
        return (type(self), tuple(self))

    ns = {"__new__": __new__, "__repr__": __repr__, "__reduce__": __reduce__,
          "__slots__": (), "_fields": fields, "__module__": "ember.return_types"}
    ns.update({f: property(itemgetter(i)) for i, f in enumerate(fields)})
    return type(name, (tuple,), ns)


max_type = return_type("max")
min_type = return_type("min")
median_type = return_type("median")
mode_type = return_type("mode")
aminmax_type = return_type("aminmax", ("min", "max"))

# ``ember.return_types.max`` ... like ``torch.return_types`` (for isinstance checks)
return_types = SimpleNamespace(max=max_type, min=min_type, median=median_type, mode=mode_type,
                               aminmax=aminmax_type)


def _check_nonempty(name: str, input: Tensor, axes: tuple | None, err=RuntimeError):
    if axes is None:
        if input.numel() == 0:
            # torch's max/min say how; its argmax/argmin (an IndexError) stop at the first
            # sentence, so ember's note says it there
            how = "Specify the reduction dim with the 'dim' argument."
            message = (f"{name}(): Expected reduction dim to be specified for input.numel() "
                       "== 0.")
            raise with_hint(err(message), how) if err is IndexError else err(f"{message} {how}")
        return
    for a in axes:
        if input.ndim and input.shape[a] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")


class Extreme(Op):
    """max/min over ``axes`` without indices; the gradient is shared among ties."""

    save_output = True

    @staticmethod
    def forward(ctx, x, fn, axes, keepdim, name):
        ctx._name = name  # torch's grad_fn name (AmaxBackward0, MaxBackward1 ...)
        ctx.save_for_backward(*ctx.inputs)
        ctx.axes, ctx.keepdim = axes, keepdim
        return row_major(fn(x, axis=axes, keepdims=keepdim))  # torch's, whatever x's layout

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        # PyTorch: max()/min() over everything share a NaN result's gradient among the NaN
        # elements; amax/amin compare with ==, so a NaN result gives NaN gradients
        nan_ties = not ctx._name.startswith("Am")
        if nan_ties:
            # PyTorch's evenly_distribute_backward: zeros, the tied elements filled with
            # grad / count; +0.0 elsewhere, never the -0.0 of a negative grad times 0
            from ..pointwise.compare import where

            hit, count = _ties(x._data, out._data, ctx.axes, ctx.keepdim, True)
            g = expand_reduced(grad, x.shape, ctx.axes, ctx.keepdim)
            return where(Tensor._make(hit, D.bool), g / Tensor._make(count, x._dtype), 0.0)
        return expand_reduced(grad, x.shape, ctx.axes, ctx.keepdim) * \
            _tie_weights(x._data, out._data, ctx.axes, ctx.keepdim, nan_ties)


def _ties(x: np.ndarray, out: np.ndarray, axes: tuple, keepdim: bool, nan_ties: bool):
    """The elements equal to the reduced ``out`` (NaN to NaN with ``nan_ties``) and their
    count per reduced position, in ``x``'s dtype."""
    if not keepdim:
        out = np.expand_dims(out, axes)
    if x.dtype.kind == "f" and nan_ties:
        hit = (x == out) | (np.isnan(x) & np.isnan(out))
    else:
        hit = x == out
    return hit, np.sum(hit, axis=axes, keepdims=True, dtype=x.dtype)


def _tie_weights(x: np.ndarray, out: np.ndarray, axes: tuple, keepdim: bool,
                 nan_ties: bool = True) -> Tensor:
    hit, count = _ties(x, out, axes, keepdim, nan_ties)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = hit / count
    return Tensor._make(w.astype(x.dtype, copy=False), D._FROM_NP[x.dtype])


class Selected(Op):
    """Values picked at ``indices`` along ``dim`` (max/min/median/mode with a dim)."""
    holds_saved = True  # keeps the indices on ctx; PyTorch saves them (Op._free)

    non_differentiable_outputs = (1,)
    materialize_grads = False  # the indices' gradient arrives as None

    @staticmethod
    def forward(ctx, x, pick, dim, keepdim, name):
        ctx._name = name
        ctx.in_shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        ctx._num_outputs = 2
        if x.ndim == 0:
            ctx.idx = xp_of(x).zeros((), np.int64)
            return x.copy(), ctx.idx
        idx = pick(x, dim)  # keepdims-shaped int64 indices
        ctx.idx = idx
        values = np.take_along_axis(x, idx, axis=dim)
        if not keepdim:
            values, idx = np.squeeze(values, dim), np.squeeze(idx, dim)
        return values, idx

    @staticmethod
    def backward(ctx, grad, _grad_idx=None):
        if not ctx.in_shape:
            return grad
        from ..pointwise.compare import where

        # PyTorch's value_selecting_reduction_backward scatters grad into zeros: +0.0 at the
        # other elements, never the -0.0 of a negative grad times a 0/1 mask
        mask = xp_of(grad._data).zeros(ctx.in_shape, dtype=bool)
        np.put_along_axis(mask, ctx.idx, True, axis=ctx.dim)
        g = expand_reduced(grad, ctx.in_shape, (ctx.dim,), ctx.keepdim)
        return where(Tensor._make(mask, D.bool), g, 0.0)


def _pick_arg(fn):
    def pick(x, dim):
        return fn(x, axis=dim, keepdims=True).astype(np.int64, copy=False)

    return pick


def _no_complex(input: Tensor, kernel: str) -> None:
    """Complex numbers have no order: torch's CPU kernels refuse them."""
    if input._dtype.is_complex:
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{input._dtype._legacy[:-6]}'")


def _reduce_extreme(name, fn, argfn, rtype, input, dim, keepdim, other):
    if dim is None:  # given as None (not left out): torch has no such overload
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        "(NoneType), but expected one of:\n * ()\n * (int dim, bool keepdim)\n"
                        " * (Tensor other)")
    if dim is _NO_DIM:
        dim = None
    elif keepdim is not False and keepdim is not True:
        keepdim = bool_arg(keepdim, name)
    if isinstance(dim, Tensor) or other is not None:
        from ..pointwise import binary_math as elementwise

        op = getattr(elementwise, "maximum" if name == "max" else "minimum")
        return op(input, dim if isinstance(dim, Tensor) else other)
    if input.is_quantized:
        from ... import _quantized_ops

        return _quantized_ops.extreme(name, input, dim, keepdim, rtype)
    if input._dtype.is_complex:
        if dim is None:
            _no_complex(input, f"{name}_all")
        raise RuntimeError(f"{name}(): does not support complex input")
    if dim is None:
        _check_nonempty(name, input, None)
        if input._dtype in D.SHELL:
            refuse_shell(name + "_all", input._dtype)
        return Extreme.apply(input, fn=fn, axes=tuple(range(input.ndim)), keepdim=False,
                             name=f"{name.capitalize()}Backward1")
    _int_dim(name, dim)
    d = wrap_dim(dim, input.ndim)
    _check_nonempty(name, input, (d,))
    if input._dtype in D.SHELL:
        refuse_shell(name, input._dtype)
    return rtype(*Selected.apply(input, pick=_pick_arg(argfn), dim=d, keepdim=keepdim,
                                 name=f"{name.capitalize()}Backward0"))


def max(input: Tensor, dim=_NO_DIM, keepdim: bool = False, *, other=None):
    """The largest element; with ``dim``, ``(values, indices)``; with a tensor, ``maximum``.

    Example:
        >>> ember.tensor([[1, 5], [7, 2]]).max(dim=1)
        torch.return_types.max(
        values=tensor([5, 7]),
        indices=tensor([1, 0]))
    """
    return _reduce_extreme("max", np.max, np.argmax, max_type, input, dim, keepdim, other)


def min(input: Tensor, dim=_NO_DIM, keepdim: bool = False, *, other=None):
    """The smallest element; with ``dim``, ``(values, indices)``; with a tensor, ``minimum``.

    Example:
        >>> ember.tensor([[1, 5], [7, 2]]).min()
        tensor(1)
    """
    return _reduce_extreme("min", np.min, np.argmin, min_type, input, dim, keepdim, other)


def _amax_like(name, fn, input, dim, keepdim):
    if keepdim is not False and keepdim is not True:
        keepdim = bool_arg(keepdim, name)
    _no_complex(input, f"{name[1:]}_values_cpu")
    if input._dtype in D.SHELL:
        refuse_shell(name, input._dtype)
    # () is every dim; a 0-d tensor takes 0 or -1
    axes = wrap_dims(None if type(dim) is tuple and not dim else dim, input.ndim)
    if not input.ndim:
        axes = ()
    if input.numel() == 0:
        _check_nonempty(name, input, None if not dim and dim != 0 else axes)
    return Extreme.apply(input, fn=fn, axes=axes, keepdim=keepdim,
                         name=f"{name.capitalize()}Backward0")


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (all by default); the gradient is shared evenly among ties.

    Example:
        >>> ember.tensor([[1., 5.], [7., 2.]]).amax(1)
        tensor([5., 7.])
    """
    return _amax_like("amax", np.max, input, dim, keepdim)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (all by default); the gradient is shared evenly among ties.

    Example:
        >>> ember.tensor([[1., 5.], [7., 2.]]).amin(1)
        tensor([1., 2.])
    """
    return _amax_like("amin", np.min, input, dim, keepdim)


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False):
    """``(min, max)`` over ``dim`` or over all elements.

    Example:
        >>> ember.aminmax(ember.tensor([3, 1, 2]))
        torch.return_types.aminmax(
        min=tensor(1),
        max=tensor(3))
    """
    if keepdim is not False and keepdim is not True:
        keepdim = bool_arg(keepdim, "aminmax")
    _no_complex(input, "aminmax_cpu")
    if input._dtype in D.SHELL:
        refuse_shell("aminmax", input._dtype)
    if dim is None:
        _check_nonempty("aminmax", input, None)
        axes = tuple(range(input.ndim))
    else:
        axes = (wrap_dim(dim, input.ndim),) if input.ndim else ()
        _check_nonempty("aminmax", input, axes)
    return aminmax_type(
        Extreme.apply(input, fn=np.min, axes=axes, keepdim=keepdim, name="AminmaxBackward0"),
        Extreme.apply(input, fn=np.max, axes=axes, keepdim=keepdim, name="AminmaxBackward0"))


def _int_dim(name: str, dim):
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}(): argument 'dim' (position 1) must be int, not "
                        f"{type(dim).__name__}")


def _arg(name, fn, input, dim, keepdim):
    if keepdim is not False and keepdim is not True:
        keepdim = bool_arg(keepdim, name)
    x = input._data
    if dim is not None:
        _int_dim(name, dim)
    if input._dtype is D.bool or input._dtype.is_complex:
        kind = "bool" if input._dtype is D.bool else "complex"
        error = RuntimeError(f"{name}(): does not support {kind} input")
        raise with_hint(error, "Convert first, e.g. x.int()") if kind == "bool" else error
    if input._dtype in D.SHELL:
        refuse_shell(name, input._dtype)
    if dim is None:
        _check_nonempty(name, input, None, IndexError)
        out = fn(x.reshape(-1))
        if keepdim:
            out = np.reshape(out, (1,) * x.ndim)
    else:
        d = wrap_dim(dim, input.ndim)
        if x.ndim == 0:
            out = np.zeros((), np.int64)
        else:
            _check_nonempty(name, input, (d,))
            out = fn(x, axis=d, keepdims=keepdim)
    return Tensor._make(as_array(out, np.int64), D.int64)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (of the flattened tensor when ``dim`` is None).

    Example:
        >>> ember.tensor([[1, 5], [7, 2]]).argmax()
        tensor(2)
    """
    return _arg("argmax", np.argmax, input, dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (of the flattened tensor when ``dim`` is None).

    Example:
        >>> ember.tensor([[1, 5], [7, 2]]).argmin(1)
        tensor([0, 1])
    """
    return _arg("argmin", np.argmin, input, dim, keepdim)


def _median_pick(x: np.ndarray, dim: int) -> np.ndarray:
    k = (x.shape[dim] - 1) // 2
    order = np.argsort(x, axis=dim, kind="stable")
    idx = np.take(order, [k], axis=dim)
    if x.dtype.kind == "f":
        nan = np.isnan(x)
        if nan.any():  # PyTorch propagates NaN: the median of a slice with a NaN is NaN
            first = np.argmax(nan, axis=dim, keepdims=True)
            idx = np.where(np.any(nan, axis=dim, keepdims=True), first, idx)
    return idx.astype(np.int64, copy=False)


def median(input: Tensor, dim: int | None = _NO_DIM, keepdim: bool = False):
    """The lower median; with ``dim``, ``(values, indices)``.

    Example:
        >>> ember.tensor([1., 4., 2., 3.]).median()
        tensor(2.)
    """
    if dim is _NO_DIM:
        dim = None
    elif dim is None or (keepdim is not False and keepdim is not True):
        _int_dim("median", dim)  # an explicit None is refused, as torch
        keepdim = bool_arg(keepdim, "median")
    if input._dtype is D.bool:
        raise with_hint(NotImplementedError("\"median_cpu\" not implemented for 'Bool'"),
                        "Convert first, e.g. x.int()")
    _no_complex(input, "median_cpu" if dim is None else "median_out")
    if input._dtype in D.SHELL:
        refuse_shell("median" if dim is None else "median_dim", input._dtype)
    if dim is None:
        if input.numel() == 0:  # NaN; integers have none, PyTorch gives their minimum
            dt = input._data.dtype
            fill = np.nan if dt.kind in "fc" else np.iinfo(dt).min
            return Tensor._make(asarray_like(fill, input._data, input._data.dtype), input._dtype)
        flat = input._data.reshape(-1)
        value = flat[_median_pick(flat, 0)[0]]
        # Route the gradient like PyTorch: shared among all elements equal to the median.
        return Extreme.apply(input, fn=_ConstReduce(as_array(value)),
                             axes=tuple(range(input.ndim)), keepdim=False,
                             name="MedianBackward0")
    _int_dim("median", dim)
    d = wrap_dim(dim, input.ndim)
    _check_nonempty("median", input, (d,))
    return median_type(*Selected.apply(input, pick=_median_pick, dim=d, keepdim=keepdim,
                                       name="MedianBackward1"))


class _ConstReduce:
    """A reduction "function" that returns a value already computed (for ``median()``)."""

    def __init__(self, value):
        self.value = value

    def __call__(self, x, axis, keepdims):
        return np.reshape(self.value, (1,) * x.ndim) if keepdims else self.value


def _mode_row(row: np.ndarray) -> int:
    """The index PyTorch's CPU ``mode`` reports for one row.

    PyTorch sorts the row's (value, index) pairs by value with the C++ standard library's
    introsort (not stable past 16 elements), then takes the longest run of equal values, the
    first such run on a tie, and reports the index that ends up last in that run. NaN equals
    nothing, so each NaN is a run of its own, and ``<`` with NaN leaves the NaNs wherever the
    sort happens to put them. Only rows the values do not decide are sorted here in Python.
    """
    n = len(row)
    vals, counts = np.unique(row, return_counts=True)
    if not np.isnan(vals[-1] if vals.dtype.kind == "f" else 0) and (
            n <= _topk_order._THRESHOLD or counts.max() == 1):
        # insertion sort alone (short rows) is stable, and singletons have one index: the
        # last position of the smallest of the most frequent values
        v = vals[np.argmax(counts)]
        return n - 1 - int(np.argmax(row[::-1] == v))
    order = _topk_order._Row(row.tolist(), largest=False)
    order.comp = operator.lt  # plain "<", NaN included, as the C++ comparison does
    order.sort(0, n)
    pairs = order.a
    best, best_count, start = 0, 0, 0
    for i in range(1, n + 1):
        if i == n or not pairs[i][0] == pairs[start][0]:
            if i - start > best_count:
                best, best_count = pairs[i - 1][1], i - start
            start = i
    return best


def _mode_pick(x: np.ndarray, dim: int) -> np.ndarray:
    device_x, x = x, to_numpy(x)  # a loop over rows: on the host (a GPU sync)
    moved = np.moveaxis(x, dim, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    out = np.fromiter((_mode_row(row) for row in rows), np.int64, len(rows))
    return asarray_like(np.expand_dims(out.reshape(moved.shape[:-1]), dim), device_x)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest among ties) and its index.

    The index among several equal values, and the result when the row holds NaN, follow
    PyTorch's CPU kernel (an unstable sort of the row), see ``_mode_row``.

    Example:
        >>> ember.mode(ember.tensor([1, 2, 2, 3])).values
        tensor(2)
    """
    if keepdim is not False and keepdim is not True:
        keepdim = bool_arg(keepdim, "mode")
    _no_complex(input, "mode_cpu")
    if input._dtype in D.SHELL:
        refuse_shell("mode", input._dtype)
    d = wrap_dim(dim, input.ndim)
    _check_nonempty("mode", input, (d,))
    return mode_type(*Selected.apply(input, pick=_mode_pick, dim=d, keepdim=keepdim,
                                     name="ModeBackward0"))


TENSOR_METHODS = {
    "max": max, "min": min, "amax": amax, "amin": amin, "aminmax": aminmax,
    "argmax": argmax, "argmin": argmin, "median": median, "mode": mode,
}
