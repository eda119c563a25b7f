"""The model shape FCN and DeepLabV3 share: a feature extractor, a main head on its ``"out"``
map and an optional auxiliary head on its ``"aux"`` map, both scaled back to the input size."""

from __future__ import annotations

from collections import OrderedDict

from .... import nn
from ....nn import functional as F


class _SimpleSegmentationModel(nn.Module):
    """``backbone`` (returning a dict with ``"out"`` and optionally ``"aux"``), ``classifier``
    and ``aux_classifier``; the forward returns an ordered dict of per-pixel logits at the
    input's height and width.

    Example:
        >>> from ember.vision.models._utils import IntermediateLayerGetter
        >>> body = IntermediateLayerGetter(nn.Sequential(nn.Conv2d(3, 4, 3, stride=2)),
        ...                                {"0": "out"})
        >>> model = _SimpleSegmentationModel(body, nn.Conv2d(4, 2, 1))
        >>> model(ember.rand(1, 3, 9, 9))["out"].shape
        torch.Size([1, 2, 9, 9])
    """

    __constants__ = ["aux_classifier"]

    def __init__(self, backbone: nn.Module, classifier: nn.Module,
                 aux_classifier: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier
        self.aux_classifier = aux_classifier

    def forward(self, x):
        height, width = x.shape[-2:]
        features = self.backbone(x)
        heads = [("out", self.classifier)]
        if self.aux_classifier is not None:
            heads.append(("aux", self.aux_classifier))
        result = OrderedDict()
        for key, head in heads:
            logits = head(features[key])
            # bilinear, corners not aligned: the upsampling the checkpoints were trained with
            result[key] = F.interpolate(logits, size=(height, width), mode="bilinear",
                                        align_corners=False)
        return result


def _resolve_weights(name: str, weights, num_classes, aux_loss, categories: int):
    """The ``(num_classes, aux_loss)`` a segmentation builder uses, after torchvision's checks
    on a ``weights`` request (which ember then refuses: it downloads nothing)."""
    from .._utils import _no_pretrained, _ovewrite_named_param

    if weights is not None:
        pinned = {} if num_classes is None else {"num_classes": num_classes}
        _ovewrite_named_param(pinned, "num_classes", categories)
        if aux_loss is not None:
            _ovewrite_named_param({"aux_loss": aux_loss}, "aux_loss", True)
        _no_pretrained(name, weights, {})
    return (21 if num_classes is None else num_classes), aux_loss


# the Pascal VOC labels the COCO-trained checkpoints predict (index 0 is the background)
_VOC_CATEGORIES = ["__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus",
                   "car", "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike",
                   "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"]


def _segmentation_enum(name: str, module: str):
    """The checkpoint enum ``name``, homed in ``module`` (as torchvision's are) with the
    VOC label names in each member's ``meta["categories"]``."""
    from .._api import _SEGMENTATION_WEIGHT_ENUMS

    enum = _SEGMENTATION_WEIGHT_ENUMS[name]
    enum.__module__ = module
    enum.__doc__ = (f"torchvision's ``{name}`` checkpoints (names, addresses and metadata; "
                    "ember downloads nothing).\n\n    Example:\n"
                    f"        >>> {name}.DEFAULT.meta['categories'][15]\n"
                    "        'person'\n")
    for member in enum:
        member.value.meta.setdefault("categories", _VOC_CATEGORIES)
    return enum
