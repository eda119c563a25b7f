"""Masked reductions and normalizations (``torch.masked._ops``): each takes an ``input``, the
usual ``dim``/``keepdim``/``dtype`` and a boolean ``mask`` (broadcast to the input; ``None``
means every element counts), and ignores the masked-out elements.

Every function is a composition of ember ops: the masked-out elements are first replaced by the
reduction's identity (``0`` for sum, ``1`` for prod, ``-inf`` for amax ...) with ``where``, and
the ordinary op runs on the result, so autograd needs nothing new (the gradient at masked-out
elements is zero). A ``MaskedTensor`` input brings its own mask; there the replacement passes
the gradient through unchanged, as torch's does, and the masked-out entries of the gradient
are hidden by the mask.

Example:
    >>> x = ember.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> ember.masked.sum(x, 1, mask=ember.tensor([[True, False, True], [False, False, False]]))
    tensor([4., 0.])
"""

from __future__ import annotations

import ember

__all__ = ["amax", "amin", "argmax", "argmin", "cumprod", "cumsum", "log_softmax", "logaddexp",
           "logsumexp", "mean", "median", "norm", "normalize", "prod", "softmax", "softmin",
           "std", "sum", "var"]

# integer inputs of sum/prod are promoted to int64 when no dtype is given, as torch.sum does
_PROMOTED_TO_INT64 = {ember.uint8, ember.bool, ember.int8, ember.int16, ember.int32}


def _is_masked(x) -> bool:
    from .maskedtensor.core import is_masked_tensor

    return is_masked_tensor(x)


# the reductions whose identity is the lowest value of the dtype (the others: the highest)
_FROM_BELOW = {"amax", "argmax", "logaddexp", "logsumexp"}


def _identity(op: str, input, ord=None):
    """The value that leaves reduction ``op`` unchanged where it stands in for masked-out
    elements, as a 0-d tensor; None for mean/var/std, whose masked forms count instead."""
    dt = input.dtype
    if op in ("mean", "var", "std"):
        return None
    if op in ("sum", "cumsum"):
        value = 0
    elif op in ("prod", "cumprod"):
        value = 1
    elif op == "median":  # computed with nanmedian, which skips NaN
        value, dt = float("nan"), dt if dt.is_floating_point else ember.float32
    elif op == "norm":
        if ord == float("-inf") and not dt.is_floating_point:
            raise AssertionError(f"input must be floating point, got {dt}")
        value = float("inf") if ord == float("-inf") else 0
    elif op in _FROM_BELOW or op in ("amin", "argmin"):
        below = op in _FROM_BELOW
        if dt.is_floating_point:
            value = -float("inf") if below else float("inf")
        elif dt.is_complex and op == "logsumexp":
            value = complex(-float("inf"), 0)
        elif ember.is_signed(input) or dt == ember.uint8:
            info = ember.iinfo(dt)
            value = info.min if below else info.max
        else:
            raise NotImplementedError(f"identity of {op} on {dt} input")
    else:
        raise NotImplementedError(f"identity of {op} on {dt} input")
    return ember.tensor(value, dtype=dt, device=input.device)


def _dims(dim, ndim: int) -> tuple:
    """``dim`` as sorted non-negative dims; ``None`` and ``()`` mean every dimension."""
    if dim is None or dim == ():
        return tuple(range(ndim))
    wrap = max(ndim, 1)
    seen: list[int] = []
    for d in (dim,) if isinstance(dim, int) else dim:
        if d in seen:
            raise RuntimeError(f"dim={d} appears multiple times in the list of dims")
        if not -wrap <= d < wrap:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-wrap}, "
                             f"{wrap - 1}], but got {d})")
        seen.append(d % wrap)
    return tuple(sorted(seen))


def _broadcast_mask(input, mask):
    """``mask`` as bool, broadcast to ``input``'s shape (torch's errors for masks that cannot
    be)."""
    if mask.shape != input.shape:
        if mask.ndim > input.ndim:
            raise IndexError("_input_mask expected broadcastable mask (got mask dimensionality "
                             "higher than of the input)")
        mask = ember.broadcast_to(mask.clone(), input.shape)
    return mask.to(dtype=ember.bool)


class _Combine(ember.autograd.Function):
    """A MaskedTensor's data with its masked-out elements replaced by an identity; the
    gradient passes through unchanged (the mask hides its masked-out entries), as torch's
    ``Combine`` does."""

    @staticmethod
    def forward(ctx, data, mask, fill_value):
        ctx.mark_non_differentiable(mask)
        return ember.where(mask, data, fill_value)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None, None


def _fill_masked(op: str, input, mask, ord=None):
    """``input`` with its masked-out elements replaced by the identity of reduction ``op``."""
    if _is_masked(input):
        data = input._masked_data
        return _Combine.apply(data, input.get_mask(), _identity(op, data, ord))
    if mask is None:
        return input
    return ember.where(_broadcast_mask(input, mask), input, _identity(op, input, ord))


def _not_implemented(kernel: str, dtype) -> NotImplementedError:
    """torch's error for a CPU kernel without this dtype (ember's own kernels accept more)."""
    from ember._dtype import SCALAR_TYPE

    return NotImplementedError(
        f'"{kernel}" not implemented for \'{SCALAR_TYPE.get(dtype.name, dtype.name)}\'')


def _int64_if_small_int(input, dtype):
    if dtype is None:
        dtype = ember.int64 if input.dtype in _PROMOTED_TO_INT64 else input.dtype
    return dtype


def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Sum of the masked-in elements over ``dim`` (0 where all are masked out).

    Args:
        input (Tensor or MaskedTensor): the input.
        dim (int or tuple of ints, optional): the dimensions to reduce; all by default.

    Keyword args:
        keepdim (bool): keep the reduced dimensions as size 1.
        dtype (ember.dtype, optional): the result's dtype (small integers give int64).
        mask (Tensor, optional): bool, broadcastable to ``input``; ``None`` keeps every element.

    Example:
        >>> ember.masked.sum(ember.tensor([1.0, 2.0, 3.0]), mask=ember.tensor([True, False, True]))
        tensor(4.)
    """
    dtype = _int64_if_small_int(input, dtype)
    dim_ = _dims(dim, input.ndim)
    mask_input = _fill_masked("sum", input, mask)
    return ember.sum(mask_input, dim_, bool(keepdim), dtype=dtype)


def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Product of the masked-in elements over ``dim`` (1 where all are masked out).

    Arguments as :func:`sum`.

    Example:
        >>> ember.masked.prod(ember.tensor([2.0, 5.0, 3.0]), mask=ember.tensor([True, False, True]))
        tensor(6.)
    """
    dtype = _int64_if_small_int(input, dtype)
    dim_ = _dims(dim, input.ndim)
    result = _fill_masked("prod", input, mask).to(dtype=dtype)
    for d in reversed(dim_):  # prod takes one dim at a time
        result = result.prod(dim=d, keepdim=bool(keepdim))
    return result


def cumsum(input, dim, *, dtype=None, mask=None):
    """Cumulative sum along ``dim`` in which masked-out elements count as 0.

    Example:
        >>> ember.masked.cumsum(ember.tensor([1.0, 2.0, 3.0]), 0,
        ...                     mask=ember.tensor([True, False, True]))
        tensor([1., 1., 4.])
    """
    if dtype is None:
        dtype = input.dtype
    if dtype == ember.bool:
        raise _not_implemented("cumsum_out_cpu", dtype)
    dim_ = _dims(dim, input.ndim)[0]
    mask_input = _fill_masked("sum", input, mask)
    return ember.cumsum(mask_input, dim_, dtype=dtype).to(dtype=dtype)


def cumprod(input, dim, *, dtype=None, mask=None):
    """Cumulative product along ``dim`` in which masked-out elements count as 1.

    Example:
        >>> ember.masked.cumprod(ember.tensor([2.0, 5.0, 3.0]), 0,
        ...                      mask=ember.tensor([True, False, True]))
        tensor([2., 2., 6.])
    """
    if dtype is None:
        dtype = input.dtype
    if dtype == ember.bool:
        raise _not_implemented("cumprod_out_cpu", dtype)
    dim_ = _dims(dim, input.ndim)[0]
    mask_input = _fill_masked("prod", input, mask)
    return ember.cumprod(mask_input, dim_, dtype=dtype).to(dtype=dtype)


def amax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Largest masked-in element over ``dim`` (``-inf``, or the dtype's minimum, where all are
    masked out).

    Example:
        >>> ember.masked.amax(ember.tensor([1.0, 9.0, 3.0]), mask=ember.tensor([True, False, True]))
        tensor(3.)
    """
    if dtype is None:
        dtype = input.dtype
    mask_input = _fill_masked("amax", input, mask)
    dim_ = _dims(dim, mask_input.ndim)
    return ember.amax(mask_input, dim_, bool(keepdim)).to(dtype=dtype)


def amin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Smallest masked-in element over ``dim`` (``inf``, or the dtype's maximum, where all are
    masked out).

    Example:
        >>> ember.masked.amin(ember.tensor([4.0, 0.0, 3.0]), mask=ember.tensor([True, False, True]))
        tensor(3.)
    """
    if dtype is None:
        dtype = input.dtype
    mask_input = _fill_masked("amin", input, mask)
    dim_ = _dims(dim, mask_input.ndim)
    return ember.amin(mask_input, dim_, bool(keepdim)).to(dtype=dtype)


def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Index of the largest masked-in element along ``dim``, in the input's dtype unless
    ``dtype`` says otherwise (as torch.masked.argmax returns it).

    Example:
        >>> ember.masked.argmax(ember.tensor([1.0, 9.0, 3.0]),
        ...                     mask=ember.tensor([True, False, True]))
        tensor(2.)
    """
    if dtype is None:
        dtype = input.dtype
    mask_input = _fill_masked("argmax", input, mask)
    return ember.argmax(mask_input, dim, bool(keepdim)).to(dtype=dtype)


def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Index of the smallest masked-in element along ``dim``, in the input's dtype unless
    ``dtype`` says otherwise.

    Example:
        >>> ember.masked.argmin(ember.tensor([4.0, 0.0, 3.0]),
        ...                     mask=ember.tensor([True, False, True]))
        tensor(2.)
    """
    if dtype is None:
        dtype = input.dtype
    mask_input = _fill_masked("argmin", input, mask)
    return ember.argmin(mask_input, dim, bool(keepdim)).to(dtype=dtype)


def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mean of the masked-in elements over ``dim`` (``nan`` where all are masked out).

    Example:
        >>> ember.masked.mean(ember.tensor([1.0, 9.0, 3.0]), mask=ember.tensor([True, False, True]))
        tensor(2.)
    """
    dtype_source = "Optional"
    if dtype is None:
        dtype = input.dtype
        dtype_source = "Input"
    if not (dtype.is_floating_point or dtype.is_complex):
        raise ValueError(
            f"mean(): Could not infer output dtype. {dtype_source} dtype must be either "
            f"a floating point or complex dtype. Got: {dtype}")
    if mask is None:
        count = sum(ember.ones(input.shape, dtype=ember.int64, device=input.device), dim,
                    keepdim=keepdim)
        total = sum(input, dim, keepdim=keepdim, dtype=dtype)
    else:
        inmask = _broadcast_mask(input, mask)
        count = inmask.sum(dim=dim, keepdim=bool(keepdim))
        total = sum(input, dim, keepdim=keepdim, dtype=dtype, mask=inmask)
    return total / count


def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None):
    """Median of the masked-in elements along one ``dim`` (``nan`` where all are masked out;
    integer inputs must have no such slice).

    Example:
        >>> ember.masked.median(ember.tensor([1.0, 9.0, 3.0, 5.0]), 0,
        ...                     mask=ember.tensor([True, False, True, True]))
        tensor(3.)
    """
    if dtype is None:
        dtype = input.dtype
    dim_ = _dims(dim, input.ndim)[0]
    is_float = input.dtype.is_floating_point
    if not is_float:
        input = input.to(dtype=ember.float32)
    mask_input = _fill_masked("median", input, mask)
    output = ember.nanmedian(mask_input, dim_, keepdim).values
    if is_float:
        return output
    if not ember.isnan(output).any():
        return output.to(dtype=dtype)
    raise ValueError(
        "masked median expects no fully masked out rows if dtype is not floating point")


def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """``log(sum(exp(x)))`` over the masked-in elements (``-inf`` where all are masked out).

    Example:
        >>> ember.masked.logsumexp(ember.tensor([0.0, 9.0, 0.0]),
        ...                        mask=ember.tensor([True, False, True]))
        tensor(0.6931)
    """
    if dtype is None:
        dtype = input.dtype
    dim_ = _dims(dim, input.ndim)
    mask_input = _fill_masked("logsumexp", input, mask)
    return ember.logsumexp(mask_input, dim_, keepdim=keepdim).to(dtype=dtype)


def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    """``log(exp(input) + exp(other))`` where masked-out elements count as ``-inf``.

    Example:
        >>> mask = ember.tensor([True, False, True])
        >>> ember.masked.logaddexp(ember.tensor([-100.0, -200, -300]), ember.tensor([-1.0, -2, -3]),
        ...                        input_mask=mask, other_mask=mask)
        tensor([-1., -inf, -3.])
    """
    if dtype is None:
        dtype = input.dtype
    mask_input = _fill_masked("logaddexp", input, input_mask)
    mask_other = _fill_masked("logaddexp", other, other_mask)
    if not (mask_input.dtype.is_floating_point or mask_input.dtype.is_complex):
        raise _not_implemented("logaddexp_cpu", mask_input.dtype)
    return ember.logaddexp(mask_input, mask_other).to(dtype=dtype)


def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Vector ``ord``-norm of the masked-in elements over ``dim`` (0 where all are masked out;
    ``inf`` for ``ord=-inf``).

    Example:
        >>> ember.masked.norm(ember.tensor([3.0, 9.0, 4.0]), mask=ember.tensor([True, False, True]))
        tensor(5.)
    """
    if dtype is None:
        dtype = input.dtype
    mask_input = _fill_masked("norm", input, mask, ord)
    dim_ = _dims(dim, input.ndim)
    return ember.linalg.vector_norm(mask_input, ord, dim_, bool(keepdim), dtype=dtype)


def _std_var(input, dim, unbiased, *, correction_opt, keepdim, dtype, mask, take_sqrt):
    """The body shared by :func:`var` and :func:`std`.

    The squared distances from the masked mean are summed over the masked-in elements and
    divided by their count less ``correction`` (floored at 0, so an over-large correction
    gives ``inf`` and an empty slice ``nan``). The mean is taken in ``dtype``; the squares are
    summed in the working dtype and only the quotient is cast, before the square root.
    """
    if unbiased is not None and correction_opt is not None:
        raise AssertionError("Only one of unbiased and correction may be given")
    if correction_opt is not None:
        correction = correction_opt
    else:  # unbiased=None means Bessel's correction, as for torch.var
        correction = 1 if unbiased is None or unbiased else 0
    if dtype is None:
        dtype = input.dtype
        if not (dtype.is_floating_point or dtype.is_complex):
            dtype = ember.float32
    every = ember.ones(input.shape, dtype=ember.int64, device=input.device)
    count = sum(every, dim, keepdim=True, mask=mask)
    centred = input - sum(input, dim, keepdim=True, dtype=dtype, mask=mask) / count
    # |d|^2 as d * conj(d): a complex input keeps its complex result dtype, as torch's does
    squares = centred * centred.conj() if centred.dtype.is_complex else centred * centred
    total = sum(squares, dim, keepdim=keepdim, mask=mask)
    dof = ember.clamp(count.reshape(total.shape) - correction, min=0)
    result = (total / dof).to(dtype=dtype)
    return result.sqrt() if take_sqrt else result


def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None,
        mask=None):
    """Variance of the masked-in elements over ``dim`` (``correction`` 1 by default; ``nan``
    where all are masked out).

    Example:
        >>> ember.masked.var(ember.tensor([1.0, 9.0, 3.0]), mask=ember.tensor([True, False, True]))
        tensor(2.)
    """
    return _std_var(input, dim, unbiased, correction_opt=correction, keepdim=keepdim,
                    dtype=dtype, mask=mask, take_sqrt=False)


def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None,
        mask=None):
    """Standard deviation of the masked-in elements over ``dim`` (see :func:`var`).

    Example:
        >>> ember.masked.std(ember.tensor([1.0, 9.0, 5.0]), mask=ember.tensor([True, False, True]))
        tensor(2.8284)
    """
    return _std_var(input, dim, unbiased, correction_opt=correction, keepdim=keepdim,
                    dtype=dtype, mask=mask, take_sqrt=True)


def softmax(input, dim, *, dtype=None, mask=None):
    """Softmax along ``dim`` over the masked-in elements (masked-out ones get 0; a fully
    masked-out slice gives ``nan``).

    Example:
        >>> ember.masked.softmax(ember.tensor([0.0, 9.0, 0.0]), 0,
        ...                      mask=ember.tensor([True, False, True]))
        tensor([0.5000, 0.0000, 0.5000])
    """
    if dtype is None:
        dtype = input.dtype
    dim_ = _dims(dim, input.ndim)[0]
    mask_input = _fill_masked("amax", input, mask)
    return ember.nn.functional.softmax(mask_input, dim_, dtype=dtype)


def log_softmax(input, dim, *, dtype=None, mask=None):
    """Log-softmax along ``dim`` over the masked-in elements (masked-out ones get ``-inf``).

    Example:
        >>> ember.masked.log_softmax(ember.tensor([0.0, 9.0, 0.0]), 0,
        ...                          mask=ember.tensor([True, False, True]))
        tensor([-0.6931,    -inf, -0.6931])
    """
    if dtype is None:
        dtype = input.dtype
    dim_ = _dims(dim, input.ndim)[0]
    mask_input = _fill_masked("amax", input, mask)
    return ember.nn.functional.log_softmax(mask_input, dim_, dtype=dtype)


def softmin(input, dim, *, dtype=None, mask=None):
    """Softmin along ``dim`` over the masked-in elements (masked-out ones get 0).

    Example:
        >>> ember.masked.softmin(ember.tensor([0.0, -9.0, 0.0]), 0,
        ...                      mask=ember.tensor([True, False, True]))
        tensor([0.5000, 0.0000, 0.5000])
    """
    if dtype is None:
        dtype = input.dtype
    dim_ = _dims(dim, input.ndim)[0]
    mask_input = _fill_masked("amin", input, mask)
    return ember.nn.functional.softmin(mask_input, dim_, dtype=dtype)


def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None):
    """``input`` divided by the masked ``ord``-norm along ``dim`` (at least ``eps``); the
    masked-out elements become 0.

    Example:
        >>> ember.masked.normalize(ember.tensor([3.0, 9.0, 4.0]), 2.0, 0,
        ...                        mask=ember.tensor([True, False, True]))
        tensor([0.6000, 0.0000, 0.8000])
    """
    if dtype is None:
        dtype = input.dtype
    mask_input = _fill_masked("sum", input, mask)
    nrm_ = norm(input, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    denom = ember.maximum(nrm_, nrm_.new_full([], eps))
    return ember.divide(mask_input, denom)

