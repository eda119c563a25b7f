"""Shared helpers for ``ember.vision.models`` (mirrors torchvision's ``_utils``/``ops.misc``)."""

from __future__ import annotations

from ..ops.layers import Conv2dNormActivation  # noqa: F401  (one definition, torchvision.ops')


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


def _ovewrite_named_param(kwargs: dict, param: str, new_value) -> None:
    """Set a builder's fixed argument, refusing a conflicting user value (as torchvision)."""
    if param in kwargs and kwargs[param] != new_value:
        raise ValueError(f"The parameter '{param}' expected value {new_value} "
                         f"but got {kwargs[param]} instead.")
    kwargs[param] = new_value


def init_mobile_weights(model, linear_init) -> None:
    """The initialisation torchvision's mobile families share (MobileNetV2/V3, EfficientNet):
    convolutions Kaiming-normal (fan out) with zero biases, norms 1 and 0, and each ``Linear``
    by ``linear_init(m)``; in module order, so the random draws follow torchvision's."""
    from ... import nn

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            linear_init(m)
            nn.init.zeros_(m.bias)


def normal_linear(m) -> None:
    """MobileNet's classifier initialisation: N(0, 0.01)."""
    from ... import nn

    nn.init.normal_(m.weight, 0, 0.01)
