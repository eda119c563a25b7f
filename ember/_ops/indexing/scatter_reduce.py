"""``scatter_reduce`` (sum/prod/mean/amax/amin, include_self), ``index_reduce`` (the same along
one dim at a vector of positions) and their in-place forms. The
gradient is torch's formula written with ember ops, so it can be differentiated again.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import add_at, ufunc_at
from ..._backend import get_array_module as xp_of
from ..._tensor import Tensor
from .._core import Op
from .gather_scatter import _dim_index, _region

__all__ = ["scatter_reduce", "index_reduce"]

_REDUCE = {"sum": np.add, "prod": np.multiply, "mean": np.add, "amax": np.maximum,
           "amin": np.minimum}
_ALIASES = {"max": "amax", "min": "amin"}  # torch accepts these two spellings as well


def _identity(reduce: str, dtype: np.dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind in "fV":  # "V": bfloat16 (ml_dtypes), which np.iinfo does not know
        return -np.inf if reduce == "amax" else np.inf
    if dtype.kind == "b":
        return reduce == "amin"
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


class ScatterReduce(Op):
    @staticmethod
    def forward(ctx, x, src, *, idx, index, dim, reduce, include_self):
        ctx.save_for_backward(*ctx.inputs)
        ctx.index, ctx.dim, ctx.reduce, ctx.include_self = index, dim, reduce, include_self
        out = x.copy()
        xp = xp_of(x)
        scattered = xp.zeros(x.shape, bool)
        scattered[idx] = True
        if not include_self:
            out[scattered] = _identity(reduce, x.dtype)
        ufunc_at(_REDUCE[reduce], out, idx, src)
        ctx.scattered = scattered
        if reduce == "mean":
            count = xp.zeros(x.shape, np.int64)
            add_at(count, idx, 1)
            if include_self:
                count += 1
            count[count == 0] = 1
            ctx.count = count
            if x.dtype.kind in "biu":
                out = np.floor_divide(out, count).astype(x.dtype, copy=False)
            else:
                out = (out / count).astype(x.dtype, copy=False)
        return out

    save_output = True

    @staticmethod
    def backward(ctx, grad):
        x, src, result = ctx.saved_tensors
        index, dim, reduce, include_self = ctx.index, ctx.dim, ctx.reduce, ctx.include_self
        mask = Tensor._make(ctx.scattered, D.bool)
        if reduce == "sum":
            g_self, g_src = grad, grad.gather(dim, index)
        elif reduce == "mean":
            scaled = grad / Tensor._make(ctx.count.astype(grad._data.dtype), grad._dtype)
            g_self, g_src = scaled, scaled.gather(dim, index)
        elif reduce == "prod":
            masked_self = x.masked_fill(x == 0, 1)
            g_self = grad * scatter_reduce(masked_self, dim, index, src, "prod",
                                           include_self=include_self) / masked_self
            src_zero = src == 0
            zeros_here = x.new_zeros(x.shape).scatter_add(dim, index, src_zero.to(x.dtype))
            single_zero = src_zero & (zeros_here.gather(dim, index) == 1)
            without = scatter_reduce(x, dim, index, src.masked_fill(single_zero, 1), "prod",
                                     include_self=include_self)
            g_src = (grad * without).gather(dim, index).where(
                single_zero, (grad * result).gather(dim, index) / src.masked_fill(src_zero, 1))
        else:  # amax / amin: split evenly among the elements that attain the extreme
            value = result.gather(dim, index)
            self_is = (x == result).to(grad.dtype)
            src_is = (src == value).to(grad.dtype)
            # torch counts self's ties even with include_self=False (then zeroes self's share)
            share = grad / self_is.scatter_add(dim, index, src_is)
            g_self, g_src = self_is * share, src_is * share.gather(dim, index)
        if not include_self:
            g_self = g_self.masked_fill(mask, 0)
        return (g_self if ctx.needs_input_grad[0] else None,
                g_src if ctx.needs_input_grad[1] else None)


_REFUSING = frozenset(("mean", "amax", "amin"))


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True, out: Tensor | None = None) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim`` with ``reduce``
    (``"sum"``, ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``); ``include_self=False``
    leaves ``input``'s own values out of the reduction where something is scattered.

    Example:
        >>> x = ember.tensor([1., 2., 3.])
        >>> x.scatter_reduce(0, ember.tensor([0, 0, 2]), ember.tensor([5., 4., 9.]), "amax")
        tensor([5., 2., 9.])
    """
    reduce = _ALIASES.get(reduce, reduce)
    if reduce not in _REDUCE:
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if not isinstance(src, Tensor):
        raise TypeError("scatter_reduce(): argument 'src' (position 3) must be Tensor, not "
                        f"{type(src).__name__}")
    if src._dtype is not input._dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if input._dtype in D.SHELL:
        from .._dispatch import refuse_shell

        refuse_shell("scatter_reduce_" + (reduce if include_self else "exclude_self"),
                     input._dtype)
    if reduce in _REFUSING:  # mean has no bool loop, amax/amin no complex one
        from .._dispatch import refuse

        refuse("scatter_reduce_" + reduce, input._dtype)
    return _scatter_reduce(input, dim, index, src, reduce, include_self, out)


def _scatter_reduce(input, dim, index, src, reduce, include_self, out=None):
    """``scatter_reduce`` after its checks of ``reduce`` and dtypes (index_reduce's too)."""
    from .._dispatch import finish_out

    full = _dim_index(input, dim, index, "scatter_reduce", src)
    if full is None:  # an empty index reduces nothing
        return finish_out(input.clone(), out, "scatter_reduce", input, src)
    x = input if input.ndim else input.reshape(1)
    shape = index._data.shape if input.ndim else (index._data.size,)
    s = _region(src, shape) if src.ndim else src.reshape(1)
    idx_t = index if input.ndim else index.reshape(-1)
    result = ScatterReduce.apply(x, s, idx=full, index=idx_t, dim=dim if input.ndim else 0,
                                 reduce=reduce, include_self=bool(include_self))
    result = result.reshape(()) if not input.ndim else result
    return finish_out(result, out, "scatter_reduce", input, src)


def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    """In-place :func:`scatter_reduce`."""
    from ..inplace import apply_inplace

    return apply_inplace(self, scatter_reduce(self, dim, index, src, reduce,
                                              include_self=include_self), "scatter_reduce_")


_index_reduce_warned = [False]


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """Reduce the slices of ``source`` along ``dim`` into a copy of ``input`` at the positions
    ``index`` (a 1-D tensor) with ``reduce`` (``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``);
    ``include_self=False`` leaves ``input``'s own values out where something is reduced.

    Example:
        >>> x = ember.ones(3)
        >>> x.index_reduce(0, ember.tensor([0, 0, 2]), ember.tensor([2., 3., 4.]), "prod")
        tensor([6., 1., 4.])
    """
    return _index_reduce(input, dim, index, source, reduce, include_self)


def _index_reduce(input, dim, index, source, reduce, include_self):
    from .._core import set_node_name, wrap_dim
    from ..inplace import _type_title

    if not _index_reduce_warned[0]:
        import sys
        import warnings

        _index_reduce_warned[0] = True
        # point at the first caller outside ember (the function, the method and its
        # keyword-alias wrapper reach here through different depths)
        level, frame = 1, sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "ember":
            level, frame = level + 1, frame.f_back
        warnings.warn("index_reduce() is in beta and the API may change at any time.",
                      UserWarning, stacklevel=level + 1)
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError("index_reduce(): Expected reduce to be one of prod, mean, amax or amin "
                           f"but got {reduce}.")
    d = wrap_dim(dim, input.ndim)
    if index.ndim > 1:
        raise IndexError(f"index_reduce_(): Index is supposed to be a vector, but got dim: "
                         f"{index.ndim} with type: {_type_title(index._dtype)} and size: "
                         f"{list(index.shape)}")
    if index._dtype not in (D.int32, D.int64):
        raise RuntimeError("index_reduce_(): Expected dtype int32/int64 for index but got: "
                           f"{_type_title(index._dtype)}")
    if source._dtype is not input._dtype:
        raise RuntimeError(f"index_reduce_(): self ({_type_title(input._dtype)}) and source "
                           f"({_type_title(source._dtype)}) must have the same scalar type")
    dt = input._dtype
    title = _type_title(dt) if dt.is_complex or dt is D.bool else ""
    if title and not include_self:  # torch's kernels: no complex/bool without self's values
        raise NotImplementedError(f'"index_reduce_func_exclude_input_init" not implemented for '
                                  f"'{title}'")
    if dt.is_complex and reduce in ("amax", "amin"):
        kernel = "maximum_cpu" if reduce == "amax" else "minimum_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{title}\'')
    if dt is D.bool and reduce == "mean":
        raise NotImplementedError('"div_floor_cpu" not implemented for \'Bool\'')
    n = index.numel()
    if not source.ndim and n != 1:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if n != (source.shape[d] if source.ndim else 1):
        raise RuntimeError(f"index_reduce_(): Number of indices ({n}) should be equal to "
                           f"source.size(dim): ({source.shape[d] if source.ndim else 1}), for "
                           f"dim: {d}")
    if input.ndim != source.ndim or any(a != b for k, (a, b) in enumerate(
            zip(input.shape, source.shape)) if k != d):
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(input.shape)} "
                           f"source.shape = {list(source.shape)}")
    size = input.shape[d] if input.ndim else 1
    if n and (int(index._data.max()) >= size or int(index._data.min()) < 0):
        raise IndexError("index out of range in self")
    spread = index.to(D.int64).view([-1 if k == d else 1 for k in range(source.ndim)]) \
        if source.ndim else index.to(D.int64).reshape(())
    if dt in D.SHELL and (reduce != "prod" or not include_self):  # torch's own kernels
        from .._dispatch import refuse_shell

        refuse_shell("index_reduce_" + (reduce if include_self else "exclude_self"), dt)
    out = _scatter_reduce(input, d, spread.expand(source.shape), source, reduce,
                          include_self)
    return set_node_name(out, "IndexReduceBackward0")


def index_reduce_(self: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                  include_self: bool = True) -> Tensor:
    """In-place :func:`index_reduce`.

    Example:
        >>> ember.zeros(2).index_reduce_(0, ember.tensor([1, 1]), ember.tensor([2., 5.]), "amax")
        tensor([0., 5.])
    """
    from ..inplace import apply_inplace

    return apply_inplace(self, _index_reduce(self, dim, index, source, reduce, include_self),
                         "index_reduce_")


# -- matrix exponential ---------------------------------------------------------------------


# -- triangular solves ----------------------------------------------------------------------


TENSOR_METHODS = {
    "scatter_reduce": scatter_reduce, "scatter_reduce_": scatter_reduce_,
    "index_reduce": index_reduce, "index_reduce_": index_reduce_,
}
