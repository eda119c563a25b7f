"""Composite math ops PyTorch users reach for: ``addcmul``/``addcdiv``, ``diff``, ``histc``,
``bincount``, ``cov``/``corrcoef``, ``dist``, ``inner``, ``isin``, ``rot90``, ``cummax``/
``cummin``, ``logcumsumexp``, ``renorm``.

Most are written from differentiable ember ops, so their gradients (and second derivatives)
come for free; the last node is renamed to PyTorch's ``grad_fn`` name where one exists.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._backend import ascontiguousarray, ufunc_accumulate
from .._backend import get_array_module as xp_of
from .._tensor import Tensor
from ._core import Op, as_tensor_arg, wrap_dim
from .inplace import apply_inplace
from .sorting import _return_type

cummax_type = _return_type("cummax")
cummin_type = _return_type("cummin")


def _named(out: Tensor, name: str) -> Tensor:
    """Give the node that made ``out`` PyTorch's name for the whole composite."""
    if out.grad_fn is not None:
        out.grad_fn._name = name
    return out


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1, out=None) -> Tensor:
    """``input + value * tensor1 * tensor2``, broadcasting all three.

    Example:
        >>> ember.addcmul(ember.zeros(2), ember.tensor([1., 2.]), ember.tensor([3., 4.]), value=0.5)
        tensor([1.5000, 4.0000])
    """
    prod = tensor1 * tensor2
    res = _named(input + (prod * value if value != 1 else prod), "AddcmulBackward0")
    return res if out is None else out.copy_(res)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1, out=None) -> Tensor:
    """``input + value * tensor1 / tensor2`` (floating tensors only, as in PyTorch).

    Example:
        >>> ember.addcdiv(ember.zeros(2), ember.tensor([1., 2.]), ember.tensor([2., 4.]))
        tensor([0.5000, 0.5000])
    """
    t1, t2 = as_tensor_arg(tensor1), as_tensor_arg(tensor2)
    if not t1._dtype.is_floating_point and not t1._dtype.is_complex and \
            not t2._dtype.is_floating_point and not t2._dtype.is_complex:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
            ".to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) "
            "for float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    quot = t1 / t2
    res = _named(input + (quot * value if value != 1 else quot), "AddcdivBackward0")
    return res if out is None else out.copy_(res)


def addcmul_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    return apply_inplace(self, addcmul(self, tensor1, tensor2, value=value), "addcmul_")


def addcdiv_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    return apply_inplace(self, addcdiv(self, tensor1, tensor2, value=value), "addcdiv_")


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim``, after joining ``prepend``/``append``.

    Example:
        >>> ember.diff(ember.tensor([1, 3, 6, 10]))
        tensor([2, 3, 4])
    """
    from .joining import cat

    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    dim = wrap_dim(dim, input.ndim)
    parts = [p for p in (prepend, input, append) if p is not None]
    if any(p.ndim != input.ndim for p in parts):
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    x = cat(parts, dim) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[dim]
        if length == 0:
            break
        hi, lo = x.narrow(dim, 1, length - 1), x.narrow(dim, 0, length - 1)
        x = (hi ^ lo) if x._dtype is D.bool else hi - lo
    return x


def histc(input: Tensor, bins: int = 100, min=0, max=0, *, out=None) -> Tensor:
    """Histogram of ``input`` in ``bins`` equal bins over ``[min, max]`` (the data's range when
    both are 0); elements outside are ignored. Not differentiable.

    Example:
        >>> ember.histc(ember.tensor([1., 2., 1.]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    if not input._dtype.is_floating_point:
        from .inplace import _type_title

        raise NotImplementedError(f'"histogram_cpu" not implemented for '
                                  f"'{_type_title(input._dtype)}' (histc needs a floating "
                                  f"tensor: call .float() first)")
    if bins <= 0:
        raise RuntimeError("torch.histc(): bins must be > 0, but got " + str(bins))
    x = input.detach()._data.reshape(-1).astype(np.float64)
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"torch.histc(): max must be larger than min, but got min {min} "
                           f"max {max}")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc(): range of [{lo}, {hi}] is not finite")
    x = x[(x >= lo) & (x <= hi)]
    idx = np.minimum(((x - lo) * bins / (hi - lo)).astype(np.int64), bins - 1)
    counts = np.bincount(idx, minlength=bins).astype(input._data.dtype)
    res = Tensor._make(counts, input._dtype).to(input.device)
    return res if out is None else out.copy_(res)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Count occurrences of each value in a 1-D non-negative integer tensor (summing
    ``weights`` instead of ones when given). Not differentiable.

    Example:
        >>> ember.bincount(ember.tensor([0, 1, 1, 3]))
        tensor([1, 2, 0, 1])
    """
    if input._dtype.is_floating_point or input._dtype.is_complex or input._dtype is D.bool:
        from .inplace import _type_title

        raise NotImplementedError(f'"bincount_cpu" not implemented for '
                                  f"'{_type_title(input._dtype)}' (bincount counts integers)")
    if input.ndim != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    x = input._data
    if x.size and x.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return Tensor._make(np.bincount(x, minlength=minlength).astype(np.int64), D.int64)
    if weights.shape != input.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dt = weights._dtype if weights._dtype.is_floating_point else D.float64
    counts = np.bincount(x, weights=weights.detach()._data, minlength=minlength)
    return Tensor._make(counts.astype(dt.np_dtype), dt)


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """Covariance of the variables in the rows of ``input`` (observations in columns).

    Example:
        >>> ember.cov(ember.tensor([[0., 1., 2.], [2., 1., 0.]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if not (x._dtype.is_floating_point or x._dtype.is_complex):
        x = x.to(D.get_default_dtype())
    n_obs = x.shape[1]
    w = None
    if fweights is not None:
        if fweights.ndim > 1 or fweights._dtype.is_floating_point or fweights.numel() != n_obs:
            raise RuntimeError("cov(): expected fweights to be a 1-D integer tensor with "
                               f"{n_obs} elements (one per observation)")
        if (fweights._data < 0).any():
            raise RuntimeError("cov(): fweights cannot be negative")
        w = fweights
    if aweights is not None:
        if aweights.ndim > 1 or not aweights._dtype.is_floating_point or \
                aweights.numel() != n_obs:
            raise RuntimeError("cov(): expected aweights to be a 1-D floating tensor with "
                               f"{n_obs} elements (one per observation)")
        if (aweights._data < 0).any():
            raise RuntimeError("cov(): aweights cannot be negative")
        w = aweights if w is None else w * aweights
    if w is None:
        avg = x.mean(1)
        w_sum = n_obs
        norm = n_obs - correction
    else:
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
        if aweights is None:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * (w * aweights).sum() / w_sum
    if (norm <= 0) if not isinstance(norm, Tensor) else bool((norm <= 0).item()):
        import warnings

        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", stacklevel=2)
        norm = norm * 0 if isinstance(norm, Tensor) else 0
    xm = x - avg.unsqueeze(1)
    xw = xm if w is None else xm * w
    c = (xw @ (xm.t().conj() if xm._dtype.is_complex else xm.t())) / norm
    return c.squeeze() if input.ndim < 2 else c


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input`` (values clipped to [-1, 1]).

    Example:
        >>> ember.corrcoef(ember.tensor([[0., 1., 2.], [2., 1., 0.]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    std = d.sqrt()
    c = c / std.unsqueeze(1) / std.unsqueeze(0)
    return c.clamp(-1, 1) if not c._dtype.is_complex else c


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast). Example: ``ember.dist(a, b)``."""
    from ._reduce_norm import vector_norm

    return _named(vector_norm(input - other, p), "DistBackward0")


def inner(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Dot products over the last dimension of both inputs (a product when one is 0-d).

    Example:
        >>> ember.inner(ember.tensor([1., 2.]), ember.tensor([3., 4.]))
        tensor(11.)
    """
    if input.ndim == 0 or other.ndim == 0:
        res = input * other
    else:
        if input.shape[-1] != other.shape[-1]:
            raise RuntimeError(f"inner() the last dimension must match on both input tensors "
                               f"but got shapes {list(input.shape)} and {list(other.shape)}")
        from ._einsum import tensordot

        res = tensordot(input, other, dims=([-1], [-1]))
    return res if out is None else out.copy_(res)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each of ``elements`` is in ``test_elements`` (either may be a number).

    Example:
        >>> ember.isin(ember.tensor([1, 2, 3]), ember.tensor([2, 5]))
        tensor([False,  True, False])
    """
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() expects elements or test_elements to be a Tensor")
    like = elements if isinstance(elements, Tensor) else test_elements
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    res = np.isin(e, t, assume_unique=assume_unique, invert=invert)
    return Tensor._make(np.asarray(res), D.bool).to(like.device)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards the
    second). Example: ``ember.rot90(ember.arange(4).view(2, 2))``."""
    from .movement import transpose
    from .shaping import flip

    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = wrap_dim(dims[0], input.ndim), wrap_dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return transpose(flip(input, [d1]), d0, d1)
    if k == 2:
        return flip(input, [d0, d1])
    if k == 3:
        return transpose(flip(input, [d0]), d0, d1)
    return input.clone()


def _cum_extreme(input: Tensor, dim: int, is_max: bool, rtype):
    from .indexing import gather

    if input._dtype.is_complex and input.ndim:
        raise NotImplementedError(f'"{"cummax" if is_max else "cummin"}_cpu" not implemented for '
                                  f"'{input._dtype._legacy[:-6]}'")

    dim = wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        return rtype(input.clone(), Tensor._make(xp_of(input._data).zeros((), np.int64),
                                                 D.int64))
    a = np.moveaxis(input._data, dim, 0)
    idx = xp_of(a).zeros(a.shape, np.int64)
    if a.shape[0] and a.size:
        floating = a.dtype.kind in "fc"
        cur, at = a[0].copy(), xp_of(a).zeros(a.shape[1:], np.int64)
        for i in range(1, a.shape[0]):
            v = a[i]
            take = (v >= cur) if is_max else (v <= cur)
            if floating:  # a NaN wins and stays, as in PyTorch; later NaNs move the index
                take = np.isnan(v) | (~np.isnan(cur) & take)
            cur = np.where(take, v, cur)
            at = np.where(take, i, at)
            idx[i] = at
    indices = Tensor._make(ascontiguousarray(np.moveaxis(idx, 0, dim)), D.int64)
    indices = indices.to(input.device)
    values = gather(input, dim, indices)
    return rtype(_named(values, "CummaxBackward0" if is_max else "CumminBackward0"), indices)


def cummax(input: Tensor, dim: int) -> tuple:
    """Running maximum along ``dim`` and the index where it was reached (the latest on ties).

    Example:
        >>> ember.cummax(ember.tensor([1., 3., 2.]), 0).values
        tensor([1., 3., 3.])
    """
    return _cum_extreme(input, dim, True, cummax_type)


def cummin(input: Tensor, dim: int) -> tuple:
    """Running minimum along ``dim`` and the index where it was reached (the latest on ties)."""
    return _cum_extreme(input, dim, False, cummin_type)


class LogCumSumExp(Op):
    _name = "LogcumsumexpBackward0"
    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.save_for_backward(*ctx.inputs)
        ctx.dim = dim
        if x.size == 0 or x.ndim == 0:
            return x.copy()
        with np.errstate(invalid="ignore"):  # -inf + -inf, which gives -inf as it should
            return ufunc_accumulate(np.logaddexp, x, dim)

    @staticmethod
    def backward(ctx, grad):
        # d out_i / d x_j = exp(x_j - out_i) for j <= i. Sum the positive and negative parts of
        # the gradient separately in log space so that nothing overflows (PyTorch's scheme).
        from .compare import where
        from .shaping import flip

        x, out = ctx.saved_tensors
        dim = ctx.dim
        if x.ndim == 0:  # the identity
            return grad

        def reverse_lcse(z):
            return flip(logcumsumexp(flip(z, [dim]), dim), [dim])

        # the lowest finite value, not -inf: -inf - -inf would make NaN second derivatives
        lowest = float(np.finfo(grad._data.dtype).min)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_abs = grad.abs().log()
            pos = where(grad > 0, log_abs, lowest)
            neg = where(grad < 0, log_abs, lowest)
            return (reverse_lcse(pos - out) + x).exp() - (reverse_lcse(neg - out) + x).exp()


def logcumsumexp(input: Tensor, dim: int, *, out=None) -> Tensor:
    """``log(cumsum(exp(input), dim))`` computed without overflow.

    Example:
        >>> ember.logcumsumexp(ember.tensor([0., 0.]), 0)
        tensor([0.0000, 0.6931])
    """
    if not (input._dtype.is_floating_point or input._dtype.is_complex):
        from .inplace import _type_title

        raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for '
                                  f"'{_type_title(input._dtype)}' (use a floating tensor)")
    res = LogCumSumExp.apply(input, dim=wrap_dim(dim, input.ndim))
    return res if out is None else out.copy_(res)


def renorm(input: Tensor, p, dim: int, maxnorm) -> Tensor:
    """Rescale each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` to norm ``maxnorm``.

    Example:
        >>> ember.renorm(ember.tensor([[3., 4.], [0.3, 0.4]]), 2, 0, 1.0)
        tensor([[0.6000, 0.8000],
                [0.3000, 0.4000]])
    """
    from ._reduce_norm import vector_norm
    from .compare import where

    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    dim = wrap_dim(dim, input.ndim)
    others = [d for d in range(input.ndim) if d != dim]
    norms = vector_norm(input, p, dim=others, keepdim=True) if others else input.abs()
    factor = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return _named(input * factor, "RenormBackward0")


def renorm_(self: Tensor, p, dim: int, maxnorm) -> Tensor:
    return apply_inplace(self, renorm(self, p, dim, maxnorm), "renorm_")


__all__ = ["addcmul", "addcdiv", "diff", "histc", "bincount", "cov", "corrcoef", "dist", "inner",
           "isin", "rot90", "cummax", "cummin", "logcumsumexp", "renorm"]

TENSOR_METHODS = {
    **{name: globals()[name] for name in __all__ if name != "isin"},
    "addcmul_": addcmul_, "addcdiv_": addcdiv_, "renorm_": renorm_,
}
