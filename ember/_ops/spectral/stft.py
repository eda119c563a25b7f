"""The short-time Fourier transform ``stft`` and its inverse ``istft``, as PyTorch computes
them: frames ``hop_length`` apart (a strided view), times the window, through an r2c/c2c
transform; the inverse transforms each frame back, multiplies by the window again and
overlap-adds, dividing by the overlap-added squared window. Overlap-add is an op here (its
adjoint is ``unfold``); everything else is composed of differentiable ops.
"""

from __future__ import annotations

import warnings

from ... import _autocast
from ... import _dtype as D
from ..._backend import MetaArray, meta_array
from ..._backend import get_array_module as xp_of
from ..._errors import with_hint
from ..._tensor import Tensor
from .._core import Op
from .._dispatch import require_tensor
from ..inplace import _type_title
from ..shape.copies import pad as pad_op
from ..shape.joining import cat
from .dft import NORM_BY_N, NORM_BY_ROOT_N, NORM_NONE, fft_c2c, fft_c2r, fft_r2c


class OverlapAdd(Op):
    """Sum frames ``(B, F, n)`` placed ``hop`` apart into signals ``(B, n + hop * (F - 1))``:
    the adjoint of ``unfold(-1, n, hop)`` (ATen's ``unfold_backward``)."""

    @staticmethod
    def forward(ctx, frames, hop):
        ctx.hop = hop
        b, f, n = frames.shape
        ctx.n = n
        length = n + hop * (f - 1)
        if isinstance(frames, MetaArray):
            return meta_array((b, length), frames.dtype)
        xp = xp_of(frames)
        r = -(-n // hop)  # each frame spans r blocks of hop samples (the last one zero-padded)
        blocks = xp.zeros((b, f, r * hop), frames.dtype)
        blocks[..., :n] = frames
        blocks = blocks.reshape(b, f, r, hop)
        out = xp.zeros((b, (f - 1 + r) * hop), frames.dtype)
        for j in range(r):  # block j of frame k lands at (k + j) * hop
            out[:, j * hop:(j + f) * hop] += blocks[:, :, j, :].reshape(b, f * hop)
        return out[:, :length]

    @staticmethod
    def backward(ctx, grad):
        return grad.unfold(-1, ctx.n, ctx.hop)


def _pad_signal(x: Tensor, pad: int, mode: str) -> Tensor:
    """``F.pad(x, [pad, pad], mode)`` along the last dim, from shape ops (``nn`` sits above
    this family)."""
    n = x.shape[-1]
    if mode == "constant":
        z = x.new_zeros(x.shape[:-1] + (pad,))
        return cat([z, x, z], -1)
    if mode == "reflect":
        if pad >= n:
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({pad}, {pad})"
                               f" at dimension {x.ndim - 1} of input {list(x.shape)} (a smaller "
                               "n_fft, or pad_mode='constant', pads shorter signals)")
        return _pad_like_torch(x, pad, mode)
    if mode == "replicate":
        return _pad_like_torch(x, pad, mode)
    if mode == "circular":
        if pad > n:
            raise RuntimeError(f"Padding value causes wrapping around more than once (pad "
                               f"{pad} > signal length {n}); use a smaller n_fft")
        return cat([x[..., n - pad:], x, x[..., :pad]], -1)
    raise NotImplementedError(f"Unrecognised padding mode {mode} (use 'constant', 'reflect', "
                              "'replicate' or 'circular')")


def _pad_like_torch(x: Tensor, pad: int, mode: str) -> Tensor:
    """Reflect/replicate padding as PyTorch's ``stft`` does it: ``F.pad`` of the signal viewed
    as 3-D. Its node ties the gradient to the signal (``zeros_like(self)`` in PyTorch's
    formula), so a gradient taken with ``create_graph=True`` stays on the graph even where the
    loss is linear in the signal, and a second ``autograd.grad`` gives zeros, not an error."""
    return pad_op(x.reshape((1,) * (3 - x.ndim) + tuple(x.shape)), (pad, pad),
                  mode).reshape(x.shape[:-1] + (x.shape[-1] + 2 * pad,))


def _window_of(window, n_fft: int, win_length: int, fname: str, like: Tensor):
    """The window padded with zeros on both sides to ``n_fft`` (None: no multiplication)."""
    if window is not None and (window.ndim != 1 or window.shape[0] != win_length):
        raise RuntimeError(f"{fname}: expected a 1D window tensor of size equal to win_length="
                           f"{win_length}, but got window with size {list(window.shape)}")
    if win_length == n_fft:
        return window
    left = (n_fft - win_length) // 2
    dt = window._dtype if window is not None else like._dtype.to_real()
    core = window if window is not None else like.new_ones((win_length,), dtype=dt)
    zl = core.new_zeros((left,))
    zr = core.new_zeros((n_fft - win_length - left,))
    return cat([zl, core, zr])


@_autocast.hooked("stft")
def stft(input: Tensor, n_fft: int, hop_length: int | None = None,
         win_length: int | None = None, window: Tensor | None = None, center: bool = True,
         pad_mode: str = "reflect", normalized: bool = False, onesided: bool | None = None,
         return_complex: bool | None = None, align_to_window: bool | None = None) -> Tensor:
    """The short-time Fourier transform: the FFT of each window-weighted frame of ``n_fft``
    samples, ``hop_length`` apart (default ``n_fft // 4``); ``(freq, frames)`` per signal.

    ``center`` pads ``n_fft // 2`` samples on both sides (``pad_mode``) so frame ``t`` is
    centred on sample ``t * hop_length``. Real inputs need ``return_complex`` (True).

    Example:
        >>> x = ember.sin(ember.arange(64.) * 0.8)
        >>> ember.stft(x, 16, window=ember.ones(16), return_complex=True).shape
        torch.Size([9, 17])
    """
    require_tensor(input, "stft")
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    n_fft = int(n_fft)
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    win_length = n_fft if win_length is None else int(win_length)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, but got {input.ndim}D "
                           "(flatten the leading dims into one batch dim first)")
    if window is None:  # torch warns before it checks return_complex
        warnings.warn("A window was not provided. A rectangular window will be applied,which "
                      "is known to cause spectral leakage. Other windows such as "
                      "torch.hann_window or torch.hamming_window are recommended to reduce "
                      "spectral leakage.To suppress this warning and use a rectangular window, "
                      "explicitly set `window=torch.ones(n_fft, device=<device>)`.",
                      UserWarning, stacklevel=2)
    is_complex = input._dtype.is_complex or (window is not None and window._dtype.is_complex)
    if return_complex is None:
        if not is_complex:
            raise RuntimeError("stft requires the return_complex parameter be given for real "
                               "inputs, and will further require that return_complex=True in "
                               "a future PyTorch release.")
        return_complex = True
    elif not return_complex:
        warnings.warn("stft with return_complex=False is deprecated. In a future pytorch "
                      "release, stft will return complex tensors for all inputs, and "
                      "return_complex=False will raise an error.\nNote: you can still call "
                      "torch.view_as_real on the complex output to recover the old return "
                      "format.", UserWarning, stacklevel=2)
    x = input
    if not (x._dtype.is_complex or x._dtype.is_floating_point):
        kernel = {"reflect": "reflection_pad1d", "replicate": "replication_pad1d"}.get(pad_mode)
        if center and kernel and x._dtype is D.bool:  # PyTorch pads first
            raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')
        raise RuntimeError(f"stft: expected a tensor of floating point or complex values, got "
                           f"{_type_title(x._dtype)} (convert the signal with .float() first)")
    if center:
        x = _pad_signal(x, n_fft // 2, pad_mode)
    if x.ndim == 1:
        x = x.unsqueeze(0)
    length = x.shape[-1]
    if n_fft <= 0 or n_fft > length:
        raise RuntimeError(f"stft: expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    if hop <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop}")
    if win_length <= 0 or win_length > n_fft:
        raise RuntimeError(f"stft: expected 0 < win_length <= n_fft, but got "
                           f"win_length={win_length}")
    win = _window_of(window, n_fft, win_length, "stft", x)
    if x._dtype in (D.float16, D.bfloat16):  # torch's CPU FFT kernels: float32/float64 only
        raise with_hint(RuntimeError("MKL FFT doesn't support tensors of type: "
                                     f"{_type_title(x._dtype)}"),
                        "convert the signal with .float() first")
    if align_to_window:  # frames start where their windows do: count them by win_length
        left = (n_fft - win_length) // 2
        n_frames = 1 + (length - win_length) // hop
        if left:
            x = _pad_signal(x, left, "constant")
        if (n_frames - 1) * hop + n_fft > x.shape[-1]:
            raise RuntimeError(f"stft: with align_to_window=True the last of {n_frames} frames "
                               f"runs past the padded signal ({x.shape[-1]} samples); pad the "
                               "signal or change hop_length")
        frames = x[..., :(n_frames - 1) * hop + n_fft].unfold(-1, n_fft, hop)
    else:
        frames = x.unfold(-1, n_fft, hop)
    if win is not None:
        frames = frames * win
    complex_fft = frames._dtype.is_complex
    onesided = (not complex_fft) if onesided is None else bool(onesided)
    mode = NORM_BY_ROOT_N if normalized else NORM_NONE
    if complex_fft:
        if onesided:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        out = fft_c2c(frames, (2,), mode, True)
    else:
        out = fft_r2c(frames, (2,), mode, onesided)
    out = out.transpose(1, 2)
    if input.ndim == 1:
        out = out.squeeze(0)
    if not return_complex:
        from ..shape.joining import stack

        return stack([out.real, out.imag], -1)
    return out


def istft(input: Tensor, n_fft: int, hop_length: int | None = None,
          win_length: int | None = None, window: Tensor | None = None, center: bool = True,
          normalized: bool = False, onesided: bool | None = None, length: int | None = None,
          return_complex: bool = False) -> Tensor:
    """The inverse of :func:`stft`: each frame transformed back, windowed again and
    overlap-added, divided by the overlap-added squared window. Pass the ``window`` and
    ``hop_length`` ``stft`` used, and ``length`` to get the exact signal length back.

    Example:
        >>> x = ember.sin(ember.arange(64.) * 0.8)
        >>> w = ember.ones(16)
        >>> y = ember.istft(ember.stft(x, 16, window=w, return_complex=True), 16, window=w)
        >>> bool((y - x).abs().max() < 1e-5)
        True
    """
    require_tensor(input, "istft")
    if not input._dtype.is_complex:
        raise RuntimeError("istft requires a complex-valued input tensor matching the output "
                           "from stft with return_complex=True.")
    n_fft = int(n_fft)
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    win_length = n_fft if win_length is None else int(win_length)
    if window is None:
        warnings.warn("A window was not provided. A rectangular window will be applied.Please "
                      "provide the same window used by stft to make the inversion lossless.To "
                      "suppress this warning and use a rectangular window, explicitly set "
                      "`window=torch.ones(n_fft, device=<device>)`.", UserWarning, stacklevel=2)
    if input.ndim < 2:  # PyTorch reads the frame and frequency sizes first
        lo = -max(input.ndim, 1)
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {-lo - 1}]"
                         f", but got -2): istft takes (freq, frames) or (batch, freq, frames)")
    if input.numel() == 0:
        raise RuntimeError("istft input tensor cannot be empty")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected a tensor with 2 or 3 dimensions of complex, but "
                           f"got {input.ndim}")
    x = input.unsqueeze(0) if input.ndim == 2 else input
    n_frames, fft_size = x.shape[-1], x.shape[-2]
    if not 0 < hop <= win_length:
        raise RuntimeError(f"istft: expected 0 < hop_length <= win_length, but got "
                           f"hop_length={hop}")
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"istft: expected 0 < win_length <= n_fft, but got "
                           f"win_length={win_length}")
    win = _window_of(window, n_fft, win_length, "istft", x)
    if win is None:
        win = x.new_ones((n_fft,), dtype=x._dtype.to_real())
    onesided = (fft_size != n_fft) if onesided is None else bool(onesided)
    if onesided and n_fft // 2 + 1 != fft_size:
        raise RuntimeError(f"istft: expected the frequency dimension (3rd to the last) of the "
                           f"input tensor to match n_fft / 2 + 1 when onesided=True, but got "
                           f"{fft_size}")
    if not onesided and n_fft != fft_size:
        raise RuntimeError(f"istft: expected the frequency dimension (3rd to the last) of the "
                           f"input tensor to match n_fft when onesided=False, but got "
                           f"{fft_size}")
    mode = NORM_BY_ROOT_N if normalized else NORM_BY_N
    x = x.transpose(1, 2)  # (batch, frames, freq)
    if return_complex:
        if onesided:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        frames = fft_c2c(x, (2,), mode, False)
    else:
        if win._dtype.is_complex:
            raise RuntimeError("Complex windows are incompatible with return_complex=False")
        if not onesided:
            x = x[..., :n_fft // 2 + 1]
        frames = fft_c2r(x, (2,), mode, n_fft)
    y = OverlapAdd.apply(frames * win, hop=hop)
    env = OverlapAdd.apply((win * win).expand((1, n_frames, n_fft)), hop=hop)
    expected = n_fft + hop * (n_frames - 1)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + int(length)
    else:
        end = -(n_fft // 2) if center else expected
    y, env = y[:, start:end], env[:, start:end]
    if env.numel() and bool((env.abs() < 1e-11).any()):
        raise RuntimeError("istft: window overlap add min: 1 (the squared window sums to zero "
                           "somewhere; use a window and hop_length whose overlaps cover every "
                           "sample, e.g. hann_window with hop_length <= n_fft // 2)")
    y = y / env
    if input.ndim == 2:
        y = y.squeeze(0)
    if end > expected:
        warnings.warn("The length of signal is shorter than the length parameter. Result is "
                      "being padded with zeros in the tail. Please check your center and "
                      "hop_length settings.", UserWarning, stacklevel=2)
        y = cat([y, y.new_zeros(y.shape[:-1] + (end - expected,))], -1)
    return y


def _tensor_stft(self: Tensor, *args, **kwargs) -> Tensor:
    return stft(self, *args, **kwargs)


def _tensor_istft(self: Tensor, *args, **kwargs) -> Tensor:
    return istft(self, *args, **kwargs)


__all__ = ["stft", "istft"]

TENSOR_METHODS = {"stft": _tensor_stft, "istft": _tensor_istft}
