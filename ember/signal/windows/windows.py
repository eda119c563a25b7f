"""The window functions of ``torch.signal.windows``, built as PyTorch builds them: a
``linspace`` over the window's argument, then ember ops (so ``requires_grad=True`` gives a
result with a ``grad_fn``, as in PyTorch).

Every window takes ``M`` (its length) and the keywords ``sym`` (True: symmetric, for filter
design; False: periodic, for spectral analysis), ``dtype`` (float32 or float64; None is the
default dtype), ``layout`` (strided only), ``device`` and ``requires_grad``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import ember

from ... import _dtype as D
from ..._layout import strided
from ..._tensor import Tensor

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall"]


def _window_function_checks(function_name: str, M: int, dtype, layout) -> None:
    if M < 0:
        raise ValueError(f"{function_name} requires non-negative window length, got M={M}")
    if layout is not strided:
        raise ValueError(f"{function_name} is implemented for strided tensors only, got: "
                         f"{layout}")
    if dtype not in (D.float32, D.float64):
        raise ValueError(f"{function_name} expects float32 or float64 dtypes, got: {dtype}")


def _empty(dtype, layout, device, requires_grad) -> Tensor:
    return ember.empty((0,), dtype=dtype, layout=layout, device=device,
                       requires_grad=requires_grad)


def _ones(dtype, layout, device, requires_grad) -> Tensor:
    return ember.ones((1,), dtype=dtype, layout=layout, device=device,
                      requires_grad=requires_grad)


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True,
                dtype=None, layout=strided, device=None, requires_grad: bool = False) -> Tensor:
    """The exponential (Poisson) window ``exp(-|n - center| / tau)``.

    Example:
        >>> ember.signal.windows.exponential(3)
        tensor([0.3679, 1.0000, 0.3679])
    """
    if dtype is None:
        dtype = ember.get_default_dtype()
    _window_function_checks("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if M == 0:
        return _empty(dtype, layout, device, requires_grad)
    if center is None:
        center = (M if not sym and M > 1 else M - 1) / 2.0
    constant = 1 / tau
    k = ember.linspace(start=-center * constant, end=(-center + (M - 1)) * constant, steps=M,
                       dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)
    return ember.exp(-ember.abs(k))


def cosine(M: int, *, sym: bool = True, dtype=None, layout=strided, device=None,
           requires_grad: bool = False) -> Tensor:
    """The cosine (sine) window ``sin(pi (n + 0.5) / M)``.

    Example:
        >>> ember.signal.windows.cosine(3)
        tensor([0.5000, 1.0000, 0.5000])
    """
    if dtype is None:
        dtype = ember.get_default_dtype()
    _window_function_checks("cosine", M, dtype, layout)
    if M == 0:
        return _empty(dtype, layout, device, requires_grad)
    start = 0.5
    constant = math.pi / (M + 1 if not sym and M > 1 else M)
    k = ember.linspace(start=start * constant, end=(start + (M - 1)) * constant, steps=M,
                       dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)
    return ember.sin(k)


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype=None, layout=strided,
             device=None, requires_grad: bool = False) -> Tensor:
    """The Gaussian window ``exp(-(n - (M-1)/2)^2 / (2 std^2))``.

    Example:
        >>> ember.signal.windows.gaussian(3)
        tensor([0.6065, 1.0000, 0.6065])
    """
    if dtype is None:
        dtype = ember.get_default_dtype()
    _window_function_checks("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    if M == 0:
        return _empty(dtype, layout, device, requires_grad)
    start = -(M if not sym and M > 1 else M - 1) / 2.0
    constant = 1 / (std * math.sqrt(2))
    k = ember.linspace(start=start * constant, end=(start + (M - 1)) * constant, steps=M,
                       dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)
    return ember.exp(-(k ** 2))


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype=None, layout=strided,
           device=None, requires_grad: bool = False) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - (2n/(M-1) - 1)^2)) / I0(beta)``.

    Example:
        >>> ember.signal.windows.kaiser(3, beta=0.0)
        tensor([1., 1., 1.])
    """
    if dtype is None:
        dtype = ember.get_default_dtype()
    _window_function_checks("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    if M == 0:
        return _empty(dtype, layout, device, requires_grad)
    if M == 1:
        return _ones(dtype, layout, device, requires_grad)
    # beta as a tensor of the window's dtype keeps sqrt's argument from going negative
    beta = ember.tensor(beta, dtype=dtype, device=device)
    start = -beta
    constant = 2.0 * beta / (M if not sym else M - 1)
    end = ember.minimum(beta, start + (M - 1) * constant)
    k = ember.linspace(start=start, end=end, steps=M, dtype=dtype, layout=layout, device=device,
                       requires_grad=requires_grad)
    return ember.i0(ember.sqrt(beta * beta - ember.pow(k, 2))) / ember.i0(beta)


def hamming(M: int, *, sym: bool = True, dtype=None, layout=strided, device=None,
            requires_grad: bool = False) -> Tensor:
    """The Hamming window, ``general_hamming`` with ``alpha=0.54``.

    Example:
        >>> ember.signal.windows.hamming(3)
        tensor([0.0800, 1.0000, 0.0800])
    """
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def hann(M: int, *, sym: bool = True, dtype=None, layout=strided, device=None,
         requires_grad: bool = False) -> Tensor:
    """The Hann window, ``general_hamming`` with ``alpha=0.5``.

    Example:
        >>> ember.signal.windows.hann(5)
        tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
    """
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype=None, layout=strided, device=None,
             requires_grad: bool = False) -> Tensor:
    """The Blackman window, ``general_cosine`` with ``a=[0.42, 0.5, 0.08]``.

    Example:
        >>> ember.signal.windows.blackman(3)
        tensor([-1.4901e-08,  1.0000e+00, -1.4901e-08])
    """
    if dtype is None:
        dtype = ember.get_default_dtype()
    _window_function_checks("blackman", M, dtype, layout)
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype=None, layout=strided, device=None,
             requires_grad: bool = False) -> Tensor:
    """The Bartlett (triangular) window ``1 - |2n / (M - 1) - 1|``.

    Example:
        >>> ember.signal.windows.bartlett(5)
        tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
    """
    if dtype is None:
        dtype = ember.get_default_dtype()
    _window_function_checks("bartlett", M, dtype, layout)
    if M == 0:
        return _empty(dtype, layout, device, requires_grad)
    if M == 1:
        return _ones(dtype, layout, device, requires_grad)
    start = -1
    constant = 2 / (M if not sym else M - 1)
    k = ember.linspace(start=start, end=start + (M - 1) * constant, steps=M, dtype=dtype,
                       layout=layout, device=device, requires_grad=requires_grad)
    return 1 - ember.abs(k)


def general_cosine(M, *, a: Iterable, sym: bool = True, dtype=None, layout=strided,
                   device=None, requires_grad: bool = False) -> Tensor:
    """The generalized cosine window ``sum_i (-1)^i a_i cos(2 pi i n / (M - 1))``.

    Example:
        >>> ember.signal.windows.general_cosine(3, a=[0.46, 0.23, 0.31])
        tensor([0.5400, 1.0000, 0.5400])
    """
    if dtype is None:
        dtype = ember.get_default_dtype()
    _window_function_checks("general_cosine", M, dtype, layout)
    if M == 0:
        return _empty(dtype, layout, device, requires_grad)
    if M == 1:
        return _ones(dtype, layout, device, requires_grad)
    if not isinstance(a, Iterable):
        raise TypeError("Coefficients must be a list/tuple")
    if not a:
        raise ValueError("Coefficients cannot be empty")
    constant = 2 * math.pi / (M if not sym else M - 1)
    k = ember.linspace(start=0, end=(M - 1) * constant, steps=M, dtype=dtype, layout=layout,
                       device=device, requires_grad=requires_grad)
    a_i = ember.tensor([(-1) ** i * w for i, w in enumerate(a)], device=device, dtype=dtype,
                       requires_grad=requires_grad)
    i = ember.arange(a_i.shape[0], dtype=a_i.dtype, device=a_i.device,
                     requires_grad=a_i.requires_grad)
    return (a_i.unsqueeze(-1) * ember.cos(i.unsqueeze(-1) * k)).sum(0)


def general_hamming(M, *, alpha: float = 0.54, sym: bool = True, dtype=None, layout=strided,
                    device=None, requires_grad: bool = False) -> Tensor:
    """The generalized Hamming window ``alpha - (1 - alpha) cos(2 pi n / (M - 1))``.

    Example:
        >>> ember.signal.windows.general_hamming(3, alpha=0.8)
        tensor([0.6000, 1.0000, 0.6000])
    """
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def nuttall(M: int, *, sym: bool = True, dtype=None, layout=strided, device=None,
            requires_grad: bool = False) -> Tensor:
    """The minimum 4-term Blackman-Harris window of Nuttall.

    Example:
        >>> ember.signal.windows.nuttall(3)
        tensor([3.6280e-04, 1.0000e+00, 3.6280e-04])
    """
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym,
                          dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)
