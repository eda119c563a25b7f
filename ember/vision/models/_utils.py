"""Shared helpers for ``ember.vision.models`` (mirrors torchvision's ``_utils``/``ops.misc``)."""

from __future__ import annotations

from collections.abc import Callable

from ... import nn


def _no_pretrained(name: str, weights, kwargs: dict) -> None:
    """Refuse pretrained weights: ember cannot download them, but it can load a saved file.

    torchvision's deprecated ``pretrained=`` keyword is accepted only as ``False``.
    """
    pretrained = kwargs.pop("pretrained", False)
    if weights is None and not pretrained:
        return
    asked = f"weights={weights!r}" if weights is not None else "pretrained=True"
    raise ValueError(
        f"{name}({asked}): ember cannot download pretrained weights. Build the model with "
        f"weights=None and load a saved state_dict instead, e.g. "
        f"model = {name}(); model.load_state_dict(ember.load('{name}.pth')) "
        f"(a file written by torch.save(tv_model.state_dict(), '{name}.pth') loads unchanged).")


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """Round ``v`` to a multiple of ``divisor`` without going more than 10% below it."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):
    """Conv2d, then a norm layer, then an activation (torchvision.ops.Conv2dNormActivation).

    Submodules are numbered ``0`` (conv), ``1`` (norm), ``2`` (activation) so state_dict keys
    match torchvision's.

    Example:
        >>> block = Conv2dNormActivation(3, 16, stride=2, activation_layer=nn.ReLU6)
        >>> block(ember.randn(1, 3, 8, 8)).shape
        torch.Size([1, 16, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding: int | None = None, groups: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
                 dilation: int = 1, inplace: bool | None = True, bias: bool | None = None) -> None:
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                            dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            params = {} if inplace is None else {"inplace": inplace}
            layers.append(activation_layer(**params))
        super().__init__(*layers)
        self.out_channels = out_channels


def _ovewrite_named_param(kwargs: dict, param: str, new_value) -> None:
    """Set a builder's fixed argument, refusing a conflicting user value (as torchvision)."""
    if param in kwargs and kwargs[param] != new_value:
        raise ValueError(f"The parameter '{param}' expected value {new_value} "
                         f"but got {kwargs[param]} instead.")
    kwargs[param] = new_value
