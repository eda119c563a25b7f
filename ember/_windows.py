"""Window functions for spectral analysis: ``hann_window``, ``hamming_window``,
``blackman_window``, ``bartlett_window``, ``kaiser_window`` (creation functions, as PyTorch's).

Each follows ATen's recipe step by step in the result's precision (float32 windows are
computed in float32, as PyTorch does), so values agree with PyTorch's to the last bit or two.
``periodic=True`` (the default, for use with ``stft``) computes a symmetric window one longer
and drops its last point. ``ember.signal.windows`` has the SciPy-style windows.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from . import _dtype as D
from ._creation import _finish
from ._errors import with_hint
from ._tensor import Tensor

__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]


_UNSET = object()  # an argument the caller left out (PyTorch's overloads tell it apart)

_OVERLOAD_TAIL = ("*, torch.dtype dtype = None, torch.layout layout = None, torch.device device "
                  "= None, bool pin_memory = False, bool requires_grad = False)")


def _overload_error(name: str, positional: tuple, keywords: dict, extras: tuple) -> TypeError:
    """PyTorch's TypeError for a call that fits none of a window's overloads, e.g.
    ``kaiser_window(16, beta=8.0)``: ``beta`` exists only in the overload that also takes
    ``periodic``, so it cannot be given without it."""
    got = [type(v).__name__ for v in positional]
    got += [f"{k}={type(v).__name__}" for k, v in keywords.items() if v is not _UNSET]
    lines = [f"{name}() received an invalid combination of arguments - got ({', '.join(got)}), "
             "but expected one of:",
             f" * (int window_length, {_OVERLOAD_TAIL}",
             f" * (int window_length, bool periodic, {_OVERLOAD_TAIL}"]
    for i in range(len(extras)):
        more = ", ".join(f"float {e}" for e in extras[:i + 1])
        lines.append(f" * (int window_length, bool periodic, {more}, {_OVERLOAD_TAIL}")
    return TypeError("\n".join(lines) + "\n")


def _check(name: str, window_length, periodic, dtype, layout):
    """PyTorch's argument checks; returns the result dtype and the NumPy working dtype."""
    if isinstance(window_length, builtins.bool) or not isinstance(window_length,
                                                                  (int, np.integer)):
        raise TypeError(f"{name}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(window_length).__name__}")
    if not isinstance(periodic, (builtins.bool, np.bool_)):
        raise TypeError(f"{name}(): argument 'periodic' (position 2) must be bool, not "
                        f"{type(periodic).__name__}")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={window_length}")
    if layout is not None:
        from ._layout import strided

        if layout is not strided:
            raise RuntimeError(f"{name} is not implemented for sparse types, got: layout="
                               f"{layout}; use the default (strided) layout")
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if dt.is_complex:
        from ._ops.inplace import _type_title

        raise with_hint(NotImplementedError(f"\"arange_cpu\" not implemented for "
                                            f"'{_type_title(dt)}'"),
                        "window functions are real: pass a floating point dtype")
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    # float16/bfloat16 windows are computed in float32 and rounded once
    work = np.float64 if dt is D.float64 else np.float32
    return dt, work


def _window(name, window_length, periodic, dtype, layout, device, requires_grad, body):
    """The shared frame: checks, the 0- and 1-point windows, the periodic extension."""
    dt, work = _check(name, window_length, periodic, dtype, layout)
    if window_length <= 1:
        arr = np.ones(window_length, work)
    else:
        n = window_length + 1 if periodic else window_length
        arr = body(n, work)[:window_length]
    return _finish(arr.astype(dt.np_dtype, copy=False), dt, device, requires_grad)


def hamming_window(window_length: int, periodic: bool = _UNSET, alpha: float = _UNSET,
                   beta: float = _UNSET, *, dtype=None, layout=None, device=None,
                   pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Hamming window ``alpha - beta * cos(2 pi n / (N - 1))`` (``periodic=True``,
    ``alpha=0.54``, ``beta=0.46`` by default). As in PyTorch, ``alpha`` needs ``periodic`` and
    ``beta`` needs ``alpha`` (positionally or by name): ``hamming_window(8, alpha=0.5)`` raises
    TypeError.

    Example:
        >>> ember.hamming_window(4, periodic=False)
        tensor([0.0800, 0.7700, 0.7700, 0.0800])
    """
    if (alpha is not _UNSET and periodic is _UNSET) or (beta is not _UNSET and alpha is _UNSET):
        raise _overload_error("hamming_window", (window_length,),
                              {"periodic": periodic, "alpha": alpha, "beta": beta},
                              ("alpha", "beta"))
    periodic = True if periodic is _UNSET else periodic
    alpha = 0.54 if alpha is _UNSET else alpha
    beta = 0.46 if beta is _UNSET else beta

    def body(n, work):
        w = np.arange(n, dtype=work) * work(2 * math.pi / (n - 1))
        return np.cos(w) * work(-beta) + work(alpha)

    return _window("hamming_window", window_length, periodic, dtype, layout, device,
                   requires_grad, body)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                device=None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi n / (N - 1))`` (``N = window_length + 1`` when
    periodic), e.g. for ``ember.stft(x, n_fft, window=ember.hann_window(n_fft))``.

    Example:
        >>> ember.hann_window(4)
        tensor([0.0000, 0.5000, 1.0000, 0.5000])
    """
    _check("hann_window", window_length, periodic, dtype, layout)
    return hamming_window(window_length, periodic, 0.5, 0.5, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, pin_memory: bool = False,
                    requires_grad: bool = False) -> Tensor:
    """The Blackman window ``0.42 - 0.5 cos(2 pi n / (N-1)) + 0.08 cos(4 pi n / (N-1))``.

    Example:
        >>> ember.blackman_window(3, periodic=False, dtype=ember.float64)
        tensor([0., 1., 0.], dtype=torch.float64)
    """
    def body(n, work):
        w = np.arange(n, dtype=work) * work(math.pi / (n - 1))
        return (np.cos(w * work(4)) * work(0.08) - np.cos(w * work(2)) * work(0.5)) + work(0.42)

    return _window("blackman_window", window_length, periodic, dtype, layout, device,
                   requires_grad, body)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, pin_memory: bool = False,
                    requires_grad: bool = False) -> Tensor:
    """The Bartlett (triangular) window ``1 - |2n / (N - 1) - 1|``.

    Example:
        >>> ember.bartlett_window(5, periodic=False)
        tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
    """
    def body(n, work):
        w = np.arange(n, dtype=work) * work(2.0 / (n - 1))
        half = ((n - 1) >> 1) + 1
        w[half:] = work(2) - w[half:]
        return w

    return _window("bartlett_window", window_length, periodic, dtype, layout, device,
                   requires_grad, body)


def kaiser_window(window_length: int, periodic: bool = _UNSET, beta: float = _UNSET, *,
                  dtype=None, layout=None, device=None, pin_memory: bool = False,
                  requires_grad: bool = False) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - ((n - N/2) / (N/2))^2)) / I0(beta)``
    (``periodic=True``, ``beta=12.0`` by default). As in PyTorch, ``beta`` needs ``periodic``:
    ``kaiser_window(16, beta=8.0)`` raises TypeError, ``kaiser_window(16, True, 8.0)`` works.

    Example:
        >>> ember.kaiser_window(3, periodic=False, beta=0.0)
        tensor([1., 1., 1.])
    """
    if beta is not _UNSET and periodic is _UNSET:
        raise _overload_error("kaiser_window", (window_length,),
                              {"periodic": periodic, "beta": beta}, ("beta",))
    periodic = True if periodic is _UNSET else periodic
    beta = 12.0 if beta is _UNSET else beta

    def body(n, work):
        # NumPy's i0 works in float64; the result is rounded to the window's dtype once
        alpha = (n - 1) / 2.0
        a = np.arange(n, dtype=np.float64)
        return np.i0(beta * np.sqrt(np.abs(1 - ((a - alpha) / alpha) ** 2))) / np.i0(beta)

    return _window("kaiser_window", window_length, periodic, dtype, layout, device,
                   requires_grad, body)
