"""ConvNeXt (Liu et al., "A ConvNet for the 2020s", 2022), built module for module like
``torchvision.models.convnext``: the Tiny, Small, Base and Large builders.

A ConvNeXt block is a 7x7 depthwise conv followed by a channels-last MLP (LayerNorm, 4x
expansion, GELU), scaled by a learnt per-channel factor and added back to its input. Stages are
joined by LayerNorm + stride-2 2x2 convolutions. State_dict keys equal torchvision's
(``features.1.0.layer_scale``, ``features.1.0.block.0.weight``, ..., ``classifier.2.weight``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from ... import nn, ones
from ..._tensor import Tensor
from ...nn import functional as F
from ..ops.layers import Permute
from ..ops.regularization import StochasticDepth
from ._utils import Conv2dNormActivation, _no_pretrained

__all__ = ["ConvNeXt", "CNBlockConfig", "CNBlock", "LayerNorm2d", "convnext_tiny", "convnext_small",
           "convnext_base", "convnext_large"]

# channels-first <-> channels-last, so LayerNorm and Linear act on the channel axis
_TO_LAST = [0, 2, 3, 1]
_TO_FIRST = [0, 3, 1, 2]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel axis of an ``(N, C, H, W)`` tensor (each pixel normalised
    across its ``C`` channels); constructed like ``nn.LayerNorm(C)``.

    Example:
        >>> norm = LayerNorm2d(8, eps=1e-6)
        >>> norm(ember.randn(2, 8, 4, 4)).shape
        torch.Size([2, 8, 4, 4])
    """

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(*_TO_LAST)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(*_TO_FIRST)


class CNBlock(nn.Module):
    """The ConvNeXt block: ``x + drop(layer_scale * mlp(dwconv(x)))``.

    ``block`` is 7x7 depthwise conv, to channels-last, norm (default LayerNorm, eps 1e-6),
    Linear to ``4 * dim``, GELU, Linear back to ``dim``, to channels-first. ``layer_scale`` is a
    ``(dim, 1, 1)`` parameter started at the given value; ``stochastic_depth`` drops whole
    samples' residuals with probability ``stochastic_depth_prob`` in training.

    Example:
        >>> block = CNBlock(16, layer_scale=1e-6, stochastic_depth_prob=0.0)
        >>> block(ember.randn(2, 16, 8, 8)).shape
        torch.Size([2, 16, 8, 8])
    """

    def __init__(self, dim, layer_scale: float, stochastic_depth_prob: float,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        norm = partial(nn.LayerNorm, eps=1e-6) if norm_layer is None else norm_layer
        hidden = 4 * dim
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute(list(_TO_LAST)), norm(dim),
            nn.Linear(dim, hidden, bias=True), nn.GELU(), nn.Linear(hidden, dim, bias=True),
            Permute(list(_TO_FIRST)))
        self.layer_scale = nn.Parameter(ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input: Tensor) -> Tensor:
        branch = self.stochastic_depth(self.layer_scale * self.block(input))
        branch += input
        return branch


class CNBlockConfig:
    """One ConvNeXt stage: ``num_layers`` blocks of ``input_channels`` channels, followed by a
    downsampling layer to ``out_channels`` (None for the last stage, which has none).

    Example:
        >>> CNBlockConfig(96, 192, 3)
        CNBlockConfig(input_channels=96, out_channels=192, num_layers=3)
    """

    def __init__(self, input_channels: int, out_channels: int | None, num_layers: int) -> None:
        self.input_channels = input_channels
        self.out_channels = out_channels
        self.num_layers = num_layers

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class ConvNeXt(nn.Module):
    """A ConvNeXt: a 4x4 stride-4 "patchify" stem with norm, the stages of ``block_setting``
    (each followed by its downsampling layer), global average pooling, and a head of norm,
    flatten and Linear.

    Stochastic depth grows linearly over all blocks, from 0 to ``stochastic_depth_prob``.
    Convolutions and linear layers start truncated-normal (std 0.02) with zero biases.

    Args:
        block_setting (list of CNBlockConfig): the stages.
        stochastic_depth_prob (float): Default: 0.0.
        layer_scale (float): initial value of every block's ``layer_scale``. Default: 1e-6.
        num_classes (int): Default: 1000.
        block (callable, optional): Default: :class:`CNBlock`.
        norm_layer (callable, optional): the stem's, downsamplers' and head's norm.
            Default: :class:`LayerNorm2d` with eps 1e-6.

    Example:
        >>> setting = [CNBlockConfig(8, 16, 1), CNBlockConfig(16, None, 1)]
        >>> model = ConvNeXt(setting, num_classes=5)
        >>> model(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 5])
    """

    def __init__(self, block_setting: list[CNBlockConfig], stochastic_depth_prob: float = 0.0,
                 layer_scale: float = 1e-6, num_classes: int = 1000,
                 block: Callable[..., nn.Module] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None, **kwargs: Any) -> None:
        super().__init__()
        if not block_setting:
            raise ValueError("The block_setting should not be empty")
        if not isinstance(block_setting, Sequence) or \
                any(not isinstance(cnf, CNBlockConfig) for cnf in block_setting):
            raise TypeError("The block_setting should be List[CNBlockConfig]")
        block = CNBlock if block is None else block
        norm_layer = partial(LayerNorm2d, eps=1e-6) if norm_layer is None else norm_layer

        width = block_setting[0].input_channels
        layers: list[nn.Module] = [Conv2dNormActivation(
            3, width, kernel_size=4, stride=4, padding=0, norm_layer=norm_layer,
            activation_layer=None, bias=True)]
        # the probability rises linearly to the full value at the very last block
        last_index = sum(cnf.num_layers for cnf in block_setting) - 1.0
        index = 0
        for cnf in block_setting:
            stage = []
            for _ in range(cnf.num_layers):
                p = stochastic_depth_prob * index / last_index
                stage.append(block(cnf.input_channels, layer_scale, p))
                index += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:
                layers.append(nn.Sequential(
                    norm_layer(cnf.input_channels),
                    nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)

        final = block_setting[-1]
        width = final.input_channels if final.out_channels is None else final.out_channels
        self.classifier = nn.Sequential(norm_layer(width), nn.Flatten(1),
                                        nn.Linear(width, num_classes))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def _forward_impl(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)))

    def forward(self, x: Tensor) -> Tensor:
        return self._forward_impl(x)


def convnext_tiny(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-Tiny: stages of 3, 3, 9, 3 blocks with 96, 192, 384, 768 channels;
    ``stochastic_depth_prob`` defaults to 0.1.

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead.
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`ConvNeXt` (``num_classes``, ``layer_scale``, ...).

    Example:
        >>> model = convnext_tiny(num_classes=10)
        >>> model(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """
    return _convnext("convnext_tiny", 96, 9, 0.1, weights, kwargs)


def _convnext(name: str, width: int, third_stage: int, depth_prob: float, weights: Any,
              kwargs: dict[str, Any]) -> ConvNeXt:
    # every variant doubles the width at each of its four stages; they differ in the stem
    # width, the depth of the third stage and the default stochastic depth
    _no_pretrained(name, weights, kwargs)
    widths = [width, 2 * width, 4 * width, 8 * width]
    depths = [3, 3, third_stage, 3]
    setting = [CNBlockConfig(w, nxt, d) for w, nxt, d in zip(widths, widths[1:] + [None], depths)]
    return ConvNeXt(setting, kwargs.pop("stochastic_depth_prob", depth_prob), **kwargs)


def convnext_small(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-Small: stages of 3, 3, 27, 3 blocks with 96, 192, 384, 768 channels;
    ``stochastic_depth_prob`` defaults to 0.4. Arguments as :func:`convnext_tiny`.

    Example:
        >>> [len(stage) for stage in convnext_small(num_classes=3).features[1::2]]
        [3, 3, 27, 3]
    """
    return _convnext("convnext_small", 96, 27, 0.4, weights, kwargs)


def convnext_base(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-Base: stages of 3, 3, 27, 3 blocks with 128, 256, 512, 1024 channels;
    ``stochastic_depth_prob`` defaults to 0.5. Arguments as :func:`convnext_tiny`.

    Example:
        >>> convnext_base(num_classes=3).classifier[2]
        Linear(in_features=1024, out_features=3, bias=True)
    """
    return _convnext("convnext_base", 128, 27, 0.5, weights, kwargs)


def convnext_large(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-Large: stages of 3, 3, 27, 3 blocks with 192, 384, 768, 1536 channels;
    ``stochastic_depth_prob`` defaults to 0.5. Arguments as :func:`convnext_tiny`.

    Example:
        >>> convnext_large(num_classes=3).classifier[2]
        Linear(in_features=1536, out_features=3, bias=True)
    """
    return _convnext("convnext_large", 192, 27, 0.5, weights, kwargs)
