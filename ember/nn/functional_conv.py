"""The torch.nn.functional names for convolution, pooling, normalization, interpolation and
attention. The arithmetic lives in ``ember._ops`` (conv, pool, norm); composite functions that
only combine ops (attention, interpolation, instance norm) are written here."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _dtype as D
from .._backend import MetaArray, get_array_module, meta_array
from .._errors import with_hint
from .._layout import channels_last_of, dense_in_format
from .._ops._core import Op, set_node_name
from .._ops._dispatch import not_implemented_for
from .._ops.nn.conv import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from .._ops.nn.normalization import batch_norm_functional as batch_norm
from .._ops.nn.normalization import group_norm, layer_norm, rms_norm
from .._ops.nn.normalization import instance_norm_functional as instance_norm
from .._ops.nn.pool import (
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
    max_pool1d,
    max_pool1d_with_indices,
    max_pool2d,
    max_pool2d_with_indices,
    max_pool3d,
    max_pool3d_with_indices,
)
from .._ops.nn.pool_adaptive import (
    IndexAxis,
    ResampleAxes,
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d,
    adaptive_max_pool2d_with_indices,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)
from .._tensor import Tensor
from ._functional_attention import multi_head_attention_forward, scaled_dot_product_attention

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
           "scaled_dot_product_attention",
           "multi_head_attention_forward", "unfold", "fold", "local_response_norm",
           "lp_pool1d", "lp_pool2d", "lp_pool3d",
           "batch_norm", "group_norm", "instance_norm", "layer_norm", "rms_norm",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices", "max_unpool1d", "max_unpool2d",
           "max_unpool3d", "fractional_max_pool2d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d", "fractional_max_pool3d_with_indices",
           "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]


# -- interpolation --------------------------------------------------------------------------

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
# the modes that take align_corners (lanczos only as False), with their spatial dims
_INTERPOLATING = {**_LINEAR, "bicubic": 2, "lanczos": 2}


def _src_scale(n_in, n_out, align_corners, scale):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _linear_matrix(n_in, n_out, align_corners, scale, dtype):
    """``(out, in)`` matrix of linear-interpolation weights along one axis (PyTorch's rule)."""
    r = _src_scale(n_in, n_out, align_corners, scale)
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * r if align_corners else np.maximum((dst + 0.5) * r - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    m = np.zeros((n_out, n_in), dtype=np.float64)
    rows = np.arange(n_out)
    np.add.at(m, (rows, i0), 1.0 - lam)  # tiny (out x in) matrix, built once per call
    np.add.at(m, (rows, i1), lam)
    return Tensor._make(m.astype(dtype))


def _fma32(a, b, c):
    """``a * b + c`` rounded once to float32, as a fused multiply-add: the product of two
    float32 numbers is exact in float64."""
    return (a.astype(np.float64) * b + c).astype(np.float32)


def _linear_coeffs32(n_in, n_out, align_corners, scale):
    """PyTorch's float32 linear-upsampling taps along one axis: (i0, i1, w0, w1). The source
    position is ``scale * (dst + 0.5) - 0.5`` as one fused multiply-add, with the scale rounded
    to float32 from ``1 / scale_factor`` (double) or the size ratio."""
    f32 = np.float32
    dst = np.arange(n_out, dtype=f32)
    r = f32(_src_scale(n_in, n_out, align_corners, scale))
    if align_corners:
        src = dst * r
    else:
        src = np.maximum(_fma32(np.full_like(dst, r), dst + f32(0.5), f32(-0.5)), f32(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = src - i0.astype(f32)
    return i0, i1, f32(1) - w1, w1


def _linear_fma32(x, taps):
    """float32 1-D linear resampling of the array ``x`` in PyTorch's CPU order (so the last
    bits agree): ``fma(w0, a, w1 * b)``. (PyTorch's 2-D order, for the record: ``w01 * b``,
    then fused adds of ``w00 * a``, ``w10 * c`` and ``w11 * d``; 3-D applies the 1-D rule along
    W, then H, then D. ember keeps its weight matrices there, which are much faster.)"""
    ((i0, i1, w0, w1),) = taps
    return _fma32(w0, np.take(x, i0, axis=-1), w1 * np.take(x, i1, axis=-1))


class _LinearResample32(Op):
    """float32 1-D linear upsampling of a NumPy array with PyTorch's rounding; the backward is
    the transposed weight matrix (as ``ResampleAxes``)."""

    @staticmethod
    def forward(ctx, x, taps, mats, fmt):
        ctx.args = (mats,)
        return dense_in_format(_linear_fma32(x, taps), fmt)

    @staticmethod
    def backward(ctx, grad):
        (mats,) = ctx.args
        return ResampleAxes.apply(grad, mats=[None if m is None else m.T for m in mats],
                                  fmt=channels_last_of(grad._data), grad_fmt="grad")


def _cubic_matrix(n_in, n_out, align_corners, scale, dtype):
    """``(out, in)`` matrix of bicubic weights along one axis: Keys' kernel with A = -0.75 and
    the taps clamped to the border, as PyTorch's ``upsample_bicubic2d`` (whose source index,
    unlike the linear one, is not clamped at 0)."""
    r = _src_scale(n_in, n_out, align_corners, scale)
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * r if align_corners else (dst + 0.5) * r - 0.5
    i0 = np.floor(src).astype(np.int64)
    t = src - i0
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    m = np.zeros((n_out, n_in), dtype=np.float64)
    rows = np.arange(n_out)
    for offset, w in zip((-1, 0, 1, 2), (far(t + 1), near(t), near(1 - t), far(2 - t))):
        np.add.at(m, (rows, np.clip(i0 + offset, 0, n_in - 1)), w)
    return Tensor._make(m.astype(dtype))


def _keys_cubic(x, a):
    """Keys' cubic convolution kernel with parameter ``a`` at ``|x|`` (0 beyond 2)."""
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _lanczos(x):
    """The Lanczos-3 window, sinc(x) sinc(x / 3) for ``|x| < 3``."""
    return np.where(np.abs(x) < 3, np.sinc(x) * np.sinc(x / 3), 0.0)


# antialiasing filters: (support at scale 1, kernel) as in PyTorch's (and Pillow's) resampler
_AA_FILTERS = {"bilinear": (1.0, lambda x: np.maximum(1.0 - np.abs(x), 0.0)),
               "bicubic": (2.0, lambda x: _keys_cubic(x, -0.5)),
               "lanczos": (3.0, _lanczos)}


def _antialias_matrix(n_in, n_out, align_corners, scale, dtype, mode):
    """``(out, in)`` weights of PyTorch's antialiased resampling along one axis: on a downscale
    the filter is stretched by the scale, so every input pixel under an output pixel counts;
    each row is normalized to sum to 1 (Pillow's approach, which torch follows)."""
    r = _src_scale(n_in, n_out, align_corners, scale)
    half_width, kernel = _AA_FILTERS[mode]
    support = half_width * r if r >= 1.0 else half_width
    invscale = 1.0 / r if r >= 1.0 else 1.0
    m = np.zeros((n_out, n_in), dtype=np.float64)
    for i in range(n_out):
        center = r * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)  # int() truncates, as the C++ cast does
        hi = min(int(center + support + 0.5), n_in)
        w = kernel((np.arange(lo, hi) - center + 0.5) * invscale)
        total = w.sum()
        m[i, lo:hi] = w / total if total != 0 else w
    return Tensor._make(m.astype(dtype))


def _unsupported_input_error(input: Tensor, mode: str) -> NotImplementedError:
    """torch's catch-all error for an input rank that ``mode`` cannot resize."""
    return NotImplementedError(
        f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
        "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
        f"nearest-exact (got {mode})")


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize ``(N, C, *spatial)`` by ``size`` or ``scale_factor``: modes 'nearest',
    'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear' (``align_corners``),
    'area' and 'lanczos'; ``antialias=True`` (bilinear, bicubic, lanczos; 4-D input) low-pass
    filters a downscale as Pillow does.

    Example:
        >>> F.interpolate(ember.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        torch.Size([1, 3, 8, 8])
    """
    if input.is_quantized:
        from .. import _quantized_ops

        return _quantized_ops.interpolate(interpolate, input, size, scale_factor, mode=mode,
                                          align_corners=align_corners,
                                          recompute_scale_factor=recompute_scale_factor)
    nd = input.dim() - 2
    if nd < 1:
        if isinstance(size if size is not None else scale_factor, (tuple, list)):
            what, given, fmt = (("output", f"output size of {size}",
                                 "output size in (o1, o2, ...,oK)") if size is not None else
                                ("scale_factor", f"scale_factor of shape {scale_factor}",
                                 "scale_factor in (s1, s2, ...,sK)"))
            raise ValueError(f"Input and {what} must have the same number of spatial dimensions,"
                             f" but got input with spatial dimensions of {list(input.shape[2:])}"
                             f" and {given}. Please provide input tensor in (N, C, d1, d2, ...,dK)"
                             f" format and {fmt} format.")
        raise with_hint(_unsupported_input_error(input, mode), "interpolate takes (N, C, *spatial)")
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    if mode == "lanczos":
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
    if mode == "bicubic" and nd != 2:
        # torch has no "needs 4D input" line for bicubic: it falls through to its generic error
        raise with_hint(_unsupported_input_error(input, mode), "bicubic resizes 4-D (N, C, H, W)")
    if mode in _INTERPOLATING and _INTERPOLATING[mode] != nd:
        raise NotImplementedError(
            f"Got {input.dim()}D input, but {mode} mode needs {_INTERPOLATING[mode] + 2}D input")
    if mode not in ("nearest", "nearest-exact", "area") and mode not in _INTERPOLATING:
        raise NotImplementedError(f"interpolate: mode '{mode}' is not supported (use nearest, "
                                  "nearest-exact, linear, bilinear, bicubic, trilinear, area "
                                  "or lanczos)")
    if align_corners is not None and mode not in _INTERPOLATING:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    in_size = input.shape[2:]
    if size is not None:
        out_size = (int(size),) * nd if isinstance(size, (int, np.integer)) else \
            tuple(int(s) for s in size)
        if len(out_size) != nd:
            raise ValueError(f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_size)} and output size of {size}. Please "
                             "provide input tensor in (N, C, d1, d2, ...,dK) format and output "
                             "size in (o1, o2, ...,oK) format.")
        scales = (None,) * nd
    else:
        scales = (float(scale_factor),) * nd if isinstance(scale_factor, (int, float)) else \
            tuple(float(s) for s in scale_factor)
        if len(scales) != nd:
            raise ValueError(f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_size)} and scale_factor of shape {scale_factor}. "
                             "Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                             "scale_factor in (s1, s2, ...,sK) format.")
        out_size = tuple(int(math.floor(n * s)) for n, s in zip(in_size, scales))
        if recompute_scale_factor:
            scales = (None,) * nd
    if any(o <= 0 for o in out_size):
        axes = ("D", "H", "W")[-nd:]

        def sizes(values):
            return ", ".join(f"{a}: {v}" for a, v in zip(axes, values))

        joint = " and " if nd == 1 else " "
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({sizes(in_size)}){joint}output ({sizes(out_size)})")
    # torch's upsampling kernels are for floats, plus uint8 in the nearest modes (label maps
    # and images stored as bytes; nearest only gathers, so uint8 comes out exact here too) and
    # in 4-D bilinear/bicubic/lanczos, whose fixed-point separable passes are emulated exactly
    if input._dtype == D.uint8 and nd == 2 and mode in ("bilinear", "bicubic", "lanczos"):
        return _interpolate_uint8(input, out_size, scales, mode, bool(align_corners), antialias)
    nearest_bytes = mode.startswith("nearest") and input._dtype == D.uint8
    if input._dtype.category != D._FLOAT and not nearest_bytes:
        # the CPU kernel torch names: its 2-D nearest/bilinear go through the channels_last
        # kernels, the rest fail where the weights are computed (area: in the adaptive pool)
        kernel = mode.replace("-exact", "")
        if antialias:
            kernel = "compute_index_ranges_weights"
        elif mode == "area":
            kernel = "adaptive_avg_pool3d_cpu" if nd == 3 else "adaptive_avg_pool2d"
        elif nd == 2 and kernel in ("nearest", "bilinear"):
            kernel = f"upsample_{kernel}2d_channels_last"
        else:
            kernel = "compute_indices_weights_" + {"bicubic": "cubic", "nearest": "nearest"}.get(
                kernel, "linear")
        raise not_implemented_for(kernel, input._dtype)
    if antialias and input._dtype in (D.float16, D.bfloat16):  # float32/float64 kernels only
        raise not_implemented_for("compute_index_ranges_weights", input._dtype)
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[nd - 1](
            input, out_size)
    out = input
    dt = input._data.dtype
    mats = []  # linear, cubic and antialiased modes: one (out, in) matrix per resized axis
    for i, (n_in, n_out, sc) in enumerate(zip(in_size, out_size, scales)):
        if n_in == n_out and (sc is None or sc == 1.0):
            mats.append(None)
            continue
        if antialias:
            mats.append(_antialias_matrix(n_in, n_out, bool(align_corners), sc, dt, mode)._data)
        elif mode in _INTERPOLATING:
            weights = _cubic_matrix if mode == "bicubic" else _linear_matrix
            mats.append(weights(n_in, n_out, bool(align_corners), sc, dt)._data)
        else:
            r = _src_scale(n_in, n_out, False, sc)
            shift = 0.5 if mode == "nearest-exact" else 0.0
            # float32 arithmetic as torch's kernel: in float64, 3 * float32(1 / 0.6) floors
            # to 4, not 5
            src = (np.arange(n_out, dtype=np.float32) + np.float32(shift)) * np.float32(r)
            idx = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
            out = IndexAxis.apply(out, idx, 2 + i)
    fmt = channels_last_of(input._data)
    if (mode in _LINEAR and not antialias and dt == np.float32 and type(input._data) is np.ndarray
            and any(m is not None for m in mats) and nd == 1):
        # float32 1-D on the CPU: PyTorch's own rounding order, bit for bit (and faster than
        # the weight matrix). 2-D/3-D stay on the weight matrices: the same order there takes
        # four gathers and three float64 passes, 9x slower for a U-Net's upsampling, for a
        # last-bit difference
        taps = [_linear_coeffs32(n_in, n_out, bool(align_corners), sc)
                for n_in, n_out, sc in zip(in_size, out_size, scales)]
        out = _LinearResample32.apply(input, taps=taps, mats=mats, fmt=fmt)
    elif any(m is not None for m in mats):
        # torch's upsampling kernels: the output in the input's format, the input's gradient
        # in the incoming gradient's (bicubic's backward kernel: row-major)
        out = ResampleAxes.apply(input, mats=mats, fmt=channels_last_of(input._data),
                                 grad_fmt=None if mode == "bicubic" else "grad")
    out = out if out is not input else input.clone()
    if out.grad_fn is not None:  # PyTorch's node name, e.g. UpsampleBilinear2DBackward0
        kind = {"nearest": "Nearest", "nearest-exact": "NearestExact", "linear": "Linear",
                "bilinear": "Bilinear", "bicubic": "Bicubic",
                "trilinear": "Trilinear"}.get(mode, "Nearest")
        kind = "Lanczos" if mode == "lanczos" else kind
        aa = "Aa" if antialias else ""
        out.grad_fn._name = f"Upsample{kind}{nd}D{aa}Backward0"
    return out


def _interpolate_uint8(input: Tensor, out_size, scales, mode, align_corners, antialias):
    """``interpolate`` of a 4-D uint8 tensor in torch's integer arithmetic (no gradient: an
    integer tensor never requires one); the output keeps a channels_last input's layout."""
    from ._interpolate_uint8 import resize_uint8

    data = input._data
    shape = tuple(input.shape[:2]) + tuple(out_size)
    if isinstance(data, MetaArray):
        return Tensor._make(meta_array(shape, data.dtype))
    xp = get_array_module(data)
    out = resize_uint8(np.asarray(data if xp is np else xp.asnumpy(data)), tuple(out_size),
                       mode, align_corners, tuple(scales), antialias)
    out = dense_in_format(out, channels_last_of(data))
    return Tensor._make(out if xp is np else xp.asarray(out))


def _warn_deprecated_upsample(name: str) -> None:
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=3)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`."""
    _warn_deprecated_upsample("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    _warn_deprecated_upsample("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    _warn_deprecated_upsample("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _shuffle_rank(input: Tensor, name: str) -> None:
    if input.dim() < 3:  # (*, C, H, W): the channels and both spatial dimensions are needed
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got input "
                           f"with {input.dim()} dimension(s)")


def _shuffle_factor(input: Tensor, factor, name: str, arg: str) -> int:
    """PyTorch's checks of the factor, in its order: an int (no bool or float; an integer 0-d
    tensor passes), the input's rank, then a positive value."""
    integral = (isinstance(factor, (int, np.integer))
                or (isinstance(factor, Tensor) and factor.dim() == 0
                    and not factor.is_floating_point() and not factor.is_complex()
                    and factor.dtype is not D.bool))
    if not integral or isinstance(factor, (bool, np.bool_)):
        raise TypeError(f"{name}(): argument '{arg}' (position 2) must be int, not "
                        f"{type(factor).__name__}")
    _shuffle_rank(input, name)
    r = int(factor)
    if r <= 0:
        raise RuntimeError(f"{name} expects a positive {arg}, but got {r}")
    return r


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``(*, C*r*r, H, W) -> (*, C, H*r, W*r)``.

    Example:
        >>> F.pixel_shuffle(ember.randn(1, 8, 2, 3), 2).shape
        torch.Size([1, 2, 4, 6])
    """
    r = _shuffle_factor(input, upscale_factor, "pixel_shuffle", "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    return set_node_name(_Shuffle.apply(input, kind="pixel_shuffle", factor=r),
                         "PixelShuffleBackward0")


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """``(*, C, H*r, W*r) -> (*, C*r*r, H, W)``, the inverse of :func:`pixel_shuffle`."""
    r = _shuffle_factor(input, downscale_factor, "pixel_unshuffle", "downscale_factor")
    *lead, c, h, w = input.shape
    for side, dim, size in (("height", -2, h), ("width", -1, w)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {side} to be divisible by "
                               f"downscale_factor, but input.size({dim})={size} is not "
                               f"divisible by {r}")
    return set_node_name(_Shuffle.apply(input, kind="pixel_unshuffle", factor=r),
                         "PixelUnshuffleBackward0")


def _channel_shuffle_check(input: Tensor, groups, name: str) -> None:
    """PyTorch's checks, in its order: the argument type, the rank, the group count."""
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, (bool, np.bool_)):
        raise TypeError(f"{name}(): argument 'groups' (position 2) must be int, not "
                        f"{type(groups).__name__}")
    if input.dim() <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    if input.shape[1] % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got "
                           f"{input.shape[1]} channels and {groups} groups.")


def _pixel_shuffle_raw(x, r):
    *lead, c, h, w = x.shape
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.transpose(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def _pixel_unshuffle_raw(x, r):
    *lead, c, h, w = x.shape
    k = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.transpose(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


def _channel_shuffle_raw(x, g):
    n, c, *rest = x.shape
    return x.reshape(n, g, c // g, *rest).swapaxes(1, 2).reshape(x.shape)


class _Shuffle(Op):
    """``pixel_shuffle``, ``pixel_unshuffle`` and ``channel_shuffle`` on the raw array. Each
    permutes the elements, so its adjoint is the inverse permutation: the same op with the
    inverse's arguments. As torch's kernels, the output takes the input's format, so the
    input's gradient takes the incoming gradient's."""

    @staticmethod
    def forward(ctx, x, kind, factor):
        ctx.args = (kind, factor, x.shape)
        if isinstance(x, MetaArray):  # the shape alone (a meta array's views copy nothing)
            return meta_array(_SHUFFLES[kind](x, factor).shape, x.dtype)
        out = _SHUFFLES[kind](x, factor)
        out = dense_in_format(out, channels_last_of(x))
        return out.copy() if get_array_module(x).may_share_memory(out, x) else out

    @staticmethod
    def backward(ctx, grad):
        kind, factor, shape = ctx.args
        if kind == "channel_shuffle":
            return _Shuffle.apply(grad, kind=kind, factor=shape[1] // factor if factor else 0)
        inverse = "pixel_unshuffle" if kind == "pixel_shuffle" else "pixel_shuffle"
        return _Shuffle.apply(grad, kind=inverse, factor=factor)


_SHUFFLES = {"pixel_shuffle": _pixel_shuffle_raw, "pixel_unshuffle": _pixel_unshuffle_raw,
             "channel_shuffle": _channel_shuffle_raw}


def _channel_shuffle(input: Tensor, groups: int) -> Tensor:
    return _Shuffle.apply(input, kind="channel_shuffle", factor=int(groups))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Split the channels of ``(N, C, *)`` into ``groups`` groups and interleave them:
    ``(N, g, C/g, *) -> (N, C/g, g, *)``, keeping the shape.

    Example:
        >>> F.channel_shuffle(ember.arange(4.).reshape(1, 4, 1), 2).flatten()
        tensor([0., 2., 1., 3.])
    """
    _channel_shuffle_check(input, groups, "channel_shuffle")
    return set_node_name(_channel_shuffle(input, groups), "ChannelShuffleBackward0")


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """``channel_shuffle``'s kernel-level form; as in PyTorch it has no derivative (backward
    through it raises).

    Example:
        >>> F.native_channel_shuffle(ember.arange(4.).reshape(1, 4, 1), 2).flatten()
        tensor([0., 2., 1., 3.])
    """
    _channel_shuffle_check(input, groups, "native_channel_shuffle")
    from ..autograd import grad_mode

    if not (input.requires_grad and grad_mode._state.enabled):
        return _channel_shuffle(input, groups)
    return set_node_name(_NativeChannelShuffle.apply(input, int(groups)),
                         "torch::autograd::NotImplemented")


class _NativeChannelShuffle(Op):
    """A node whose backward refuses, as PyTorch's ``NotImplemented`` node does."""

    @staticmethod
    def forward(ctx, x, groups):
        out = dense_in_format(_channel_shuffle_raw(x, groups), channels_last_of(x))
        return out.copy() if get_array_module(x).may_share_memory(out, x) else out

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::native_channel_shuffle is not implemented")


# -- unfold / fold, local response norm, power-average pooling ------------------------------

def _pair(v, name):
    v = (int(v),) * 2 if isinstance(v, (int, np.integer)) else tuple(int(i) for i in v)
    if len(v) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(v)}")
    return v


def _window_args(kernel_size, dilation, padding, stride):
    """unfold/fold's window as four pairs, checked as PyTorch checks them (a zero or negative
    dilation or stride would make the strided window read outside the input)."""
    ks, dl, pd, st = (_pair(kernel_size, "kernel_size"), _pair(dilation, "dilation"),
                      _pair(padding, "padding"), _pair(stride, "stride"))
    if min(ks) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{ks[0]} kernel_width: {ks[1]}")
    if min(st) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: "
                           f"{st[0]} stride_width: {st[1]}")
    if min(dl) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{dl[0]} dilation_width: {dl[1]}")
    if min(pd) < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {pd[0]} "
                           f"pad_width: {pd[1]}")
    return ks, dl, pd, st


def _unfold_rank_error(input: Tensor):
    """torch's errors for an input of another rank than 3 or 4: a short one is missing the
    channel dimension it reads first."""
    nd = input.dim()
    hint = "unfold takes an (N, C, H, W) or (C, H, W) input"
    if nd == 0:
        raise with_hint(IndexError("Dimension specified as 1 but tensor has no dimensions"), hint)
    if nd < 3:
        raise with_hint(IndexError("Dimension out of range (expected to be in range of "
                                   f"[-{nd}, {nd - 1}], but got {nd})"), hint)
    raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and "
                       f"other non-zero dimensions for input, but got: {list(input.shape)}")


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding blocks: ``(N, C, H, W) -> (N, C*kh*kw, L)`` (im2col).

    Example:
        >>> F.unfold(ember.randn(1, 2, 4, 4), 2).shape
        torch.Size([1, 8, 9])
    """
    from .._ops.nn.fold import Unfold, _blocks

    if input.dim() not in (3, 4):
        _unfold_rank_error(input)
    args = _window_args(kernel_size, dilation, padding, stride)
    x = input.unsqueeze(0) if input.dim() == 3 else input
    blocks = _blocks(x.shape[2:], *args)
    if any(b <= 0 for b in blocks):
        raise RuntimeError(f"Given input with spatial size {tuple(x.shape[2:])}, kernel_size="
                           f"{args[0]}, dilation={args[1]}, padding={args[2]}, calculated "
                           f"shape of the array of sliding blocks as {blocks}, but its "
                           "components must be at least one.")
    return Unfold.apply(input, ksize=args[0], dilation=args[1], pad=args[2], stride=args[3])


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding blocks back into an image: ``(N, C*kh*kw, L) -> (N, C, H, W)`` (col2im).

    Example:
        >>> F.fold(ember.ones(1, 4, 9), (4, 4), 2).shape
        torch.Size([1, 1, 4, 4])
    """
    from .._ops.nn.fold import Fold, _blocks

    if input.dim() not in (2, 3):
        raise with_hint(RuntimeError("Expected 2D or 3D (batch mode) tensor for input with "
                                     "possibly 0 batch size and non-zero dimensions for input, "
                                     f"but got: {list(input.shape)}"),
                        "fold takes (N, C*kh*kw, L) blocks, as unfold makes them")
    size = _pair(output_size, "output_size")
    ks, dl, pd, st = _window_args(kernel_size, dilation, padding, stride)
    x = input.unsqueeze(0) if input.dim() == 2 else input
    kk = ks[0] * ks[1]
    if x.shape[1] % kk:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={x.shape[1]} and "
                           f"kernel_size={ks}.")
    blocks = _blocks(size, ks, dl, pd, st)
    if blocks[0] * blocks[1] != x.shape[2] or min(blocks) <= 0 or min(size) <= 0:
        raise RuntimeError(f"Given output_size={size}, kernel_size={ks}, dilation={dl}, "
                           f"padding={pd}, stride={st}, expected size of input's dimension 2 "
                           f"to match the calculated number of sliding blocks {blocks[0]} * "
                           f"{blocks[1]} = {blocks[0] * blocks[1]}, but got input.size(2)="
                           f"{x.shape[2]}.")
    return Fold.apply(input, size=size, ksize=ks, dilation=dl, pad=pd, stride=st)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Normalize each element by the energy of ``size`` neighbouring channels.

    Example:
        >>> F.local_response_norm(ember.randn(2, 6, 4, 4), 3).shape
        torch.Size([2, 6, 4, 4])
    """
    from . import functional as F

    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    div = input * input
    if dim == 3:
        div = F.pad(div.unsqueeze(1), (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = input.shape
        div = div.reshape(sizes[0], 1, sizes[1], sizes[2], -1)
        div = F.pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1).reshape(sizes)
    return input / (div * alpha + k) ** beta


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, nd):
    from . import functional as F

    if nd > 1:  # torch unpacks the 2-d/3-d kernel first: a wrong length is Python's ValueError
        ks = (kernel_size,) * nd if isinstance(kernel_size, int) else tuple(kernel_size)
        if nd == 2:
            _kw, _kh = ks
        else:
            _kd, _kw, _kh = ks
    if isinstance(norm_type, (int, float)) and abs(norm_type) == math.inf:
        # the limits of the power mean: the largest (or smallest) magnitude, as in PyTorch
        mp = (max_pool1d, max_pool2d, max_pool3d)[nd - 1]
        if norm_type > 0:
            return mp(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -mp(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    pool = (avg_pool1d, avg_pool2d, avg_pool3d)[nd - 1]
    ks = (kernel_size,) * nd if isinstance(kernel_size, int) else tuple(kernel_size)
    out = pool(input ** norm_type, ks, stride if stride is not None else ks, 0, ceil_mode)
    return (out.sign() * F.relu(out.abs()) * float(np.prod(ks))) ** (1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling ``(sum x**p)**(1/p)`` over 1-d windows."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling ``(sum x**p)**(1/p)`` over 2-d windows.

    Example:
        >>> F.lp_pool2d(ember.randn(1, 2, 4, 4), 2, 2).shape
        torch.Size([1, 2, 2, 2])
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling ``(sum x**p)**(1/p)`` over 3-d windows (``norm_type=inf``: max
    pooling of magnitudes).

    Example:
        >>> F.lp_pool3d(ember.randn(1, 2, 4, 4, 4), 2, 2).shape
        torch.Size([1, 2, 2, 2, 2])
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)
