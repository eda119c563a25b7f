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
