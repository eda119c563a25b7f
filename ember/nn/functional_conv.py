"""The torch.nn.functional names for convolution, pooling, normalization, interpolation and
attention. The arithmetic lives in ``ember._ops`` (conv, pool, norm); composite functions that
only combine ops (attention, interpolation, instance norm) are written here."""

from __future__ import annotations

import math

import numpy as np

from .._ops._pool_adaptive import (
    IndexAxis,
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    max_unpool1d,
    max_unpool2d,
)
from .._ops.conv import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from .._ops.norm import batch_norm_functional as batch_norm
from .._ops.norm import group_norm, layer_norm, rms_norm
from .._ops.norm import instance_norm_functional as instance_norm
from .._ops.pool import avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d, max_pool2d, max_pool3d
from .._tensor import Tensor

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "pixel_shuffle", "pixel_unshuffle", "scaled_dot_product_attention",
           "multi_head_attention_forward",
           "batch_norm", "group_norm", "instance_norm", "layer_norm", "rms_norm",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "max_pool1d",
           "max_pool2d", "max_pool3d", "max_unpool1d", "max_unpool2d",
           "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]


# -- interpolation --------------------------------------------------------------------------

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


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


def _along(x: Tensor, axis: int, m: Tensor) -> Tensor:
    """Apply an ``(out, in)`` matrix along ``axis``."""
    return (x.transpose(axis, -1) @ m.transpose(0, 1)).transpose(axis, -1)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize ``(N, C, *spatial)`` by ``size`` or ``scale_factor``: modes 'nearest',
    'nearest-exact', 'linear', 'bilinear', 'trilinear' (``align_corners``) and 'area'.

    Example:
        >>> F.interpolate(ember.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        ember.Size([1, 3, 8, 8])
    """
    nd = input.dim() - 2
    if nd < 1:
        raise ValueError(f"interpolate expects an input of shape (N, C, *spatial), got "
                         f"{list(input.shape)}")
    if mode in _LINEAR and _LINEAR[mode] != nd:
        raise NotImplementedError(
            f"Got {input.dim()}D input, but {mode} mode needs {_LINEAR[mode] + 2}D input")
    if mode not in ("nearest", "nearest-exact", "area") and mode not in _LINEAR:
        raise NotImplementedError(f"interpolate: mode '{mode}' is not supported (use "
                                  "nearest, nearest-exact, linear, bilinear, trilinear or area)")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    in_size = input.shape[2:]
    if size is not None:
        out_size = (int(size),) * nd if isinstance(size, (int, np.integer)) else \
            tuple(int(s) for s in size)
        if len(out_size) != nd:
            raise ValueError(f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_size)} and output size of {list(out_size)}. Please "
                             "provide input tensor in (N, C, d1, d2, ...,dK) format and output "
                             "size in (o1, o2, ...,oK) format.")
        scales = (None,) * nd
    else:
        scales = (float(scale_factor),) * nd if isinstance(scale_factor, (int, float)) else \
            tuple(float(s) for s in scale_factor)
        if len(scales) != nd:
            raise ValueError(f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_size)} and scale_factor of shape {list(scales)}.")
        out_size = tuple(int(math.floor(n * s)) for n, s in zip(in_size, scales))
        if recompute_scale_factor:
            scales = (None,) * nd
    if any(o <= 0 for o in out_size):
        raise ValueError(f"interpolate: output size must be positive, got {list(out_size)}")
    if mode == "area":
        return adaptive_avg_pool1d(input, out_size) if nd == 1 else \
            adaptive_avg_pool2d(input, out_size) if nd == 2 else _unsupported_area()
    out = input
    dt = input._data.dtype
    for i, (n_in, n_out, sc) in enumerate(zip(in_size, out_size, scales)):
        if n_in == n_out and (sc is None or sc == 1.0):
            continue
        if mode in _LINEAR:
            out = _along(out, 2 + i, _linear_matrix(n_in, n_out, bool(align_corners), sc, dt))
        else:
            r = _src_scale(n_in, n_out, False, sc)
            shift = 0.5 if mode == "nearest-exact" else 0.0
            idx = np.minimum(np.floor((np.arange(n_out) + shift) * np.float32(r)).astype(
                np.int64), n_in - 1)
            out = IndexAxis.apply(out, idx, 2 + i)
    return out if out is not input else input.clone()


def _unsupported_area():
    raise NotImplementedError("interpolate: mode 'area' supports 3-D and 4-D inputs")


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``(*, C*r*r, H, W) -> (*, C, H*r, W*r)``.

    Example:
        >>> F.pixel_shuffle(ember.randn(1, 8, 2, 3), 2).shape
        ember.Size([1, 2, 4, 6])
    """
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """``(*, C, H*r, W*r) -> (*, C*r*r, H, W)``, the inverse of :func:`pixel_shuffle`."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor, but got {h}x{w} and {r}")
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


# -- attention ------------------------------------------------------------------------------

def _mask_bias(mask: Tensor, dtype) -> Tensor:
    """A boolean mask (True = attend) as an additive 0 / -inf bias; float masks pass through."""
    if mask._dtype.name == "bool":
        return Tensor._make(np.where(mask._data, 0.0, -np.inf).astype(dtype))
    return mask


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(q @ k^T * scale + mask) @ v`` over ``(..., L, E)`` queries and ``(..., S, E)``
    keys; a boolean ``attn_mask`` marks the positions that take part.

    Example:
        >>> q = ember.randn(2, 4, 8)
        >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        ember.Size([2, 4, 8])
    """
    from . import functional as F

    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                           "set when is_causal=True")
    n_l, n_s = query.shape[-2], key.shape[-2]
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, dim=-3)
        value = value.repeat_interleave(rep, dim=-3)
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    attn = (query @ key.transpose(-2, -1)) * s
    if is_causal:
        causal = np.tril(np.ones((n_l, n_s), dtype=bool))
        attn = attn + Tensor._make(np.where(causal, 0.0, -np.inf).astype(attn._data.dtype))
    elif attn_mask is not None:
        attn = attn + _mask_bias(attn_mask, attn._data.dtype)
    attn = F.softmax(attn, dim=-1)
    if dropout_p > 0.0:
        attn = F.dropout(attn, dropout_p, training=True)
    return attn @ value


def _in_projection(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                   use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight):
    from . import functional as F

    e = query.shape[-1]
    if use_separate_proj_weight:
        ws = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        ws = (in_proj_weight[:e], in_proj_weight[e:2 * e], in_proj_weight[2 * e:])
    bs = (None, None, None) if in_proj_bias is None else \
        (in_proj_bias[:e], in_proj_bias[e:2 * e], in_proj_bias[2 * e:])
    return (F.linear(query, ws[0], bs[0]), F.linear(key, ws[1], bs[1]),
            F.linear(value, ws[2], bs[2]))


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor,
                                 embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: Tensor | None, in_proj_bias: Tensor | None,
                                 bias_k: Tensor | None, bias_v: Tensor | None,
                                 add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight: Tensor, out_proj_bias: Tensor | None,
                                 training: bool = True, key_padding_mask: Tensor | None = None,
                                 need_weights: bool = True, attn_mask: Tensor | None = None,
                                 use_separate_proj_weight: bool = False,
                                 q_proj_weight: Tensor | None = None,
                                 k_proj_weight: Tensor | None = None,
                                 v_proj_weight: Tensor | None = None,
                                 static_k: Tensor | None = None, static_v: Tensor | None = None,
                                 average_attn_weights: bool = True, is_causal: bool = False):
    """Multi-head attention on sequence-first ``(L, N, E)`` inputs (or unbatched ``(L, E)``),
    as in ``torch.nn.functional``. Returns ``(output, weights or None)``."""
    from .. import _creation
    from .._ops.joining import cat
    from . import functional as F

    unbatched = query.dim() == 2
    if unbatched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    n_l, n, e = query.shape
    if e != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {e}")
    if e % num_heads:
        raise AssertionError(f"embed_dim {e} not divisible by num_heads {num_heads}")
    hd = e // num_heads
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    q, k, v = _in_projection(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                             use_separate_proj_weight, q_proj_weight, k_proj_weight,
                             v_proj_weight)
    dt = q._data.dtype
    if attn_mask is not None:
        if attn_mask._dtype.name == "bool":  # here True marks a position NOT to attend
            attn_mask = Tensor._make(np.where(attn_mask._data, -np.inf, 0.0).astype(dt))
        if attn_mask.dim() == 2:
            attn_mask = attn_mask.unsqueeze(0)
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.reshape(1, 1, e).expand(1, n, e)])
        v = cat([v, bias_v.reshape(1, 1, e).expand(1, n, e)])
        if attn_mask is not None:
            attn_mask = F.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = F.pad(key_padding_mask, (0, 1))
    q = q.reshape(n_l, n * num_heads, hd).transpose(0, 1)
    k = (k.reshape(k.shape[0], n * num_heads, hd).transpose(0, 1) if static_k is None
         else static_k)
    v = (v.reshape(v.shape[0], n * num_heads, hd).transpose(0, 1) if static_v is None
         else static_v)
    if add_zero_attn:
        zeros = _creation.zeros(n * num_heads, 1, hd, dtype=q.dtype)
        k, v = cat([k, zeros], dim=1), cat([v, zeros], dim=1)
        if attn_mask is not None:
            attn_mask = F.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = F.pad(key_padding_mask, (0, 1))
    n_s = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (n, n_s):
            raise AssertionError(f"expecting key_padding_mask shape of {(n, n_s)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = key_padding_mask._data
        kpm = np.where(kpm, -np.inf, 0.0) if kpm.dtype == bool else kpm
        kpm = np.broadcast_to(kpm.astype(dt).reshape(n, 1, 1, n_s), (n, num_heads, 1, n_s))
        kpm = Tensor._make(np.ascontiguousarray(kpm).reshape(n * num_heads, 1, n_s))
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    scores = (q * (1.0 / math.sqrt(hd))) @ k.transpose(1, 2)
    if attn_mask is not None:
        scores = scores + attn_mask
    weights = F.softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    out = (weights @ v).transpose(0, 1).reshape(n_l * n, e)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(n_l, n, e)
    if unbatched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    weights = weights.reshape(n, num_heads, n_l, n_s)
    if average_attn_weights:
        weights = weights.mean(dim=1)
    if unbatched:
        weights = weights.squeeze(0)
    return out, weights
