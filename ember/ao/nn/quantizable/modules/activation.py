"""A quantizable multi-head attention: the q/k/v projections are separate ``Linear`` layers
(``linear_Q``, ``linear_K``, ``linear_V``), the attention output and weights pass through
``QuantStub``s, so eager static quantization can observe each. In float the result is
``nn.MultiheadAttention``'s.
"""

from __future__ import annotations

from ..... import _dtype as D
from ....._tensor import Tensor
from .....nn import functional as F
from .....nn import modules as _m
from .....nn.modules.activation import MultiheadAttention as _FloatMHA
from ...quantized.functional_modules import FloatFunctional

__all__ = ["MultiheadAttention"]

_C_NAMES = {D.float32: "float", D.float64: "double", D.float16: "half"}  # as torch's errors


def _ops():
    import ember

    return ember


class MultiheadAttention(_FloatMHA):
    """``nn.MultiheadAttention`` with observable parts: ``linear_Q``/``linear_K``/``linear_V``
    project the inputs, ``q_scaling_product`` scales the queries, ``quant_attn_output`` and
    ``quant_attn_output_weights`` are ``QuantStub``s on the per-head result and weights,
    ``out_proj`` is a plain ``Linear``. ``from_float`` builds one from an
    ``nn.MultiheadAttention`` with a ``qconfig`` and attaches observers (``prepare``).

    Not supported, as in PyTorch: unbatched inputs and ``is_causal=True``. With
    ``batch_first=True`` PyTorch 2.13's version (and so this one) lays the heads' outputs into
    ``(batch, tgt, embed)`` without interleaving them, so its result differs from
    ``nn.MultiheadAttention``'s (the attention weights agree).

    Example:
        >>> mha = ember.ao.nn.quantizable.MultiheadAttention(8, 2)
        >>> out, w = mha(ember.randn(5, 3, 8), ember.randn(4, 3, 8), ember.randn(4, 3, 8))
        >>> out.shape, w.shape
        (torch.Size([5, 3, 8]), torch.Size([3, 5, 4]))
    """

    _FLOAT_MODULE = _FloatMHA

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None):
        super().__init__(embed_dim, num_heads, dropout, bias, add_bias_kv, add_zero_attn, kdim,
                         vdim, batch_first, device=device, dtype=dtype)
        from ....quantization.stubs import DeQuantStub, QuantStub

        kw = {"device": device, "dtype": dtype}
        self.linear_Q = _m.Linear(self.embed_dim, self.embed_dim, bias=bias, **kw)
        self.linear_K = _m.Linear(self.kdim, self.embed_dim, bias=bias, **kw)
        self.linear_V = _m.Linear(self.vdim, self.embed_dim, bias=bias, **kw)
        # a plain Linear, so that convert may swap it for a quantized one
        self.out_proj = _m.Linear(self.embed_dim, self.embed_dim, bias=bias, **kw)
        self.q_scaling_product = FloatFunctional()
        self.quant_attn_output = QuantStub()
        self.quant_attn_output_weights = QuantStub()
        self.dequant_q = DeQuantStub()
        self.dequant_k = DeQuantStub()
        self.dequant_v = DeQuantStub()

    def _get_name(self):
        return "QuantizableMultiheadAttention"

    @classmethod
    def from_float(cls, other):
        """The observed form of an ``nn.MultiheadAttention`` that has a ``qconfig``: the
        packed (or separate) projection weights are split into ``linear_Q/K/V``."""
        if type(other) is not cls._FLOAT_MODULE:
            raise AssertionError(f"{type(other)} must be {cls._FLOAT_MODULE}")
        if not hasattr(other, "qconfig"):
            raise AssertionError("The float module must have 'qconfig'")
        from .....nn.parameter import Parameter
        from ....quantization.quantize import prepare

        observed = cls(other.embed_dim, other.num_heads, other.dropout,
                       other.in_proj_bias is not None, other.bias_k is not None,
                       other.add_zero_attn, other.kdim, other.vdim, other.batch_first)
        observed.bias_k, observed.bias_v = other.bias_k, other.bias_v
        observed.qconfig = other.qconfig
        observed.out_proj.weight = other.out_proj.weight
        observed.out_proj.bias = other.out_proj.bias
        e = other.embed_dim
        if other._qkv_same_embed_dim:
            weights = [other.in_proj_weight[i * e:(i + 1) * e] for i in range(3)]
        else:
            weights = [other.q_proj_weight, other.k_proj_weight, other.v_proj_weight]
        for i, (lin, w) in enumerate(zip((observed.linear_Q, observed.linear_K,
                                          observed.linear_V), weights)):
            lin.weight = Parameter(w.detach().clone())
            if other.in_proj_bias is not None:
                lin.bias = Parameter(other.in_proj_bias[i * e:(i + 1) * e].detach().clone())
        observed.eval()
        return prepare.__wrapped__(observed, inplace=True)

    @classmethod
    def from_observed(cls, other):
        # the observed module is converted by the quantized MHA's own from_observed
        raise NotImplementedError("It looks like you are trying to prepare an MHA module. "
                                  "Please, see the examples on quantizable MHAs.")

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        if is_causal:
            raise AssertionError("causal mask not supported by AO MHA module")
        if query.dim() != 3:
            raise ValueError(f"not enough values to unpack (expected 3, got {query.dim()})")
        if self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        return self._attend(query, key, value, key_padding_mask, need_weights, attn_mask,
                            average_attn_weights)

    def _attend(self, query, key, value, key_padding_mask, need_weights, attn_mask,
                average_attn_weights):
        em = _ops()
        tgt_len, bsz, embed_dim = query.shape
        heads, hd = self.num_heads, self.head_dim
        if hd * heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        q = self.q_scaling_product.mul_scalar(self.linear_Q(query), float(hd) ** -0.5)
        k = self.linear_K(key)
        v = self.linear_V(value)
        mask = self._float_mask(attn_mask, query.dtype, (tgt_len, key.shape[0]),
                                (bsz * heads, tgt_len, key.shape[0]))
        pad = key_padding_mask
        if pad is not None and pad.dtype is D.uint8:
            import warnings

            warnings.warn("Byte tensor for `key_padding_mask` in `nn.MultiheadAttention` is "
                          "deprecated. Use bool tensor instead.", stacklevel=3)
            pad = pad.to(D.bool)
        if pad is not None and pad.dtype is not D.bool:  # it is used as a fill mask
            raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with "
                               f"dtype {_C_NAMES.get(pad.dtype, pad.dtype)}")
        if self.bias_k is not None:  # one learned extra key/value position
            k = em.cat([k, self.bias_k.repeat(1, bsz, 1)])
            v = em.cat([v, self.bias_v.repeat(1, bsz, 1)])
            mask = None if mask is None else F.pad(mask, (0, 1))
            pad = None if pad is None else F.pad(pad, (0, 1))
        # (seq, batch, embed) -> (batch * heads, seq, head_dim)
        q = q.contiguous().view(tgt_len, bsz * heads, hd).transpose(0, 1)
        k = k.contiguous().view(-1, bsz * heads, hd).transpose(0, 1)
        v = v.contiguous().view(-1, bsz * heads, hd).transpose(0, 1)
        if self.add_zero_attn:  # one all-zero extra key/value position
            k = em.cat([k, em.zeros((k.shape[0], 1, hd), dtype=k.dtype)], 1)
            v = em.cat([v, em.zeros((v.shape[0], 1, hd), dtype=v.dtype)], 1)
            mask = None if mask is None else F.pad(mask, (0, 1))
            pad = None if pad is None else F.pad(pad, (0, 1))
        src_len = k.shape[1]
        scores = em.bmm(q, k.transpose(1, 2))
        if mask is not None:
            scores = scores + (mask.unsqueeze(0) if mask.dim() == 2 else mask)
        if pad is not None:
            scores = scores.view(bsz, heads, tgt_len, src_len)
            scores = scores.masked_fill(pad.unsqueeze(1).unsqueeze(2), float("-inf"))
            scores = scores.view(bsz * heads, tgt_len, src_len)
        weights = F.softmax(scores, dim=-1)
        weights = F.dropout(weights, p=self.dropout, training=self.training)
        out = em.bmm(weights, v)  # (batch * heads, tgt, head_dim)
        if self.batch_first:
            # PyTorch 2.13 reads the per-head rows straight into (batch, tgt, embed) here,
            # without first moving the heads next to each other; kept for equal numbers
            out = out.contiguous().view(bsz, tgt_len, embed_dim)
        else:
            out = out.transpose(0, 1).contiguous().view(tgt_len, bsz, embed_dim)
        out = self.out_proj(self.quant_attn_output(out))
        if not need_weights:
            return out, None
        weights = self.quant_attn_output_weights(weights).view(bsz, heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        return out, weights

    @staticmethod
    def _float_mask(attn_mask, dtype, shape2d, shape3d):
        """An additive float mask (a bool or uint8 mask becomes -inf where it is set), its
        shape checked: ``(tgt, src)`` or ``(batch * heads, tgt, src)``."""
        if attn_mask is None:
            return None
        if attn_mask.dtype is D.uint8:
            import warnings

            warnings.warn("Byte tensor for `attn_mask` in `nn.MultiheadAttention` is deprecated."
                          " Use bool tensor instead.", stacklevel=4)
            attn_mask = attn_mask.to(D.bool)
        if not (attn_mask.dtype.is_floating_point or attn_mask.dtype is D.bool):
            raise AssertionError("Only float and bool types are supported for attn_mask, not "
                                 f"{attn_mask.dtype}")
        if attn_mask.dim() == 2 and tuple(attn_mask.shape) != shape2d:
            raise RuntimeError("The size of the 2D attn_mask is not correct.")
        if attn_mask.dim() == 3 and tuple(attn_mask.shape) != shape3d:
            raise RuntimeError("The size of the 3D attn_mask is not correct.")
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
        if attn_mask.dtype is D.bool:
            filled = _ops().zeros(attn_mask.shape, dtype=dtype)
            return filled.masked_fill(attn_mask, float("-inf"))
        return attn_mask
