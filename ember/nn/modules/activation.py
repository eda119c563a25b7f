"""Activation modules (thin wrappers over ``ember.nn.functional``) and ``MultiheadAttention``,
which PyTorch also keeps in ``nn.modules.activation``."""

from __future__ import annotations

from ... import _creation
from ..._tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .linear import NonDynamicallyQuantizableLinear
from .module import Module

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
           "Mish", "Sigmoid", "Tanh", "Hardtanh", "Hardsigmoid", "Hardswish", "Softplus",
           "Softsign", "Softmax", "LogSoftmax", "Softmin", "Softmax2d", "Threshold",
           "LogSigmoid", "Tanhshrink", "Softshrink", "Hardshrink", "GLU", "MultiheadAttention"]


def _inplace_repr(inplace: bool) -> str:
    return "inplace=True" if inplace else ""


class ReLU(Module):
    """max(0, x) elementwise.

    Example:
        >>> ember.nn.ReLU()(ember.tensor([-1.0, 1.0]))
        tensor([0., 1.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class Hardtanh(Module):
    """x clipped to [min_val, max_val]."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace
        if max_val <= min_val:
            raise AssertionError("max_val must be greater than min_val")

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        s = f"min_val={self.min_val}, max_val={self.max_val}"
        return s + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """min(max(0, x), 6)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """Leaky ReLU with a learned slope (one, or one per channel), initialised to ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(_creation.empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        from .. import init

        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU (random slopes in training, their mean in eval)."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace
                                                            else "")


class _AlphaActivation(Module):
    """``alpha`` and ``inplace``, shared by ELU and CELU (siblings, as in PyTorch)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class ELU(_AlphaActivation):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)


class CELU(_AlphaActivation):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)


class _InplaceActivation(Module):
    """An activation whose only option is ``inplace`` (each is its own class in PyTorch)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class SELU(_InplaceActivation):
    """Scaled ELU with the self-normalising constants."""

    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class GELU(Module):
    """x * Phi(x); ``approximate='tanh'`` for the tanh approximation."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_InplaceActivation):
    """x * sigmoid(x)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class Mish(_InplaceActivation):
    """x * tanh(softplus(x))."""

    def forward(self, input: Tensor) -> Tensor:
        return F.mish(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class Hardswish(_InplaceActivation):
    """x * relu6(x + 3) / 6."""

    def forward(self, input: Tensor) -> Tensor:
        return F.hardswish(input, self.inplace)


class Hardsigmoid(_InplaceActivation):
    """relu6(x + 3) / 6."""

    def forward(self, input: Tensor) -> Tensor:
        return F.hardsigmoid(input, self.inplace)


class _Simple(Module):
    fn = None

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input)


class Sigmoid(_Simple):
    """1 / (1 + exp(-x))."""

    fn = staticmethod(F.sigmoid)


class Tanh(_Simple):
    """tanh(x)."""

    fn = staticmethod(F.tanh)


class Softsign(_Simple):
    """x / (1 + |x|)."""

    fn = staticmethod(F.softsign)


class LogSigmoid(_Simple):
    """log(sigmoid(x))."""

    fn = staticmethod(F.logsigmoid)


class Tanhshrink(_Simple):
    """x - tanh(x)."""

    fn = staticmethod(F.tanhshrink)


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear above ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Threshold(Module):
    """x if x > threshold else value."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (
            ", inplace=True" if self.inplace else "")


class _Shrink(Module):
    """``lambd``, shared by Softshrink and Hardshrink (siblings, as in PyTorch)."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def extra_repr(self) -> str:
        return str(self.lambd)


class Softshrink(_Shrink):
    """Shrink toward zero by ``lambd``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class Hardshrink(_Shrink):
    """x where |x| > lambd, else 0."""

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)


class _SoftmaxBase(Module):
    """Softmax, LogSoftmax and Softmin: one ``dim`` and a functional (``fn``) applied along
    it. ``dim=None`` keeps PyTorch's deprecated implicit choice (with its warning)."""

    fn = None  # set by each subclass to its functional form

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def __setstate__(self, state):
        # modules pickled by old releases may predate the ``dim`` attribute
        super().__setstate__(state)
        self.__dict__.setdefault("dim", None)

    def forward(self, input: Tensor) -> Tensor:
        # _stacklevel: the implicit-dim warning names this line rather than the functional
        fn = type(self).fn
        return fn(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    """softmax along ``dim``.

    Example:
        >>> ember.nn.Softmax(dim=1)(ember.zeros(1, 2))
        tensor([[0.5000, 0.5000]])
    """

    fn = staticmethod(F.softmax)


class LogSoftmax(_SoftmaxBase):
    """log-softmax along ``dim``."""

    fn = staticmethod(F.log_softmax)


class Softmin(_SoftmaxBase):
    """softmax(-x) along ``dim``."""

    fn = staticmethod(F.softmin)


class Softmax2d(Module):
    """softmax over the channel dimension of (N, C, H, W) or (C, H, W) inputs."""

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D "
                             "instead")
        return F.softmax(input, -3)


class GLU(Module):
    """a * sigmoid(b) with a, b the halves of the input along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def _fully_masked_queries(key_padding_mask, attn_mask, n, heads, n_l, n_s, floats):
    """``(N, L)`` bools: the queries that every key is masked from (in any head), bool masks
    counting (float masks too, at ``-inf``, when ``floats``); None without masks, or when a
    float mask is given and ``floats`` is off. PyTorch's fused attention kernels give such
    queries NaN. Written with tensor ops, so a captured graph computes it per call."""
    from ... import bool as bool_
    from ... import zeros

    if key_padding_mask is None and attn_mask is None:
        return None
    some = key_padding_mask if attn_mask is None else attn_mask
    blocked = zeros(n, heads, n_l, n_s, dtype=bool_, device=some.device)
    for mask, padding in ((key_padding_mask, True), (attn_mask, False)):
        if mask is None:
            continue
        mask = mask.detach()
        if mask.dtype is not bool_:
            if not floats:
                return None
            mask = mask == float("-inf")
        if padding:
            mask = mask.reshape(n, 1, 1, n_s)  # (N, S)
        elif mask.dim() == 3:
            mask = mask.reshape(n, heads, n_l, n_s)  # (N * heads, L, S)
        blocked = blocked | mask
    return blocked.all(-1).any(1)


def _nan_rows(out: Tensor, rows) -> Tensor:
    """``out`` (batch-first) with the rows flagged in ``rows`` set to NaN."""
    return out if rows is None else out.masked_fill(rows[..., None], float("nan"))


class MultiheadAttention(Module):
    """Multi-head attention: ``softmax(Q K^T / sqrt(d)) V`` over ``num_heads`` heads.

    Inputs are ``(L, N, E)`` (``(N, L, E)`` with ``batch_first``) or unbatched ``(L, E)``;
    returns ``(output, weights)`` where ``weights`` is None unless ``need_weights``.

    Example:
        >>> mha = ember.nn.MultiheadAttention(8, 2)
        >>> x = ember.randn(5, 3, 8)
        >>> mha(x, x, x)[0].shape
        torch.Size([5, 3, 8])
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None,
                 dtype=None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError("embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        # One packed (3E, E) projection when keys and values have the query's width,
        # three separate ones otherwise; the unused slot(s) stay registered as None.
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")

        def new_param(*shape):
            return Parameter(_creation.empty(shape, **kw))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = new_param(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = new_param(embed_dim, embed_dim)
            self.k_proj_weight = new_param(embed_dim, self.kdim)
            self.v_proj_weight = new_param(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        self.register_parameter("in_proj_bias", new_param(3 * embed_dim) if bias else None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = new_param(1, 1, embed_dim)
            self.bias_v = new_param(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def _fused_path(self, query: Tensor, key: Tensor, value: Tensor) -> bool:
        """Whether PyTorch would run its fused self-attention kernel (inference on a batch-first
        self-attention with packed, biased projections); it differs from the composite path
        in giving a query whose keys are all masked (by bool masks) NaN, not 0."""
        from ... import _autocast
        from ...autograd import grad_mode
        from ...backends import mha as _mha

        if not (_mha.get_fastpath_enabled() and query.dim() == 3 and self.batch_first
                and not self.training and query is key and key is value
                and self._qkv_same_embed_dim and self.in_proj_bias is not None
                and self.bias_k is None and not self.add_zero_attn
                and not _autocast.is_autocast_enabled()):
            return False
        tensors = (query, self.in_proj_weight, self.in_proj_bias, self.out_proj.weight,
                   self.out_proj.bias)
        return not (grad_mode.is_grad_enabled()
                    and any(t is not None and t.requires_grad for t in tensors))

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False):
        # the weights' path already gives fully masked queries NaN; without weights only the
        # fused kernel does
        fused = (not need_weights and (key_padding_mask is not None or attn_mask is not None)
                 and self._fused_path(query, key, value))
        batched = query.dim() == 3
        if self.batch_first and batched:
            # one transpose for a shared tensor, so the functional sees self-attention
            # (query is key is value) and projects it with one GEMM, as torch does
            if key is value:
                shared = query is key
                key = value = value.transpose(1, 0)
                query = key if shared else query.transpose(1, 0)
            else:
                query, key, value = (t.transpose(1, 0) for t in (query, key, value))
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        if self.batch_first and batched:
            out = out.transpose(1, 0)
        if fused:
            n, n_l = out.shape[0], out.shape[1]
            out = _nan_rows(out, _fully_masked_queries(key_padding_mask, attn_mask, n,
                                                       self.num_heads, n_l, n_l, floats=False))
        return out, weights
