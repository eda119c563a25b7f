"""MaxViT (Tu et al., "MaxViT: Multi-Axis Vision Transformer", 2022), built module for module
like ``torchvision.models.maxvit``; ember provides the MaxViT-T builder.

Every MaxViT layer is an MBConv (inverted bottleneck with squeeze-excitation), then attention
within local ``P x P`` windows ("block" attention), then attention across a sparse ``P x P``
grid spanning the whole map ("grid" attention); both attentions carry a learnt relative position
bias. The model is built for one ``input_size``: every stage's feature map must split into
whole partitions. State_dict keys equal torchvision's
(``blocks.0.layers.0.layers.MBconv.layers.conv_a.0.weight``, ..., ``classifier.5.weight``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

from ... import arange, flatten, meshgrid, nn, stack, swapaxes, zeros
from ..._tensor import Tensor
from ...nn import functional as F
from ..ops.layers import Conv2dNormActivation, SqueezeExcitation
from ..ops.regularization import StochasticDepth
from ._api import _WEIGHT_ENUMS, get_model_weights
from ._utils import _no_pretrained, _ovewrite_named_param

# torchvision's public names for this module (the building blocks are importable too)
__all__ = ["MaxVit", "MaxVit_T_Weights", "maxvit_t"]

# the checkpoint enum (names and addresses; defined with the others in ``_api``)
MaxVit_T_Weights = _WEIGHT_ENUMS["MaxVit_T_Weights"]


def _get_conv_output_shape(input_size: tuple[int, int], kernel_size: int, stride: int,
                           padding: int) -> tuple[int, int]:
    """Spatial size after a convolution (no dilation)."""
    return ((input_size[0] - kernel_size + 2 * padding) // stride + 1,
            (input_size[1] - kernel_size + 2 * padding) // stride + 1)


def _make_block_input_shapes(input_size: tuple[int, int], n_blocks: int) -> list[tuple[int, int]]:
    """The feature-map size entering each stage: the stride-2 stem, then a stride-2 first
    layer per stage."""
    shapes = []
    size = _get_conv_output_shape(input_size, 3, 2, 1)
    for _ in range(n_blocks):
        size = _get_conv_output_shape(size, 3, 2, 1)
        shapes.append(size)
    return shapes


def _get_relative_position_index(height: int, width: int) -> Tensor:
    """``(H*W, H*W)`` index into a ``(2H-1)(2W-1)`` bias table for each pair of positions."""
    rows, cols = meshgrid(arange(height), arange(width), indexing="ij")
    grid = flatten(stack([rows, cols]), 1)
    delta = grid[:, :, None] - grid[:, None, :]
    return (delta[0] + height - 1) * (2 * width - 1) + (delta[1] + width - 1)


class MBConv(nn.Module):
    """MaxViT's MBConv: pre-norm, 1x1 expansion (``expansion_ratio``), 3x3 depthwise conv
    (carrying the stride), squeeze-excitation (``squeeze_ratio`` of the *output* channels,
    SiLU), 1x1 projection; added to the input, which is average-pooled (stride 2) and/or
    1x1-projected when the shape changes.

    Example:
        >>> block = MBConv(8, 16, 4, 0.25, 2, nn.GELU, nn.BatchNorm2d)
        >>> block(ember.randn(1, 8, 8, 8)).shape
        torch.Size([1, 16, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, expansion_ratio: float,
                 squeeze_ratio: float, stride: int, activation_layer: Callable[..., nn.Module],
                 norm_layer: Callable[..., nn.Module], p_stochastic_dropout: float = 0.0):
        super().__init__()
        if stride != 1 or in_channels != out_channels:
            shortcut: list[nn.Module] = []
            if stride == 2:
                shortcut.append(nn.AvgPool2d(kernel_size=3, stride=stride, padding=1))
            shortcut.append(nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1,
                                      bias=True))
            self.proj = nn.Sequential(*shortcut)
        else:
            self.proj = nn.Identity()
        hidden = int(out_channels * expansion_ratio)
        squeezed = int(out_channels * squeeze_ratio)
        # a zero probability has no module at all (Identity), as in torchvision
        self.stochastic_depth = (StochasticDepth(p_stochastic_dropout, "row")
                                 if p_stochastic_dropout else nn.Identity())
        self.layers = nn.Sequential(OrderedDict([
            ("pre_norm", norm_layer(in_channels)),
            ("conv_a", Conv2dNormActivation(in_channels, hidden, kernel_size=1, stride=1,
                                            padding=0, activation_layer=activation_layer,
                                            norm_layer=norm_layer, inplace=None)),
            ("conv_b", Conv2dNormActivation(hidden, hidden, kernel_size=3, stride=stride,
                                            padding=1, activation_layer=activation_layer,
                                            norm_layer=norm_layer, groups=hidden,
                                            inplace=None)),
            ("squeeze_excitation", SqueezeExcitation(hidden, squeezed, activation=nn.SiLU)),
            ("conv_c", nn.Conv2d(hidden, out_channels, kernel_size=1, bias=True)),
        ]))

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x) + self.stochastic_depth(self.layers(x))


class RelativePositionalMultiHeadAttention(nn.Module):
    """Multi-head self-attention over the ``max_seq_len`` tokens of each partition of a
    ``(B, G, P, D)`` input, with a learnt relative position bias (a square partition of side
    ``sqrt(max_seq_len)``). Scores are scaled by ``feat_dim ** -0.5``.

    Example:
        >>> attn = RelativePositionalMultiHeadAttention(16, 8, 4)
        >>> attn(ember.randn(1, 3, 4, 16)).shape
        torch.Size([1, 3, 4, 16])
    """

    def __init__(self, feat_dim: int, head_dim: int, max_seq_len: int):
        super().__init__()
        if feat_dim % head_dim != 0:
            raise ValueError(f"feat_dim: {feat_dim} must be divisible by head_dim: {head_dim}")
        self.n_heads, self.head_dim = feat_dim // head_dim, head_dim
        self.max_seq_len = max_seq_len
        self.size = int(math.sqrt(max_seq_len))  # the partition's side
        # (the whole width, not one head's, sets the scale, as in torchvision)
        self.scale_factor = feat_dim ** -0.5
        inner = self.n_heads * head_dim
        self.to_qkv = nn.Linear(feat_dim, 3 * inner)
        self.merge = nn.Linear(inner, feat_dim)
        rows = (2 * self.size - 1) * (2 * self.size - 1)
        self.relative_position_bias_table = nn.Parameter(zeros(rows, self.n_heads))
        self.register_buffer("relative_position_index",
                             _get_relative_position_index(self.size, self.size))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def get_relative_positional_bias(self) -> Tensor:
        """The ``(1, heads, N, N)`` bias added to the attention scores."""
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(self.max_seq_len, self.max_seq_len, -1)
        return bias.permute(2, 0, 1).contiguous().unsqueeze(0)

    def forward(self, x: Tensor) -> Tensor:
        batch, groups, tokens, dim = x.shape
        heads, head_dim = self.n_heads, self.head_dim

        def split_heads(t: Tensor) -> Tensor:
            return t.reshape(batch, groups, tokens, heads, head_dim).permute(0, 1, 3, 2, 4)

        q, k, v = (split_heads(t) for t in self.to_qkv(x).chunk(3, dim=-1))
        scores = q.matmul((k * self.scale_factor).transpose(-2, -1))
        weights = F.softmax(scores + self.get_relative_positional_bias(), dim=-1)
        out = weights.matmul(v).permute(0, 1, 3, 2, 4).reshape(batch, groups, tokens, dim)
        return self.merge(out)


class SwapAxes(nn.Module):
    """Swap two dimensions (and make the result contiguous).

    Example:
        >>> SwapAxes(-2, -3)(ember.zeros(1, 2, 3, 4)).shape
        torch.Size([1, 3, 2, 4])
    """

    def __init__(self, a: int, b: int) -> None:
        super().__init__()
        self.a = a
        self.b = b

    def forward(self, x: Tensor) -> Tensor:
        return swapaxes(x, self.a, self.b).contiguous()


class WindowPartition(nn.Module):
    """``(B, C, H, W)`` -> ``(B, (H/p)(W/p), p*p, C)``: the map cut into ``p x p`` windows,
    windows and their pixels in row-major order.

    Example:
        >>> WindowPartition()(ember.zeros(1, 8, 4, 6), 2).shape
        torch.Size([1, 6, 4, 8])
    """

    def forward(self, x: Tensor, p: int) -> Tensor:
        batch, channels, height, width = x.shape
        x = x.reshape(batch, channels, height // p, p, width // p, p)
        x = x.permute(0, 2, 4, 3, 5, 1)
        return x.reshape(batch, (height // p) * (width // p), p * p, channels)


class WindowDepartition(nn.Module):
    """The inverse of :class:`WindowPartition`: ``(B, hp*wp, p*p, C)`` -> ``(B, C, hp*p,
    wp*p)``.

    Example:
        >>> WindowDepartition()(ember.zeros(1, 6, 4, 8), 2, 2, 3).shape
        torch.Size([1, 8, 4, 6])
    """

    def forward(self, x: Tensor, p: int, h_partitions: int, w_partitions: int) -> Tensor:
        batch, _, _, channels = x.shape
        x = x.reshape(batch, h_partitions, w_partitions, p, p, channels)
        x = x.permute(0, 5, 1, 3, 2, 4)
        return x.reshape(batch, channels, h_partitions * p, w_partitions * p)


class PartitionAttentionLayer(nn.Module):
    """Pre-norm attention + MLP (each residual, with stochastic depth) over partitions of a
    ``(B, C, H, W)`` map of size ``grid_size``: ``"window"`` attends within ``P x P`` windows,
    ``"grid"`` within the ``P x P`` sparse grids whose members lie ``H/P`` apart.

    Example:
        >>> layer = PartitionAttentionLayer(16, 8, 2, "grid", (4, 4), 4, nn.GELU, nn.LayerNorm,
        ...                                 0.0, 0.0, 0.0)
        >>> layer(ember.randn(1, 16, 4, 4)).shape
        torch.Size([1, 16, 4, 4])
    """

    def __init__(self, in_channels: int, head_dim: int, partition_size: int,
                 partition_type: str, grid_size: tuple[int, int], mlp_ratio: int,
                 activation_layer: Callable[..., nn.Module],
                 norm_layer: Callable[..., nn.Module], attention_dropout: float,
                 mlp_dropout: float, p_stochastic_dropout: float) -> None:
        super().__init__()
        if partition_type not in ("grid", "window"):
            raise ValueError("partition_type must be either 'grid' or 'window'")
        self.partition_type, self.grid_size = partition_type, grid_size
        self.head_dim, self.n_heads = head_dim, in_channels // head_dim
        self.n_partitions = grid_size[0] // partition_size
        # a grid partition is a window partition with the roles of "which window" and
        # "which pixel of it" exchanged (hence the swaps around the attention)
        grid = partition_type == "grid"
        self.p = self.n_partitions if grid else partition_size
        self.g = partition_size if grid else self.n_partitions
        self.partition_op, self.departition_op = WindowPartition(), WindowDepartition()
        self.partition_swap = SwapAxes(-2, -3) if grid else nn.Identity()
        self.departition_swap = SwapAxes(-2, -3) if grid else nn.Identity()
        self.attn_layer = nn.Sequential(
            norm_layer(in_channels),
            RelativePositionalMultiHeadAttention(in_channels, head_dim, partition_size ** 2),
            nn.Dropout(attention_dropout))
        hidden = in_channels * mlp_ratio
        self.mlp_layer = nn.Sequential(
            nn.LayerNorm(in_channels), nn.Linear(in_channels, hidden), activation_layer(),
            nn.Linear(hidden, in_channels), nn.Dropout(mlp_dropout))
        self.stochastic_dropout = StochasticDepth(p_stochastic_dropout, mode="row")

    def forward(self, x: Tensor) -> Tensor:
        h_parts, w_parts = self.grid_size[0] // self.p, self.grid_size[1] // self.p
        if self.grid_size[0] % self.p != 0 or self.grid_size[1] % self.p != 0:
            raise AssertionError(f"Grid size must be divisible by partition size. Got grid size "
                                 f"of {self.grid_size} and partition size of {self.p}")
        x = self.partition_swap(self.partition_op(x, self.p))
        x = x + self.stochastic_dropout(self.attn_layer(x))
        x = x + self.stochastic_dropout(self.mlp_layer(x))
        return self.departition_op(self.departition_swap(x), self.p, h_parts, w_parts)


class MaxVitLayer(nn.Module):
    """One MaxViT layer: :class:`MBConv`, then window attention, then grid attention, as
    ``layers`` (keys ``MBconv``, ``window_attention``, ``grid_attention``).

    Example:
        >>> layer = MaxVitLayer(8, 16, 0.25, 4, 1, nn.BatchNorm2d, nn.GELU, 8, 4, 0.0, 0.0,
        ...                     0.0, 2, (4, 4))
        >>> layer(ember.randn(1, 8, 4, 4)).shape
        torch.Size([1, 16, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, squeeze_ratio: float,
                 expansion_ratio: float, stride: int, norm_layer: Callable[..., nn.Module],
                 activation_layer: Callable[..., nn.Module], head_dim: int, mlp_ratio: int,
                 mlp_dropout: float, attention_dropout: float, p_stochastic_dropout: float,
                 partition_size: int, grid_size: tuple[int, int]) -> None:
        super().__init__()
        attention = partial(PartitionAttentionLayer, out_channels, head_dim, partition_size,
                            grid_size=grid_size, mlp_ratio=mlp_ratio,
                            activation_layer=activation_layer, norm_layer=nn.LayerNorm,
                            attention_dropout=attention_dropout, mlp_dropout=mlp_dropout,
                            p_stochastic_dropout=p_stochastic_dropout)
        self.layers = nn.Sequential(OrderedDict([
            ("MBconv", MBConv(in_channels, out_channels, expansion_ratio=expansion_ratio,
                              squeeze_ratio=squeeze_ratio, stride=stride,
                              activation_layer=activation_layer, norm_layer=norm_layer,
                              p_stochastic_dropout=p_stochastic_dropout)),
            ("window_attention", attention(partition_type="window")),
            ("grid_attention", attention(partition_type="grid")),
        ]))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class MaxVitBlock(nn.Module):
    """A MaxViT stage: ``n_layers`` :class:`MaxVitLayer` s, the first halving the map (from
    ``input_grid_size``) and changing the channels; ``p_stochastic`` gives each layer's
    stochastic-depth probability.

    Example:
        >>> block = MaxVitBlock(8, 16, 0.25, 4, nn.BatchNorm2d, nn.GELU, 8, 4, 0.0, 0.0, 2,
        ...                     (8, 8), 2, [0.0, 0.1])
        >>> block(ember.randn(1, 8, 8, 8)).shape
        torch.Size([1, 16, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, squeeze_ratio: float,
                 expansion_ratio: float, norm_layer: Callable[..., nn.Module],
                 activation_layer: Callable[..., nn.Module], head_dim: int, mlp_ratio: int,
                 mlp_dropout: float, attention_dropout: float, partition_size: int,
                 input_grid_size: tuple[int, int], n_layers: int,
                 p_stochastic: list[float]) -> None:
        super().__init__()
        if len(p_stochastic) != n_layers:
            raise ValueError(f"p_stochastic must have length n_layers={n_layers}, "
                             f"got p_stochastic={p_stochastic}.")
        self.layers = nn.ModuleList()
        self.grid_size = _get_conv_output_shape(input_grid_size, kernel_size=3, stride=2,
                                                padding=1)
        for index, p in enumerate(p_stochastic):
            self.layers.append(MaxVitLayer(
                in_channels=in_channels if index == 0 else out_channels,
                out_channels=out_channels, squeeze_ratio=squeeze_ratio,
                expansion_ratio=expansion_ratio, stride=2 if index == 0 else 1,
                norm_layer=norm_layer, activation_layer=activation_layer, head_dim=head_dim,
                mlp_ratio=mlp_ratio, mlp_dropout=mlp_dropout,
                attention_dropout=attention_dropout, p_stochastic_dropout=p,
                partition_size=partition_size, grid_size=self.grid_size))

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MaxVit(nn.Module):
    """MaxViT: a two-conv stride-2 stem, stages of :class:`MaxVitBlock` (each halving the
    map), and a head of global average pooling, LayerNorm, Linear + Tanh and a bias-free
    Linear classifier.

    The model is fixed to ``input_size``: each stage's input size must divide by
    ``partition_size`` (``ValueError`` otherwise, listing the sizes). Stochastic depth rises
    linearly over all layers from 0 to ``stochastic_depth_prob``. Convolutions and Linear
    layers start normal (std 0.02) with zero biases.

    Args:
        input_size (Tuple[int, int]), stem_channels (int), partition_size (int),
        block_channels (List[int]), block_layers (List[int]), head_dim (int),
        stochastic_depth_prob (float), norm_layer (callable, default BatchNorm2d eps 1e-3
        momentum 0.01), activation_layer (default GELU), squeeze_ratio (0.25),
        expansion_ratio (4), mlp_ratio (4), mlp_dropout (0.0), attention_dropout (0.0),
        num_classes (1000).

    Example:
        >>> model = MaxVit((32, 32), 8, 2, [8, 16], [1, 1], 8, 0.0, num_classes=5)
        >>> model(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 5])
    """

    def __init__(self, input_size: tuple[int, int], stem_channels: int, partition_size: int,
                 block_channels: list[int], block_layers: list[int], head_dim: int,
                 stochastic_depth_prob: float,
                 norm_layer: Callable[..., nn.Module] | None = None,
                 activation_layer: Callable[..., nn.Module] = nn.GELU,
                 squeeze_ratio: float = 0.25, expansion_ratio: float = 4, mlp_ratio: int = 4,
                 mlp_dropout: float = 0.0, attention_dropout: float = 0.0,
                 num_classes: int = 1000) -> None:
        super().__init__()
        input_channels = 3
        if norm_layer is None:
            norm_layer = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)

        shapes = _make_block_input_shapes(input_size, len(block_channels))
        for index, shape in enumerate(shapes):
            if shape[0] % partition_size != 0 or shape[1] % partition_size != 0:
                raise ValueError(
                    f"Input size {shape} of block {index} is not divisible by partition size "
                    f"{partition_size}. Consider changing the partition size or the input "
                    f"size.\nCurrent configuration yields the following block input sizes: "
                    f"{shapes}.")

        self.stem = nn.Sequential(
            Conv2dNormActivation(input_channels, stem_channels, 3, stride=2,
                                 norm_layer=norm_layer, activation_layer=activation_layer,
                                 bias=False, inplace=None),
            Conv2dNormActivation(stem_channels, stem_channels, 3, stride=1, norm_layer=None,
                                 activation_layer=None, bias=True))
        input_size = _get_conv_output_shape(input_size, kernel_size=3, stride=2, padding=1)
        self.partition_size = partition_size

        widths_in = [stem_channels] + block_channels[:-1]
        total = sum(block_layers)
        # evenly spaced from 0 to the full probability, both ends included
        # (numpy.linspace's arithmetic: index times step, the last one exactly the full value)
        step = stochastic_depth_prob / (total - 1) if total > 1 else 0.0
        probs = [i * step for i in range(total)]
        if total > 1:
            probs[-1] = stochastic_depth_prob
        self.blocks = nn.ModuleList()
        start = 0
        for width_in, width_out, n_layers in zip(widths_in, block_channels, block_layers):
            self.blocks.append(MaxVitBlock(
                in_channels=width_in, out_channels=width_out, squeeze_ratio=squeeze_ratio,
                expansion_ratio=expansion_ratio, norm_layer=norm_layer,
                activation_layer=activation_layer, head_dim=head_dim, mlp_ratio=mlp_ratio,
                mlp_dropout=mlp_dropout, attention_dropout=attention_dropout,
                partition_size=partition_size, input_grid_size=input_size, n_layers=n_layers,
                p_stochastic=probs[start:start + n_layers]))
            input_size = self.blocks[-1].grid_size
            start += n_layers

        width = block_channels[-1]
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(width), nn.Linear(width, width),
            nn.Tanh(), nn.Linear(width, num_classes, bias=False))
        self._init_weights()

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.classifier(x)

    def _init_weights(self) -> None:
        for layer in self.modules():
            if isinstance(layer, nn.BatchNorm2d):
                nn.init.ones_(layer.weight)
                nn.init.zeros_(layer.bias)
                continue
            if not isinstance(layer, (nn.Conv2d, nn.Linear)):
                continue
            nn.init.normal_(layer.weight, std=0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def maxvit_t(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> MaxVit:
    """MaxViT-T: stem 64, stages of 2, 2, 5, 2 layers with 64, 128, 256, 512 channels,
    head dim 32, partition 7, stochastic depth 0.2, for 224x224 inputs (``input_size``
    may be given; each stage's map must divide by 7, so 224 is the smallest square size).

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead.
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`MaxVit` (``num_classes``, ``input_size``, ...).

    Example:
        >>> model = maxvit_t(num_classes=10)
        >>> model(ember.randn(1, 3, 224, 224)).shape
        torch.Size([1, 10])
    """
    # as torchvision: a foreign enum member is a TypeError and the checkpoint pins the classes
    # and the input size; then ember refuses to download it
    weights = get_model_weights("maxvit_t").verify(weights)
    if weights is not None:
        _ovewrite_named_param(kwargs, "num_classes", 1000)
        _ovewrite_named_param(kwargs, "input_size", (224, 224))
    _no_pretrained("maxvit_t", weights, kwargs)
    kwargs.setdefault("input_size", (224, 224))
    return MaxVit(stem_channels=64, block_channels=[64, 128, 256, 512],
                  block_layers=[2, 2, 5, 2], head_dim=32, stochastic_depth_prob=0.2,
                  partition_size=7, **kwargs)
