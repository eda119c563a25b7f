"""PyTorch's ``torch.fft`` transforms: ``fft``/``ifft``, ``rfft``/``irfft``, ``hfft``/``ihfft``
and their ``2``/``n`` forms, composed from the primitives in ``dft`` the way PyTorch composes
them (ATen's ``SpectralOps.cpp``), so values, dtypes, gradients and errors follow it: integer
and bool inputs are promoted to the default float dtype, float32 gives complex64, float64
complex128, and half precision is refused as on PyTorch's CPU.
"""

from __future__ import annotations

import operator

from ... import _autocast
from ... import _dtype as D
from ..._errors import with_hint
from ..._tensor import Tensor
from .._dispatch import finish_out, require_tensor
from ..inplace import _type_title
from ..pointwise.complex import conj
from .dft import (
    NORM_BY_N,
    NORM_BY_ROOT_N,
    NORM_NONE,
    fft_c2c,
    fft_c2r,
    fft_r2c,
    fft_resize,
)

# -- argument handling ----------------------------------------------------------------------


def _norm_mode(norm, forward: bool) -> int:
    """PyTorch's ``norm_from_string``: the scale a transform of this direction gets."""
    if norm is None or norm == "backward":
        return NORM_NONE if forward else NORM_BY_N
    if norm == "forward":
        return NORM_BY_N if forward else NORM_NONE
    if norm == "ortho":
        return NORM_BY_ROOT_N
    raise with_hint(RuntimeError(f'Invalid normalization mode: "{norm}"'),
                    'use "backward", "forward" or "ortho"')


def _int_arg(fname: str, name: str, value) -> int:
    if isinstance(value, bool):
        raise TypeError(f"fft_{fname}(): argument '{name}' must be int, not bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"fft_{fname}(): argument '{name}' must be int, not "
                        f"{type(value).__name__}") from None


def _int_list(fname: str, name: str, value) -> tuple | None:
    """``s``/``dim`` of the n-dimensional transforms: None, an int, or a sequence of ints."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)) or (isinstance(value, Tensor) and value.ndim == 1):
        items = list(value)
    else:
        items = [value]
    out = []
    for v in items:
        if isinstance(v, bool):
            raise TypeError(f"fft_{fname}(): argument '{name}' must be tuple of ints, not "
                            f"{type(value).__name__}")
        try:
            out.append(operator.index(v))
        except TypeError:
            raise TypeError(f"fft_{fname}(): argument '{name}' must be tuple of ints, not "
                            f"{type(value).__name__}") from None
    return tuple(out)


def _check_norm_type(fname: str, norm) -> None:
    if norm is not None and not isinstance(norm, str):
        raise TypeError(f"fft_{fname}(): argument 'norm' must be str, not {type(norm).__name__}")


def _wrap(dim: int, ndim: int) -> int:
    """PyTorch's ``maybe_wrap_dim`` without wrapping scalars: a 0-d tensor has no dims."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got {dim})")
    return dim % ndim


def _promote(x: Tensor) -> Tensor:
    """PyTorch's ``promote_tensor_fft`` (the complex half is left to the ops): integers and
    bool take the default float dtype; half precision has no CPU kernel."""
    if x._dtype.is_complex:
        return x
    if not x._dtype.is_floating_point:
        x = x.to(D.get_default_dtype())
    if x._dtype not in (D.float32, D.float64):
        raise with_hint(RuntimeError(f"Unsupported dtype {_type_title(x._dtype)}"),
                        "FFTs on the CPU take float32 or float64 (as in PyTorch); convert with "
                        ".float() first")
    return x


def _check_real_input(fname: str, x: Tensor, what: str = "a real input tensor") -> None:
    if x._dtype.is_complex:
        raise RuntimeError(f"{fname} expects {what}, but got {_type_title(x._dtype)}")


def _check_out(fname: str, out, complex_out: bool) -> None:
    if out is None or not isinstance(out, Tensor):
        return
    if complex_out and not out._dtype.is_complex:
        raise RuntimeError(f"{fname} expects a complex output tensor, but got "
                           f"{_type_title(out._dtype)}")
    if not complex_out and not out._dtype.is_floating_point:
        raise RuntimeError(f"{fname} expects a floating point output tensor, but got "
                           f"{_type_title(out._dtype)}")


def _signal_size(n: int) -> int:
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return n


def _shape_and_dims(x: Tensor, s, dim) -> tuple[list, list]:
    """PyTorch's ``canonicalize_fft_shape_and_dim_args``: the signal sizes and the dims."""
    ndim = x.ndim
    dims = None
    if dim is not None:
        dims = [_wrap(d, ndim) for d in dim]
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        if dims is not None and len(dims) != len(s):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(s) > ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has "
                               f"{ndim} dimensions.")
        if dims is None:
            dims = list(range(ndim - len(s), ndim))
        shape = [x.shape[d] if n == -1 else n for n, d in zip(s, dims)]
    elif dims is None:
        dims = list(range(ndim))
        shape = list(x.shape)
    else:
        shape = [x.shape[d] for d in dims]
    for n in shape:
        _signal_size(n)
    return shape, dims


def _c2r_shape_and_dims(fname: str, x: Tensor, s, dim) -> tuple[list, list, int]:
    """The c2r form: also the output length of the last dim (default ``2 * (m - 1)``), with
    the last signal size set to the one-sided input length it needs."""
    shape, dims = _shape_and_dims(x, s, dim)
    if not shape:
        raise RuntimeError(f"{fname} must transform at least one axis")
    last = 2 * (x.shape[dims[-1]] - 1) if s is None or s[-1] == -1 else shape[-1]
    _signal_size(last)
    shape[-1] = last // 2 + 1
    return shape, dims, last


def _start(fname: str, input, norm) -> Tensor:
    require_tensor(input, f"fft_{fname}")
    _check_norm_type(fname, norm)
    return input


# -- one-dimensional transforms -------------------------------------------------------------


def _c2c_1d(fname, input, n, dim, norm, forward, out):
    """``fft``/``ifft``: complex input through c2c, real input through a two-sided r2c."""
    x = _start(fname, input, norm)
    _check_out(fname, out, True)
    x = _promote(x)
    d = _wrap(_int_arg(fname, "dim", dim), x.ndim)
    if n is not None:
        x = fft_resize(x, (d,), (_signal_size(_int_arg(fname, "n", n)),))
    _signal_size(x.shape[d])
    mode = _norm_mode(norm, forward)
    if x._dtype.is_complex:
        y = fft_c2c(x, (d,), mode, forward)
    else:
        y = fft_r2c(x, (d,), mode, onesided=False)
        if not forward:
            y = conj(y)
    return finish_out(y, out, fname, input)


def _r2c_1d(fname, input, n, dim, norm, forward, out):
    """``rfft``/``ihfft``: a one-sided r2c (``ihfft`` conjugates the inverse's result)."""
    x = _start(fname, input, norm)
    _check_real_input(fname, x)
    _check_out(fname, out, True)
    x = _promote(x)
    d = _wrap(_int_arg(fname, "dim", dim), x.ndim)
    if n is not None:
        x = fft_resize(x, (d,), (_signal_size(_int_arg(fname, "n", n)),))
    _signal_size(x.shape[d])
    y = fft_r2c(x, (d,), _norm_mode(norm, forward), onesided=True)
    return finish_out(y if forward else conj(y), out, fname, input)


def _c2r_1d(fname, input, n, dim, norm, forward, out):
    """``irfft``/``hfft``: the one-sided input (cropped or padded to ``n//2 + 1``) through c2r;
    ``hfft`` conjugates it first."""
    x = _start(fname, input, norm)
    _check_out(fname, out, False)
    x = _promote(x)
    d = _wrap(_int_arg(fname, "dim", dim), x.ndim)
    last = _signal_size(2 * (x.shape[d] - 1) if n is None else _int_arg(fname, "n", n))
    if n is not None:
        x = fft_resize(x, (d,), (last // 2 + 1,))
    mode = _norm_mode(norm, forward)
    if forward:
        x = conj(x)
    return finish_out(fft_c2r(x, (d,), mode, last), out, fname, input)


@_autocast.hooked("fft_fft")
def fft(input: Tensor, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:
    """The one-dimensional discrete Fourier transform of ``input`` along ``dim``.

    ``n`` crops or zero-pads the signal first; ``norm`` is ``"backward"`` (no scaling, the
    default), ``"ortho"`` (``1/sqrt(n)``) or ``"forward"`` (``1/n``).

    Example:
        >>> ember.fft.fft(ember.tensor([1., 2., 3., 4.]))
        tensor([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
    """
    return _c2c_1d("fft", input, n, dim, norm, True, out)


@_autocast.hooked("fft_ifft")
def ifft(input: Tensor, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:
    """The inverse of :func:`fft` (scaled by ``1/n`` with the default ``norm="backward"``).

    Example:
        >>> ember.fft.ifft(ember.fft.fft(ember.tensor([1., 2., 3.]))).real
        tensor([1., 2., 3.])
    """
    return _c2c_1d("ifft", input, n, dim, norm, False, out)


@_autocast.hooked("fft_rfft")
def rfft(input: Tensor, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:
    """The FFT of a real signal, one-sided: the ``n//2 + 1`` non-negative frequencies.

    Example:
        >>> ember.fft.rfft(ember.tensor([1., 2., 3., 4.]))
        tensor([10.+0.j, -2.+2.j, -2.+0.j])
    """
    return _r2c_1d("rfft", input, n, dim, norm, True, out)


@_autocast.hooked("fft_irfft")
def irfft(input: Tensor, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:
    """The inverse of :func:`rfft`: a real signal of length ``n`` (default ``2 * (m - 1)``
    for ``m`` input frequencies; pass ``n`` to get odd lengths back).

    Example:
        >>> ember.fft.irfft(ember.fft.rfft(ember.tensor([1., 2., 3.])), n=3)
        tensor([1., 2., 3.])
    """
    return _c2r_1d("irfft", input, n, dim, norm, False, out)


@_autocast.hooked("fft_hfft")
def hfft(input: Tensor, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:
    """The FFT of a Hermitian-symmetric signal given by its first half: a real result of
    length ``n`` (default ``2 * (m - 1)``).

    Example:
        >>> ember.fft.hfft(ember.tensor([1., 2., 3.]))
        tensor([ 8., -2.,  0., -2.])
    """
    return _c2r_1d("hfft", input, n, dim, norm, True, out)


@_autocast.hooked("fft_ihfft")
def ihfft(input: Tensor, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:
    """The inverse of :func:`hfft`: the one-sided half of the inverse FFT of a real signal.

    Example:
        >>> ember.fft.ihfft(ember.tensor([8., -2., 0., -2.]))
        tensor([1.-0.j, 2.-0.j, 3.-0.j])
    """
    return _r2c_1d("ihfft", input, n, dim, norm, False, out)


# -- n-dimensional transforms ---------------------------------------------------------------


def _nd_args(fname, input, s, dim, norm):
    x = _start(fname, input, norm)
    return x, _int_list(fname, "s", s), _int_list(fname, "dim", dim)


def _c2c_nd(fname, input, s, dim, norm, forward, out):
    x, s, dim = _nd_args(fname, input, s, dim, norm)
    shape, dims = _shape_and_dims(x, s, dim)
    _check_out(fname, out, True)
    x = fft_resize(_promote(x), dims, shape)
    y = fft_c2c(x, dims, _norm_mode(norm, forward), forward)
    return finish_out(y, out, fname, input)


def _rfftn(fname, input, s, dim, norm, out):
    x, s, dim = _nd_args(fname, input, s, dim, norm)
    _check_real_input("rfftn", x, "a real-valued input tensor")
    shape, dims = _shape_and_dims(x, s, dim)
    if not shape:
        raise RuntimeError("rfftn must transform at least one axis")
    _check_out(fname, out, True)
    x = fft_resize(_promote(x), dims, shape)
    y = fft_r2c(x, dims, _norm_mode(norm, True), onesided=True)
    return finish_out(y, out, fname, input)


def _irfftn(fname, input, s, dim, norm, out):
    x, s, dim = _nd_args(fname, input, s, dim, norm)
    shape, dims, last = _c2r_shape_and_dims("irfftn", x, s, dim)
    _check_out(fname, out, False)
    x = fft_resize(_promote(x), dims, shape)
    y = fft_c2r(x, dims, _norm_mode(norm, False), last)
    return finish_out(y, out, fname, input)


def _hfftn(fname, input, s, dim, norm, out):
    """c2c over all but the last dim, then the conjugated half through c2r (as PyTorch)."""
    x, s, dim = _nd_args(fname, input, s, dim, norm)
    shape, dims, last = _c2r_shape_and_dims("hfftn", x, s, dim)
    _check_out(fname, out, False)
    x = fft_resize(_promote(x), dims, shape)
    mode = _norm_mode(norm, True)
    if len(dims) > 1:
        x = fft_c2c(x, dims[:-1], mode, True)
    y = fft_c2r(conj(x), dims[-1:], mode, last)
    return finish_out(y, out, fname, input)


def _ihfftn(fname, input, s, dim, norm, out):
    """A one-sided r2c over the last dim, conjugated, then inverse c2c over the others."""
    x, s, dim = _nd_args(fname, input, s, dim, norm)
    if x._dtype.is_complex:
        raise with_hint(RuntimeError("Only supports floating-point dtypes, but found: "
                                     f"{_type_title(x._dtype)}"),
                        f"{fname} takes a real input; use ifftn for complex input")
    shape, dims = _shape_and_dims(x, s, dim)
    if not shape:
        raise RuntimeError("ihfftn must transform at least one axis")
    _check_out(fname, out, True)
    x = fft_resize(_promote(x), dims, shape)
    mode = _norm_mode(norm, False)
    y = conj(fft_r2c(x, dims[-1:], mode, onesided=True))
    if len(dims) > 1:
        y = fft_c2c(y, dims[:-1], mode, False)
    return finish_out(y, out, fname, input)


@_autocast.hooked("fft_fft2")
def fft2(input: Tensor, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    """The two-dimensional FFT over ``dim`` (the last two by default); ``s`` crops or pads.

    Example:
        >>> ember.fft.fft2(ember.ones(2, 2))
        tensor([[4.+0.j, 0.+0.j],
                [0.+0.j, 0.+0.j]])
    """
    return _c2c_nd("fft2", input, s, dim, norm, True, out)


@_autocast.hooked("fft_ifft2")
def ifft2(input: Tensor, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    """The inverse of :func:`fft2`.

    Example:
        >>> ember.fft.ifft2(ember.fft.fft2(ember.eye(2))).real
        tensor([[1., 0.],
                [0., 1.]])
    """
    return _c2c_nd("ifft2", input, s, dim, norm, False, out)


@_autocast.hooked("fft_fftn")
def fftn(input: Tensor, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """The N-dimensional FFT over ``dim`` (every dim by default, or the last ``len(s)``).

    Example:
        >>> ember.fft.fftn(ember.ones(2, 2, 2))[0, 0, 0]
        tensor(8.+0.j)
    """
    return _c2c_nd("fftn", input, s, dim, norm, True, out)


@_autocast.hooked("fft_ifftn")
def ifftn(input: Tensor, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """The inverse of :func:`fftn`.

    Example:
        >>> ember.fft.ifftn(ember.fft.fftn(ember.ones(2, 2))).real
        tensor([[1., 1.],
                [1., 1.]])
    """
    return _c2c_nd("ifftn", input, s, dim, norm, False, out)


@_autocast.hooked("fft_rfft2")
def rfft2(input: Tensor, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    """The two-dimensional FFT of a real input, one-sided in the last of ``dim``.

    Example:
        >>> ember.fft.rfft2(ember.ones(2, 4)).shape
        torch.Size([2, 3])
    """
    return _rfftn("rfft2", input, s, dim, norm, out)


@_autocast.hooked("fft_irfft2")
def irfft2(input: Tensor, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    """The inverse of :func:`rfft2` (pass ``s`` to get odd lengths back).

    Example:
        >>> ember.fft.irfft2(ember.fft.rfft2(ember.ones(2, 3)), s=(2, 3))
        tensor([[1., 1., 1.],
                [1., 1., 1.]])
    """
    return _irfftn("irfft2", input, s, dim, norm, out)


@_autocast.hooked("fft_rfftn")
def rfftn(input: Tensor, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """The N-dimensional FFT of a real input, one-sided in the last of ``dim``.

    Example:
        >>> ember.fft.rfftn(ember.ones(2, 2, 4)).shape
        torch.Size([2, 2, 3])
    """
    return _rfftn("rfftn", input, s, dim, norm, out)


@_autocast.hooked("fft_irfftn")
def irfftn(input: Tensor, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """The inverse of :func:`rfftn` (pass ``s`` to get an odd last length back).

    Example:
        >>> ember.fft.irfftn(ember.fft.rfftn(ember.ones(2, 2)), s=(2, 2))
        tensor([[1., 1.],
                [1., 1.]])
    """
    return _irfftn("irfftn", input, s, dim, norm, out)


def hfft2(input: Tensor, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    """The two-dimensional :func:`hfft`: a real result from a half-Hermitian input.

    Example:
        >>> ember.fft.hfft2(ember.ones(2, 3)).shape
        torch.Size([2, 4])
    """
    return _hfftn("hfft2", input, s, dim, norm, out)


def ihfft2(input: Tensor, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    """The inverse of :func:`hfft2`, one-sided in the last of ``dim``.

    Example:
        >>> ember.fft.ihfft2(ember.ones(2, 4)).shape
        torch.Size([2, 3])
    """
    return _ihfftn("ihfft2", input, s, dim, norm, out)


def hfftn(input: Tensor, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """The N-dimensional :func:`hfft`.

    Example:
        >>> ember.fft.hfftn(ember.ones(2, 3)).shape
        torch.Size([2, 4])
    """
    return _hfftn("hfftn", input, s, dim, norm, out)


def ihfftn(input: Tensor, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """The inverse of :func:`hfftn`, one-sided in the last of ``dim``.

    Example:
        >>> ember.fft.ihfftn(ember.ones(2, 4)).shape
        torch.Size([2, 3])
    """
    return _ihfftn("ihfftn", input, s, dim, norm, out)


__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn"]
