"""Small helpers the model builders of ``ember.vision.models`` have in common: refusing
pretrained weights, channel rounding, keyword pinning and the mobile-family initialisation."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from ... import nn
from ..ops.layers import Conv2dNormActivation  # noqa: F401  (one definition, torchvision.ops')

# the norms the mobile families reset to the identity transform (scale 1, shift 0)
_IDENTITY_NORMS = (nn.BatchNorm2d, nn.GroupNorm)


def _no_pretrained(name: str, weights, kwargs: dict) -> None:
    """Refuse a request for pretrained weights, which ember cannot download.

    ``kwargs`` loses its legacy ``pretrained`` flag either way, so that the remaining keywords
    can go straight to the model's constructor.

    Example:
        >>> options = {"pretrained": False, "num_classes": 3}
        >>> _no_pretrained("resnet18", None, options)
        >>> options
        {'num_classes': 3}
    """
    legacy = kwargs.pop("pretrained", False)
    if weights is not None:
        request = f"weights={weights!r}"
    elif legacy:
        request = "pretrained=True"
    else:
        return
    raise ValueError(
        f"{name}({request}): ember cannot download pretrained weights. Build the model with "
        f"weights=None and load a saved state_dict instead, e.g. model = {name}(); "
        f"model.load_state_dict(ember.load('{name}.pth')) (a file written by "
        f"torch.save(tv_model.state_dict(), '{name}.pth') loads unchanged).")


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """``v`` rounded to the nearest multiple of ``divisor`` (halves round up), at least
    ``min_value`` (default ``divisor``), and never more than 10% below ``v``.

    Example:
        >>> _make_divisible(32 * 0.75, 8), _make_divisible(9, 8), _make_divisible(0.3, 8)
        (24, 16, 8)
    """
    floor = divisor if min_value is None else min_value
    nearest = int(v + divisor / 2) // divisor * divisor
    width = max(floor, nearest)
    # a channel count rounded down by more than a tenth would shrink the layer noticeably
    return width + divisor if width < 0.9 * v else width


def _ovewrite_named_param(kwargs: dict, param: str, new_value) -> None:
    """Pin ``kwargs[param]`` to ``new_value``; a caller's different value is a ``ValueError``.

    (The misspelt name is torchvision's.)

    Example:
        >>> options = {}
        >>> _ovewrite_named_param(options, "groups", 32)
        >>> options
        {'groups': 32}
    """
    if param not in kwargs:
        kwargs[param] = new_value
    elif kwargs[param] != new_value:
        raise ValueError(f"The parameter '{param}' expected value {new_value} "
                         f"but got {kwargs[param]} instead.")


def init_mobile_weights(model: nn.Module, linear_init: Callable[[nn.Linear], None]) -> None:
    """Initialise ``model`` as torchvision's mobile families (MobileNetV2/V3, EfficientNet) do.

    Every ``Conv2d`` gets Kaiming-normal weights scaled by its fan-out, every ``BatchNorm2d`` /
    ``GroupNorm`` the identity (weight 1, bias 0), every ``Linear`` whatever ``linear_init``
    draws for its weight; all their biases start at 0. Modules are visited in
    ``model.modules()`` order so the random draws come in torchvision's order.

    Example:
        >>> head = nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8), nn.Linear(8, 2))
        >>> init_mobile_weights(head, normal_linear)
        >>> head[1].weight.sum().item(), head[2].bias.abs().sum().item()
        (8.0, 0.0)
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
        elif isinstance(module, _IDENTITY_NORMS):
            nn.init.ones_(module.weight)
        elif isinstance(module, nn.Linear):
            linear_init(module)
        else:
            continue
        # the three kinds share the same starting bias
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def normal_linear(m: nn.Linear) -> None:
    """Draw a classifier ``Linear``'s weight from N(0, 0.01^2) (the bias is left alone).

    Example:
        >>> layer = nn.Linear(256, 512)
        >>> normal_linear(layer)
        >>> round(layer.weight.std().item(), 2)
        0.01
    """
    nn.init.normal_(m.weight, 0.0, 0.01)


class IntermediateLayerGetter(nn.ModuleDict):
    """Run a model's direct children in order and return the outputs of those named in
    ``return_layers`` (renamed to its values), as an ordered dict.

    Only the children up to the last returned one are kept, so the model must apply its
    children in registration order and in nothing but sequence (no functional steps between).

    Args:
        model (nn.Module): the model whose children are run.
        return_layers (Dict[str, str]): child name -> output key.

    Example:
        >>> from ember.vision.models import resnet18
        >>> body = IntermediateLayerGetter(resnet18(), {"layer1": "feat1", "layer2": "feat2"})
        >>> {k: tuple(v.shape) for k, v in body(ember.rand(1, 3, 64, 64)).items()}
        {'feat1': (1, 64, 16, 16), 'feat2': (1, 128, 8, 8)}
    """

    _version = 2

    def __init__(self, model: nn.Module, return_layers: dict[str, str]) -> None:
        children = [name for name, _ in model.named_children()]
        if not set(return_layers).issubset(children):
            raise ValueError("return_layers are not present in model")
        wanted = {str(k): str(v) for k, v in return_layers.items()}
        kept, remaining = OrderedDict(), set(wanted)
        for name, module in model.named_children():
            if not remaining:
                break
            kept[name] = module
            remaining.discard(name)
        super().__init__(kept)
        self.return_layers = wanted

    def forward(self, x):
        out = OrderedDict()
        for name, module in self.items():
            x = module(x)
            if name in self.return_layers:
                out[self.return_layers[name]] = x
        return out
