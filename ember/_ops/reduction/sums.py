"""Sums and products: ``sum``, ``mean``, ``prod``, ``cumsum``/``cumprod`` (and their in-place
forms), ``nansum``/``nanmean``, ``count_nonzero``, ``all``/``any`` over ``dim`` (an int or a
tuple) with ``keepdim``, and ``sum_to_size``.

Selection reductions (``max``, ``argmax``, ``median`` ...) live in ``select.py``, norms in
``norms.py`` and var/std/logsumexp in ``statistics.py``.
"""

from __future__ import annotations

import builtins
import contextlib
import warnings

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._backend import as_array
from ..._errors import with_hint
from ..._layout import row_major
from ..._tensor import Size, Tensor
from ...autograd import grad_mode
from .._core import (
    NO_DIM,
    Op,
    bool_arg,
    dims_arg,
    required_int_dim,
    set_node_name,
    unbroadcast,
    wrap_dim,
    wrap_dims,
)
from .._dispatch import refuse_shell
from ..inplace import apply_inplace
from ..pointwise.complex import conj
from ._sum_order import torch_order_sum


def expand_reduced(grad: Tensor, in_shape: tuple, axes: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back over the reduced axes (the adjoint of a reduction)."""
    from ..shape.views import Expand, View

    if not grad_mode._state.enabled and type(grad._data) is np.ndarray:
        # first-order backward: reshape and broadcast the array, without recording ops
        arr = grad._data
        if not keepdim and axes:
            arr = arr.reshape(tuple(1 if i in axes else n for i, n in enumerate(in_shape)))
        if arr.shape != tuple(in_shape):
            arr = np.broadcast_to(arr, in_shape)
        return Tensor._make(arr, grad._dtype)
    if not keepdim and axes:
        shape = list(in_shape)
        for a in axes:
            shape[a] = 1
        grad = View.apply(grad, shape=tuple(shape))  # shapes are known good: skip the checks
    if grad._data.shape == tuple(in_shape):
        return grad
    return Expand.apply(grad, shape=tuple(in_shape))


def reduced_count(shape: tuple, axes: tuple) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _axes(input: Tensor, dim) -> tuple:
    axes = wrap_dims(dim, input.ndim)  # validates dim (a 0-d tensor accepts 0 and -1)
    return axes if input.ndim else ()


def _int_to_long(input: Tensor, dtype, fname: str = "sum") -> Tensor:
    """PyTorch's accumulate dtype: ``dtype=`` if given, else bool/integers become int64."""
    if dtype is not None:
        if not isinstance(dtype, D.dtype):  # torch: a dtype or Python's float/int/..., not a name
            from ..._factory_args import check_dtype

            check_dtype(fname, dtype)
        dt = D.to_dtype(dtype)
        return input if input._dtype is dt else input.to(dt)
    if input._dtype.category <= D._INT and input._dtype is not D.int64:
        return input.to(D.int64)
    return input


class SafeDiv(Op):
    """``a / b`` that is 0 where ``b == 0``: the masked division of norm and std gradients
    (torch gives a zero subgradient where the norm is zero)."""

    save_output = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        zero = b == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.divide(a, np.where(zero, 1, b).astype(b.dtype, copy=False))
        if zero.any():
            out = np.where(zero, 0, out).astype(out.dtype, copy=False)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        from .._core import unbroadcast

        ga = unbroadcast(SafeDiv.apply(grad, b), a.shape) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(-SafeDiv.apply(grad * out, b), b.shape) \
            if ctx.needs_input_grad[1] else None
        return ga, gb


# -- sum / mean / prod ----------------------------------------------------------------------

class Sum(Op):
    _saved_fields = {"self_sym_sizes": ("attr", "in_shape")}
    opmath = True  # float16/bfloat16: float32 arithmetic, rounded once (_core.opmath_forward)

    @staticmethod
    def forward(ctx, x, axes, keepdim, dtype):
        ctx.in_shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        if _in_torch_order(ctx, x, dtype):
            out = torch_order_sum(x, axes, keepdim)
            if out is not None:
                return _keepdim_layout(out, x, axes, keepdim)
        # np.add.reduce directly: np.sum's Python wrapper costs about 1 us per call
        # row-major whatever the input's layout, as torch's reductions (NumPy keeps F order)
        return row_major(np.add.reduce(x, axis=axes, dtype=dtype, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad):
        return expand_reduced(grad, ctx.in_shape, ctx.axes, ctx.keepdim)


def _in_torch_order(ctx, x, dtype) -> bool:
    """Whether to add in PyTorch's order (``_sum_order``): float32/float64 arrays summed in
    their own dtype. Not float16/bfloat16 (those arrive here as float32 copies, and PyTorch
    pairs their neighbours on load first), nor device arrays. (A compiled graph's lowered
    forward passes its arrays as they are, with a stub for the input: no copies there.)"""
    return (type(x) is np.ndarray and (dtype is None or x.dtype == dtype)
            and x.dtype in _TORCH_ORDER_DTYPES
            and getattr(ctx.inputs[0], "_data", x).dtype == x.dtype)


_TORCH_ORDER_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _keepdim_layout(out, x, axes, keepdim):
    """``out`` (row-major) with the strides NumPy's reduction gives a keepdim result of a
    strided ``x`` (torch's too: a channels-last input keeps channels-last size-1 dims)."""
    if not keepdim or x.flags.c_contiguous:
        return out
    like = np.add.reduce(x, axis=axes, keepdims=True)  # (rare: only for its layout)
    like[...] = out
    return row_major(like)


class SumDim(Sum):
    _name = "SumBackward1"  # torch's node when a dim (even ()) is given


@dims_arg("sum", ("Tensor input, *, torch.dtype dtype = None",
                            "Tensor input, tuple of ints dim, bool keepdim = False, *, torch.dtype "
                            "dtype = None, Tensor out = None"))
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum of elements, over all or over ``dim``; bool and integer sums are int64.

    Example:
        >>> ember.tensor([[1, 2], [3, 4]]).sum(dim=0)
        tensor([4, 6])
    """
    if keepdim is not False and keepdim is not True:  # torch: a bool, not 1 or None
        keepdim = bool_arg(keepdim, "sum")
    axes = _axes(input, dim)
    if dtype is None and input._dtype.category <= D._INT:
        # NumPy accumulates in int64 itself: no cast copy needed (integers take no grad).
        return Sum.apply(input, axes=axes, keepdim=keepdim, dtype=np.int64)
    input = _int_to_long(input, dtype)
    if input._dtype in D.SHELL:
        refuse_shell("sum", input._dtype)
    op = Sum if dim is None else SumDim
    low = input._dtype is D.float16 or input._dtype is D.bfloat16  # accumulates in float32
    return op.apply(input, axes=axes, keepdim=keepdim,
                    dtype=np.float32 if low else input._dtype.np_dtype)


@contextlib.contextmanager
def _no_runtime_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def quiet_numpy(degenerate: bool):
    """Silence NumPy's RuntimeWarnings ("Mean of empty slice", "Degrees of freedom <= 0") for a
    reduction over too few elements: torch returns NaN there without them (its own
    degrees-of-freedom UserWarning comes from the caller). Only degenerate calls pay for
    ``catch_warnings``; the others get a null context."""
    return _no_runtime_warnings() if degenerate else contextlib.nullcontext()


class Mean(Op):
    _saved_fields = Sum._saved_fields
    opmath = True  # float16/bfloat16: float32 arithmetic, rounded once (_core.opmath_forward)

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.in_shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        ctx.count = reduced_count(x.shape, axes)
        if ctx.count and _in_torch_order(ctx, x, None):
            total = torch_order_sum(x, axes, keepdim)
            if total is not None:  # torch's mean: the sum, divided by the count (as np.mean)
                np.true_divide(total, np.intp(ctx.count), out=total, casting="unsafe")
                return _keepdim_layout(total, x, axes, keepdim)
        with np.errstate(invalid="ignore", divide="ignore"), quiet_numpy(ctx.count == 0):
            return row_major(np.mean(x, axis=axes, keepdims=keepdim, dtype=x.dtype))

    @staticmethod
    def backward(ctx, grad):
        return expand_reduced(grad / ctx.count, ctx.in_shape, ctx.axes, ctx.keepdim)


class MeanDim(Mean):
    _name = "MeanBackward1"


@dims_arg("mean", ("Tensor input, *, torch.dtype dtype = None, Tensor out = None",
                             "Tensor input, tuple of ints dim, bool keepdim = False, *, "
                             "torch.dtype dtype = None, Tensor out = None"))
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean of elements, over all or over ``dim``; needs a floating or complex dtype.

    Example:
        >>> ember.tensor([[1., 2.], [3., 4.]]).mean(1)
        tensor([1.5000, 3.5000])
    """
    if keepdim is not False and keepdim is not True:  # torch: a bool, not 1 or None
        keepdim = bool_arg(keepdim, "mean")
    if input.is_quantized:
        from ... import _quantized_ops

        return _quantized_ops.mean(input, dim, keepdim)
    if dtype is not None:
        if not isinstance(dtype, D.dtype):  # torch: a dtype or Python's float/int/..., not a name
            from ..._factory_args import check_dtype

            check_dtype("mean", dtype)
        _check_mean_dtype("mean", D.to_dtype(dtype))
        input = input.to(D.to_dtype(dtype))
    if input._dtype.category < D._FLOAT:
        raise with_hint(RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_title(input._dtype)}"),
            "Convert first, e.g. x.float().mean()")
    if input._dtype in D.SHELL:  # torch's mean is a sum divided
        refuse_shell("sum", input._dtype)
    return (Mean if dim is None else MeanDim).apply(input, axes=_axes(input, dim),
                                                    keepdim=keepdim)


def _check_mean_dtype(name: str, dtype: D.dtype):
    """torch's refusal of a ``dtype=`` for a mean that is neither floating nor complex."""
    if dtype.category < D._FLOAT:
        raise RuntimeError(f"{name}(): could not infer output dtype. Optional dtype must be "
                           f"either a floating point or complex dtype. Got: {_title(dtype)}")


def _title(dt: D.dtype) -> str:
    from ..inplace import _type_title

    return _type_title(dt)


class Prod(Op):
    save_output = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.save_for_backward(*ctx.inputs)
        ctx.axes, ctx.keepdim = axes, keepdim
        return np.prod(x, axis=axes, keepdims=keepdim, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        shape, axes = x.shape, ctx.axes
        g = expand_reduced(grad, shape, axes, ctx.keepdim)
        if out._data.size == x._data.size:  # one element per product: d out / d x = 1
            return g
        if not (x._data == 0).any():
            if x._dtype.is_complex:  # PyTorch's convention: grad times the conjugate derivative
                return g * conj(expand_reduced(out, shape, axes, ctx.keepdim) / x)
            return g * expand_reduced(out, shape, axes, ctx.keepdim) / x
        # With zeros, out / x is 0/0: use the product of the other elements instead (NumPy
        # unless a graph is being built: then ember ops, as torch's prod_safe_zeros_backward)
        if grad_mode._state.enabled:
            others = _product_of_others_graph(x, axes)
            return g * (conj(others) if x._dtype.is_complex else others)
        others = _product_of_others(x._data, axes)
        if x._dtype.is_complex:
            others = np.conj(others)
        return g * Tensor._make(others, x._dtype)


def _product_of_others_graph(x: Tensor, axes: tuple) -> Tensor:
    """``_product_of_others`` written with ember ops (differentiable): exclusive cumulative
    products from both ends of each reduced group, multiplied."""
    from ..shape.joining import cat

    keep = [a for a in range(x.ndim) if a not in axes]
    moved = x.permute(*(keep + list(axes)))
    flat = moved.reshape(tuple(moved.shape[:len(keep)]) + (-1,))
    ones = Tensor._make(np.ones_like(flat._data[..., :1]), x._dtype)
    left = cat([ones, flat[..., :-1]], -1).cumprod(-1)
    rev = flat.flip(-1)
    right = cat([ones, rev[..., :-1]], -1).cumprod(-1).flip(-1)
    res = (left * right).reshape(tuple(moved.shape))
    return res.permute(*np.argsort(keep + list(axes)).tolist())


def _product_of_others(x: np.ndarray, axes: tuple) -> np.ndarray:
    """For every element, the product of the other elements of its reduced group."""
    keep = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, keep + list(axes))
    flat = moved.reshape(moved.shape[:len(keep)] + (-1,))
    left = np.cumprod(np.concatenate([np.ones_like(flat[..., :1]), flat[..., :-1]], -1), -1)
    rev = flat[..., ::-1]
    right = np.cumprod(np.concatenate([np.ones_like(rev[..., :1]), rev[..., :-1]], -1),
                       -1)[..., ::-1]
    res = (left * right).reshape(moved.shape)
    return np.transpose(res, tuple(np.argsort(keep + list(axes)).tolist()))


def prod(input: Tensor, dim: int | None = NO_DIM, keepdim: bool = False, *,
         dtype=None) -> Tensor:
    """Product of elements, over all or over one ``dim``; bool and integers give int64.

    Example:
        >>> ember.tensor([[1., 2.], [3., 4.]]).prod(1)
        tensor([ 2., 12.])
    """
    if dim is NO_DIM:
        dim = None
    elif dim is None:  # given as None (not left out): torch has no such overload
        raise TypeError("prod() received an invalid combination of arguments - got (Tensor, "
                        "NoneType), but expected one of:\n * (Tensor input, *, torch.dtype "
                        "dtype = None)\n * (Tensor input, int dim, bool keepdim = False, *, "
                        "torch.dtype dtype = None)")
    elif keepdim is not False and keepdim is not True:
        keepdim = bool_arg(keepdim, "prod")
    if _amp.active and _autocast.state.active:
        return _autocast.call(prod, "prod", input, NO_DIM if dim is None else dim, keepdim,
                              dtype=dtype)
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    axes = _axes(input, dim)
    input = _int_to_long(input, dtype)
    if input._dtype in D.SHELL:
        refuse_shell("prod", input._dtype)
    result = Prod.apply(input, axes=axes, keepdim=keepdim)
    # torch's prod.dim_int overload records ProdBackward1
    return result if dim is None else set_node_name(result, "ProdBackward1")


# -- cumulative -----------------------------------------------------------------------------

def _reverse_cumsum(g: Tensor, dim: int) -> Tensor:
    """sum_{j >= i} g_j along ``dim``, written with differentiable ops; flip-cumsum-flip as
    torch's ``reversed_cumsum`` (a total minus a prefix sum rounds differently)."""
    return cumsum(g.flip(dim), dim).flip(dim)


# PyTorch's CPU cumsum/cumprod keep the running value of float32 and complex64 inputs in double
# precision (at::acc_type) and round each output once; NumPy would accumulate in float32.
_WIDE_ACC = {np.dtype(np.float32): np.float64, np.dtype(np.complex64): np.complex128}


def _scan(fn, x: np.ndarray, dim: int, wide: bool) -> np.ndarray:
    """``fn`` (np.cumsum/np.cumprod) along ``dim`` as torch computes it; ``wide`` asks for the
    double-precision running value (False for float16/bfloat16, which accumulate in float32)."""
    acc = _WIDE_ACC.get(x.dtype) if wide else None
    if acc is None:
        return row_major(fn(x, axis=dim, dtype=x.dtype))  # torch's is row-major
    return row_major(fn(x, axis=dim, dtype=acc).astype(x.dtype))


def _wide(input: Tensor) -> bool:
    return input._dtype is D.float32 or input._dtype is D.complex64


class Cumsum(Op):
    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)

    @staticmethod
    def forward(ctx, x, dim, wide=False):
        ctx.dim = dim
        return _scan(np.cumsum, x, dim, wide)

    @staticmethod
    def backward(ctx, grad):
        return _reverse_cumsum(grad, ctx.dim)


@required_int_dim("cumsum")
def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative sum along ``dim``; bool and integers accumulate in int64.

    Example:
        >>> ember.tensor([1, 2, 3]).cumsum(0)
        tensor([1, 3, 6])
    """
    d = wrap_dim(dim, input.ndim)
    input = _int_to_long(input, dtype, "cumsum")
    if input._dtype in D.SHELL and input.ndim:  # (a 0-d cumsum is a copy in torch too)
        refuse_shell("cumsum", input._dtype)
    if input.ndim == 0:
        return Cumsum.apply(input.reshape(1), dim=0).reshape(())
    return Cumsum.apply(input, dim=d, wide=_wide(input))


class Cumprod(Op):
    save_output = True
    opmath = True  # float16/bfloat16: a float32 running product, each output rounded once

    @staticmethod
    def forward(ctx, x, dim, wide=False):
        ctx.save_for_backward(*ctx.inputs)
        ctx.dim = dim
        return _scan(np.cumprod, x, dim, wide)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        if x.shape[ctx.dim] == 1:
            return grad
        if x._dtype.is_complex:  # PyTorch's convention: grad times the conjugate derivative
            x, out = conj(x), conj(out)
        if not (x._data == 0).any():
            return _reverse_cumsum(grad * out, ctx.dim) / x
        # d out_j / d x_i = prod_{k<=j, k!=i} x_k; with zeros, walk the recursion
        # S_i = g_i + x_{i+1} S_{i+1} (in NumPy unless a graph is being built)
        if grad_mode._state.enabled:
            return _cumprod_grad_graph(x, grad, ctx.dim)
        return Tensor._make(_cumprod_grad(x._data, grad._data, ctx.dim), x._dtype)


def _cumprod_grad_graph(x: Tensor, g: Tensor, dim: int) -> Tensor:
    """``_cumprod_grad`` written with ember ops (differentiable, for create_graph)."""
    from ..shape.joining import cat, stack

    xm, gm = x.movedim(dim, -1), g.movedim(dim, -1)
    n = xm.shape[-1]
    ones = Tensor._make(np.ones_like(xm._data[..., :1]), x._dtype)
    left = cat([ones, xm[..., :-1]], -1).cumprod(-1)
    s = [None] * n
    s[n - 1] = gm[..., n - 1]
    for i in range(n - 2, -1, -1):
        s[i] = gm[..., i] + xm[..., i + 1] * s[i + 1]
    zero = xm._data == 0
    past_zero = Tensor._make((np.cumsum(zero, -1) - zero) > 0)
    res = left * stack(s, -1)
    # +0 past the first zero, as torch, keeping the derivative through that zero
    res = res - res.detach().masked_fill(~past_zero, 0)
    return res.movedim(-1, dim)


def _cumprod_grad(x: np.ndarray, g: np.ndarray, dim: int) -> np.ndarray:
    x, g = np.moveaxis(x, dim, -1), np.moveaxis(g, dim, -1)
    n = x.shape[-1]
    with np.errstate(invalid="ignore"):
        left = np.cumprod(np.concatenate([np.ones_like(x[..., :1]), x[..., :-1]], -1), -1)
    s = np.empty_like(g)
    s[..., n - 1] = g[..., n - 1]
    for i in range(n - 2, -1, -1):
        s[..., i] = g[..., i] + x[..., i + 1] * s[..., i + 1]
    # past the first zero the gradient is exactly +0 in torch (no -0.0, nor nan from 0 * inf)
    zero = x == 0
    past_zero = (np.cumsum(zero, -1) - zero) > 0
    with np.errstate(invalid="ignore"):
        res = np.where(past_zero, left.dtype.type(0), left * s)  # a scalar: device arrays too
    return np.moveaxis(res, -1, dim)


@required_int_dim("cumprod")
def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative product along ``dim``; bool and integers accumulate in int64.

    Example:
        >>> ember.tensor([1, 2, 3]).cumprod(0)
        tensor([1, 2, 6])
    """
    d = wrap_dim(dim, input.ndim)
    input = _int_to_long(input, dtype, "cumprod")
    if input._dtype in D.SHELL and input.ndim:
        refuse_shell("cumprod", input._dtype)
    if input.ndim == 0:
        return Cumprod.apply(input.reshape(1), dim=0).reshape(())
    return Cumprod.apply(input, dim=d, wide=_wide(input))


# -- logical reductions ---------------------------------------------------------------------

def _logical(fn, input: Tensor, dim, keepdim: bool) -> Tensor:
    if keepdim is not False and keepdim is not True:  # torch: a bool, not 1 or None
        keepdim = bool_arg(keepdim, "any" if fn is np.any else "all")
    # an empty dim list reduces over no dim here (torch's all/any), where sum reduces all
    axes = () if isinstance(dim, (tuple, list)) and not dim else _axes(input, dim)
    out = fn(input._data, axis=axes, keepdims=keepdim)
    if input._dtype is D.uint8:  # PyTorch keeps uint8 for all/any on uint8
        result = Tensor._make(as_array(out, np.uint8), D.uint8)
    else:
        result = Tensor._make(as_array(out), D.bool)
    if input._vmap_levels:  # no Op.apply here to pass vmap's tag on (see func._vmap)
        result._vmap_levels = input._vmap_levels
    return result


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where every element (over ``dim``) is nonzero; uint8 input gives uint8.

    Example:
        >>> ember.tensor([[True, False], [True, True]]).all(1)
        tensor([False,  True])
    """
    return _logical(np.all, input, dim, keepdim)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where some element (over ``dim``) is nonzero; uint8 input gives uint8.

    Example:
        >>> ember.tensor([[True, False], [False, False]]).any(1)
        tensor([ True, False])
    """
    return _logical(np.any, input, dim, keepdim)


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """Number of nonzero elements, over all or over ``dim`` (int64).

    Example:
        >>> ember.count_nonzero(ember.tensor([[1, 0], [2, 3]]), dim=0)
        tensor([2, 1])
    """
    if input._dtype in D.SHELL and dim is None:  # (torch counts along a dim by summing)
        refuse_shell("count_nonzero", input._dtype)
    data = input._data
    if input._dtype is D.float8_e8m0fnu:  # torch compares with 0 cast to it, 2**-127 (bits 0)
        data = data.view(np.uint8)
    out = np.count_nonzero(data, axis=_axes(input, dim))
    return Tensor._make(as_array(out, np.int64), D.int64)


@dims_arg("nansum")
def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum treating NaN as zero.

    Example:
        >>> ember.nansum(ember.tensor([1., float('nan')]))
        tensor(1.)
    """
    if keepdim is not False and keepdim is not True:  # torch: a bool, not 1 or None
        keepdim = bool_arg(keepdim, "nansum")
    if input._dtype.is_complex:
        raise RuntimeError("nansum on CPU does not support complex inputs")
    if input._dtype in D.SHELL and dtype is None:
        refuse_shell("nansum", input._dtype)
    if input._dtype.category < D._FLOAT:
        return sum(input, dim, keepdim, dtype=dtype)
    return sum(ZeroNan.apply(input), dim, keepdim, dtype=dtype)


class ZeroNan(Op):
    """NaN replaced by 0 (``x * mask`` would keep NaN, since NaN * 0 is NaN)."""

    holds_saved = True  # keeps the mask on ctx; PyTorch's nansum saves self (Op._free)

    @staticmethod
    def forward(ctx, x):
        nan = np.isnan(x)
        ctx.keep = ~nan
        return np.where(nan, 0, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return grad * Tensor._make(ctx.keep.astype(grad._data.dtype), grad._dtype)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean of the non-NaN elements.

    Example:
        >>> ember.nanmean(ember.tensor([1., float('nan'), 3.]))
        tensor(2.)
    """
    if keepdim is not False and keepdim is not True:  # torch: a bool, not 1 or None
        keepdim = bool_arg(keepdim, "nanmean")
    if input._dtype.category < D._FLOAT:
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {_title(input._dtype)}")
    if dtype is not None:
        _check_mean_dtype("nanmean", D.to_dtype(dtype))
    if input._dtype.is_complex:
        raise RuntimeError("nansum on CPU does not support complex inputs")
    keep = ~np.isnan(input._data)
    count = np.sum(keep, axis=_axes(input, dim), keepdims=keepdim).astype(input._data.dtype)
    return nansum(input, dim, keepdim, dtype=dtype) / Tensor._make(count, input._dtype)


__all__ = ["sum", "mean", "prod", "cumsum", "cumprod", "all", "any", "count_nonzero", "nansum",
           "nanmean"]


@required_int_dim("cumsum_")
def cumsum_(self: Tensor, dim: int, *, dtype=None) -> Tensor:
    return apply_inplace(self, self.cumsum(dim, dtype=dtype), "cumsum_")


@required_int_dim("cumprod_")
def cumprod_(self: Tensor, dim: int, *, dtype=None) -> Tensor:
    return apply_inplace(self, self.cumprod(dim, dtype=dtype), "cumprod_")


def sum_to_size(self: Tensor, *size) -> Tensor:
    """Sum ``self`` down to ``size`` (which must broadcast to ``self``'s shape).

    Example:
        >>> ember.ones(2, 3).sum_to_size(1, 3)
        tensor([[2., 2., 2.]])
    """
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    size = tuple(int(s) for s in size)
    shape = tuple(self.shape)
    ok = len(size) <= len(shape) and builtins.all(  # this module's ``all`` is the reduction
        s == t or s == 1 for s, t in zip(reversed(size), reversed(shape)))
    if not ok:
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    return unbroadcast(self, size)

TENSOR_METHODS = {
    "sum": sum, "mean": mean, "prod": prod, "cumsum": cumsum, "cumprod": cumprod, "all": all,
    "any": any, "count_nonzero": count_nonzero, "nansum": nansum, "nanmean": nanmean,
    "sum_to_size": sum_to_size, "cumsum_": cumsum_, "cumprod_": cumprod_,
}
