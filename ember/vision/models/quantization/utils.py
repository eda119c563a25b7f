"""Helpers shared by the quantizable models: swapping activations for plain ``ReLU``, fusing
with the eval/QAT choice, and the post-training quantization a builder's ``quantize=True``
runs."""

from __future__ import annotations

from typing import Any

from .... import nn, rand
from ....ao import quantization as _aoq


def _replace_relu(module: nn.Module) -> None:
    """Replace every ``ReLU``/``ReLU6`` below ``module`` by a fresh non-inplace ``ReLU``.

    Quantized kernels fuse a convolution with a ReLU only, and observers need the
    activation's output as a tensor of its own (not an in-place change of the input).

    Example:
        >>> m = nn.Sequential(nn.Conv2d(1, 1, 1), nn.ReLU6(inplace=True))
        >>> _replace_relu(m); m[1]
        ReLU()
    """
    swaps = {}
    for name, child in module.named_children():
        _replace_relu(child)
        if type(child) in (nn.ReLU, nn.ReLU6):
            swaps[name] = nn.ReLU(inplace=False)
    for name, relu in swaps.items():
        module._modules[name] = relu


def _fuse_modules(model: nn.Module, modules_to_fuse: Any, is_qat: bool | None,
                  **kwargs: Any) -> nn.Module:
    """``fuse_modules`` (eval: BatchNorm folded) or ``fuse_modules_qat`` (training: kept);
    ``is_qat=None`` picks from ``model.training``.

    Example:
        >>> m = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2)).eval()
        >>> type(_fuse_modules(m, ["0", "1"], None)[0]).__name__
        'Conv2d'
    """
    if is_qat is None:
        is_qat = model.training
    fuse = _aoq.fuse_modules_qat if is_qat else _aoq.fuse_modules
    return fuse(model, modules_to_fuse, **kwargs)


def quantize_model(model: nn.Module, backend: str, calibrate: bool = True) -> None:
    """Quantize ``model`` in place for ``backend`` ("fbgemm", "x86" or "qnnpack"): fuse,
    observe one random batch (unless ``calibrate`` is false), convert. Without pretrained
    weights the scales are only those of that random batch, so the result is a structural
    stand-in, not a usable classifier.

    Example:
        >>> from ember.vision.models.quantization import resnet18
        >>> m = resnet18(num_classes=3)
        >>> quantize_model(m, "fbgemm"); m.fc._get_name()
        'QuantizedLinear'
    """
    # one batch in [0, 1), the range of ToTensor images
    sample = rand(1, 3, 299, 299)
    if backend not in ("fbgemm", "x86", "qnnpack"):
        raise RuntimeError("Quantized backend not supported ")
    model.eval()
    model.fuse_model()
    model.qconfig = _aoq.get_default_qconfig(backend)
    _aoq.prepare(model, inplace=True)
    if calibrate:
        model(sample)
    _aoq.convert(model, inplace=True)


_URL = "https://download.pytorch.org/models/quantized/"


def _quantized_weights(enum_name: str, module: str, default: str,
                       members: list[tuple[str, str, int, str, str, int]]):
    """A ``<Model>_QuantizedWeights`` enum: each member is (name, checkpoint file, parameter
    count, backend, the float weights it was quantized from as "Enum.MEMBER", min size).

    Example:
        >>> W = _quantized_weights("Toy_QuantizedWeights", __name__, "V1",
        ...     [("V1", "toy.pth", 10, "fbgemm", "ResNet18_Weights.IMAGENET1K_V1", 1)])
        >>> W.DEFAULT.meta["backend"], W.DEFAULT.url.endswith("quantized/toy.pth")
        ('fbgemm', True)
    """
    from .._api import _WEIGHT_ENUMS, Weights, WeightsEnum, _no_transforms

    values = {}
    for name, file, num_params, backend, unquantized, size in members:
        float_enum, float_member = unquantized.split(".")
        meta = {"num_params": num_params, "min_size": (size, size), "backend": backend,
                "unquantized": _WEIGHT_ENUMS[float_enum][float_member]}
        values[name] = Weights(_URL + file, _no_transforms, meta)
    values["DEFAULT"] = values[default]
    enum = WeightsEnum(enum_name, list(values.items()))
    enum.__module__ = module
    return enum


def _check_weights(name: str, weights: Any, quantize: bool, quantized_enum, float_enum,
                   kwargs: dict) -> None:
    """The builders' common weights handling: the enum that ``quantize`` calls for checks the
    value (``TypeError`` for the other one, as torchvision), then ember refuses any
    download."""
    from .._utils import _no_pretrained

    (quantized_enum if quantize else float_enum).verify(weights)
    _no_pretrained(f"quantized {name}", weights, kwargs)
