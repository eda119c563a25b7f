"""Multiscale Vision Transformers for video, built module for module like
``torchvision.models.video.mvit``: MViT v1 (Fan et al., "Multiscale Vision Transformers", 2021)
and MViT v2 (Li et al., "MViTv2: Improved Multiscale Vision Transformers for Classification and
Detection", 2022).

A clip is cut into space-time patches by a strided 3-D convolution; the token grid then shrinks
stage by stage while the width grows. Each block's attention *pools* its queries, keys and
values with strided depthwise 3-D convolutions (pooling attention), so the output grid is the
pooled query grid. v2 adds decomposed relative position terms (one table per axis) to the
attention logits, adds the pooled queries back onto the attention output (residual pooling)
and widens the channels inside the attention instead of the MLP.

The token grid is fixed at construction (``spatial_size`` / ``temporal_size``): a model only
accepts clips of that size. State_dict keys equal torchvision's (``conv_proj.weight``,
``pos_encoding.class_token``, ``blocks.0.attn.qkv.weight``, ..., ``head.1.weight``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from .... import cat, einsum, from_numpy, nn, zeros
from ...._tensor import Tensor
from ...ops.layers import MLP
from ...ops.regularization import StochasticDepth
from .resnet import _check_weights, _video_enum

__all__ = ["MViT", "MViT_V1_B_Weights", "MViT_V2_S_Weights", "mvit_v1_b", "mvit_v2_s"]


@dataclass
class MSBlockConfig:
    """One block of an MViT: heads, widths, and the pooling kernels / strides (per T, H, W) of
    its queries and of its keys and values.

    Example:
        >>> cnf = MSBlockConfig(2, 8, 16, [3, 3, 3], [3, 3, 3], [1, 2, 2], [1, 2, 2])
        >>> cnf.output_channels
        16
    """

    num_heads: int
    input_channels: int
    output_channels: int
    kernel_q: list[int]
    kernel_kv: list[int]
    stride_q: list[int]
    stride_kv: list[int]


def _prod(values: Sequence[int]) -> int:
    total = 1
    for v in values:
        total *= v
    return total


class Pool(nn.Module):
    """Pools a token sequence over its (T, H, W) grid, keeping the leading class token apart.

    Accepts ``(B, N, C)`` or per-head ``(B, heads, N, C)`` tokens with ``N = 1 + T*H*W`` and
    returns the pooled tokens and the new grid. ``norm`` (and ``activation``) act on the
    channels, after the pooling unless ``norm_before_pool``.

    Example:
        >>> pool = Pool(nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)), None)
        >>> y, thw = pool(ember.randn(2, 1 + 2 * 4 * 4, 8), (2, 4, 4))
        >>> tuple(y.shape), thw
        ((2, 9, 8), (2, 2, 2))
    """

    def __init__(self, pool: nn.Module, norm: nn.Module | None,
                 activation: nn.Module | None = None, norm_before_pool: bool = False) -> None:
        super().__init__()
        self.pool = pool
        stack = [m for m in (norm, activation) if m is not None]
        self.norm_before_pool = norm_before_pool
        self.norm_act = nn.Sequential(*stack) if stack else None

    def forward(self, x: Tensor, thw: tuple[int, int, int]) -> tuple[Tensor, tuple[int, ...]]:
        flat = x.dim() == 3
        if flat:
            x = x.unsqueeze(1)
        b, heads, _, c = x.shape
        cls_tok, grid = x[:, :, :1, :], x[:, :, 1:, :]
        # channels first for the 3-D pooling: (B * heads, C, T, H, W)
        grid = grid.reshape(b * heads, thw[0], thw[1], thw[2], c).permute(0, 4, 1, 2, 3)
        if self.norm_before_pool and self.norm_act is not None:
            grid = self.norm_act(grid)
        grid = self.pool(grid)
        new_thw = tuple(grid.shape[2:])
        grid = grid.reshape(b, heads, c, -1).transpose(2, 3)
        x = cat([cls_tok, grid], dim=2)
        if not self.norm_before_pool and self.norm_act is not None:
            x = self.norm_act(x)
        if flat:
            x = x.squeeze(1)
        return x, new_thw


def _rel_index(q_size: int, k_size: int) -> np.ndarray:
    # the relative distance between query i and key j on a common grid (the coarser axis is
    # stretched onto the finer one), shifted to be a non-negative table row
    q_scale = max(k_size / q_size, 1.0)
    k_scale = max(q_size / k_size, 1.0)
    dist = (np.arange(q_size)[:, None] * q_scale - np.arange(k_size)[None, :] * k_scale
            + (k_size - 1) * k_scale)
    return dist.astype(np.int64)


def _add_rel_pos(attn: Tensor, q: Tensor, q_thw: Sequence[int], k_thw: Sequence[int],
                 rel_pos_h: Tensor, rel_pos_w: Tensor, rel_pos_t: Tensor) -> Tensor:
    # decomposed relative positions (MViTv2, eq. 4): each query adds q . R_t[dt] + q . R_h[dh]
    # + q . R_w[dw] to its logit for each key; the class token takes no part
    qt, qh, qw = q_thw
    kt, kh, kw = k_thw
    b, heads, nq, c = q.shape
    table_t = rel_pos_t[_as_index(_rel_index(qt, kt))]
    table_h = rel_pos_h[_as_index(_rel_index(qh, kh))]
    table_w = rel_pos_w[_as_index(_rel_index(qw, kw))]
    grid_q = q[:, :, 1:].reshape(b, heads, qt, qh, qw, c)
    term_t = einsum("bythwc,tkc->bythwk", grid_q, table_t)
    term_h = einsum("bythwc,hkc->bythwk", grid_q, table_h)
    term_w = einsum("bythwc,wkc->bythwk", grid_q, table_w)
    bias = (term_t.reshape(b, heads, qt, qh, qw, kt, 1, 1)
            + term_h.reshape(b, heads, qt, qh, qw, 1, kh, 1)
            + term_w.reshape(b, heads, qt, qh, qw, 1, 1, kw))
    bias = bias.reshape(b, heads, qt * qh * qw, kt * kh * kw)
    # pad a zero row and column for the class token instead of writing into a slice
    n_k = attn.shape[3]
    bias = cat([zeros(b, heads, qt * qh * qw, 1, dtype=bias.dtype), bias], dim=3)
    bias = cat([zeros(b, heads, 1, n_k, dtype=bias.dtype), bias], dim=2)
    return attn + bias


def _as_index(index: np.ndarray) -> Tensor:
    return from_numpy(index)


def _add_shortcut(x: Tensor, shortcut: Tensor, residual_with_cls_embed: bool) -> Tensor:
    # residual pooling: the pooled queries join the attention output; the class token's too
    # only when asked
    if residual_with_cls_embed:
        return x + shortcut
    return cat([x[:, :, :1], x[:, :, 1:] + shortcut[:, :, 1:]], dim=2)


class MultiscaleAttention(nn.Module):
    """Pooling multi-head self-attention over a token grid (with a leading class token).

    Queries, keys and values are each pooled by a depthwise 3-D convolution (kernel / stride
    per axis) followed by ``norm_layer`` over the head channels; the output grid is the query
    grid. ``output_dim`` may exceed ``embed_dim`` (MViT v2 widens here).

    Example:
        >>> attn = MultiscaleAttention([2, 4, 4], 8, 8, 2, [3, 3, 3], [3, 3, 3], [1, 2, 2],
        ...                            [1, 2, 2], True, False, True)
        >>> y, thw = attn(ember.randn(1, 1 + 2 * 4 * 4, 8), (2, 4, 4))
        >>> tuple(y.shape), thw
        ((1, 9, 8), (2, 2, 2))
    """

    def __init__(self, input_size: list[int], embed_dim: int, output_dim: int, num_heads: int,
                 kernel_q: list[int], kernel_kv: list[int], stride_q: list[int],
                 stride_kv: list[int], residual_pool: bool, residual_with_cls_embed: bool,
                 rel_pos_embed: bool, dropout: float = 0.0,
                 norm_layer: Callable[..., nn.Module] = nn.LayerNorm) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.output_dim = output_dim
        self.num_heads = num_heads
        self.head_dim = output_dim // num_heads
        self.scaler = 1.0 / self.head_dim ** 0.5
        self.residual_pool = residual_pool
        self.residual_with_cls_embed = residual_with_cls_embed

        self.qkv = nn.Linear(embed_dim, 3 * output_dim)
        project: list[nn.Module] = [nn.Linear(output_dim, output_dim)]
        if dropout > 0.0:
            project.append(nn.Dropout(dropout, inplace=True))
        self.project = nn.Sequential(*project)

        self.pool_q = self._pool(kernel_q, stride_q, norm_layer)
        self.pool_k = self._pool(kernel_kv, stride_kv, norm_layer)
        self.pool_v = self._pool(kernel_kv, stride_kv, norm_layer)

        self.rel_pos_h: nn.Parameter | None = None
        self.rel_pos_w: nn.Parameter | None = None
        self.rel_pos_t: nn.Parameter | None = None
        if rel_pos_embed:
            # one table row per possible distance between a query and a key along each axis
            sizes = [2 * max(n // sq, n // skv) - 1
                     for n, sq, skv in zip(input_size, stride_q, stride_kv)]
            self.rel_pos_h = nn.Parameter(zeros(sizes[1], self.head_dim))
            self.rel_pos_w = nn.Parameter(zeros(sizes[2], self.head_dim))
            self.rel_pos_t = nn.Parameter(zeros(sizes[0], self.head_dim))
            for table in (self.rel_pos_h, self.rel_pos_w, self.rel_pos_t):
                nn.init.trunc_normal_(table, std=0.02)

    def _pool(self, kernel: list[int], stride: list[int],
              norm_layer: Callable[..., nn.Module]) -> Pool | None:
        if _prod(kernel) <= 1 and _prod(stride) <= 1:
            return None
        conv = nn.Conv3d(self.head_dim, self.head_dim, tuple(kernel), stride=tuple(stride),
                         padding=tuple(k // 2 for k in kernel), groups=self.head_dim,
                         bias=False)
        return Pool(conv, norm_layer(self.head_dim))

    def forward(self, x: Tensor, thw: tuple[int, int, int]) -> tuple[Tensor, tuple[int, ...]]:
        b, n, _ = x.shape
        q, k, v = (self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim)
                   .permute(2, 0, 3, 1, 4).unbind(0))
        q_thw = k_thw = thw
        if self.pool_k is not None:
            k, k_thw = self.pool_k(k, thw)
        if self.pool_v is not None:
            v, _ = self.pool_v(v, thw)
        if self.pool_q is not None:
            q, q_thw = self.pool_q(q, thw)

        attn = (q * self.scaler).matmul(k.transpose(2, 3))
        if self.rel_pos_h is not None:
            attn = _add_rel_pos(attn, q, q_thw, k_thw, self.rel_pos_h, self.rel_pos_w,
                                self.rel_pos_t)
        out = attn.softmax(dim=-1).matmul(v)
        if self.residual_pool:
            out = _add_shortcut(out, q, self.residual_with_cls_embed)
        out = out.transpose(1, 2).reshape(b, -1, self.output_dim)
        return self.project(out), q_thw


class MultiscaleBlock(nn.Module):
    """A pre-norm transformer block with pooling attention; the residual branch is max-pooled
    (``pool_skip``) when the queries are strided and projected (``project``) when the width
    changes — before the MLP in v2 (``proj_after_attn``), after it in v1.

    Example:
        >>> cnf = MSBlockConfig(2, 8, 16, [3, 3, 3], [3, 3, 3], [1, 2, 2], [1, 2, 2])
        >>> block = MultiscaleBlock([2, 4, 4], cnf, True, False, True, True)
        >>> y, thw = block(ember.randn(1, 1 + 2 * 4 * 4, 8), (2, 4, 4))
        >>> tuple(y.shape), thw
        ((1, 9, 16), (2, 2, 2))
    """

    def __init__(self, input_size: list[int], cnf: MSBlockConfig, residual_pool: bool,
                 residual_with_cls_embed: bool, rel_pos_embed: bool, proj_after_attn: bool,
                 dropout: float = 0.0, stochastic_depth_prob: float = 0.0,
                 norm_layer: Callable[..., nn.Module] = nn.LayerNorm) -> None:
        super().__init__()
        self.proj_after_attn = proj_after_attn
        self.pool_skip: Pool | None = None
        if _prod(cnf.stride_q) > 1:
            kernel = [s + 1 if s > 1 else s for s in cnf.stride_q]
            self.pool_skip = Pool(nn.MaxPool3d(kernel, stride=cnf.stride_q,
                                               padding=[k // 2 for k in kernel]), None)
        attn_dim = cnf.output_channels if proj_after_attn else cnf.input_channels
        self.norm1 = norm_layer(cnf.input_channels)
        self.norm2 = norm_layer(attn_dim)
        self.needs_transposal = isinstance(self.norm1, nn.BatchNorm1d)
        self.attn = MultiscaleAttention(
            input_size, cnf.input_channels, attn_dim, cnf.num_heads, kernel_q=cnf.kernel_q,
            kernel_kv=cnf.kernel_kv, stride_q=cnf.stride_q, stride_kv=cnf.stride_kv,
            rel_pos_embed=rel_pos_embed, residual_pool=residual_pool,
            residual_with_cls_embed=residual_with_cls_embed, dropout=dropout,
            norm_layer=norm_layer)
        self.mlp = MLP(attn_dim, [4 * attn_dim, cnf.output_channels],
                       activation_layer=nn.GELU, dropout=dropout, inplace=None)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.project: nn.Linear | None = None
        if cnf.input_channels != cnf.output_channels:
            self.project = nn.Linear(cnf.input_channels, cnf.output_channels)

    def _norm(self, norm: nn.Module, x: Tensor) -> Tensor:
        # a BatchNorm1d normalises channels on dim 1, tokens keep them last
        if self.needs_transposal:
            return norm(x.transpose(1, 2)).transpose(1, 2)
        return norm(x)

    def forward(self, x: Tensor, thw: tuple[int, int, int]) -> tuple[Tensor, tuple[int, ...]]:
        x_norm = self._norm(self.norm1, x)
        x_attn, thw_out = self.attn(x_norm, thw)
        widen_now = self.project is not None and self.proj_after_attn
        skip = self.project(x_norm) if widen_now else x
        if self.pool_skip is not None:
            skip, _ = self.pool_skip(skip, thw)
        x = skip + self.stochastic_depth(x_attn)
        x_norm = self._norm(self.norm2, x)
        widen_late = self.project is not None and not self.proj_after_attn
        skip = self.project(x_norm) if widen_late else x
        return skip + self.stochastic_depth(self.mlp(x_norm)), thw_out


class PositionalEncoding(nn.Module):
    """Prepends the learned class token; without relative positions (MViT v1) also adds
    learned absolute positions, factored into spatial and temporal tables (plus one for the
    class token).

    Example:
        >>> enc = PositionalEncoding(8, (4, 4), 2, rel_pos_embed=False)
        >>> enc(ember.randn(1, 2 * 4 * 4, 8)).shape
        torch.Size([1, 33, 8])
    """

    def __init__(self, embed_size: int, spatial_size: tuple[int, int], temporal_size: int,
                 rel_pos_embed: bool) -> None:
        super().__init__()
        self.spatial_size = spatial_size
        self.temporal_size = temporal_size
        self.class_token = nn.Parameter(zeros(embed_size))
        self.spatial_pos: nn.Parameter | None = None
        self.temporal_pos: nn.Parameter | None = None
        self.class_pos: nn.Parameter | None = None
        if not rel_pos_embed:
            self.spatial_pos = nn.Parameter(zeros(spatial_size[0] * spatial_size[1], embed_size))
            self.temporal_pos = nn.Parameter(zeros(temporal_size, embed_size))
            self.class_pos = nn.Parameter(zeros(embed_size))

    def forward(self, x: Tensor) -> Tensor:
        b, _, c = x.shape
        x = cat([self.class_token.expand(b, 1, c), x], dim=1)
        if self.spatial_pos is None:
            return x
        # frame-major tokens: position (t, s) gets temporal_pos[t] + spatial_pos[s]
        grid = (self.temporal_pos.unsqueeze(1) + self.spatial_pos.unsqueeze(0)).reshape(-1, c)
        return x + cat([self.class_pos.unsqueeze(0), grid], dim=0).unsqueeze(0)


class MViT(nn.Module):
    """A Multiscale Vision Transformer for clips ``(N, 3, temporal_size, *spatial_size)``.

    Args:
        spatial_size: the (H, W) of the clips it accepts.
        temporal_size (int): their number of frames.
        block_setting: one :class:`MSBlockConfig` per block (at least two).
        residual_pool (bool): add the pooled queries to each attention output (v2).
        residual_with_cls_embed (bool): ... the class token's query too.
        rel_pos_embed (bool): relative position terms (v2) instead of absolute positions.
        proj_after_attn (bool): widen channels inside the attention (v2), not in the MLP.
        dropout (float): dropout before the classifier.
        attention_dropout (float): dropout after the attention projection and in the MLPs.
        stochastic_depth_prob (float): the last block's; earlier ones scale down linearly.
        num_classes (int): classifier outputs.
        block: the block type (default :class:`MultiscaleBlock`).
        norm_layer: default ``LayerNorm`` with ``eps=1e-6``.
        patch_embed_kernel, patch_embed_stride, patch_embed_padding: the patch convolution.

    Example:
        >>> cfg = [MSBlockConfig(1, 8, 16, [3, 3, 3], [3, 3, 3], [1, 2, 2], [1, 2, 2]),
        ...        MSBlockConfig(2, 16, 16, [3, 3, 3], [3, 3, 3], [1, 1, 1], [1, 1, 1])]
        >>> model = MViT((16, 16), 4, cfg, True, False, True, True, num_classes=3)
        >>> model.eval()(ember.randn(1, 3, 4, 16, 16)).shape
        torch.Size([1, 3])
    """

    def __init__(self, spatial_size: tuple[int, int], temporal_size: int,
                 block_setting: Sequence[MSBlockConfig], residual_pool: bool,
                 residual_with_cls_embed: bool, rel_pos_embed: bool, proj_after_attn: bool,
                 dropout: float = 0.5, attention_dropout: float = 0.0,
                 stochastic_depth_prob: float = 0.0, num_classes: int = 400,
                 block: Callable[..., nn.Module] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None,
                 patch_embed_kernel: tuple[int, int, int] = (3, 7, 7),
                 patch_embed_stride: tuple[int, int, int] = (2, 4, 4),
                 patch_embed_padding: tuple[int, int, int] = (1, 3, 3)) -> None:
        super().__init__()
        if len(block_setting) == 0:
            raise ValueError("The configuration parameter can't be empty.")
        if block is None:
            block = MultiscaleBlock
        if norm_layer is None:
            norm_layer = partial(nn.LayerNorm, eps=1e-6)

        self.conv_proj = nn.Conv3d(3, block_setting[0].input_channels,
                                   kernel_size=patch_embed_kernel, stride=patch_embed_stride,
                                   padding=patch_embed_padding)
        grid = [n // s for n, s in zip((temporal_size, *spatial_size), self.conv_proj.stride)]
        self.pos_encoding = PositionalEncoding(block_setting[0].input_channels,
                                               (grid[1], grid[2]), grid[0], rel_pos_embed)
        self.blocks = nn.ModuleList()
        last = len(block_setting) - 1.0
        for index, cnf in enumerate(block_setting):
            self.blocks.append(block(
                input_size=grid, cnf=cnf, residual_pool=residual_pool,
                residual_with_cls_embed=residual_with_cls_embed, rel_pos_embed=rel_pos_embed,
                proj_after_attn=proj_after_attn, dropout=attention_dropout,
                stochastic_depth_prob=stochastic_depth_prob * index / last,
                norm_layer=norm_layer))
            if len(cnf.stride_q) > 0:
                grid = [n // s for n, s in zip(grid, cnf.stride_q)]
        self.norm = norm_layer(block_setting[-1].output_channels)
        self.head = nn.Sequential(nn.Dropout(dropout, inplace=True),
                                  nn.Linear(block_setting[-1].output_channels, num_classes))

        # truncated-normal (std 0.02) linear weights and learned positions, zero biases,
        # identity layer norms; the convolutions keep their default initialisation
        for m in self.modules():
            if isinstance(m, PositionalEncoding):
                for param in m.parameters():
                    nn.init.trunc_normal_(param, std=0.02)
                continue
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
            elif isinstance(m, nn.LayerNorm) and m.weight is not None:
                nn.init.ones_(m.weight)
            if isinstance(m, (nn.Linear, nn.LayerNorm)) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_proj(x)
        x = x.flatten(2).transpose(1, 2)
        x = self.pos_encoding(x)
        thw = (self.pos_encoding.temporal_size, *self.pos_encoding.spatial_size)
        for blk in self.blocks:
            x, thw = blk(x, thw)
        return self.head(self.norm(x)[:, 0])


def _meta(num_params: int, recipe: str, top1: float, top5: float) -> dict[str, Any]:
    return {"min_size": (224, 224), "min_temporal_size": 16, "num_params": num_params,
            "recipe": recipe, "_metrics": {"Kinetics-400": {"acc@1": top1, "acc@5": top5}}}


MViT_V1_B_Weights = _video_enum("MViT_V1_B_Weights", __name__, [
    ("KINETICS400_V1", "mvit_v1_b-dbeb1030.pth",
     _meta(36610672,
           "https://github.com/facebookresearch/pytorchvideo/blob/main/docs/source/model_zoo.md",
           78.477, 93.582))])
MViT_V2_S_Weights = _video_enum("MViT_V2_S_Weights", __name__, [
    ("KINETICS400_V1", "mvit_v2_s-ae3be167.pth",
     _meta(34537744, "https://github.com/facebookresearch/SlowFast/blob/main/MODEL_ZOO.md",
           80.757, 94.665))])


def _stages(rows: list[tuple[int, int, int, int, int, int, int]]) -> list[MSBlockConfig]:
    # rows: (repeat, heads, in, out, query kernel, query spatial stride, kv spatial stride)
    blocks = []
    for repeat, heads, c_in, c_out, kq, sq, skv in rows:
        for _ in range(repeat):
            blocks.append(MSBlockConfig(heads, c_in, c_out, [kq] * 3, [3, 3, 3],
                                        [1, sq, sq], [1, skv, skv]))
    return blocks


def _mvit(name: str, enum: type, weights: Any, block_setting: list[MSBlockConfig],
          v2: bool, kwargs: dict[str, Any]) -> MViT:
    _check_weights(name, enum, weights, kwargs)
    depth_prob = kwargs.pop("stochastic_depth_prob", 0.2)
    return MViT(spatial_size=(224, 224), temporal_size=16, block_setting=block_setting,
                residual_pool=v2, residual_with_cls_embed=False, rel_pos_embed=v2,
                proj_after_attn=v2, stochastic_depth_prob=depth_prob, **kwargs)


def mvit_v1_b(*, weights: MViT_V1_B_Weights | None = None, progress: bool = True,
              **kwargs: Any) -> MViT:
    """MViT v1-B (16 blocks, 36.6M parameters) for 16-frame 224 x 224 clips.

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead.
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`MViT` (``num_classes``, ``dropout``,
            ``stochastic_depth_prob`` (default 0.2), ...).

    Example:
        >>> model = mvit_v1_b(num_classes=5)
        >>> model.head[1].out_features
        5
    """
    setting = _stages([(1, 1, 96, 192, 1, 1, 8), (1, 2, 192, 192, 3, 2, 4),
                       (1, 2, 192, 384, 1, 1, 4), (1, 4, 384, 384, 3, 2, 2),
                       (9, 4, 384, 384, 1, 1, 2), (1, 4, 384, 768, 1, 1, 2),
                       (1, 8, 768, 768, 3, 2, 1), (1, 8, 768, 768, 1, 1, 1)])
    return _mvit("mvit_v1_b", MViT_V1_B_Weights, weights, setting, False, kwargs)


def mvit_v2_s(*, weights: MViT_V2_S_Weights | None = None, progress: bool = True,
              **kwargs: Any) -> MViT:
    """MViT v2-S (16 blocks, 34.5M parameters) for 16-frame 224 x 224 clips; arguments as
    :func:`mvit_v1_b`.

    Example:
        >>> model = mvit_v2_s(num_classes=5)
        >>> model.blocks[0].attn.rel_pos_h.shape
        torch.Size([111, 96])
    """
    setting = _stages([(1, 1, 96, 96, 3, 1, 8), (1, 2, 96, 192, 3, 2, 4),
                       (1, 2, 192, 192, 3, 1, 4), (1, 4, 192, 384, 3, 2, 2),
                       (10, 4, 384, 384, 3, 1, 2), (1, 8, 384, 768, 3, 2, 1),
                       (1, 8, 768, 768, 3, 1, 1)])
    return _mvit("mvit_v2_s", MViT_V2_S_Weights, weights, setting, True, kwargs)
