"""MobileNetV3 (Howard et al., "Searching for MobileNetV3", 2019), Large and Small, with
torchvision 0.28's module layout: ``state_dict`` keys, ``repr`` and seeded initialisation match
``torchvision.models.mobilenet_v3_large`` / ``mobilenet_v3_small``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from ... import flatten, nn
from ..._tensor import Tensor
from ..ops.layers import SqueezeExcitation as _SElayer
from ._utils import (
    Conv2dNormActivation,
    _make_divisible,
    _no_pretrained,
    init_mobile_weights,
    normal_linear,
)

__all__ = ["MobileNetV3", "InvertedResidualConfig", "InvertedResidual", "mobilenet_v3_small",
           "mobilenet_v3_large"]


class InvertedResidualConfig:
    """One bottleneck of a MobileNetV3 body: channel counts (scaled by ``width_mult`` and
    rounded to multiples of 8), depthwise ``kernel``, squeeze-excitation on/off, activation
    (``"HS"`` for hard-swish, anything else for ReLU), ``stride`` and ``dilation``.

    Example:
        >>> cnf = InvertedResidualConfig(16, 3, 64, 24, False, "RE", 2, 1, width_mult=0.5)
        >>> cnf.input_channels, cnf.expanded_channels, cnf.out_channels, cnf.use_hs
        (8, 32, 16, False)
    """

    def __init__(self, input_channels: int, kernel: int, expanded_channels: int,
                 out_channels: int, use_se: bool, activation: str, stride: int, dilation: int,
                 width_mult: float) -> None:
        scale = self.adjust_channels
        self.input_channels = scale(input_channels, width_mult)
        self.kernel = kernel
        self.expanded_channels = scale(expanded_channels, width_mult)
        self.out_channels = scale(out_channels, width_mult)
        self.use_se = use_se
        self.use_hs = activation == "HS"
        self.stride = stride
        self.dilation = dilation

    @staticmethod
    def adjust_channels(channels: int, width_mult: float) -> int:
        """``channels * width_mult`` rounded to a multiple of 8 (see ``_make_divisible``).

        Example:
            >>> InvertedResidualConfig.adjust_channels(1280, 0.75)
            960
        """
        return _make_divisible(channels * width_mult, 8)


class InvertedResidual(nn.Module):
    """MobileNetV3's bottleneck, built from an :class:`InvertedResidualConfig`: an optional 1x1
    expansion, a depthwise conv (dilated convs keep stride 1), an optional squeeze-excitation
    (``se_layer``, hard-sigmoid gate by default) and a linear 1x1 projection, all in
    ``self.block``; the input is added back when stride is 1 and the widths agree.

    Example:
        >>> cnf = InvertedResidualConfig(16, 3, 64, 16, True, "HS", 1, 1, 1.0)
        >>> block = InvertedResidual(cnf, nn.BatchNorm2d)
        >>> block.use_res_connect, block(ember.randn(1, 16, 8, 8)).shape
        (True, torch.Size([1, 16, 8, 8]))
    """

    def __init__(self, cnf: InvertedResidualConfig, norm_layer: Callable[..., nn.Module],
                 se_layer: Callable[..., nn.Module] = partial(
                     _SElayer, scale_activation=nn.Hardsigmoid)) -> None:
        super().__init__()
        if cnf.stride not in (1, 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        act = nn.Hardswish if cnf.use_hs else nn.ReLU
        mid = cnf.expanded_channels
        conv = partial(Conv2dNormActivation, norm_layer=norm_layer)

        parts: list[nn.Module] = []
        if mid != cnf.input_channels:
            parts.append(conv(cnf.input_channels, mid, kernel_size=1, activation_layer=act))
        # a dilated depthwise conv replaces the downsampling (keeps resolution for dense tasks)
        step = 1 if cnf.dilation > 1 else cnf.stride
        parts.append(conv(mid, mid, kernel_size=cnf.kernel, stride=step, dilation=cnf.dilation,
                          groups=mid, activation_layer=act))
        if cnf.use_se:
            parts.append(se_layer(mid, _make_divisible(mid // 4, 8)))
        parts.append(conv(mid, cnf.out_channels, kernel_size=1, activation_layer=None))
        self.block = nn.Sequential(*parts)
        self.out_channels = cnf.out_channels
        self._is_cn = cnf.stride > 1

    def forward(self, input: Tensor) -> Tensor:
        out = self.block(input)
        if self.use_res_connect:
            out += input
        return out


def _check_setting(setting: Any) -> None:
    if not setting:
        raise ValueError("The inverted_residual_setting should not be empty")
    if not isinstance(setting, Sequence) or \
            not all(isinstance(cnf, InvertedResidualConfig) for cnf in setting):
        raise TypeError("The inverted_residual_setting should be List[InvertedResidualConfig]")


class MobileNetV3(nn.Module):
    """MobileNetV3: a stride-2 hard-swish stem, the bottlenecks of
    ``inverted_residual_setting``, a 1x1 conv to 6x the last width, global average pooling
    and a two-layer classifier (``Linear`` to ``last_channel``, hard-swish, ``Dropout``,
    ``Linear``). Norms default to ``BatchNorm2d(eps=0.001, momentum=0.01)``.

    Example:
        >>> setting, last = _mobilenet_v3_conf("mobilenet_v3_small", width_mult=0.5)
        >>> model = MobileNetV3(setting, last, num_classes=10)
        >>> model(ember.randn(2, 3, 32, 32)).shape  # train-mode norms need 2 values
        torch.Size([2, 10])
    """

    def __init__(self, inverted_residual_setting: list[InvertedResidualConfig],
                 last_channel: int, num_classes: int = 1000,
                 block: Callable[..., nn.Module] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None,
                 dropout: float = 0.2, **kwargs: Any) -> None:
        super().__init__()
        _check_setting(inverted_residual_setting)
        unit = InvertedResidual if block is None else block
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01) if norm_layer is None \
            else norm_layer

        stem = Conv2dNormActivation(3, inverted_residual_setting[0].input_channels, stride=2,
                                    norm_layer=norm, activation_layer=nn.Hardswish)
        body = [unit(cnf, norm) for cnf in inverted_residual_setting]
        narrow = inverted_residual_setting[-1].out_channels
        wide = 6 * narrow
        head = Conv2dNormActivation(narrow, wide, kernel_size=1, norm_layer=norm,
                                    activation_layer=nn.Hardswish)
        self.features = nn.Sequential(stem, *body, head)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(wide, last_channel), nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True), nn.Linear(last_channel, num_classes))
        init_mobile_weights(self, normal_linear)

    def _forward_impl(self, x: Tensor) -> Tensor:
        pooled = self.avgpool(self.features(x))
        return self.classifier(flatten(pooled, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self._forward_impl(x)


# The paper's Tables 1 (Large) and 2 (Small), one bottleneck per row:
# (kernel, expanded width, output width, squeeze-excitation, activation, stride).
# Each row's input width is the previous row's output (16 for the first). The "tail" rows
# are the last stage, narrowed by ``reduced_tail`` and dilated by ``dilated``.
_LARGE = [(3, 16, 16, False, "RE", 1), (3, 64, 24, False, "RE", 2), (3, 72, 24, False, "RE", 1),
          (5, 72, 40, True, "RE", 2), (5, 120, 40, True, "RE", 1), (5, 120, 40, True, "RE", 1),
          (3, 240, 80, False, "HS", 2), (3, 200, 80, False, "HS", 1),
          (3, 184, 80, False, "HS", 1), (3, 184, 80, False, "HS", 1),
          (3, 480, 112, True, "HS", 1), (3, 672, 112, True, "HS", 1)]
_LARGE_TAIL = [(5, 672, 160, True, "HS", 2), (5, 960, 160, True, "HS", 1),
               (5, 960, 160, True, "HS", 1)]
_SMALL = [(3, 16, 16, True, "RE", 2), (3, 72, 24, False, "RE", 2), (3, 88, 24, False, "RE", 1),
          (5, 96, 40, True, "HS", 2), (5, 240, 40, True, "HS", 1), (5, 240, 40, True, "HS", 1),
          (5, 120, 48, True, "HS", 1), (5, 144, 48, True, "HS", 1)]
_SMALL_TAIL = [(5, 288, 96, True, "HS", 2), (5, 576, 96, True, "HS", 1),
               (5, 576, 96, True, "HS", 1)]
# arch -> (body rows, tail rows, classifier width before reduction)
_ARCHS = {"mobilenet_v3_large": (_LARGE, _LARGE_TAIL, 1280),
          "mobilenet_v3_small": (_SMALL, _SMALL_TAIL, 1024)}


def _mobilenet_v3_conf(arch: str, width_mult: float = 1.0, reduced_tail: bool = False,
                       dilated: bool = False) -> tuple[list[InvertedResidualConfig], int]:
    """The bottleneck configs and the classifier width of ``arch`` (``"mobilenet_v3_large"``
    or ``"mobilenet_v3_small"``). ``reduced_tail`` halves the last stage's widths (the
    segmentation backbones' option), ``dilated`` gives it dilation 2 instead of stride.

    Example:
        >>> setting, last = _mobilenet_v3_conf("mobilenet_v3_large", reduced_tail=True)
        >>> len(setting), setting[-1].out_channels, last
        (15, 80, 640)
    """
    if arch not in _ARCHS:
        raise ValueError(f"Unsupported model type {arch}")
    body, tail, last = _ARCHS[arch]
    divider = 2 if reduced_tail else 1
    rows = [row + (1,) for row in body]
    # the tail's first block still expands the full-width input: its expansion stays whole
    for i, (k, mid, out, se, act, s) in enumerate(tail):
        rows.append((k, mid if i == 0 else mid // divider, out // divider, se, act, s,
                     2 if dilated else 1))
    setting = []
    width = 16
    for kernel, mid, out, se, act, stride, dilation in rows:
        setting.append(InvertedResidualConfig(width, kernel, mid, out, se, act, stride, dilation,
                                              width_mult))
        width = out
    return setting, InvertedResidualConfig.adjust_channels(last // divider, width_mult)


def _mobilenet_v3(arch: str, weights: Any, kwargs: dict) -> MobileNetV3:
    # the config keywords shape the bottleneck table; the rest go to MobileNetV3
    _no_pretrained(arch, weights, kwargs)
    table = {key: kwargs.pop(key) for key in ("width_mult", "reduced_tail", "dilated")
             if key in kwargs}
    setting, last_channel = _mobilenet_v3_conf(arch, **table)
    return MobileNetV3(setting, last_channel, **kwargs)


def mobilenet_v3_large(*, weights: Any = None, progress: bool = True,
                       **kwargs: Any) -> MobileNetV3:
    """Build torchvision's ``mobilenet_v3_large``; ``width_mult``, ``reduced_tail`` and
    ``dilated`` shape the bottleneck table, other keywords go to :class:`MobileNetV3`.
    ``weights`` must be ``None`` (ember does not download checkpoints).

    Example:
        >>> mobilenet_v3_large(num_classes=4).classifier[3].out_features
        4
    """
    return _mobilenet_v3("mobilenet_v3_large", weights, kwargs)


def mobilenet_v3_small(*, weights: Any = None, progress: bool = True,
                       **kwargs: Any) -> MobileNetV3:
    """Build torchvision's ``mobilenet_v3_small``; keywords as for
    :func:`mobilenet_v3_large`.

    Example:
        >>> mobilenet_v3_small(width_mult=0.75).classifier[0].out_features
        768
    """
    return _mobilenet_v3("mobilenet_v3_small", weights, kwargs)
