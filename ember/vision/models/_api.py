"""``get_model`` / ``get_model_builder``: build a model from its name, as torchvision's
training reference scripts do (``--model resnet18``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import nn


def _builders() -> dict[str, Callable[..., nn.Module]]:
    # torchvision's classification builders that ember provides (``lenet`` is ember's own and
    # not a torchvision model, so it is not reachable by name, as in torchvision)
    from . import mobilenet, resnet, vgg

    names = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
             "wide_resnet50_2", "mobilenet_v2", "alexnet", "vgg11", "vgg11_bn", "vgg13",
             "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]
    found = {}
    for module in (resnet, mobilenet, vgg):
        for name in names:
            if hasattr(module, name):
                found[name] = getattr(module, name)
    return found


def get_model_builder(name: str) -> Callable[..., nn.Module]:
    """The builder function registered under ``name`` (case-insensitive).

    Example:
        >>> get_model_builder("resnet18") is resnet18
        True
    """
    name = name.lower()
    try:
        return _builders()[name]
    except KeyError:
        raise ValueError(f"Unknown model {name}") from None


def get_model(name: str, **config: Any) -> nn.Module:
    """Build the model registered under ``name`` (case-insensitive) with keyword ``config``.

    Example:
        >>> model = get_model("resnet18", weights=None, num_classes=3)
        >>> model.fc.out_features
        3
    """
    return get_model_builder(name)(**config)
