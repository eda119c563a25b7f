"""RetinaNet (Lin et al., 2017, "Focal Loss for Dense Object Detection"): a single-stage
detector that classifies and regresses every anchor of every pyramid level
(torchvision.models.detection.retinanet)."""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import partial
from typing import Any

import ember

from .... import nn
from ....nn import functional as F
from ...ops import boxes as box_ops
from ...ops import layers as misc_nn_ops
from ...ops.feature_pyramid_network import LastLevelP6P7
from ...ops.losses import (
    complete_box_iou_loss,
    distance_box_iou_loss,
    generalized_box_iou_loss,
    sigmoid_focal_loss,
)
from .._api import _WEIGHT_ENUMS
from ..resnet import resnet50
from . import _utils as det_utils
from .anchor_utils import AnchorGenerator
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import _detection_classes
from .generalized_rcnn import _check_degenerate, _check_targets, _require
from .transform import GeneralizedRCNNTransform

# torchvision lists only the model and builders; the heads are public names all the same
__all__ = ["RetinaNet", "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2"]

_IMAGENET_MEAN = [0.485, 0.456, 0.406]
_IMAGENET_STD = [0.229, 0.224, 0.225]


def _box_loss(kind: str, box_coder, anchors, matched_boxes, regression,
              beta: float | None = None):
    """Summed regression loss of ``regression`` (codes for ``anchors``) against the matched
    ground-truth boxes: on the encoded offsets (``l1``, ``smooth_l1``) or on the decoded boxes
    (``giou``, ``diou``, ``ciou``)."""
    if kind in ("l1", "smooth_l1"):
        wanted = box_coder.encode_single(matched_boxes, anchors)
        if kind == "l1":
            return F.l1_loss(regression, wanted, reduction="sum")
        return F.smooth_l1_loss(regression, wanted, reduction="sum",
                                beta=1.0 if beta is None else beta)
    losses = {"giou": generalized_box_iou_loss, "diou": distance_box_iou_loss,
              "ciou": complete_box_iou_loss}
    _require(kind in losses, f"Unsupported loss: {kind}")
    predicted = box_coder.decode_single(regression, anchors)
    return losses[kind](predicted, matched_boxes, reduction="sum")


def _dense_conv_tower(in_channels: int, norm_layer) -> nn.Sequential:
    # four 3x3 conv(-norm)-ReLU blocks
    return nn.Sequential(*[misc_nn_ops.Conv2dNormActivation(in_channels, in_channels,
                                                            norm_layer=norm_layer)
                           for _ in range(4)])


def _redraw_tower(tower: nn.Sequential) -> None:
    # every conv of a tower redrawn from N(0, 0.01) with zero bias
    for module in tower.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, std=0.01)
            if module.bias is not None:
                nn.init.constant_(module.bias, 0)


def _flatten_levels(per_level, width: int):
    # [N, A * width, H, W] per level -> one [N, sum(H * W * A), width], anchors ordered
    # (y, x, anchor) within a level as the anchor generator lists them
    flat = []
    for x in per_level:
        n, _, h, w = x.shape
        flat.append(x.view(n, -1, width, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, width))
    return ember.cat(flat, dim=1)


class RetinaNetClassificationHead(nn.Module):
    """RetinaNet's class subnet: four 3x3 conv blocks and a 3x3 conv giving each anchor
    ``num_classes`` logits (bias set so every class starts at ``prior_probability``).

    Args:
        in_channels (int): channels of the feature maps.
        num_anchors (int): anchors per location.
        num_classes (int): classes (sigmoid outputs, no background class).
        prior_probability (float): the initial foreground probability. Default: 0.01.
        norm_layer (callable, optional): a norm for the conv blocks. Default: none.

    Forward takes the list of feature maps and returns ``Tensor[N, sum(HWA), num_classes]``.

    Example:
        >>> head = RetinaNetClassificationHead(8, 2, 3)
        >>> tuple(head([ember.rand(1, 8, 4, 4), ember.rand(1, 8, 2, 2)]).shape)
        (1, 40, 3)
    """

    BETWEEN_THRESHOLDS = det_utils.Matcher.BETWEEN_THRESHOLDS

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int,
                 prior_probability: float = 0.01, norm_layer=None) -> None:
        super().__init__()
        self.conv = _dense_conv_tower(in_channels, norm_layer)
        _redraw_tower(self.conv)
        self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3,
                                    stride=1, padding=1)
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        # sigmoid(bias) == prior_probability: rare foreground does not swamp the early loss
        nn.init.constant_(self.cls_logits.bias,
                          -math.log((1 - prior_probability) / prior_probability))
        self.num_classes = num_classes
        self.num_anchors = num_anchors

    def compute_loss(self, targets, head_outputs, matched_idxs):
        """Focal loss over the anchors that are not between the IoU thresholds, per image
        normalised by its foreground count, averaged over images."""
        per_image = []
        for target, logits, matched in zip(targets, head_outputs["cls_logits"], matched_idxs):
            foreground = matched >= 0
            count = int(foreground.sum())
            one_hot = ember.zeros_like(logits)
            one_hot[foreground, target["labels"][matched[foreground]]] = 1.0
            counted = matched != self.BETWEEN_THRESHOLDS
            loss = sigmoid_focal_loss(logits[counted], one_hot[counted], reduction="sum")
            per_image.append(loss / max(1, count))
        return sum(per_image) / len(targets)

    def forward(self, x):
        return _flatten_levels([self.cls_logits(self.conv(f)) for f in x], self.num_classes)


class RetinaNetRegressionHead(nn.Module):
    """RetinaNet's box subnet: four 3x3 conv blocks and a 3x3 conv giving each anchor 4 box
    offsets (``BoxCoder`` with unit weights; the loss is ``_loss_type``: ``"l1"`` by default,
    ``"smooth_l1"``, ``"giou"``, ``"diou"`` or ``"ciou"``).

    Args:
        in_channels (int): channels of the feature maps.
        num_anchors (int): anchors per location.
        norm_layer (callable, optional): a norm for the conv blocks. Default: none.

    Example:
        >>> head = RetinaNetRegressionHead(8, 2)
        >>> tuple(head([ember.rand(1, 8, 4, 4)]).shape)
        (1, 32, 4)
    """

    def __init__(self, in_channels: int, num_anchors: int, norm_layer=None) -> None:
        super().__init__()
        self.conv = _dense_conv_tower(in_channels, norm_layer)
        self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, stride=1,
                                  padding=1)
        nn.init.normal_(self.bbox_reg.weight, std=0.01)
        nn.init.zeros_(self.bbox_reg.bias)
        # the box subnet redraws its tower after the output conv (the class subnet, before):
        # this order reproduces torchvision's seeded initial weights
        _redraw_tower(self.conv)
        self.box_coder = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        self._loss_type = "l1"

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        """Box loss over each image's foreground anchors, per image normalised by its
        foreground count, averaged over images."""
        per_image = []
        for target, regression, image_anchors, matched in zip(
                targets, head_outputs["bbox_regression"], anchors, matched_idxs):
            foreground = ember.where(matched >= 0)[0]
            loss = _box_loss(self._loss_type, self.box_coder, image_anchors[foreground],
                             target["boxes"][matched[foreground]], regression[foreground])
            per_image.append(loss / max(1, foreground.numel()))
        return sum(per_image) / max(1, len(targets))

    def forward(self, x):
        return _flatten_levels([self.bbox_reg(self.conv(f)) for f in x], 4)


class RetinaNetHead(nn.Module):
    """The class and box subnets of RetinaNet, shared by all pyramid levels.

    Args:
        in_channels (int): channels of the feature maps.
        num_anchors (int): anchors per location.
        num_classes (int): classes.
        norm_layer (callable, optional): a norm for both subnets' conv blocks.

    Forward returns ``{"cls_logits": Tensor[N, HWA, K], "bbox_regression": Tensor[N, HWA, 4]}``.

    Example:
        >>> out = RetinaNetHead(8, 9, 4)([ember.rand(2, 8, 3, 3)])
        >>> {k: tuple(v.shape) for k, v in out.items()}
        {'cls_logits': (2, 81, 4), 'bbox_regression': (2, 81, 4)}
    """

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int,
                 norm_layer=None) -> None:
        super().__init__()
        self.classification_head = RetinaNetClassificationHead(
            in_channels, num_anchors, num_classes, norm_layer=norm_layer)
        self.regression_head = RetinaNetRegressionHead(in_channels, num_anchors,
                                                       norm_layer=norm_layer)

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        """``{"classification": focal loss, "bbox_regression": box loss}``."""
        return {"classification": self.classification_head.compute_loss(
                    targets, head_outputs, matched_idxs),
                "bbox_regression": self.regression_head.compute_loss(
                    targets, head_outputs, anchors, matched_idxs)}

    def forward(self, x):
        return {"cls_logits": self.classification_head(x),
                "bbox_regression": self.regression_head(x)}


def _default_anchorgen() -> AnchorGenerator:
    # per level three scales an octave apart in thirds (2**0, 2**(1/3), 2**(2/3)), 3 shapes
    sizes = tuple((s, int(s * 2 ** (1 / 3)), int(s * 2 ** (2 / 3)))
                  for s in (32, 64, 128, 256, 512))
    return AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))


def _select_top(scores, classes: int, limit: int, threshold: float):
    # the best ``limit`` (anchor, class) pairs scoring above ``threshold``: scores, anchor
    # indices and labels
    flat = scores.flatten()
    above = flat > threshold
    candidates = ember.where(above)[0]
    best, order = flat[above].topk(min(limit, candidates.numel()))
    chosen = candidates[order]
    return best, ember.div(chosen, classes, rounding_mode="floor"), chosen % classes


def _split_for_levels(features, head_outputs, anchors):
    # the head's outputs and each image's anchors cut back into per-level pieces
    locations = [f.shape[2] * f.shape[3] for f in features]
    per_location = next(iter(head_outputs.values())).shape[1] // sum(locations)
    counts = [n * per_location for n in locations]
    outputs = {k: list(v.split(counts, dim=1)) for k, v in head_outputs.items()}
    return outputs, [list(a.split(counts)) for a in anchors]


class RetinaNet(nn.Module):
    """RetinaNet: a backbone with ``out_channels`` (usually an FPN with P3-P7), anchors at
    every level, a :class:`RetinaNetHead`, focal loss in training and per-level top-k +
    class-wise NMS at inference.

    Images are a list of ``Tensor[C, H, W]`` in ``[0, 1]``. In training the targets are a list
    of dicts with ``boxes`` (``FloatTensor[N, 4]``, ``(x1, y1, x2, y2)``) and ``labels``
    (``Int64Tensor[N]``) and forward returns ``{"classification", "bbox_regression"}``; in
    eval, per image ``boxes``, ``scores`` and ``labels``.

    Args:
        backbone (nn.Module): returns a Tensor or ordered dict of maps, has ``out_channels``.
        num_classes (int): classes (may be ``None`` when ``head`` is given).
        min_size, max_size, image_mean, image_std: the :class:`GeneralizedRCNNTransform`'s.
        anchor_generator (AnchorGenerator, optional): Default: 9 anchors per location on 5
            levels.
        head (nn.Module, optional): Default: :class:`RetinaNetHead`.
        proposal_matcher (optional): Default: ``Matcher(fg_iou_thresh, bg_iou_thresh,
            allow_low_quality_matches=True)``.
        score_thresh (float): Default: 0.05. nms_thresh (float): Default: 0.5.
        detections_per_img (int): Default: 300. fg_iou_thresh (float): Default: 0.5.
        bg_iou_thresh (float): Default: 0.4. topk_candidates (int): per level. Default: 1000.

    Example:
        >>> from ember.vision.models.detection.backbone_utils import resnet_fpn_backbone
        >>> backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None,
        ...                                returned_layers=[3, 4])
        >>> anchors = AnchorGenerator(((32,), (64,), (128,)), ((1.0,),) * 3)
        >>> model = RetinaNet(backbone, 3, min_size=64, max_size=64,
        ...                   anchor_generator=anchors).eval()
        >>> sorted(model([ember.rand(3, 64, 64)])[0])
        ['boxes', 'labels', 'scores']
    """

    def __init__(self, backbone: nn.Module, num_classes: int | None, min_size: int = 800,
                 max_size: int = 1333, image_mean=None, image_std=None, anchor_generator=None,
                 head=None, proposal_matcher=None, score_thresh: float = 0.05,
                 nms_thresh: float = 0.5, detections_per_img: int = 300,
                 fg_iou_thresh: float = 0.5, bg_iou_thresh: float = 0.4,
                 topk_candidates: int = 1000, **kwargs: Any) -> None:
        super().__init__()
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the "
                             "number of output channels (assumed to be the same for all the "
                             "levels)")
        self.backbone = backbone
        if not isinstance(anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError("anchor_generator should be of type AnchorGenerator or None "
                            f"instead of {type(anchor_generator)}")
        if anchor_generator is None:
            anchor_generator = _default_anchorgen()
        self.anchor_generator = anchor_generator
        if head is None:
            head = RetinaNetHead(backbone.out_channels,
                                 anchor_generator.num_anchors_per_location()[0], num_classes)
        self.head = head
        if proposal_matcher is None:
            proposal_matcher = det_utils.Matcher(fg_iou_thresh, bg_iou_thresh,
                                                 allow_low_quality_matches=True)
        self.proposal_matcher = proposal_matcher
        self.box_coder = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        self.transform = GeneralizedRCNNTransform(
            min_size, max_size, _IMAGENET_MEAN if image_mean is None else image_mean,
            _IMAGENET_STD if image_std is None else image_std, **kwargs)
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self._has_warned = False  # TorchScript's single-output warning, kept for parity

    def eager_outputs(self, losses, detections):
        """The losses in training, the detections in eval."""
        return losses if self.training else detections

    def compute_loss(self, targets, head_outputs, anchors):
        """Match each image's anchors to its boxes by IoU, then the head's losses."""
        matched_idxs = []
        for image_anchors, target in zip(anchors, targets):
            if target["boxes"].numel() == 0:
                matched_idxs.append(ember.full((image_anchors.shape[0],), -1,
                                               dtype=ember.int64))
            else:
                quality = box_ops.box_iou(target["boxes"], image_anchors)
                matched_idxs.append(self.proposal_matcher(quality))
        return self.head.compute_loss(targets, head_outputs, anchors, matched_idxs)

    def postprocess_detections(self, head_outputs, anchors, image_shapes):
        """Per image: the top ``topk_candidates`` (anchor, class) pairs of each level above
        ``score_thresh``, decoded and clipped, then class-wise NMS, at most
        ``detections_per_img``."""
        return _detect(self, head_outputs, anchors, image_shapes,
                       lambda index, k: ember.sigmoid(head_outputs["cls_logits"][k][index]),
                       self.box_coder.decode_single)

    def forward(self, images, targets=None):
        return _single_stage_forward(
            self, images, targets,
            lambda targets, head_outputs, anchors, features:
                self.compute_loss(targets, head_outputs, anchors))


def _single_stage_forward(model, images, targets, loss):
    """A single-stage detector's forward (RetinaNet's, FCOS's): transform, backbone, head and
    anchors; then ``loss(targets, head_outputs, anchors, features)`` in training, or the
    detections mapped back to the input sizes."""
    if model.training:
        _check_targets(targets)
    original_sizes = _original_sizes(images)
    batch, targets = model.transform(images, targets)
    if targets is not None:
        _check_degenerate(targets)
    features = model.backbone(batch.tensors)
    if isinstance(features, ember.Tensor):
        features = OrderedDict([("0", features)])
    features = list(features.values())
    head_outputs = model.head(features)
    anchors = model.anchor_generator(batch, features)
    if model.training:
        return model.eager_outputs(loss(targets, head_outputs, anchors, features), [])
    outputs, level_anchors = _split_for_levels(features, head_outputs, anchors)
    detections = model.postprocess_detections(outputs, level_anchors, batch.image_sizes)
    detections = model.transform.postprocess(detections, batch.image_sizes, original_sizes)
    return model.eager_outputs({}, detections)


def _detect(model, head_outputs, anchors, image_shapes, scores_of, decode):
    """Per image, per level: the top (location, class) pairs of ``scores_of(image, level)``,
    their boxes decoded by ``decode(codes, anchors)`` and clipped; then class-wise NMS."""
    detections = []
    for index, shape in enumerate(image_shapes):
        boxes, scores, labels = [], [], []
        for k, level_anchors in enumerate(anchors[index]):
            regression = head_outputs["bbox_regression"][k]
            best, anchor_idx, label = _select_top(
                scores_of(index, k), head_outputs["cls_logits"][k].shape[-1],
                model.topk_candidates, model.score_thresh)
            decoded = decode(regression[index][anchor_idx], level_anchors[anchor_idx])
            boxes.append(box_ops.clip_boxes_to_image(decoded, shape))
            scores.append(best)
            labels.append(label)
        detections.append(_nms_detections(ember.cat(boxes, dim=0), ember.cat(scores, dim=0),
                                          ember.cat(labels, dim=0), model.nms_thresh,
                                          model.detections_per_img))
    return detections


def _original_sizes(images):
    sizes = []
    for image in images:
        hw = image.shape[-2:]
        _require(len(hw) == 2, "expecting the last two dimensions of the Tensor to be H and W "
                               f"instead got {image.shape[-2:]}")
        sizes.append((int(hw[0]), int(hw[1])))
    return sizes


def _nms_detections(boxes, scores, labels, iou_threshold: float, limit: int):
    keep = box_ops.batched_nms(boxes, scores, labels, iou_threshold)[:limit]
    return {"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]}


def retinanet_resnet50_fpn(*, weights=None, progress: bool = True,
                           num_classes: int | None = None,
                           weights_backbone=_WEIGHT_ENUMS["ResNet50_Weights"].IMAGENET1K_V1,
                           trainable_backbone_layers: int | None = None,
                           **kwargs: Any) -> RetinaNet:
    """RetinaNet with a ResNet-50 FPN backbone (P3-P5 from the last three stages, P6/P7 from
    P5).

    ember cannot download weights: pass ``weights_backbone=None`` (and ``weights=None``) and
    load a saved ``state_dict`` (torchvision's loads unchanged). Without backbone weights the
    backbone uses ``BatchNorm2d`` and trains all layers; with them ``FrozenBatchNorm2d`` and
    the last ``trainable_backbone_layers`` (0 to 5, default 3) stages.

    Args:
        weights: must be ``None``. progress (bool): ignored.
        num_classes (int, optional): Default: 91.
        weights_backbone: must be ``None`` here (the default names ImageNet weights).
        trainable_backbone_layers (int, optional): 0 to 5.
        **kwargs: passed to :class:`RetinaNet`.

    Example:
        >>> model = retinanet_resnet50_fpn(weights_backbone=None, num_classes=4)
        >>> model.head.classification_head.cls_logits.out_channels
        36
    """
    num_classes = _detection_classes("retinanet_resnet50_fpn", weights, num_classes)
    backbone = _retina_backbone(weights_backbone, progress, trainable_backbone_layers,
                                weights is not None, 256)
    return RetinaNet(backbone, num_classes, **kwargs)


def _retina_backbone(weights_backbone, progress, trainable_backbone_layers, has_weights: bool,
                     p6_in_channels: int):
    # ResNet-50, C3-C5 into the FPN (P2 would add too many anchors), two extra levels
    is_trained = has_weights or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    body = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    return _resnet_fpn_extractor(body, trainable, returned_layers=[2, 3, 4],
                                 extra_blocks=LastLevelP6P7(p6_in_channels, 256))


def retinanet_resnet50_fpn_v2(*, weights=None, progress: bool = True,
                              num_classes: int | None = None,
                              weights_backbone=None,
                              trainable_backbone_layers: int | None = None,
                              **kwargs: Any) -> RetinaNet:
    """RetinaNet v2 ("Bridging the Gap Between Anchor-based and Anchor-free Detection via
    Adaptive Training Sample Selection" recipe): P6 from C5, GroupNorm(32) in the head's conv
    blocks and a GIoU box loss. Arguments as for :func:`retinanet_resnet50_fpn`, except that
    ``weights_backbone`` defaults to ``None`` (as in torchvision).

    Example:
        >>> model = retinanet_resnet50_fpn_v2(weights_backbone=None, num_classes=4)
        >>> model.head.regression_head._loss_type
        'giou'
    """
    num_classes = _detection_classes("retinanet_resnet50_fpn_v2", weights, num_classes)
    backbone = _retina_backbone(weights_backbone, progress, trainable_backbone_layers,
                                weights is not None, 2048)
    anchor_generator = _default_anchorgen()
    head = RetinaNetHead(backbone.out_channels, anchor_generator.num_anchors_per_location()[0],
                         num_classes, norm_layer=partial(nn.GroupNorm, 32))
    head.regression_head._loss_type = "giou"
    return RetinaNet(backbone, num_classes, anchor_generator=anchor_generator, head=head,
                     **kwargs)
