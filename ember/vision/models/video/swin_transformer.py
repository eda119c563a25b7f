"""Video Swin Transformer (Liu et al., "Video Swin Transformer", 2022), built module for module
like ``torchvision.models.video.swin_transformer``: Swin's shifted-window attention over 3-D
``(T, H, W)`` windows of a clip. Clips are ``(N, C, T, H, W)``.

The blocks and patch merging (which halves height and width only) are the image Swin's
(:mod:`ember.vision.models.swin_transformer`) with a 3-D attention layer. A window larger than
the (patch-embedded) clip along an axis shrinks to the clip's size there and is not shifted
along it. State_dict keys equal torchvision's (``patch_embed.proj.weight``,
``features.0.0.attn.relative_position_bias_table``, ..., ``head.weight``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from .... import arange, flatten, meshgrid, nn, roll, stack, zeros
from ...._tensor import Tensor
from ....nn import functional as F
from .. import _api
from ..swin_transformer import (
    PatchMerging,
    SwinTransformerBlock,
    _init_linear_layers,
    _setup_window_attention,
    _stages,
)
from .resnet import _check_weights, _video_enum

__all__ = ["SwinTransformer3d", "Swin3D_T_Weights", "Swin3D_S_Weights", "Swin3D_B_Weights",
           "swin3d_t", "swin3d_s", "swin3d_b"]


def _fit_window(size: tuple[int, ...], window_size: list[int],
                shift_size: list[int]) -> tuple[list[int], list[int]]:
    """The window and shift actually used on a ``size`` map: an axis no longer than its window
    gets a window of its full length and no shift."""
    window, shift = list(window_size), list(shift_size)
    for axis, length in enumerate(size):
        if length <= window[axis]:
            window[axis], shift[axis] = length, 0
    return window, shift


def _shift_mask_3d(padded: tuple[int, int, int], window: list[int], shift: list[int],
                   like: Tensor) -> Tensor:
    """``(windows, N, N)`` additive mask: -100 between tokens of a rolled 3-D window that came
    from different regions of the unrolled clip, else 0."""
    region = like.new_zeros(padded)
    bands = [((0, n - w), (n - w, n - s), (n - s, n)) for n, w, s in zip(padded, window, shift)]
    label = 0
    for t0, t1 in bands[0]:
        for h0, h1 in bands[1]:
            for w0, w1 in bands[2]:
                region[t0:t1, h0:h1, w0:w1] = label
                label += 1
    counts = [n // w for n, w in zip(padded, window)]
    region = region.view(counts[0], window[0], counts[1], window[1], counts[2], window[2])
    region = region.permute(0, 2, 4, 1, 3, 5).reshape(counts[0] * counts[1] * counts[2], -1)
    differs = region[:, None, :] - region[:, :, None]
    return differs.masked_fill(differs != 0, -100.0).masked_fill(differs == 0, 0.0)


def shifted_window_attention_3d(input: Tensor, qkv_weight: Tensor, proj_weight: Tensor,
                                relative_position_bias: Tensor, window_size: list[int],
                                num_heads: int, shift_size: list[int],
                                attention_dropout: float = 0.0, dropout: float = 0.0,
                                qkv_bias: Tensor | None = None,
                                proj_bias: Tensor | None = None,
                                training: bool = True) -> Tensor:
    """Multi-head self-attention within (shifted) 3-D windows of a ``(B, T, H, W, C)`` map.

    ``window_size`` and ``shift_size`` must already fit the map (see the module docstring);
    the map is zero-padded at the end of each axis to whole windows, rolled back by
    ``shift_size``, attended per window with ``relative_position_bias`` (``(1, heads, N, N)``)
    added, and restored.

    Example:
        >>> x = ember.randn(1, 2, 4, 4, 8)
        >>> out = shifted_window_attention_3d(x, ember.randn(24, 8), ember.randn(8, 8),
        ...                                   ember.zeros(1, 2, 8, 8), [2, 2, 2], 2, [1, 1, 1])
        >>> out.shape
        torch.Size([1, 2, 4, 4, 8])
    """
    batch, time, height, width, channels = input.shape
    size = (time, height, width)
    pads = [(w - n % w) % w for n, w in zip(size, window_size)]
    x = F.pad(input, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
    padded = tuple(n + p for n, p in zip(size, pads))
    shifted = sum(shift_size) > 0
    if shifted:
        x = roll(x, shifts=tuple(-s for s in shift_size), dims=(1, 2, 3))

    counts = [n // w for n, w in zip(padded, window_size)]
    n_windows = counts[0] * counts[1] * counts[2]
    tokens = window_size[0] * window_size[1] * window_size[2]
    x = x.view(batch, counts[0], window_size[0], counts[1], window_size[1], counts[2],
               window_size[2], channels)
    x = x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(batch * n_windows, tokens, channels)

    head_dim = channels // num_heads
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.shape[0], tokens, 3, num_heads, head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scores = (q * head_dim ** -0.5).matmul(k.transpose(-2, -1)) + relative_position_bias
    if shifted:
        mask = _shift_mask_3d(padded, window_size, shift_size, x)
        scores = scores.view(batch, n_windows, num_heads, tokens, tokens) + mask[None, :, None]
        scores = scores.view(-1, num_heads, tokens, tokens)
    weights = F.dropout(F.softmax(scores, dim=-1), p=attention_dropout, training=training)
    x = weights.matmul(v).transpose(1, 2).reshape(x.shape[0], tokens, channels)
    x = F.dropout(F.linear(x, proj_weight, proj_bias), p=dropout, training=training)

    x = x.view(batch, counts[0], counts[1], counts[2], window_size[0], window_size[1],
               window_size[2], channels)
    x = x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(batch, *padded, channels)
    if shifted:
        x = roll(x, shifts=tuple(shift_size), dims=(1, 2, 3))
    return x[:, :time, :height, :width, :].contiguous()


class ShiftedWindowAttention3d(nn.Module):
    """3-D window attention with a learnt relative position bias table of
    ``(2Wt-1)(2Wh-1)(2Ww-1)`` rows, one column per head (truncated-normal, std 0.02), and its
    ``(N, N)`` ``relative_position_index`` buffer for the configured window.

    Example:
        >>> attn = ShiftedWindowAttention3d(8, [2, 2, 2], [1, 1, 1], num_heads=2)
        >>> attn(ember.randn(1, 4, 4, 4, 8)).shape
        torch.Size([1, 4, 4, 4, 8])
    """

    def __init__(self, dim: int, window_size: list[int], shift_size: list[int], num_heads: int,
                 qkv_bias: bool = True, proj_bias: bool = True, attention_dropout: float = 0.0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        _setup_window_attention(self, 3, dim, window_size, shift_size, num_heads, qkv_bias,
                                proj_bias, attention_dropout, dropout)

    def define_relative_position_bias_table(self) -> None:
        rows = 1
        for w in self.window_size:
            rows *= 2 * w - 1
        self.relative_position_bias_table = nn.Parameter(zeros(rows, self.num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def define_relative_position_index(self) -> None:
        wt, wh, ww = self.window_size
        grid = flatten(stack(meshgrid(arange(wt), arange(wh), arange(ww), indexing="ij")), 1)
        delta = grid[:, :, None] - grid[:, None, :]  # (3, N, N)
        index = (delta[0] + wt - 1) * (2 * wh - 1) * (2 * ww - 1) \
            + (delta[1] + wh - 1) * (2 * ww - 1) + (delta[2] + ww - 1)
        self.register_buffer("relative_position_index", index)

    def get_relative_position_bias(self, window_size: list[int]) -> Tensor:
        """The ``(1, heads, N, N)`` bias for a (possibly shrunk) ``window_size``: the leading
        ``N x N`` block of the configured window's index, as torchvision takes it."""
        tokens = window_size[0] * window_size[1] * window_size[2]
        index = self.relative_position_index[:tokens, :tokens].flatten()
        bias = self.relative_position_bias_table[index].view(tokens, tokens, -1)
        return bias.permute(2, 0, 1).contiguous().unsqueeze(0)

    def forward(self, x: Tensor) -> Tensor:
        window, shift = _fit_window(tuple(x.shape[1:4]), self.window_size, self.shift_size)
        return shifted_window_attention_3d(
            x, self.qkv.weight, self.proj.weight, self.get_relative_position_bias(window),
            window, self.num_heads, shift_size=shift, attention_dropout=self.attention_dropout,
            dropout=self.dropout, qkv_bias=self.qkv.bias, proj_bias=self.proj.bias,
            training=self.training)


class PatchEmbed3d(nn.Module):
    """Clip to channels-last patch embeddings: zero-pad ``(T, H, W)`` at the end to whole
    patches, a ``patch_size`` stride-``patch_size`` Conv3d, permute to ``(B, T', H', W', C)``,
    then ``norm_layer`` (Identity if None).

    Example:
        >>> PatchEmbed3d([2, 4, 4], 3, 8)(ember.randn(1, 3, 5, 9, 10)).shape
        torch.Size([1, 3, 3, 3, 8])
    """

    def __init__(self, patch_size: list[int], in_channels: int = 3, embed_dim: int = 96,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        self.tuple_patch_size = (patch_size[0], patch_size[1], patch_size[2])
        self.proj = nn.Conv3d(in_channels, embed_dim, kernel_size=self.tuple_patch_size,
                              stride=self.tuple_patch_size)
        self.norm = nn.Identity() if norm_layer is None else norm_layer(embed_dim)

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[2:]
        pads = [(p - n % p) % p for n, p in zip(size, self.tuple_patch_size)]
        x = F.pad(x, (0, pads[2], 0, pads[1], 0, pads[0]))
        return self.norm(self.proj(x).permute(0, 2, 3, 4, 1))


class SwinTransformer3d(nn.Module):
    """Video Swin: :class:`PatchEmbed3d` (+ Dropout ``dropout``), stages of ``depths[i]``
    blocks with 3-D shifted windows (every second block shifted by half a window, channels
    doubling per stage) joined by ``downsample_layer``, then norm, global average pooling and a
    Linear head (400 Kinetics classes by default).

    Stochastic depth grows linearly over all blocks, from 0 to ``stochastic_depth_prob``.
    Linear layers start truncated-normal (std 0.02) with zero biases.

    Example:
        >>> model = SwinTransformer3d([2, 4, 4], 8, [1, 1], [1, 2], [2, 2, 2], num_classes=5)
        >>> model(ember.randn(1, 3, 4, 32, 32)).shape
        torch.Size([1, 5])
    """

    def __init__(self, patch_size: list[int], embed_dim: int, depths: list[int],
                 num_heads: list[int], window_size: list[int], mlp_ratio: float = 4.0,
                 dropout: float = 0.0, attention_dropout: float = 0.0,
                 stochastic_depth_prob: float = 0.1, num_classes: int = 400,
                 norm_layer: Callable[..., nn.Module] | None = None,
                 block: Callable[..., nn.Module] | None = None,
                 downsample_layer: Callable[..., nn.Module] = PatchMerging,
                 patch_embed: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        if block is None:
            block = partial(SwinTransformerBlock, attn_layer=ShiftedWindowAttention3d)
        norm_layer = partial(nn.LayerNorm, eps=1e-5) if norm_layer is None else norm_layer
        patch_embed = PatchEmbed3d if patch_embed is None else patch_embed

        self.patch_embed = patch_embed(patch_size=patch_size, embed_dim=embed_dim,
                                       norm_layer=norm_layer)
        self.pos_drop = nn.Dropout(p=dropout)
        layers = _stages(block, downsample_layer, norm_layer, embed_dim, depths, num_heads,
                         window_size, mlp_ratio, dropout, attention_dropout,
                         stochastic_depth_prob)
        self.features = nn.Sequential(*layers)

        width = embed_dim * 2 ** (len(depths) - 1)  # the last stage's
        self.num_features = width
        self.norm = norm_layer(width)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.head = nn.Linear(width, num_classes)
        _init_linear_layers(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(self.pos_drop(self.patch_embed(x)))
        x = self.norm(x).permute(0, 4, 1, 2, 3)
        return self.head(flatten(self.avgpool(x), 1))


_RECIPE = "https://github.com/SwinTransformer/Video-Swin-Transformer#kinetics-400"


def _meta(num_params: int, top1: float, top5: float) -> dict[str, Any]:
    return {"min_size": (1, 1), "min_temporal_size": 1, "recipe": _RECIPE,
            "num_params": num_params, "_metrics": {"Kinetics-400": {"acc@1": top1, "acc@5": top5}}}


Swin3D_T_Weights = _video_enum("Swin3D_T_Weights", __name__, [
    ("KINETICS400_V1", "swin3d_t-7615ae03.pth", _meta(28158070, 77.715, 93.519))])
Swin3D_S_Weights = _video_enum("Swin3D_S_Weights", __name__, [
    ("KINETICS400_V1", "swin3d_s-da41c237.pth", _meta(49816678, 79.521, 94.158))])
Swin3D_B_Weights = _video_enum("Swin3D_B_Weights", __name__, [
    ("KINETICS400_V1", "swin3d_b_1k-24f7c7c6.pth", _meta(88048984, 79.427, 94.386)),
    ("KINETICS400_IMAGENET22K_V1", "swin3d_b_22k-7c6ae6fa.pth",
     _meta(88048984, 81.643, 95.574))])


def _swin3d(name: str, enum: type[_api.WeightsEnum], weights: Any, embed_dim: int,
            depths: list[int], num_heads: list[int], kwargs: dict[str, Any]) -> SwinTransformer3d:
    _check_weights(name, enum, weights, kwargs)
    return SwinTransformer3d(patch_size=[2, 4, 4], embed_dim=embed_dim, depths=depths,
                             num_heads=num_heads, window_size=[8, 7, 7],
                             stochastic_depth_prob=0.1, **kwargs)


def swin3d_t(*, weights: Swin3D_T_Weights | None = None, progress: bool = True,
             **kwargs: Any) -> SwinTransformer3d:
    """Video Swin-T: patches 2x4x4, embed 96, depths 2-2-6-2, heads 3-6-12-24, window 8x7x7,
    stochastic depth 0.1, 400 classes.

    Args:
        weights: must be None; ember cannot download pretrained weights (a checkpoint also
            pins ``num_classes`` to 400, as in torchvision). Load a saved ``state_dict``.
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`SwinTransformer3d`.

    Example:
        >>> swin3d_t(num_classes=5)(ember.randn(1, 3, 4, 32, 32)).shape
        torch.Size([1, 5])
    """
    return _swin3d("swin3d_t", Swin3D_T_Weights, weights, 96, [2, 2, 6, 2], [3, 6, 12, 24],
                   kwargs)


def swin3d_s(*, weights: Swin3D_S_Weights | None = None, progress: bool = True,
             **kwargs: Any) -> SwinTransformer3d:
    """Video Swin-S: as :func:`swin3d_t` with depths 2-2-18-2.

    Example:
        >>> swin3d_s(num_classes=5).head.out_features
        5
    """
    return _swin3d("swin3d_s", Swin3D_S_Weights, weights, 96, [2, 2, 18, 2], [3, 6, 12, 24],
                   kwargs)


def swin3d_b(*, weights: Swin3D_B_Weights | None = None, progress: bool = True,
             **kwargs: Any) -> SwinTransformer3d:
    """Video Swin-B: embed 128, depths 2-2-18-2, heads 4-8-16-32; otherwise as
    :func:`swin3d_t`.

    Example:
        >>> swin3d_b(num_classes=5).head.in_features
        1024
    """
    return _swin3d("swin3d_b", Swin3D_B_Weights, weights, 128, [2, 2, 18, 2],
                   [4, 8, 16, 32], kwargs)
