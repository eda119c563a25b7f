"""Object detection models, mirroring ``torchvision.models.detection`` (Faster R-CNN so far).

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
    fasterrcnn_mobilenet_v3_large_fpn,
    fasterrcnn_resnet50_fpn,
)

__all__ = ["FasterRCNN", "FastRCNNPredictor", "TwoMLPHead", "fasterrcnn_resnet50_fpn",
           "fasterrcnn_mobilenet_v3_large_fpn", "anchor_utils", "backbone_utils",
           "generalized_rcnn", "image_list", "roi_heads", "rpn", "transform"]
