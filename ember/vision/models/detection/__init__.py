"""Object detection models, mirroring ``torchvision.models.detection`` (the R-CNN family and more).

Example:
    >>> from ember.vision.models.detection import fasterrcnn_mobilenet_v3_large_fpn
    >>> model = fasterrcnn_mobilenet_v3_large_fpn(weights_backbone=None, min_size=96,
    ...                                           max_size=128).eval()
    >>> detections = model([ember.rand(3, 90, 120)])
    >>> sorted(detections[0])
    ['boxes', 'labels', 'scores']
"""

from . import anchor_utils, backbone_utils, generalized_rcnn, image_list, roi_heads, rpn, transform
from .faster_rcnn import (
    FasterRCNN,
    FastRCNNPredictor,
    TwoMLPHead,
    fasterrcnn_mobilenet_v3_large_320_fpn,
    fasterrcnn_mobilenet_v3_large_fpn,
    fasterrcnn_resnet50_fpn,
)

__all__ = ["FasterRCNN", "FastRCNNPredictor", "TwoMLPHead", "fasterrcnn_resnet50_fpn",
           "fasterrcnn_mobilenet_v3_large_fpn", "anchor_utils", "backbone_utils",
           "generalized_rcnn", "image_list", "roi_heads", "rpn", "transform"]
__all__ += ["fasterrcnn_mobilenet_v3_large_320_fpn"]

# Mask R-CNN and Keypoint R-CNN
from . import keypoint_rcnn, mask_rcnn  # noqa: E402
from .keypoint_rcnn import (  # noqa: E402
    KeypointRCNN,
    KeypointRCNNHeads,
    KeypointRCNNPredictor,
    keypointrcnn_resnet50_fpn,
)
from .mask_rcnn import (  # noqa: E402
    MaskRCNN,
    MaskRCNNHeads,
    MaskRCNNPredictor,
    maskrcnn_resnet50_fpn,
)

__all__ += ["MaskRCNN", "MaskRCNNHeads", "MaskRCNNPredictor", "maskrcnn_resnet50_fpn",
            "KeypointRCNN", "KeypointRCNNHeads", "KeypointRCNNPredictor",
            "keypointrcnn_resnet50_fpn", "keypoint_rcnn", "mask_rcnn"]

# the v2 R-CNNs (batch norm in the FPN and the heads)
from .faster_rcnn import fasterrcnn_resnet50_fpn_v2  # noqa: E402
from .mask_rcnn import maskrcnn_resnet50_fpn_v2  # noqa: E402

__all__ += ["fasterrcnn_resnet50_fpn_v2", "maskrcnn_resnet50_fpn_v2"]

# single-stage detectors: RetinaNet and FCOS (their heads stay in the submodules, as there)
from . import fcos, retinanet  # noqa: E402
from .fcos import FCOS, fcos_resnet50_fpn  # noqa: E402
from .retinanet import RetinaNet, retinanet_resnet50_fpn, retinanet_resnet50_fpn_v2  # noqa: E402

__all__ += ["RetinaNet", "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2", "FCOS",
            "fcos_resnet50_fpn", "fcos", "retinanet"]

# the COCO weights enums (names and addresses only: ember downloads nothing)
from .._api import _DETECTION_WEIGHT_ENUMS  # noqa: E402

globals().update(_DETECTION_WEIGHT_ENUMS)
for _enum in _DETECTION_WEIGHT_ENUMS.values():
    _enum.__doc__ = (f"The COCO checkpoints of torchvision's ``{_enum.__name__}`` (names, "
                     "addresses and metadata; ember downloads nothing).\n\n    Example:\n"
                     f"        >>> {_enum.__name__}.DEFAULT.url.startswith('https://')\n"
                     "        True\n")
del _enum
__all__ += list(_DETECTION_WEIGHT_ENUMS)

# SSD and SSDlite (their heads and extractors stay in the submodules, as there)
from . import ssd, ssdlite  # noqa: E402
from .ssd import ssd300_vgg16  # noqa: E402
from .ssdlite import ssdlite320_mobilenet_v3_large  # noqa: E402

__all__ += ["ssd300_vgg16", "ssdlite320_mobilenet_v3_large", "ssd", "ssdlite"]
