"""MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", 2018)
with torchvision 0.28's module layout, so its ``state_dict`` keys, ``repr`` and seeded
initialisation match ``torchvision.models.mobilenet_v2``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import flatten, nn
from ..._tensor import Tensor
from ._utils import (
    Conv2dNormActivation,
    _make_divisible,
    _no_pretrained,
    init_mobile_weights,
    normal_linear,
)

__all__ = ["MobileNetV2", "InvertedResidual", "mobilenet_v2"]

# The paper's Table 2 body, one row per stage: (expansion t, output channels c, repeats n,
# first stride s). The stem (32 channels) and the 1280-channel head are added around it.
_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
           (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class InvertedResidual(nn.Module):
    """MobileNetV2's bottleneck: widen ``inp`` channels by ``expand_ratio`` with a 1x1 conv,
    filter them with a 3x3 depthwise conv of the given ``stride``, and project linearly (no
    activation) to ``oup`` channels; the input is added back when the shapes allow it.

    The layers live in ``self.conv`` (a ``Sequential``): ``[expand,] depthwise, project conv,
    project norm``; the expansion is left out when ``expand_ratio`` is 1.

    Example:
        >>> block = InvertedResidual(16, 16, stride=1, expand_ratio=6)
        >>> block.use_res_connect, block(ember.randn(1, 16, 8, 8)).shape
        (True, torch.Size([1, 16, 8, 8]))
    """

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2 instead of {stride}")
        norm = nn.BatchNorm2d if norm_layer is None else norm_layer
        self.stride = stride
        self.use_res_connect = stride == 1 and inp == oup
        self.out_channels = oup
        self._is_cn = stride > 1
        wide = int(round(inp * expand_ratio))

        stack: list[nn.Module] = []
        if expand_ratio != 1:
            stack.append(Conv2dNormActivation(inp, wide, kernel_size=1, norm_layer=norm,
                                              activation_layer=nn.ReLU6))
        stack.append(Conv2dNormActivation(wide, wide, stride=stride, groups=wide,
                                          norm_layer=norm, activation_layer=nn.ReLU6))
        # the projection is linear: a ReLU here would destroy information in the narrow space
        stack += [nn.Conv2d(wide, oup, 1, 1, 0, bias=False), norm(oup)]
        self.conv = nn.Sequential(*stack)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        return x + out if self.use_res_connect else out


def _check_setting(setting: list[list[int]]) -> None:
    if len(setting) == 0 or len(setting[0]) != 4:
        raise ValueError("inverted_residual_setting should be non-empty or a 4-element list, "
                         f"got {setting}")


class MobileNetV2(nn.Module):
    """MobileNetV2: a stride-2 3x3 stem, the inverted-residual stages, a 1x1 conv to
    ``last_channel`` (1280 scaled up by ``width_mult`` above 1), global average pooling and a
    ``Dropout`` + ``Linear`` classifier.

    ``inverted_residual_setting`` holds ``[t, c, n, s]`` rows (expansion, channels, repeats,
    first stride); channel counts are scaled by ``width_mult`` and rounded to multiples of
    ``round_nearest``. ``block`` and ``norm_layer`` replace the bottleneck and the norm.

    Example:
        >>> model = MobileNetV2(num_classes=10, width_mult=0.5)
        >>> model(ember.randn(2, 3, 32, 32)).shape  # train-mode norms need 2 values
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 inverted_residual_setting: list[list[int]] | None = None,
                 round_nearest: int = 8, block: Callable[..., nn.Module] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None,
                 dropout: float = 0.2) -> None:
        super().__init__()
        unit = InvertedResidual if block is None else block
        norm = nn.BatchNorm2d if norm_layer is None else norm_layer
        setting = [list(row) for row in _STAGES] if inverted_residual_setting is None \
            else inverted_residual_setting
        _check_setting(setting)

        def scaled(channels: float) -> int:
            return _make_divisible(channels, round_nearest)

        width = scaled(32 * width_mult)
        # the head never narrows below 1280 channels, even for width_mult < 1
        self.last_channel = scaled(1280 * max(1.0, width_mult))
        layers: list[nn.Module] = [Conv2dNormActivation(3, width, stride=2, norm_layer=norm,
                                                        activation_layer=nn.ReLU6)]
        for t, c, n, s in setting:
            out = scaled(c * width_mult)
            for i in range(n):
                layers.append(unit(width, out, s if i == 0 else 1, expand_ratio=t,
                                   norm_layer=norm))
                width = out
        layers.append(Conv2dNormActivation(width, self.last_channel, kernel_size=1,
                                           norm_layer=norm, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.last_channel, num_classes))
        init_mobile_weights(self, normal_linear)

    def _forward_impl(self, x: Tensor) -> Tensor:
        # functional pooling (no module), as torchvision: feature-extraction node names follow
        pooled = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(flatten(pooled, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self._forward_impl(x)


def mobilenet_v2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> MobileNetV2:
    """Build torchvision's ``mobilenet_v2``; keywords go to :class:`MobileNetV2`.

    ``weights`` must be ``None`` (ember does not download checkpoints; load a saved
    ``state_dict`` instead) and ``progress`` is accepted and ignored.

    Example:
        >>> mobilenet_v2(num_classes=5).classifier[1].out_features
        5
    """
    _no_pretrained("mobilenet_v2", weights, kwargs)
    return MobileNetV2(**kwargs)
