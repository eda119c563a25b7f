"""The helpers of ``torch.fft`` around the transforms: the sample frequencies of each bin
(``fftfreq``, ``rfftfreq``) and the reordering that puts frequency zero in the middle
(``fftshift``, ``ifftshift``, a ``roll`` by half of each dim, so differentiable).
"""

from __future__ import annotations

import operator

import numpy as np

from ... import _dtype as D
from ..._errors import with_hint
from ..._tensor import Tensor
from .._dispatch import require_tensor
from ..inplace import _type_title
from ..shape.copies import roll
from .transforms import _int_list, _wrap


def _freq_args(fname: str, n, d) -> tuple[int, float]:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"fft_{fname}(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if isinstance(d, Tensor):
        d = d.item()
    if isinstance(d, (str, bytes)) or not isinstance(d, (int, float, np.number)):
        raise TypeError(f"fft_{fname}(): argument 'd' must be float, not {type(d).__name__}")
    return operator.index(n), float(d)


def _freqs(fname: str, steps: np.ndarray, n: int, d: float, out, dtype, device, layout,
           requires_grad) -> Tensor:
    """``steps / (n * d)`` computed as PyTorch does (an arange in the dtype times ``1/(n*d)``
    rounded to the dtype, multiplied in float for the half types), placed like any factory
    result."""
    from ..._creation import _finish
    from ..._factory_args import out_args, write_out

    dtype, device = out_args(f"fft_{fname}", dtype, device, out)
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if dt.is_complex:
        raise with_hint(NotImplementedError(f"\"arange_cpu\" not implemented for "
                                            f"'{_type_title(dt)}'"),
                        f"{fname} makes real frequencies; pass a float dtype")
    if not dt.is_floating_point:
        raise RuntimeError(f"{fname} requires a floating point or complex dtype")
    compute = np.float64 if dt is D.float64 else np.float32  # half types compute in float
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.asarray(np.float64(1.0) / np.float64(n * d)).astype(dt.np_dtype)
        scale = scale.astype(compute)
        vals = steps.astype(dt.np_dtype).astype(compute) * scale
    return write_out(_finish(vals.astype(dt.np_dtype), dt, device, requires_grad and out is None),
                     out, requires_grad)


def fftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """The sample frequencies of an ``n``-point FFT with sample spacing ``d``, in the order
    :func:`fft` returns them: ``[0, 1, ..., n//2 - 1 (or (n-1)//2), -(n//2), ..., -1] / (d*n)``.

    Example:
        >>> ember.fft.fftfreq(5)
        tensor([ 0.0000,  0.2000,  0.4000, -0.4000, -0.2000])
    """
    n, d = _freq_args("fftfreq", n, d)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    steps = np.arange(n, dtype=np.int64)
    steps[(n + 1) // 2:] -= n
    return _freqs("fftfreq", steps, n, d, out, dtype, device, layout, requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """The sample frequencies of :func:`rfft`'s output for an ``n``-point signal:
    ``[0, 1, ..., n//2] / (d*n)``.

    Example:
        >>> ember.fft.rfftfreq(5, 0.1)
        tensor([0., 2., 4.])
    """
    n, d = _freq_args("rfftfreq", n, d)
    length = int(n / 2) + 1  # C++'s n / 2 truncates toward zero
    if length < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {length}: "
                           f"[{length}]")
    return _freqs("rfftfreq", np.arange(length, dtype=np.int64), n, d, out, dtype, device,
                  layout, requires_grad)


def _shift(fname: str, input: Tensor, dim, inverse: bool) -> Tensor:
    require_tensor(input, f"fft_{fname}")
    ndim = input.ndim
    dims = list(range(ndim)) if dim is None else [_wrap(d, ndim) for d in
                                                  _int_list(fname, "dim", dim)]
    if not dims:
        raise RuntimeError(f"`shifts` required ({fname} of a 0-d tensor, or with dim=(), has "
                           "nothing to shift)")
    sizes = input.shape
    shifts = [(sizes[d] + 1) // 2 if inverse else sizes[d] // 2 for d in dims]
    return roll(input, shifts, dims)


def fftshift(input: Tensor, dim=None) -> Tensor:
    """Reorder :func:`fftn`'s output so that frequency zero sits in the middle of each of
    ``dim`` (every dim by default): a roll by ``size // 2``.

    Example:
        >>> ember.fft.fftshift(ember.fft.fftfreq(4))
        tensor([-0.5000, -0.2500,  0.0000,  0.2500])
    """
    return _shift("fftshift", input, dim, inverse=False)


def ifftshift(input: Tensor, dim=None) -> Tensor:
    """The inverse of :func:`fftshift` (a roll by ``(size + 1) // 2``; they differ for odd
    sizes).

    Example:
        >>> ember.fft.ifftshift(ember.fft.fftshift(ember.arange(5)))
        tensor([0, 1, 2, 3, 4])
    """
    return _shift("ifftshift", input, dim, inverse=True)


__all__ = ["fftfreq", "rfftfreq", "fftshift", "ifftshift"]
