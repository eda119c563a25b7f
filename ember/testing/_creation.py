"""``make_tensor``: a random tensor of a given shape and dtype for tests (``torch.testing``)."""

from __future__ import annotations

import collections.abc
import functools
import math
import warnings

from .. import _dtype

__all__ = ["make_tensor"]


def _dtypes(*names):
    return [getattr(_dtype, n) for n in names if hasattr(_dtype, n)]


_INTEGRAL_TYPES = _dtypes("uint8", "int8", "int16", "int32", "int64", "uint16", "uint32",
                          "uint64")
_FLOATING_TYPES = _dtypes("float16", "bfloat16", "float32", "float64")
_COMPLEX_TYPES = _dtypes("complex32", "complex64", "complex128")
_BOOLEAN_OR_INTEGRAL_TYPES = [_dtype.bool, *_INTEGRAL_TYPES]
_FLOATING_OR_COMPLEX_TYPES = [*_FLOATING_TYPES, *_COMPLEX_TYPES]


def make_tensor(*shape, dtype, device, low: float | None = None, high: float | None = None,
                requires_grad: bool = False, noncontiguous: bool = False,
                exclude_zero: bool = False, memory_format=None):
    """A tensor of ``shape`` filled with values drawn uniformly from ``[low, high)``.

    Defaults: ``[-9, 9)`` for floating and complex dtypes (real and imaginary parts each),
    ``[-9, 10)`` for integers, ``{False, True}`` for bool; ``low``/``high`` are clamped to what
    the dtype can hold.

    Args:
        shape: sizes, as separate ints or one sequence.
        dtype, device: of the result (both required, as in PyTorch).
        low, high: the interval; ``low`` must be below ``high``.
        requires_grad: floating and complex dtypes only.
        noncontiguous: return a non-contiguous view (every second element of a wider tensor).
        exclude_zero: replace zeros by 1 (integers) or the dtype's smallest normal (floats).
        memory_format: clone into this memory format; exclusive with ``noncontiguous``.

    Example:
        >>> x = ember.testing.make_tensor(2, 3, dtype=ember.float32, device="cpu", low=0, high=1)
        >>> x.shape
        torch.Size([2, 3])
    """
    import ember

    def modify_low_high(low, high, *, lowest_inclusive, highest_exclusive, default_low,
                        default_high):
        # The requested interval, checked against itself and against what the dtype holds,
        # then clamped into [lowest_inclusive, highest_exclusive] (and rounded up to whole
        # numbers for integer dtypes, whose draws are integers).
        low = default_low if low is None else low
        high = default_high if high is None else high
        if math.isnan(low) or math.isnan(high):
            raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
        floating = dtype in _FLOATING_OR_COMPLEX_TYPES
        if floating and low == high:
            # A constant tensor: still allowed for floats, as PyTorch does, with its warning.
            warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or "
                          "complex types is deprecated since 2.1 and will be removed in 2.3. "
                          "Use `torch.full(...)` instead.", FutureWarning, stacklevel=3)
        elif not low < high:
            raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
        elif low >= highest_exclusive or high < lowest_inclusive:
            raise ValueError(f"The value interval specified by `low` and `high` is "
                             f"[{low}, {high}), but {dtype} only supports "
                             f"[{lowest_inclusive}, {highest_exclusive})")
        low, high = (min(max(v, lowest_inclusive), highest_exclusive) for v in (low, high))
        return (low, high) if floating else (math.ceil(low), math.ceil(high))

    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(
            "The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
            f"noncontiguous={noncontiguous} and memory_format={memory_format}")
    if requires_grad and dtype in _BOOLEAN_OR_INTEGRAL_TYPES:
        raise ValueError("`requires_grad=True` is not supported for boolean and integral dtypes, "
                         f"but got dtype={dtype}")
    noncontiguous = noncontiguous and functools.reduce(lambda x, y: x * y, shape, 1) > 1
    if noncontiguous:
        shape = (*shape[:-1], 2 * shape[-1])

    if dtype is _dtype.bool:
        low, high = modify_low_high(low, high, lowest_inclusive=0, highest_exclusive=2,
                                    default_low=0, default_high=2)
        result = ember.randint(low, high, shape, device=device, dtype=dtype)
    elif dtype in _BOOLEAN_OR_INTEGRAL_TYPES:
        info = ember.iinfo(dtype)
        low, high = modify_low_high(
            low, high, lowest_inclusive=info.min,
            highest_exclusive=info.max + (1 if dtype is not _dtype.int64 else 0),
            default_low=-9, default_high=10)
        result = ember.randint(low, high, shape, device=device, dtype=dtype)
    elif dtype in _FLOATING_OR_COMPLEX_TYPES:
        info = ember.finfo(dtype)
        low, high = modify_low_high(low, high, lowest_inclusive=info.min,
                                    highest_exclusive=info.max, default_low=-9, default_high=9)
        if dtype in _COMPLEX_TYPES:
            real_dtype = ember.float64 if dtype is ember.complex128 else ember.float32
            # One draw with real and imaginary parts interleaved, as torch fills the real view
            # of the complex tensor: the same generator stream gives the same values.
            pairs = _uniform(ember.empty((*shape, 2), device=device, dtype=real_dtype), low, high)
            result = ember.view_as_complex(pairs).to(dtype)
        else:
            result = _uniform(ember.empty(shape, device=device, dtype=dtype), low, high)
    else:
        raise TypeError(
            f"The requested dtype '{dtype}' is not supported by torch.testing.make_tensor(). "
            "To request support, file an issue at: https://github.com/pytorch/pytorch/issues")

    if noncontiguous:
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result[result == 0] = (1 if dtype in _BOOLEAN_OR_INTEGRAL_TYPES
                               else ember.finfo(dtype).tiny)
    if dtype in _FLOATING_OR_COMPLEX_TYPES:
        result.requires_grad = requires_grad
    return result


def _uniform(t, low: float, high: float):
    import ember

    if high - low >= ember.finfo(t.dtype).max:
        return t.uniform_(low / 2, high / 2).mul_(2)
    return t.uniform_(low, high)
