"""``scaled_dot_product_attention`` and ``multi_head_attention_forward`` (composites of
matmul, softmax and dropout; re-exported by ``nn.functional``)."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _autocast
from .._autocast import hot as _amp
from .._backend import asarray_like, ascontiguousarray
from .._errors import with_hint
from .._ops.linalg.matmul import baddbmm, bmm
from .._tensor import Tensor

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


# -- attention ------------------------------------------------------------------------------

def _mask_bias(mask: Tensor, dtype) -> Tensor:
    """A boolean mask (True = attend) as an additive 0 / -inf bias; float masks pass through."""
    if mask._dtype.name == "bool":
        return Tensor._make(asarray_like(np.where(mask._data, 0.0, -np.inf), mask._data, dtype))
    return mask


def _checked_mask(attn_mask: Tensor, query: Tensor, key: Tensor, value: Tensor):
    """torch's mask dtypes (bool, float32, or the query's); an empty attention has nothing to
    mask, and torch ignores its mask's shape (None is returned for it)."""
    md = attn_mask._dtype
    if not (md.name in ("bool", "float32") or md is query._dtype):
        from .._ops.linalg.matmul import _dt_name

        raise with_hint(RuntimeError("Expected attn_mask dtype to be bool or float or to match "
                                     f"query dtype, but got attn_mask.dtype: {_dt_name(md)} and  "
                                     f"query.dtype: {_dt_name(query._dtype)} instead."),
                        "Convert the mask with .bool() or .to(query.dtype)")
    if query.numel() == 0 or key.numel() == 0 or value.numel() == 0:
        return None
    return attn_mask


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(q @ k^T * scale + mask) @ v`` over ``(..., L, E)`` queries and ``(..., S, E)``
    keys; a boolean ``attn_mask`` marks the positions that take part.

    Example:
        >>> q = ember.randn(2, 4, 8)
        >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        torch.Size([2, 4, 8])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(scaled_dot_product_attention, "scaled_dot_product_attention", query,
                              key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    from . import functional as F

    if is_causal and attn_mask is not None and not (
            query.dim() == key.dim() == value.dim() == 4 and dropout_p == 0.0
            and not attn_mask.requires_grad):
        # only PyTorch's fused CPU kernel (4-D operands, no dropout, a constant mask) takes
        # both; its other paths refuse the pair
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                           "set when is_causal=True")
    if min(query.dim(), key.dim(), value.dim()) < 2:
        raise RuntimeError("Expected query, key, and value to all be  at least 2 dimensional, "
                           f"but got query.dim: {query.dim()} key.dim: {key.dim()} and "
                           f"value.dim: {value.dim()} instead.")
    if not query.dtype == key.dtype == value.dtype:
        from .._ops.linalg.matmul import _dt_name  # C++ names, as torch prints them

        raise RuntimeError("Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {_dt_name(query.dtype)} key.dtype: "
                           f"{_dt_name(key.dtype)} and value.dtype: {_dt_name(value.dtype)} "
                           "instead.")
    if not (query._dtype.is_floating_point or query._dtype.is_complex):
        raise RuntimeError("scaled_dot_product_attention: expected floating-point query, key "
                           f"and value, got {query.dtype}; convert them first, e.g. q.float()")
    if attn_mask is not None:
        attn_mask = _checked_mask(attn_mask, query, key, value)
    n_l, n_s = query.shape[-2], key.shape[-2]
    if is_causal and attn_mask is not None:
        # mask and causal triangle (top-left aligned) together, as Hugging Face models pass
        # them: a boolean mask is and-ed with it, a float mask gets its -inf added
        causal = np.tril(np.ones((n_l, n_s), dtype=bool))
        if attn_mask._dtype.name == "bool":
            attn_mask = attn_mask & Tensor._make(asarray_like(causal, attn_mask._data))
        else:
            attn_mask = attn_mask + _mask_bias(Tensor._make(asarray_like(causal, attn_mask._data)),
                                               attn_mask._data.dtype)
        is_causal = False
    if enable_gqa and query.dim() >= 3:
        # key and value heads are each repeated up to the query's heads, independently
        n_q = query.shape[-3]
        if n_q % key.shape[-3] != 0 or n_q % value.shape[-3] != 0:
            # sic: PyTorch's message ends mid-sentence
            raise RuntimeError("Number of heads in key and value must divide the number of "
                               "heads in ")
        if key.shape[-3] != n_q:
            key = key.repeat_interleave(n_q // key.shape[-3], dim=-3)
        if value.shape[-3] != n_q:
            value = value.repeat_interleave(n_q // value.shape[-3], dim=-3)
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if attn_mask is not None and not is_causal and _captured(attn_mask):
        return _captured_mask_attention(query, key, value, attn_mask, dropout_p, s)
    reduced = _reduced_precision_attention(query, key, value, attn_mask, dropout_p, is_causal, s)
    if reduced is not None:
        return reduced
    fused = _fused_attention(query, key, value, attn_mask, dropout_p, is_causal, s)
    if fused is not None:
        return fused
    attn = (query @ key.transpose(-2, -1)) * s
    if is_causal:
        causal = np.tril(np.ones((n_l, n_s), dtype=bool))
        attn = attn + Tensor._make(asarray_like(np.where(causal, 0.0, -np.inf), attn._data,
                                                attn._data.dtype))
    elif attn_mask is not None:
        attn = attn + _mask_bias(attn_mask, attn._data.dtype)
    # PyTorch's safe softmax: a query whose every key is masked out attends to nothing (zeros,
    # and no gradient) instead of the NaN that a plain softmax of -inf scores gives
    dead = (attn._data == -np.inf).all(axis=-1, keepdims=True) \
        if attn._data.size and attn._dtype.is_floating_point else None
    if dead is not None and dead.any():
        dead = Tensor._make(asarray_like(dead, attn._data))
        attn = F.softmax(attn.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0)
    else:
        attn = F.softmax(attn, dim=-1)
    if dropout_p > 0.0:
        attn = F.dropout(attn, dropout_p, training=True)
    return attn @ value


def _captured_mask_attention(query, key, value, attn_mask, dropout_p, scale):
    """The composite with a mask that a graph capture follows from the model's inputs: its
    bias and the safe softmax's dead rows are recorded ops (the paths above read the mask's
    values, which would bake the export example's mask into the graph)."""
    from . import functional as F

    attn = (query @ key.transpose(-2, -1)) * scale
    if attn_mask._dtype.name == "bool":
        # expanded: the ONNX masked_fill converter reshapes (not broadcasts) a smaller mask
        attn = attn.masked_fill(attn_mask.logical_not().expand(attn.shape), -math.inf)
    else:
        attn = attn + attn_mask
    # all() is not a recorded op; expanded for the masked_fill converter, as above
    dead = (attn.amax(dim=-1, keepdim=True) == -math.inf).expand(attn.shape)
    attn = F.softmax(attn.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0)
    if dropout_p > 0.0:
        attn = F.dropout(attn, dropout_p, training=True)
    return attn @ value


_FUSED_DTYPES = ("float32", "float64")
_REDUCED_DTYPES = ("bfloat16", "float16")


def _reduced_precision_attention(query, key, value, attn_mask, dropout_p, is_causal, scale):
    """bfloat16/float16 attention as PyTorch's fused CPU kernel computes it (4-D operands, no
    dropout): scores, softmax statistics and the weighted sum in float32, the unnormalised
    weights rounded to the operands' dtype for their product with ``value``, the result rounded
    once. Bit-exact with PyTorch below 16 keys; from 16 its vectorised ``exp`` (and, past 512
    keys, its blockwise online softmax) can move a float32 weight by a bit, and so a result by
    one unit in the last place. None where that kernel does not apply, or a
    query has every key masked (the composite's safe softmax gives those zeros)."""
    if (dropout_p > 0.0 or query._dtype.name not in _REDUCED_DTYPES
            or not query.dim() == key.dim() == value.dim() == 4 or key.shape[-2] == 0):
        return None
    scores = (query.float() @ key.float().transpose(-2, -1)) * scale
    if is_causal:
        causal = np.tril(np.ones((query.shape[-2], key.shape[-2]), dtype=bool))
        scores = scores + Tensor._make(asarray_like(np.where(causal, 0.0, -np.inf),
                                                    scores._data, scores._data.dtype))
    elif attn_mask is not None:
        scores = scores + _mask_bias(attn_mask, scores._data.dtype)
    top = scores.detach().amax(dim=-1, keepdim=True)  # (the result does not depend on it)
    if not bool(top.isfinite().all()):
        return None
    weights = (scores - top).exp()
    out = (weights.to(query.dtype).float() @ value.float()) / weights.sum(dim=-1, keepdim=True)
    return out.to(query.dtype)


def _fused_attention(query, key, value, attn_mask, dropout_p, is_causal, scale):
    """The one-op path (``_ops.nn.linear_softmax.Attention``) where it applies: float32/float64
    operands of one dtype and batch shape, no dropout, and a mask that is constant (boolean, or
    float without a gradient); None otherwise, for the composite below."""
    if (dropout_p > 0.0 or query._dtype.name not in _FUSED_DTYPES or query.dim() < 2
            or not query._dtype is key._dtype is value._dtype
            or not query.shape[:-2] == key.shape[:-2] == value.shape[:-2]
            or key.shape[-2] != value.shape[-2] or query.shape[-1] != key.shape[-1]
            or key.shape[-2] == 0):  # no keys: the composite's softmax gives torch's zeros
        return None
    from .._ops.nn.linear_softmax import Attention

    bias = None
    if is_causal:
        causal = np.tril(np.ones((query.shape[-2], key.shape[-2]), dtype=bool))
        bias = asarray_like(np.where(causal, 0.0, -np.inf), query._data, query._data.dtype)
    elif attn_mask is not None:
        if attn_mask._dtype.name != "bool" and (attn_mask.requires_grad or
                                                attn_mask._dtype is not query._dtype):
            return None
        mask = _mask_bias(attn_mask, query._data.dtype)._data
        scores = tuple(query.shape[:-1] + (key.shape[-2],))
        try:
            wide = np.broadcast_shapes(mask.shape, scores)
        except ValueError:
            return None  # the composite raises PyTorch's error
        if wide != scores:  # PyTorch adds the mask in place
            raise RuntimeError(f"output with shape {list(scores)} doesn't match the broadcast "
                               f"shape {list(wide)}")
        bias = mask
    return Attention.apply(query, key, value, bias=bias, scale=scale)


def _in_projection(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                   use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight):
    from . import functional as F

    e = query.shape[-1]
    if not use_separate_proj_weight and query is key and key is value:
        # self-attention: one GEMM against the packed weight, as torch's packed projection
        proj = F.linear(query, in_proj_weight, in_proj_bias)
        return proj[..., :e], proj[..., e:2 * e], proj[..., 2 * e:]
    if use_separate_proj_weight:
        ws = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        ws = (in_proj_weight[:e], in_proj_weight[e:2 * e], in_proj_weight[2 * e:])
    bs = (None, None, None) if in_proj_bias is None else \
        (in_proj_bias[:e], in_proj_bias[e:2 * e], in_proj_bias[2 * e:])
    return (F.linear(query, ws[0], bs[0]), F.linear(key, ws[1], bs[1]),
            F.linear(value, ws[2], bs[2]))


def _captured(t: Tensor) -> bool:
    """Whether a running graph capture (fx / ONNX export) computes ``t`` from the traced
    inputs (rather than holding it as a constant); False when no capture runs."""
    from .._ops._core import _wrappers

    rec = _wrappers["capture"]
    entry = None if rec is None else getattr(rec, "env", {}).get(id(t))
    return entry is not None and entry.tensor is t and \
        bool(rec.node_of(entry.node).meta.get("traced"))


def _canonical_mask(mask: Tensor | None, mask_name: str, other_type, other_name: str,
                    target_type, check_other: bool = True) -> Tensor | None:
    """torch's mask rules: bool or floating only (AssertionError otherwise); a warning when
    the two masks' dtypes differ; a bool mask (True = masked) becomes a 0 / -inf float mask."""
    if mask is None:
        return None
    is_float = mask.is_floating_point()
    if mask._dtype.name != "bool" and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. "
                      "Use same type for both instead.", stacklevel=3)
    if not is_float:
        from .. import _creation

        mask = _creation.zeros_like(mask, dtype=target_type).masked_fill_(mask, float("-inf"))
    return mask


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    """torch's input-rank checks, with its messages; returns whether the input is batched."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be "
                                 f"3-D but found {key.dim()}-D and {value.dim()}-D tensors "
                                 "respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be "
                                 f"`None` or 2-D but found {key_padding_mask.dim()}-D tensor "
                                 "instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, "
                                 f"2-D or 3-D but found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be "
                                 f"2-D but found {key.dim()}-D and {value.dim()}-D tensors "
                                 "respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to "
                                 f"be `None` or 1-D but found {key_padding_mask.dim()}-D tensor "
                                 "instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be "
                                     f"`None`, 2-D or 3-D but found {attn_mask.dim()}-D tensor "
                                     "instead")
            want = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.dim() == 3 and tuple(attn_mask.shape) != want:
                raise AssertionError(f"Expected `attn_mask` shape to be {want} but got "
                                     f"{attn_mask.shape}")
        return False
    raise AssertionError("query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.dim()}-D query tensor")


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
    from .._ops.shape.joining import cat
    from . import functional as F

    unbatched = not _mha_shape_check(query, key, value, key_padding_mask, attn_mask,
                                     num_heads)
    if unbatched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    kpm_captured = key_padding_mask is not None and _captured(key_padding_mask)
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                       None if attn_mask is None else attn_mask.dtype,
                                       "attn_mask", query.dtype)
    attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                check_other=False)
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
    if attn_mask is not None:
        n_src = key.shape[0]
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (n_l, n_src):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(n_l, n_src)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (n * num_heads, n_l, n_src):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(n * num_heads, n_l, n_src)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
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
        zeros = _creation.zeros(n * num_heads, 1, hd, dtype=q.dtype, device=q.device)
        k, v = cat([k, zeros], dim=1), cat([v, zeros], dim=1)
        if attn_mask is not None:
            attn_mask = F.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = F.pad(key_padding_mask, (0, 1))
    n_s = k.shape[1]
    if key_padding_mask is not None:
        for dim, want in enumerate((n, n_s)):
            if key_padding_mask.shape[dim] != want:
                raise AssertionError(f"Expected key_padded_mask.shape[{dim}] to be {want}, but "
                                     f"got {key_padding_mask.shape[dim]}")
        if kpm_captured:
            # a mask that a graph capture (ONNX export) follows from the model's inputs takes
            # recorded ops: the raw-array way below would bake the example's mask in
            kpm = key_padding_mask.to(q.dtype).reshape(n, 1, 1, n_s)
            kpm = kpm.expand(n, num_heads, 1, n_s).reshape(n * num_heads, 1, n_s)
        else:
            kpm = key_padding_mask._data
            kpm = np.where(kpm, -np.inf, 0.0) if kpm.dtype == bool else kpm
            kpm = np.broadcast_to(kpm.astype(q._data.dtype).reshape(n, 1, 1, n_s),
                                  (n, num_heads, 1, n_s))
            kpm = Tensor._make(ascontiguousarray(kpm).reshape(n * num_heads, 1, n_s))
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if not need_weights:
        # PyTorch's path without weights: scaled_dot_product_attention, whose safe softmax
        # gives a query with every key masked out a zero output (the weights' path gives NaN)
        if q._dtype.name in _REDUCED_DTYPES:
            # 4-D operands, as torch passes them, for the reduced-precision kernel (float32
            # keeps the 3-D form, whose exported ONNX graph is the leaner one)
            if attn_mask is not None:
                attn_mask = (attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1
                             else attn_mask.reshape(n, num_heads, -1, n_s))
            out = scaled_dot_product_attention(q.reshape(n, num_heads, n_l, hd),
                                               k.reshape(n, num_heads, n_s, hd),
                                               v.reshape(n, num_heads, n_s, hd),
                                               attn_mask=attn_mask, dropout_p=dropout_p)
            out = out.permute(2, 0, 1, 3).reshape(n_l * n, e)
        else:
            out = scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p)
            out = out.transpose(0, 1).reshape(n_l * n, e)
        out = F.linear(out, out_proj_weight, out_proj_bias).reshape(n_l, n, e)
        return (out.squeeze(1) if unbatched else out), None
    # torch's arithmetic: q scaled by sqrt(1 / hd), the mask added by baddbmm (which autocast
    # runs in the lower precision, so the weights come back in it too)
    q_scaled = q * math.sqrt(1.0 / float(hd))
    if attn_mask is not None:
        scores = baddbmm(attn_mask, q_scaled, k.transpose(1, 2))
    else:
        scores = bmm(q_scaled, k.transpose(1, 2))
    weights = F.softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    out = (weights @ v).transpose(0, 1).reshape(n_l * n, e)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(n_l, n, e)
    if unbatched:
        out = out.squeeze(1)
    weights = weights.reshape(n, num_heads, n_l, n_s)
    if average_attn_weights:
        weights = weights.mean(dim=1)
    if unbatched:
        weights = weights.squeeze(0)
    return out, weights
