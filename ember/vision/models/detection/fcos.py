"""FCOS (Tian et al., 2019, "FCOS: Fully Convolutional One-Stage Object Detection"): an
anchor-free detector that predicts, at every location of every pyramid level, class scores,
the distances to the four sides of a box and a centre-ness score
(torchvision.models.detection.fcos)."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import ember

from .... import nn
from ....nn import functional as F
from ...ops.losses import generalized_box_iou_loss, sigmoid_focal_loss
from .._api import _WEIGHT_ENUMS
from .anchor_utils import AnchorGenerator
from .faster_rcnn import _detection_classes
from .retinanet import _detect, _flatten_levels, _retina_backbone, _single_stage_forward
from .transform import GeneralizedRCNNTransform

# torchvision lists only the model and builder; the heads are public names all the same
__all__ = ["FCOS", "fcos_resnet50_fpn"]

_IMAGENET_MEAN = [0.485, 0.456, 0.406]
_IMAGENET_STD = [0.229, 0.224, 0.225]


class BoxLinearCoder:
    """Encode a box as its distances (left, top, right, bottom) from an anchor's centre,
    optionally divided by the anchor's width/height; ``decode`` inverts it.

    Example:
        >>> coder = BoxLinearCoder(normalize_by_size=True)
        >>> anchor = ember.tensor([[0.0, 0.0, 8.0, 8.0]])
        >>> coder.encode(anchor, ember.tensor([[2.0, 0.0, 10.0, 6.0]]))
        tensor([[0.2500, 0.5000, 0.7500, 0.2500]])
    """

    def __init__(self, normalize_by_size: bool = True) -> None:
        self.normalize_by_size = normalize_by_size

    @staticmethod
    def _centres_and_sizes(boxes):
        centre_x = (boxes[..., 0] + boxes[..., 2]) / 2
        centre_y = (boxes[..., 1] + boxes[..., 3]) / 2
        return centre_x, centre_y, boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]

    def encode(self, reference_boxes, proposals):
        """Distances of ``proposals``' sides from the centres of ``reference_boxes``."""
        cx, cy, w, h = self._centres_and_sizes(reference_boxes)
        sides = ember.stack((cx - proposals[..., 0], cy - proposals[..., 1],
                             proposals[..., 2] - cx, proposals[..., 3] - cy), dim=-1)
        if self.normalize_by_size:
            sides = sides / ember.stack((w, h, w, h), dim=-1)
        return sides

    def decode(self, rel_codes, boxes):
        """The boxes whose sides lie ``rel_codes`` away from the centres of ``boxes``."""
        boxes = boxes.to(dtype=rel_codes.dtype)
        cx, cy, w, h = self._centres_and_sizes(boxes)
        if self.normalize_by_size:
            rel_codes = rel_codes * ember.stack((w, h, w, h), dim=-1)
        return ember.stack((cx - rel_codes[..., 0], cy - rel_codes[..., 1],
                            cx + rel_codes[..., 2], cy + rel_codes[..., 3]), dim=-1)


def _gn_conv_tower(in_channels: int, num_convs: int, norm_layer) -> nn.Sequential:
    # conv (with bias), norm, ReLU, repeated
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, in_channels, kernel_size=3, stride=1, padding=1),
                   norm_layer(in_channels), nn.ReLU()]
    return nn.Sequential(*layers)


def _redraw_convs(tower: nn.Sequential) -> None:
    # the tower's convs redrawn from N(0, 0.01) with zero bias
    for layer in tower.children():
        if isinstance(layer, nn.Conv2d):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.constant_(layer.bias, 0)


class FCOSClassificationHead(nn.Module):
    """FCOS's class branch: ``num_convs`` conv-GroupNorm-ReLU blocks and a 3x3 conv giving
    ``num_classes`` logits per location (bias set to ``prior_probability``).

    Args:
        in_channels (int), num_anchors (int), num_classes (int), num_convs (int): Default: 4.
        prior_probability (float): Default: 0.01.
        norm_layer (callable, optional): Default: ``GroupNorm(32, C)``.

    Example:
        >>> head = FCOSClassificationHead(32, 1, 5, num_convs=1)
        >>> tuple(head([ember.rand(1, 32, 4, 4)]).shape)
        (1, 16, 5)
    """

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int,
                 num_convs: int = 4, prior_probability: float = 0.01, norm_layer=None) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.num_anchors = num_anchors
        if norm_layer is None:
            norm_layer = partial(nn.GroupNorm, 32)
        self.conv = _gn_conv_tower(in_channels, num_convs, norm_layer)
        _redraw_convs(self.conv)
        self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3,
                                    stride=1, padding=1)
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        nn.init.constant_(self.cls_logits.bias,
                          -math.log((1 - prior_probability) / prior_probability))

    def forward(self, x):
        return _flatten_levels([self.cls_logits(self.conv(f)) for f in x], self.num_classes)


class FCOSRegressionHead(nn.Module):
    """FCOS's box branch: ``num_convs`` conv-GroupNorm-ReLU blocks, then a 3x3 conv giving the
    four (ReLU'd, size-normalised) side distances and one giving the centre-ness logit.

    Forward returns ``(Tensor[N, HWA, 4], Tensor[N, HWA, 1])``.

    Example:
        >>> reg, ctr = FCOSRegressionHead(32, 1, num_convs=1)([ember.rand(1, 32, 4, 4)])
        >>> tuple(reg.shape), tuple(ctr.shape)
        ((1, 16, 4), (1, 16, 1))
    """

    def __init__(self, in_channels: int, num_anchors: int, num_convs: int = 4,
                 norm_layer=None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = partial(nn.GroupNorm, 32)
        self.conv = _gn_conv_tower(in_channels, num_convs, norm_layer)
        self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, stride=1,
                                  padding=1)
        self.bbox_ctrness = nn.Conv2d(in_channels, num_anchors, kernel_size=3, stride=1,
                                      padding=1)
        for layer in (self.bbox_reg, self.bbox_ctrness):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)
        # redrawn after the output convs here (before them in the class branch): the order
        # that reproduces torchvision's seeded initial weights
        _redraw_convs(self.conv)

    def forward(self, x):
        regressions, centrenesses = [], []
        for f in x:
            hidden = self.conv(f)
            regressions.append(F.relu(self.bbox_reg(hidden)))
            centrenesses.append(self.bbox_ctrness(hidden))
        return _flatten_levels(regressions, 4), _flatten_levels(centrenesses, 1)


class FCOSHead(nn.Module):
    """FCOS's class and box branches, shared by all levels.

    Args:
        in_channels (int), num_anchors (int), num_classes (int), num_convs (int, optional):
            Default: 4.

    Forward returns ``{"cls_logits", "bbox_regression", "bbox_ctrness"}``.

    Example:
        >>> out = FCOSHead(32, 1, 3, num_convs=1)([ember.rand(1, 32, 2, 2)])
        >>> {k: tuple(v.shape) for k, v in out.items()}
        {'cls_logits': (1, 4, 3), 'bbox_regression': (1, 4, 4), 'bbox_ctrness': (1, 4, 1)}
    """

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int,
                 num_convs: int | None = 4) -> None:
        super().__init__()
        self.box_coder = BoxLinearCoder(normalize_by_size=True)
        self.classification_head = FCOSClassificationHead(in_channels, num_anchors,
                                                          num_classes, num_convs)
        self.regression_head = FCOSRegressionHead(in_channels, num_anchors, num_convs)

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        """Focal loss over all locations, GIoU loss and centre-ness BCE over the foreground
        ones, each summed over the batch and divided by its foreground count."""
        labels, boxes = [], []
        for target, matched in zip(targets, matched_idxs):
            if len(target["labels"]) == 0:
                image_labels = target["labels"].new_zeros((len(matched),))
                image_boxes = target["boxes"].new_zeros((len(matched), 4))
            else:
                safe = matched.clip(min=0)
                image_labels = target["labels"][safe]
                image_boxes = target["boxes"][safe]
            image_labels[matched < 0] = -1  # background
            labels.append(image_labels)
            boxes.append(image_boxes)
        labels, boxes, anchors = ember.stack(labels), ember.stack(boxes), ember.stack(anchors)
        foreground = labels >= 0
        count = max(1, int(foreground.sum()))
        cls_logits = head_outputs["cls_logits"]
        one_hot = ember.zeros_like(cls_logits)
        one_hot[foreground, labels[foreground]] = 1.0
        loss_cls = sigmoid_focal_loss(cls_logits, one_hot, reduction="sum")
        predicted = self.box_coder.decode(head_outputs["bbox_regression"], anchors)
        loss_box = generalized_box_iou_loss(predicted[foreground], boxes[foreground],
                                            reduction="sum")
        sides = self.box_coder.encode(anchors, boxes)
        if len(sides) == 0:
            centreness = sides.new_zeros(sides.shape[:-1])
        else:
            # sqrt(min/max of left-right times min/max of top-bottom): 1 at the box centre
            lr, tb = sides[:, :, [0, 2]], sides[:, :, [1, 3]]
            centreness = ember.sqrt((lr.min(dim=-1)[0] / lr.max(dim=-1)[0])
                                    * (tb.min(dim=-1)[0] / tb.max(dim=-1)[0]))
        logits = head_outputs["bbox_ctrness"].squeeze(dim=2)
        loss_ctr = F.binary_cross_entropy_with_logits(logits[foreground], centreness[foreground],
                                                      reduction="sum")
        return {"classification": loss_cls / count, "bbox_regression": loss_box / count,
                "bbox_ctrness": loss_ctr / count}

    def forward(self, x):
        regression, centreness = self.regression_head(x)
        return {"cls_logits": self.classification_head(x), "bbox_regression": regression,
                "bbox_ctrness": centreness}


class FCOS(nn.Module):
    """FCOS: one location ("anchor" of a single square size) per feature-map cell, assigned
    in training to the smallest ground-truth box that contains it, lies within
    ``center_sampling_radius`` strides of its centre and fits the level's size range.

    Images and targets as for :class:`RetinaNet`; training returns ``{"classification",
    "bbox_regression", "bbox_ctrness"}``, eval per image ``boxes``, ``scores`` (the geometric
    mean of class and centre-ness probabilities) and ``labels``.

    Args:
        backbone (nn.Module): has ``out_channels``.
        num_classes (int, optional): classes (needed unless ``head`` is given).
        min_size, max_size, image_mean, image_std: the :class:`GeneralizedRCNNTransform`'s.
        anchor_generator (AnchorGenerator, optional): Default: sizes 8-128, one per level.
        head (nn.Module, optional): Default: :class:`FCOSHead`.
        center_sampling_radius (float): Default: 1.5. score_thresh (float): Default: 0.2.
        nms_thresh (float): Default: 0.6. detections_per_img (int): Default: 100.
        topk_candidates (int): per level. Default: 1000.

    Example:
        >>> from ember.vision.models.detection.backbone_utils import resnet_fpn_backbone
        >>> backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None,
        ...                                returned_layers=[3, 4])
        >>> anchors = AnchorGenerator(((8,), (16,), (32,)), ((1.0,),) * 3)
        >>> model = FCOS(backbone, 3, min_size=64, max_size=64, anchor_generator=anchors,
        ...              score_thresh=0.0).eval()
        >>> sorted(model([ember.rand(3, 64, 64)])[0])
        ['boxes', 'labels', 'scores']
    """

    def __init__(self, backbone: nn.Module, num_classes: int, min_size: int = 800,
                 max_size: int = 1333, image_mean=None, image_std=None, anchor_generator=None,
                 head=None, center_sampling_radius: float = 1.5, score_thresh: float = 0.2,
                 nms_thresh: float = 0.6, detections_per_img: int = 100,
                 topk_candidates: int = 1000, **kwargs: Any) -> None:
        super().__init__()
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the "
                             "number of output channels (assumed to be the same for all the "
                             "levels)")
        self.backbone = backbone
        if not isinstance(anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError("anchor_generator should be of type AnchorGenerator or None, instead  "
                            f"got {type(anchor_generator)}")
        if anchor_generator is None:
            sizes = ((8,), (16,), (32,), (64,), (128,))  # one location, one size per level
            anchor_generator = AnchorGenerator(sizes, ((1.0,),) * len(sizes))
        self.anchor_generator = anchor_generator
        per_location = anchor_generator.num_anchors_per_location()[0]
        if per_location != 1:
            raise ValueError("anchor_generator.num_anchors_per_location()[0] should be 1 "
                             f"instead of {per_location}")
        if head is None:
            head = FCOSHead(backbone.out_channels,
                            anchor_generator.num_anchors_per_location()[0], num_classes)
        self.head = head
        self.box_coder = BoxLinearCoder(normalize_by_size=True)
        self.transform = GeneralizedRCNNTransform(
            min_size, max_size, _IMAGENET_MEAN if image_mean is None else image_mean,
            _IMAGENET_STD if image_std is None else image_std, **kwargs)
        self.center_sampling_radius = center_sampling_radius
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self._has_warned = False  # TorchScript's single-output warning, kept for parity

    def eager_outputs(self, losses, detections):
        """The losses in training, the detections in eval."""
        return losses if self.training else detections

    def compute_loss(self, targets, head_outputs, anchors, num_anchors_per_level):
        """Assign each location a ground-truth box (or -1), then the head's losses."""
        matched_idxs = [self._assign(a, t["boxes"], num_anchors_per_level)
                        for a, t in zip(anchors, targets)]
        return self.head.compute_loss(targets, head_outputs, anchors, matched_idxs)

    def _assign(self, anchors, gt_boxes, num_anchors_per_level):
        if gt_boxes.numel() == 0:
            return ember.full((anchors.shape[0],), -1, dtype=ember.int64)
        points = (anchors[:, :2] + anchors[:, 2:]) / 2
        stride = anchors[:, 2] - anchors[:, 0]
        gt_centres = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
        # centre sampling: within radius * (anchor size) of the box centre, in both axes
        near = ((points[:, None, :] - gt_centres[None, :, :]).abs().max(dim=2)[0]
                < self.center_sampling_radius * stride[:, None])
        px, py = points[:, 0:1], points[:, 1:2]
        sides = ember.stack((px - gt_boxes[None, :, 0], py - gt_boxes[None, :, 1],
                             gt_boxes[None, :, 2] - px, gt_boxes[None, :, 3] - py), dim=2)
        inside = sides.min(dim=2)[0] > 0
        # the level's size range: its longest side distance in (4 s, 8 s), open-ended at the
        # first and last levels
        low = stride * 4
        low[:num_anchors_per_level[0]] = 0
        high = stride * 8
        high[-num_anchors_per_level[-1]:] = float("inf")
        reach = sides.max(dim=2)[0]
        fits = (reach > low[:, None]) & (reach < high[:, None])
        ok = near & inside & fits
        # among the boxes that qualify, the smallest wins
        areas = (gt_boxes[:, 2] - gt_boxes[:, 0]) * (gt_boxes[:, 3] - gt_boxes[:, 1])
        preference = ok.to(ember.float32) * (1e8 - areas[None, :])
        best, matched = preference.max(dim=1)
        matched[best < 1e-5] = -1
        return matched

    def postprocess_detections(self, head_outputs, anchors, image_shapes):
        """Per image: per level the top ``topk_candidates`` (location, class) pairs whose
        ``sqrt(sigmoid(class) * sigmoid(centre-ness))`` passes ``score_thresh``, decoded and
        clipped, then class-wise NMS, at most ``detections_per_img``."""
        def scores_of(index, k):
            return ember.sqrt(ember.sigmoid(head_outputs["cls_logits"][k][index])
                              * ember.sigmoid(head_outputs["bbox_ctrness"][k][index]))

        return _detect(self, head_outputs, anchors, image_shapes, scores_of,
                       self.box_coder.decode)

    def forward(self, images, targets=None):
        def loss(targets, head_outputs, anchors, features):
            locations = [f.shape[2] * f.shape[3] for f in features]
            return self.compute_loss(targets, head_outputs, anchors, locations)

        return _single_stage_forward(self, images, targets, loss)


def fcos_resnet50_fpn(*, weights=None, progress: bool = True, num_classes: int | None = None,
                      weights_backbone=_WEIGHT_ENUMS["ResNet50_Weights"].IMAGENET1K_V1,
                      trainable_backbone_layers: int | None = None, **kwargs: Any) -> FCOS:
    """FCOS with a ResNet-50 FPN backbone (P3-P5 from the last three stages, P6/P7 from P5).

    ember cannot download weights: pass ``weights_backbone=None`` (and ``weights=None``) and
    load a saved ``state_dict``. Arguments as for
    :func:`~ember.vision.models.detection.retinanet_resnet50_fpn`; ``kwargs`` go to
    :class:`FCOS`.

    Example:
        >>> model = fcos_resnet50_fpn(weights_backbone=None, num_classes=4)
        >>> model.head.classification_head.cls_logits.out_channels
        4
    """
    num_classes = _detection_classes("fcos_resnet50_fpn", weights, num_classes)
    backbone = _retina_backbone(weights_backbone, progress, trainable_backbone_layers,
                                weights is not None, 256)
    return FCOS(backbone, num_classes, **kwargs)
