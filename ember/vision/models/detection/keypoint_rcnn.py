"""Keypoint R-CNN: Faster R-CNN plus a branch predicting one heatmap per keypoint for each
detection (torchvision.models.detection.keypoint_rcnn)."""

from __future__ import annotations

from typing import Any

from .... import nn
from ....nn import functional as F
from ...ops import layers as misc_nn_ops
from ...ops.poolers import MultiScaleRoIAlign
from .._api import _WEIGHT_ENUMS
from .._utils import _no_pretrained
from ..resnet import resnet50
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import FasterRCNN

__all__ = ["KeypointRCNN", "KeypointRCNNHeads", "KeypointRCNNPredictor",
           "keypointrcnn_resnet50_fpn"]


class KeypointRCNNHeads(nn.Sequential):
    """The keypoint head: 3x3 convolutions (padding 1), each followed by ReLU, one per entry
    of ``layers``.

    Args:
        in_channels (int): the pooled features' channels.
        layers (Sequence[int]): each convolution's output channels.

    Example:
        >>> KeypointRCNNHeads(4, (8, 8))(ember.rand(2, 4, 14, 14)).shape
        torch.Size([2, 8, 14, 14])
    """

    def __init__(self, in_channels: int, layers) -> None:
        blocks = []
        width = in_channels
        for out in layers:
            blocks += [nn.Conv2d(width, out, 3, stride=1, padding=1), nn.ReLU(inplace=True)]
            width = out
        super().__init__(*blocks)
        for child in self.children():
            if isinstance(child, nn.Conv2d):
                nn.init.kaiming_normal_(child.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(child.bias, 0)


class KeypointRCNNPredictor(nn.Module):
    """Keypoint heatmap logits: a stride-2 4x4 transposed convolution (``kps_score_lowres``)
    to one map per keypoint, then a further bilinear 2x upsampling (so 14x14 pooled features
    give 56x56 heatmaps).

    Args:
        in_channels (int): the keypoint head's output channels.
        num_keypoints (int): keypoints per instance.

    Example:
        >>> KeypointRCNNPredictor(8, 17)(ember.rand(2, 8, 14, 14)).shape
        torch.Size([2, 17, 56, 56])
    """

    def __init__(self, in_channels: int, num_keypoints: int) -> None:
        super().__init__()
        kernel = 4
        self.kps_score_lowres = nn.ConvTranspose2d(in_channels, num_keypoints, kernel,
                                                   stride=2, padding=kernel // 2 - 1)
        nn.init.kaiming_normal_(self.kps_score_lowres.weight, mode="fan_out",
                                nonlinearity="relu")
        nn.init.constant_(self.kps_score_lowres.bias, 0)
        self.up_scale = 2
        self.out_channels = num_keypoints

    def forward(self, x):
        return F.interpolate(self.kps_score_lowres(x), scale_factor=float(self.up_scale),
                             mode="bilinear", align_corners=False,
                             recompute_scale_factor=False)


class KeypointRCNN(FasterRCNN):
    """Keypoint R-CNN: :class:`FasterRCNN` whose RoI heads also locate ``num_keypoints``
    keypoints in each detection.

    Training targets additionally hold ``keypoints`` (``FloatTensor[N, K, 3]``, ``(x, y,
    visibility)`` with visibility 0 for an absent keypoint) and the losses include
    ``loss_keypoint``. In eval each image's dict also has ``keypoints``
    (``FloatTensor[N, K, 3]``, the third column 1) and ``keypoints_scores``
    (``FloatTensor[N, K]``, heatmap logits).

    Args:
        backbone, num_classes, and the remaining :class:`FasterRCNN` arguments; ``min_size``
            defaults to ``(640, 672, 704, 736, 768, 800)`` (training draws one per image).
        keypoint_roi_pool (MultiScaleRoIAlign, optional): default: 14x14 over
            ``"0"``-``"3"``.
        keypoint_head (nn.Module, optional): default: :class:`KeypointRCNNHeads` of eight
            512-channel convolutions.
        keypoint_predictor (nn.Module, optional): default: :class:`KeypointRCNNPredictor`
            (512, ``num_keypoints``).
        num_keypoints (int, optional): default 17 (COCO); ``None`` when
            ``keypoint_predictor`` is given.

    Example:
        >>> from ember.vision.models import mobilenet_v2
        >>> from ember.vision.models.detection.anchor_utils import AnchorGenerator
        >>> backbone = mobilenet_v2().features
        >>> backbone.out_channels = 1280
        >>> pool = MultiScaleRoIAlign(["0"], 7, 2)
        >>> model = KeypointRCNN(backbone, num_classes=2, min_size=64, max_size=64,
        ...                      rpn_anchor_generator=AnchorGenerator(((32, 64),), ((1.0,),)),
        ...                      box_roi_pool=pool, keypoint_roi_pool=pool,
        ...                      keypoint_head=KeypointRCNNHeads(1280, (32,)),
        ...                      keypoint_predictor=KeypointRCNNPredictor(32, 3)).eval()
        >>> sorted(model([ember.rand(3, 64, 64)])[0])
        ['boxes', 'keypoints', 'keypoints_scores', 'labels', 'scores']
    """

    def __init__(self, backbone: nn.Module, num_classes: int | None = None,
                 min_size=None, max_size: int = 1333, image_mean=None, image_std=None,
                 rpn_anchor_generator=None, rpn_head=None, rpn_pre_nms_top_n_train: int = 2000,
                 rpn_pre_nms_top_n_test: int = 1000, rpn_post_nms_top_n_train: int = 2000,
                 rpn_post_nms_top_n_test: int = 1000, rpn_nms_thresh: float = 0.7,
                 rpn_fg_iou_thresh: float = 0.7, rpn_bg_iou_thresh: float = 0.3,
                 rpn_batch_size_per_image: int = 256, rpn_positive_fraction: float = 0.5,
                 rpn_score_thresh: float = 0.0, box_roi_pool=None, box_head=None,
                 box_predictor=None, box_score_thresh: float = 0.05,
                 box_nms_thresh: float = 0.5, box_detections_per_img: int = 100,
                 box_fg_iou_thresh: float = 0.5, box_bg_iou_thresh: float = 0.5,
                 box_batch_size_per_image: int = 512, box_positive_fraction: float = 0.25,
                 bbox_reg_weights=None, keypoint_roi_pool=None, keypoint_head=None,
                 keypoint_predictor=None, num_keypoints: int | None = None,
                 **kwargs: Any) -> None:
        if not isinstance(keypoint_roi_pool, (MultiScaleRoIAlign, type(None))):
            # torchvision 0.28's message is not an f-string: it shows the braces verbatim
            raise TypeError("keypoint_roi_pool should be of type MultiScaleRoIAlign or None "
                            "instead of {type(keypoint_roi_pool)}")
        if min_size is None:
            min_size = (640, 672, 704, 736, 768, 800)
        if num_keypoints is not None and keypoint_predictor is not None:
            raise ValueError("num_keypoints should be None when keypoint_predictor is "
                             "specified")
        if num_keypoints is None:
            num_keypoints = 17
        channels = backbone.out_channels
        # the keypoint branch is built first, as torchvision does (same seeded draws)
        if keypoint_roi_pool is None:
            keypoint_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"],
                                                   output_size=14, sampling_ratio=2)
        if keypoint_head is None:
            keypoint_head = KeypointRCNNHeads(channels, (512,) * 8)
        if keypoint_predictor is None:
            keypoint_predictor = KeypointRCNNPredictor(512, num_keypoints)
        super().__init__(
            backbone, num_classes, min_size, max_size, image_mean, image_std,
            rpn_anchor_generator, rpn_head, rpn_pre_nms_top_n_train, rpn_pre_nms_top_n_test,
            rpn_post_nms_top_n_train, rpn_post_nms_top_n_test, rpn_nms_thresh,
            rpn_fg_iou_thresh, rpn_bg_iou_thresh, rpn_batch_size_per_image,
            rpn_positive_fraction, rpn_score_thresh, box_roi_pool, box_head, box_predictor,
            box_score_thresh, box_nms_thresh, box_detections_per_img, box_fg_iou_thresh,
            box_bg_iou_thresh, box_batch_size_per_image, box_positive_fraction,
            bbox_reg_weights, **kwargs)
        self.roi_heads.keypoint_roi_pool = keypoint_roi_pool
        self.roi_heads.keypoint_head = keypoint_head
        self.roi_heads.keypoint_predictor = keypoint_predictor


def keypointrcnn_resnet50_fpn(*, weights=None, progress: bool = True,
                              num_classes: int | None = None,
                              num_keypoints: int | None = None,
                              weights_backbone=_WEIGHT_ENUMS["ResNet50_Weights"].IMAGENET1K_V1,
                              trainable_backbone_layers: int | None = None,
                              **kwargs: Any) -> KeypointRCNN:
    """Keypoint R-CNN with a ResNet-50 FPN backbone (person keypoints, as in "Mask R-CNN").

    ember cannot download weights: pass ``weights_backbone=None`` (and ``weights=None``) and
    load a saved ``state_dict``. Arguments as for ``maskrcnn_resnet50_fpn``, with
    ``num_classes`` defaulting to 2 (background, person) and ``num_keypoints`` to 17.

    Example:
        >>> model = keypointrcnn_resnet50_fpn(weights_backbone=None, num_keypoints=5)
        >>> model.roi_heads.keypoint_predictor.out_channels
        5
    """
    _no_pretrained("keypointrcnn_resnet50_fpn", weights, kwargs)
    num_classes = 2 if num_classes is None else num_classes
    num_keypoints = 17 if num_keypoints is None else num_keypoints
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _resnet_fpn_extractor(backbone, trainable)
    return KeypointRCNN(backbone, num_classes=num_classes, num_keypoints=num_keypoints,
                        **kwargs)
