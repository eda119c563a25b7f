"""Swin Transformer v1 (Liu et al., "Swin Transformer: Hierarchical Vision Transformer using
Shifted Windows", 2021) and v2 (Liu et al., "Swin Transformer V2: Scaling Up Capacity and
Resolution", 2022), built module for module like ``torchvision.models.swin_transformer``.

Self-attention runs inside non-overlapping ``window_size`` windows of a channels-last feature
map; every second block first rolls the map by half a window (the "shifted" windows), and a mask
keeps tokens that the roll brought together from different image regions from attending to
each other. Stages are joined by patch merging (2x2 neighbourhoods concatenated and projected
to twice the channels). State_dict keys equal torchvision's (``features.1.0.attn.qkv.weight``,
``features.1.0.attn.relative_position_bias_table``, ..., ``head.weight``).

v1 adds a learnt relative position bias looked up from a ``(2Wh-1)(2Ww-1) x heads`` table;
v2 uses cosine attention with a learnt per-head temperature (``logit_scale``) and computes the
bias with a small MLP from log-spaced relative coordinates, and normalises after (not before)
attention and the MLP.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

from ... import (
    arange,
    cat,
    flatten,
    log,
    log2,
    meshgrid,
    nn,
    ones,
    roll,
    sigmoid,
    sign,
    stack,
    zeros,
)
from ..._tensor import Tensor
from ...fx import wrap
from ...nn import functional as F
from ..ops.layers import MLP, Permute
from ..ops.regularization import StochasticDepth
from ._api import _WEIGHT_ENUMS, get_model_weights
from ._utils import _no_pretrained, _ovewrite_named_param

# torchvision's public names for this module (the building blocks are importable too)
__all__ = ["SwinTransformer", "Swin_T_Weights", "Swin_S_Weights", "Swin_B_Weights",
           "Swin_V2_T_Weights", "Swin_V2_S_Weights", "Swin_V2_B_Weights", "swin_t", "swin_s",
           "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b"]

# the checkpoint enums (names and addresses; defined with the others in ``_api``)
Swin_T_Weights = _WEIGHT_ENUMS["Swin_T_Weights"]
Swin_S_Weights = _WEIGHT_ENUMS["Swin_S_Weights"]
Swin_B_Weights = _WEIGHT_ENUMS["Swin_B_Weights"]
Swin_V2_T_Weights = _WEIGHT_ENUMS["Swin_V2_T_Weights"]
Swin_V2_S_Weights = _WEIGHT_ENUMS["Swin_V2_S_Weights"]
Swin_V2_B_Weights = _WEIGHT_ENUMS["Swin_V2_B_Weights"]


def _patch_merging_pad(x: Tensor) -> Tensor:
    """``(..., H, W, C)`` -> ``(..., ceil(H/2), ceil(W/2), 4C)``: each 2x2 neighbourhood's
    four pixels side by side (an odd height/width is first padded with zeros at the end).
    A leaf for tracing (it reads the input's shape), as in torchvision."""
    height, width = x.shape[-3], x.shape[-2]
    x = F.pad(x, (0, 0, 0, width % 2, 0, height % 2))
    top_left = x[..., 0::2, 0::2, :]
    bottom_left = x[..., 1::2, 0::2, :]
    top_right = x[..., 0::2, 1::2, :]
    bottom_right = x[..., 1::2, 1::2, :]
    return cat([top_left, bottom_left, top_right, bottom_right], -1)


wrap("_patch_merging_pad")


class PatchMerging(nn.Module):
    """Swin v1 downsampling: 2x2 neighbourhoods concatenated (``4C``), normalised, then
    linearly projected to ``2C`` (no bias). Acts on channels-last ``(..., H, W, C)``.

    Args:
        dim (int): input channels ``C``.
        norm_layer (callable): Default: ``nn.LayerNorm``.

    Example:
        >>> PatchMerging(8)(ember.randn(1, 5, 6, 8)).shape
        torch.Size([1, 3, 3, 16])
    """

    def __init__(self, dim: int, norm_layer: Callable[..., nn.Module] = nn.LayerNorm):
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.reduction(self.norm(_patch_merging_pad(x)))


class PatchMergingV2(nn.Module):
    """Swin v2 downsampling: as :class:`PatchMerging`, but normalising the projected ``2C``
    channels (projection first, then norm).

    Example:
        >>> PatchMergingV2(8)(ember.randn(1, 4, 4, 8)).shape
        torch.Size([1, 2, 2, 16])
    """

    def __init__(self, dim: int, norm_layer: Callable[..., nn.Module] = nn.LayerNorm):
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(2 * dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.reduction(_patch_merging_pad(x)))


def _pair_offsets(window_size: list[int]) -> Tensor:
    """For the ``N = Wh*Ww`` positions of a window (row-major), the flat index of each pair's
    (row offset, column offset) in a ``(2Wh-1) x (2Ww-1)`` table, as an ``N*N`` int64 tensor."""
    rows, cols = meshgrid(arange(window_size[0]), arange(window_size[1]), indexing="ij")
    grid = flatten(stack([rows, cols]), 1)  # (2, N)
    delta = grid[:, :, None] - grid[:, None, :]  # (2, N, N): position i minus position j
    index = (delta[0] + window_size[0] - 1) * (2 * window_size[1] - 1) \
        + (delta[1] + window_size[1] - 1)
    return index.flatten()


def _shift_mask(padded: tuple[int, int], window_size: list[int], shift_size: list[int],
                like: Tensor) -> Tensor:
    """``(windows, N, N)`` additive mask: -100 where two tokens of a rolled window came from
    different regions of the unrolled map, else 0."""
    region = like.new_zeros(padded)
    label = 0
    bands = []
    for size, win, shift in zip(padded, window_size, shift_size):
        # the roll wraps the last ``shift`` rows/columns around: three bands per axis
        bands.append(((0, size - win), (size - win, size - shift), (size - shift, size)))
    for r0, r1 in bands[0]:
        for c0, c1 in bands[1]:
            region[r0:r1, c0:c1] = label
            label += 1
    nh, nw = padded[0] // window_size[0], padded[1] // window_size[1]
    region = region.view(nh, window_size[0], nw, window_size[1]).permute(0, 2, 1, 3)
    region = region.reshape(nh * nw, window_size[0] * window_size[1])
    differs = region[:, None, :] - region[:, :, None]
    return differs.masked_fill(differs != 0, -100.0).masked_fill(differs == 0, 0.0)


def _get_relative_position_bias(relative_position_bias_table: Tensor,
                                relative_position_index: Tensor,
                                window_size: list[int]) -> Tensor:
    """The ``(1, heads, N, N)`` bias of the ``N = Wh*Ww`` token pairs of a window: row
    ``relative_position_index[i*N + j]`` of the ``(rows, heads)`` table for each pair.
    A leaf for tracing, as in torchvision.

    Example:
        >>> _get_relative_position_bias(ember.zeros(9, 2), _pair_offsets([2, 2]), [2, 2]).shape
        torch.Size([1, 2, 4, 4])
    """
    tokens = window_size[0] * window_size[1]
    bias = relative_position_bias_table[relative_position_index]
    return bias.view(tokens, tokens, -1).permute(2, 0, 1).contiguous().unsqueeze(0)


wrap("_get_relative_position_bias")


def shifted_window_attention(input: Tensor, qkv_weight: Tensor, proj_weight: Tensor,
                             relative_position_bias: Tensor, window_size: list[int],
                             num_heads: int, shift_size: list[int],
                             attention_dropout: float = 0.0, dropout: float = 0.0,
                             qkv_bias: Tensor | None = None, proj_bias: Tensor | None = None,
                             logit_scale: Tensor | None = None, training: bool = True) -> Tensor:
    """Multi-head self-attention within (shifted) windows of a channels-last map.

    ``input`` is ``(B, H, W, C)``; it is zero-padded at the bottom/right to whole windows,
    rolled up-left by ``shift_size`` (an axis whose padded size fits in one window is not
    rolled), split into windows, attended with ``relative_position_bias`` (``(1, heads, N, N)``)
    added, and put back. ``logit_scale`` given switches to v2's cosine attention (the key part
    of ``qkv_bias`` is then ignored).

    Example:
        >>> x = ember.randn(1, 4, 4, 8)
        >>> out = shifted_window_attention(x, ember.randn(24, 8), ember.randn(8, 8),
        ...                                ember.zeros(1, 2, 4, 4), [2, 2], 2, [1, 1])
        >>> out.shape
        torch.Size([1, 4, 4, 8])
    """
    batch, height, width, channels = input.shape
    win_h, win_w = window_size
    pad_h = (win_h - height % win_h) % win_h
    pad_w = (win_w - width % win_w) % win_w
    x = F.pad(input, (0, 0, 0, pad_w, 0, pad_h))
    full_h, full_w = height + pad_h, width + pad_w
    shift = [0 if win_h >= full_h else shift_size[0], 0 if win_w >= full_w else shift_size[1]]
    shifted = sum(shift) > 0
    if shifted:
        x = roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))

    nh, nw = full_h // win_h, full_w // win_w
    tokens = win_h * win_w
    x = x.view(batch, nh, win_h, nw, win_w, channels).permute(0, 1, 3, 2, 4, 5)
    x = x.reshape(batch * nh * nw, tokens, channels)

    if logit_scale is not None and qkv_bias is not None:
        # v2 has no key bias: keys only enter through their direction
        keep = ones(qkv_bias.shape[0], dtype=qkv_bias.dtype)
        keep[channels:2 * channels] = 0.0
        qkv_bias = qkv_bias * keep
    head_dim = channels // num_heads
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.shape[0], tokens, 3, num_heads, head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    if logit_scale is None:
        scores = (q * head_dim ** -0.5).matmul(k.transpose(-2, -1))
    else:
        scores = F.normalize(q, dim=-1).matmul(F.normalize(k, dim=-1).transpose(-2, -1))
        scores = scores * logit_scale.clamp(max=math.log(100.0)).exp()
    scores = scores + relative_position_bias
    if shifted:
        mask = _shift_mask((full_h, full_w), window_size, shift, x)
        scores = scores.view(batch, nh * nw, num_heads, tokens, tokens) + mask[None, :, None]
        scores = scores.view(-1, num_heads, tokens, tokens)
    weights = F.dropout(F.softmax(scores, dim=-1), p=attention_dropout, training=training)
    x = weights.matmul(v).transpose(1, 2).reshape(x.shape[0], tokens, channels)
    x = F.dropout(F.linear(x, proj_weight, proj_bias), p=dropout, training=training)

    x = x.view(batch, nh, nw, win_h, win_w, channels).permute(0, 1, 3, 2, 4, 5)
    x = x.reshape(batch, full_h, full_w, channels)
    if shifted:
        x = roll(x, shifts=(shift[0], shift[1]), dims=(1, 2))
    return x[:, :height, :width, :].contiguous()


# a leaf for tracing (it unpacks the input's shape), so feature extraction names it as
# torchvision does (``features.1.0.attn.shifted_window_attention``)
wrap("shifted_window_attention")


def _setup_window_attention(module: nn.Module, n_dims: int, dim: int, window_size: list[int],
                            shift_size: list[int], num_heads: int, qkv_bias: bool,
                            proj_bias: bool, attention_dropout: float, dropout: float) -> None:
    """The construction the 2-D and the video (3-D) window attentions share: settings, the
    qkv and output projections, then the bias table and its index (the table's random draw
    comes after the two Linear layers', as in torchvision)."""
    if len(window_size) != n_dims or len(shift_size) != n_dims:
        # torchvision's words, for its 3-D attention too
        raise ValueError("window_size and shift_size must be of length 2")
    module.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
    module.proj = nn.Linear(dim, dim, bias=proj_bias)
    module.window_size, module.shift_size = window_size, shift_size
    module.num_heads = num_heads
    module.dropout, module.attention_dropout = dropout, attention_dropout
    module.define_relative_position_bias_table()
    module.define_relative_position_index()


class ShiftedWindowAttention(nn.Module):
    """Swin v1 window attention (see :func:`shifted_window_attention`) with a learnt relative
    position bias table of ``(2Wh-1)(2Ww-1)`` rows, one column per head (truncated-normal,
    std 0.02), and its ``relative_position_index`` buffer.

    Example:
        >>> attn = ShiftedWindowAttention(8, [2, 2], [1, 1], num_heads=2)
        >>> attn(ember.randn(1, 4, 4, 8)).shape
        torch.Size([1, 4, 4, 8])
    """

    def __init__(self, dim: int, window_size: list[int], shift_size: list[int], num_heads: int,
                 qkv_bias: bool = True, proj_bias: bool = True, attention_dropout: float = 0.0,
                 dropout: float = 0.0):
        super().__init__()
        _setup_window_attention(self, 2, dim, window_size, shift_size, num_heads, qkv_bias,
                                proj_bias, attention_dropout, dropout)

    def define_relative_position_bias_table(self) -> None:
        rows = (2 * self.window_size[0] - 1) * (2 * self.window_size[1] - 1)
        self.relative_position_bias_table = nn.Parameter(zeros(rows, self.num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def define_relative_position_index(self) -> None:
        self.register_buffer("relative_position_index", _pair_offsets(self.window_size))

    def get_relative_position_bias(self) -> Tensor:
        return _get_relative_position_bias(self.relative_position_bias_table,
                                           self.relative_position_index, self.window_size)

    def forward(self, x: Tensor) -> Tensor:
        # the bias first: a trace records its nodes before the projection weights'
        bias = self.get_relative_position_bias()
        return shifted_window_attention(
            x, self.qkv.weight, self.proj.weight, bias, self.window_size, self.num_heads,
            shift_size=self.shift_size, attention_dropout=self.attention_dropout,
            dropout=self.dropout,
            qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, training=self.training)


def _log_spaced_coords(window_size: list[int]) -> Tensor:
    """v2's ``(1, 2Wh-1, 2Ww-1, 2)`` table of relative offsets, scaled to [-8, 8] then mapped
    through ``sign(x) * log2(1 + |x|) / 3``."""
    rows = arange(-(window_size[0] - 1), window_size[0]).float() / (window_size[0] - 1) * 8
    cols = arange(-(window_size[1] - 1), window_size[1]).float() / (window_size[1] - 1) * 8
    grid = stack(meshgrid(rows, cols, indexing="ij"), dim=-1).unsqueeze(0)
    return sign(grid) * log2(grid.abs() + 1.0) / 3.0


class ShiftedWindowAttentionV2(ShiftedWindowAttention):
    """Swin v2 window attention: cosine similarity scaled by a learnt per-head temperature
    (``logit_scale``, started at log 10, capped at log 100), and a relative position bias
    ``16 * sigmoid(cpb_mlp(coords))`` computed from log-spaced relative coordinates.

    Example:
        >>> attn = ShiftedWindowAttentionV2(8, [2, 2], [1, 1], num_heads=2)
        >>> attn(ember.randn(1, 4, 4, 8)).shape
        torch.Size([1, 4, 4, 8])
    """

    def __init__(self, dim: int, window_size: list[int], shift_size: list[int], num_heads: int,
                 qkv_bias: bool = True, proj_bias: bool = True, attention_dropout: float = 0.0,
                 dropout: float = 0.0):
        super().__init__(dim, window_size, shift_size, num_heads, qkv_bias=qkv_bias,
                         proj_bias=proj_bias, attention_dropout=attention_dropout,
                         dropout=dropout)
        self.logit_scale = nn.Parameter(log(10 * ones(num_heads, 1, 1)))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(512, num_heads, bias=False))
        if qkv_bias:
            with_no_key = self.qkv.bias.detach()
            with_no_key[dim:2 * dim] = 0.0

    def define_relative_position_bias_table(self) -> None:
        # v2 has no table: the bias comes from ``cpb_mlp`` applied to these coordinates
        self.register_buffer("relative_coords_table", _log_spaced_coords(self.window_size))

    def get_relative_position_bias(self) -> Tensor:
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)
        bias = _get_relative_position_bias(table, self.relative_position_index,
                                           self.window_size)
        return 16 * sigmoid(bias)

    def forward(self, x: Tensor) -> Tensor:
        bias = self.get_relative_position_bias()
        return shifted_window_attention(
            x, self.qkv.weight, self.proj.weight, bias, self.window_size, self.num_heads,
            shift_size=self.shift_size, attention_dropout=self.attention_dropout,
            dropout=self.dropout,
            qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, logit_scale=self.logit_scale,
            training=self.training)


class SwinTransformerBlock(nn.Module):
    """Swin v1 block (pre-norm): ``x + drop(attn(norm1(x)))``, then
    ``x + drop(mlp(norm2(x)))`` with a GELU MLP of ``mlp_ratio * dim`` hidden units.

    Example:
        >>> block = SwinTransformerBlock(8, 2, [2, 2], [1, 1])
        >>> block(ember.randn(1, 4, 4, 8)).shape
        torch.Size([1, 4, 4, 8])
    """

    def __init__(self, dim: int, num_heads: int, window_size: list[int], shift_size: list[int],
                 mlp_ratio: float = 4.0, dropout: float = 0.0, attention_dropout: float = 0.0,
                 stochastic_depth_prob: float = 0.0,
                 norm_layer: Callable[..., nn.Module] = nn.LayerNorm,
                 attn_layer: Callable[..., nn.Module] = ShiftedWindowAttention):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = attn_layer(dim, window_size, shift_size, num_heads,
                               attention_dropout=attention_dropout, dropout=dropout)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.norm2 = norm_layer(dim)
        self.mlp = MLP(dim, [int(dim * mlp_ratio), dim], activation_layer=nn.GELU, inplace=None,
                       dropout=dropout)
        for layer in self.mlp.modules():
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                if layer.bias is not None:
                    nn.init.normal_(layer.bias, std=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.stochastic_depth(self.attn(self.norm1(x)))
        return x + self.stochastic_depth(self.mlp(self.norm2(x)))


class SwinTransformerBlockV2(SwinTransformerBlock):
    """Swin v2 block (residual post-norm): ``x + drop(norm1(attn(x)))``, then
    ``x + drop(norm2(mlp(x)))``.

    Example:
        >>> block = SwinTransformerBlockV2(8, 2, [2, 2], [1, 1])
        >>> block(ember.randn(1, 4, 4, 8)).shape
        torch.Size([1, 4, 4, 8])
    """

    def __init__(self, dim: int, num_heads: int, window_size: list[int], shift_size: list[int],
                 mlp_ratio: float = 4.0, dropout: float = 0.0, attention_dropout: float = 0.0,
                 stochastic_depth_prob: float = 0.0,
                 norm_layer: Callable[..., nn.Module] = nn.LayerNorm,
                 attn_layer: Callable[..., nn.Module] = ShiftedWindowAttentionV2):
        super().__init__(dim, num_heads, window_size, shift_size, mlp_ratio=mlp_ratio,
                         dropout=dropout, attention_dropout=attention_dropout,
                         stochastic_depth_prob=stochastic_depth_prob, norm_layer=norm_layer,
                         attn_layer=attn_layer)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.stochastic_depth(self.norm1(self.attn(x)))
        return x + self.stochastic_depth(self.norm2(self.mlp(x)))


def _init_linear_layers(model: nn.Module) -> None:
    """Every Linear of ``model``, in ``modules()`` order: weight truncated-normal (std 0.02),
    bias zero."""
    for layer in model.modules():
        if not isinstance(layer, nn.Linear):
            continue
        nn.init.trunc_normal_(layer.weight, std=0.02)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


def _stages(block, downsample_layer, norm_layer, embed_dim, depths, num_heads, window_size,
            mlp_ratio, dropout, attention_dropout, stochastic_depth_prob) -> list[nn.Module]:
    # Swin's body, 2-D and 3-D alike: stage i holds depths[i] blocks of width embed_dim * 2**i,
    # every second one shifted by half a window; stochastic depth grows linearly over all
    # blocks; a downsampling layer joins consecutive stages
    layers: list[nn.Module] = []
    total = sum(depths)
    index = 0
    for stage, depth in enumerate(depths):
        dim = embed_dim * 2 ** stage
        blocks = []
        for i in range(depth):
            p = stochastic_depth_prob * index / (total - 1)
            shift = [0 if i % 2 == 0 else w // 2 for w in window_size]
            blocks.append(block(dim, num_heads[stage], window_size=window_size,
                                shift_size=shift, mlp_ratio=mlp_ratio, dropout=dropout,
                                attention_dropout=attention_dropout,
                                stochastic_depth_prob=p, norm_layer=norm_layer))
            index += 1
        layers.append(nn.Sequential(*blocks))
        if stage < len(depths) - 1:
            layers.append(downsample_layer(dim, norm_layer))
    return layers


class SwinTransformer(nn.Module):
    """A Swin Transformer: a ``patch_size`` patchify conv (to channels-last) with norm, stages
    of ``depths[i]`` blocks (``num_heads[i]`` heads, channels doubling per stage, every second
    block shifted by half a window) joined by ``downsample_layer``, then norm, global average
    pooling and a Linear head.

    Stochastic depth grows linearly over all blocks, from 0 to ``stochastic_depth_prob`` at the
    last. Linear layers start truncated-normal (std 0.02) with zero biases.

    Args:
        patch_size (List[int]), embed_dim (int), depths (List[int]), num_heads (List[int]),
        window_size (List[int]), mlp_ratio (float, default 4.0), dropout (float, default 0.0),
        attention_dropout (float, default 0.0), stochastic_depth_prob (float, default 0.1),
        num_classes (int, default 1000), norm_layer (callable, default LayerNorm eps 1e-5),
        block (callable, default :class:`SwinTransformerBlock`), downsample_layer (callable,
        default :class:`PatchMerging`).

    Example:
        >>> model = SwinTransformer([4, 4], 8, [1, 1], [1, 2], [2, 2], num_classes=5)
        >>> model(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 5])
    """

    def __init__(self, patch_size: list[int], embed_dim: int, depths: list[int],
                 num_heads: list[int], window_size: list[int], mlp_ratio: float = 4.0,
                 dropout: float = 0.0, attention_dropout: float = 0.0,
                 stochastic_depth_prob: float = 0.1, num_classes: int = 1000,
                 norm_layer: Callable[..., nn.Module] | None = None,
                 block: Callable[..., nn.Module] | None = None,
                 downsample_layer: Callable[..., nn.Module] = PatchMerging):
        super().__init__()
        self.num_classes = num_classes
        block = SwinTransformerBlock if block is None else block
        norm_layer = partial(nn.LayerNorm, eps=1e-5) if norm_layer is None else norm_layer

        layers: list[nn.Module] = [nn.Sequential(
            nn.Conv2d(3, embed_dim, kernel_size=(patch_size[0], patch_size[1]),
                      stride=(patch_size[0], patch_size[1])),
            Permute([0, 2, 3, 1]), norm_layer(embed_dim))]
        layers += _stages(block, downsample_layer, norm_layer, embed_dim, depths, num_heads,
                          window_size, mlp_ratio, dropout, attention_dropout,
                          stochastic_depth_prob)
        self.features = nn.Sequential(*layers)

        num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = norm_layer(num_features)
        self.permute = Permute([0, 3, 1, 2])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(num_features, num_classes)
        _init_linear_layers(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.permute(self.norm(self.features(x)))
        return self.head(self.flatten(self.avgpool(x)))


# builder -> (patch, embed_dim, depths, heads, window, stochastic depth, v2)
_CONFIGS = {
    "swin_t": (96, [2, 2, 6, 2], [3, 6, 12, 24], [7, 7], 0.2, False),
    "swin_s": (96, [2, 2, 18, 2], [3, 6, 12, 24], [7, 7], 0.3, False),
    "swin_b": (128, [2, 2, 18, 2], [4, 8, 16, 32], [7, 7], 0.5, False),
    "swin_v2_t": (96, [2, 2, 6, 2], [3, 6, 12, 24], [8, 8], 0.2, True),
    "swin_v2_s": (96, [2, 2, 18, 2], [3, 6, 12, 24], [8, 8], 0.3, True),
    "swin_v2_b": (128, [2, 2, 18, 2], [4, 8, 16, 32], [8, 8], 0.5, True),
}


def _build(name: str, weights: Any, kwargs: dict) -> SwinTransformer:
    # as torchvision: a foreign enum member is a TypeError and a checkpoint pins num_classes
    # to ImageNet's 1000; then ember refuses to download it
    weights = get_model_weights(name).verify(weights)
    if weights is not None:
        _ovewrite_named_param(kwargs, "num_classes", 1000)
    _no_pretrained(name, weights, kwargs)
    embed_dim, depths, heads, window, depth_prob, v2 = _CONFIGS[name]
    extra = {"block": SwinTransformerBlockV2, "downsample_layer": PatchMergingV2} if v2 else {}
    return SwinTransformer(patch_size=[4, 4], embed_dim=embed_dim, depths=depths,
                           num_heads=heads, window_size=window,
                           stochastic_depth_prob=depth_prob, **extra, **kwargs)


def swin_t(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> SwinTransformer:
    """Swin-T: embed 96, depths 2-2-6-2, heads 3-6-12-24, window 7x7, stochastic depth 0.2.

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead.
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`SwinTransformer` (``num_classes``, ...).

    Example:
        >>> swin_t(num_classes=10)(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """
    return _build("swin_t", weights, kwargs)


def swin_s(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> SwinTransformer:
    """Swin-S: embed 96, depths 2-2-18-2, heads 3-6-12-24, window 7x7, stochastic depth 0.3.
    Arguments as :func:`swin_t`.

    Example:
        >>> swin_s(num_classes=10).head.out_features
        10
    """
    return _build("swin_s", weights, kwargs)


def swin_b(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> SwinTransformer:
    """Swin-B: embed 128, depths 2-2-18-2, heads 4-8-16-32, window 7x7, stochastic depth 0.5.
    Arguments as :func:`swin_t`.

    Example:
        >>> swin_b(num_classes=10).head.in_features
        1024
    """
    return _build("swin_b", weights, kwargs)


def swin_v2_t(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> SwinTransformer:
    """Swin-V2-T: as Swin-T with v2 blocks and patch merging, window 8x8. Arguments as
    :func:`swin_t`.

    Example:
        >>> swin_v2_t(num_classes=10)(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """
    return _build("swin_v2_t", weights, kwargs)


def swin_v2_s(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> SwinTransformer:
    """Swin-V2-S: as Swin-S with v2 blocks and patch merging, window 8x8. Arguments as
    :func:`swin_t`.

    Example:
        >>> swin_v2_s(num_classes=10).head.out_features
        10
    """
    return _build("swin_v2_s", weights, kwargs)


def swin_v2_b(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> SwinTransformer:
    """Swin-V2-B: as Swin-B with v2 blocks and patch merging, window 8x8. Arguments as
    :func:`swin_t`.

    Example:
        >>> swin_v2_b(num_classes=10).head.in_features
        1024
    """
    return _build("swin_v2_b", weights, kwargs)
