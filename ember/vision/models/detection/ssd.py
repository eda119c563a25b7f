"""SSD (Liu et al., 2016, "SSD: Single Shot MultiBox Detector"): default boxes on a pyramid of
feature maps, one 3x3 conv per map predicting class scores and box offsets for each box
(torchvision.models.detection.ssd)."""

from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any

import ember

from .... import nn
from ....nn import functional as F
from ...ops import boxes as box_ops
from .._api import _DETECTION_WEIGHT_ENUMS, _WEIGHT_ENUMS
from ..vgg import vgg16
from . import _utils as det_utils
from .anchor_utils import DefaultBoxGenerator
from .backbone_utils import _validate_trainable_layers
from .faster_rcnn import _detection_classes
from .generalized_rcnn import _check_degenerate, _check_targets
from .retinanet import _original_sizes
from .transform import GeneralizedRCNNTransform

__all__ = ["SSD300_VGG16_Weights", "ssd300_vgg16"]

SSD300_VGG16_Weights = _DETECTION_WEIGHT_ENUMS["SSD300_VGG16_Weights"]


def _xavier_init(conv_container: nn.Module) -> None:
    # torchvision's SSD layers start Xavier-uniform with zero bias (module order = draw order)
    for module in conv_container.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.constant_(module.bias, 0.0)


class SSDScoringHead(nn.Module):
    """One prediction module per feature map; their outputs ``[N, A * num_columns, H, W]`` are
    flattened to ``[N, H * W * A, num_columns]`` (cells row-major, a cell's boxes together, as
    :class:`DefaultBoxGenerator` lists them) and concatenated over the maps.

    Example:
        >>> head = SSDScoringHead(nn.ModuleList([nn.Conv2d(4, 6, 1)]), 3)
        >>> tuple(head([ember.rand(1, 4, 2, 2)]).shape)
        (1, 8, 3)
    """

    def __init__(self, module_list: nn.ModuleList, num_columns: int) -> None:
        super().__init__()
        self.module_list = module_list
        self.num_columns = num_columns

    def _get_result_from_module_list(self, x, idx: int):
        """The output of the ``idx``-th prediction module on ``x``."""
        return self.module_list[idx](x)

    def forward(self, x):
        flat = []
        for level, features in enumerate(x):
            out = self._get_result_from_module_list(features, level)
            n, _, h, w = out.shape
            out = out.view(n, -1, self.num_columns, h, w).permute(0, 3, 4, 1, 2)
            flat.append(out.reshape(n, -1, self.num_columns))
        return ember.cat(flat, dim=1)


def _per_level_convs(in_channels, num_anchors, columns: int) -> nn.ModuleList:
    convs = nn.ModuleList([nn.Conv2d(c, a * columns, kernel_size=3, padding=1)
                           for c, a in zip(in_channels, num_anchors)])
    _xavier_init(convs)
    return convs


class SSDClassificationHead(SSDScoringHead):
    """SSD's class predictor: a 3x3 conv per feature map giving ``num_classes`` logits
    (background included) for each of its ``num_anchors`` boxes per cell.

    Example:
        >>> head = SSDClassificationHead([8, 4], [4, 6], 3)
        >>> tuple(head([ember.rand(1, 8, 2, 2), ember.rand(1, 4, 1, 1)]).shape)
        (1, 22, 3)
    """

    def __init__(self, in_channels, num_anchors, num_classes: int) -> None:
        super().__init__(_per_level_convs(in_channels, num_anchors, num_classes), num_classes)


class SSDRegressionHead(SSDScoringHead):
    """SSD's box predictor: a 3x3 conv per feature map giving 4 offsets (``BoxCoder`` codes)
    for each of its ``num_anchors`` boxes per cell.

    Example:
        >>> head = SSDRegressionHead([8], [4])
        >>> tuple(head([ember.rand(2, 8, 3, 3)]).shape)
        (2, 36, 4)
    """

    def __init__(self, in_channels, num_anchors) -> None:
        super().__init__(_per_level_convs(in_channels, num_anchors, 4), 4)


class SSDHead(nn.Module):
    """The classification and regression heads of SSD.

    Args:
        in_channels (List[int]): channels of each feature map.
        num_anchors (List[int]): default boxes per cell of each map.
        num_classes (int): classes including the background.

    Forward returns ``{"bbox_regression": [N, A, 4], "cls_logits": [N, A, num_classes]}``.

    Example:
        >>> out = SSDHead([8], [4], 3)([ember.rand(1, 8, 2, 2)])
        >>> {k: tuple(v.shape) for k, v in out.items()}
        {'bbox_regression': (1, 16, 4), 'cls_logits': (1, 16, 3)}
    """

    def __init__(self, in_channels, num_anchors, num_classes: int) -> None:
        super().__init__()
        self.classification_head = SSDClassificationHead(in_channels, num_anchors, num_classes)
        self.regression_head = SSDRegressionHead(in_channels, num_anchors)

    def forward(self, x):
        return {"bbox_regression": self.regression_head(x),
                "cls_logits": self.classification_head(x)}


def _default_head(backbone, anchor_generator, size, num_classes: int) -> SSDHead:
    # the backbone's map widths: declared, or measured by one trial forward
    widths = getattr(backbone, "out_channels", None)
    if widths is None:
        widths = det_utils.retrieve_out_channels(backbone, size)
    n_maps = len(anchor_generator.aspect_ratios)
    if len(widths) != n_maps:
        raise AssertionError(f"The length of the output channels from the backbone "
                             f"({len(widths)}) do not match the length of the anchor generator "
                             f"aspect ratios ({n_maps})")
    return SSDHead(widths, anchor_generator.num_anchors_per_location(), num_classes)


class SSD(nn.Module):
    """The SSD detector: ``backbone`` gives a list of feature maps, ``anchor_generator`` their
    default boxes, ``head`` the class logits and box offsets of every box.

    Images (a list of ``Tensor[C, H, W]`` in ``[0, 1]``) are normalised and resized to the
    fixed ``size`` (no padding). In training, with targets (``boxes`` ``FloatTensor[N, 4]`` as
    ``(x1, y1, x2, y2)`` and ``labels`` ``Int64Tensor[N]``), forward returns
    ``{"bbox_regression", "classification"}``: boxes are matched by IoU (:class:`SSDMatcher`),
    the smooth-L1 box loss covers the matched boxes and the cross-entropy keeps, besides the
    matched boxes, the hardest unmatched ones (``(1 - positive_fraction) / positive_fraction``
    of them per match); both are divided by the number of matches. In eval it returns per image
    ``boxes``, ``scores`` and ``labels``: per class the ``topk_candidates`` best boxes scoring
    above ``score_thresh`` (softmax), then class-wise NMS, at most ``detections_per_img``.

    Args:
        backbone (nn.Module): returns a Tensor or ordered dict of feature maps; its
            ``out_channels`` (a list) is used when present, else found by a trial forward.
        anchor_generator (DefaultBoxGenerator): the default boxes.
        size (Tuple[int, int]): the width and height images are resized to.
        num_classes (int): classes including the background.
        image_mean, image_std (List[float], optional): Default: ImageNet's.
        head (nn.Module, optional): Default: :class:`SSDHead`.
        score_thresh (float): Default: 0.01. nms_thresh (float): Default: 0.45.
        detections_per_img (int): Default: 200. iou_thresh (float): matching IoU. Default: 0.5.
        topk_candidates (int): per class. Default: 400.
        positive_fraction (float): sets the hard negatives per match. Default: 0.25.
        **kwargs: passed to :class:`GeneralizedRCNNTransform`.

    Example:
        >>> backbone = nn.Sequential(nn.Conv2d(3, 8, 3, stride=4, padding=1))
        >>> model = SSD(backbone, DefaultBoxGenerator([[2]]), (32, 32), 3).eval()
        >>> sorted(model([ember.rand(3, 40, 30)])[0])
        ['boxes', 'labels', 'scores']
    """

    def __init__(self, backbone: nn.Module, anchor_generator: DefaultBoxGenerator, size,
                 num_classes: int, image_mean=None, image_std=None, head=None,
                 score_thresh: float = 0.01, nms_thresh: float = 0.45,
                 detections_per_img: int = 200, iou_thresh: float = 0.5,
                 topk_candidates: int = 400, positive_fraction: float = 0.25,
                 **kwargs: Any) -> None:
        super().__init__()
        self.backbone, self.anchor_generator = backbone, anchor_generator
        # SSD's code weights: centre offsets x10, log sizes x5 (the variances 0.1 and 0.2)
        self.box_coder = det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
        self.head = _default_head(backbone, anchor_generator, size, num_classes) \
            if head is None else head
        self.proposal_matcher = det_utils.SSDMatcher(iou_thresh)
        mean = [0.485, 0.456, 0.406] if image_mean is None else image_mean
        std = [0.229, 0.224, 0.225] if image_std is None else image_std
        # one fixed input size, so no padding to a multiple of anything
        self.transform = GeneralizedRCNNTransform(min(size), max(size), mean, std,
                                                  size_divisible=1, fixed_size=size, **kwargs)
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self.neg_to_pos_ratio = (1.0 - positive_fraction) / positive_fraction
        self._has_warned = False  # TorchScript's single-output warning, kept for parity

    def eager_outputs(self, losses, detections):
        """The losses in training, the detections in eval."""
        return losses if self.training else detections

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        """``{"bbox_regression", "classification"}`` for matched default boxes (see the class
        docstring), with hard negative mining for the classification term."""
        regression = head_outputs["bbox_regression"]
        logits = head_outputs["cls_logits"]
        box_losses, class_targets = [], []
        matched_total = 0
        for target, codes, image_anchors, matched in zip(targets, regression, anchors,
                                                         matched_idxs):
            foreground = ember.where(matched >= 0)[0]
            gt_index = matched[foreground]
            matched_total += foreground.numel()
            wanted = self.box_coder.encode_single(target["boxes"][gt_index],
                                                  image_anchors[foreground])
            box_losses.append(F.smooth_l1_loss(codes[foreground], wanted, reduction="sum"))
            labels = ember.zeros((codes.size(0),), dtype=target["labels"].dtype,
                                 device=target["labels"].device)
            labels[foreground] = target["labels"][gt_index]
            class_targets.append(labels)
        class_targets = ember.stack(class_targets)
        per_box = F.cross_entropy(logits.view(-1, logits.size(-1)), class_targets.view(-1),
                                  reduction="none").view(class_targets.size())
        # hard negatives: per image the highest-loss background boxes, neg_to_pos_ratio per
        # match; a box's rank is found by sorting the losses and inverting the permutation
        positive = class_targets > 0
        wanted_negatives = self.neg_to_pos_ratio * positive.sum(1, keepdim=True)
        background_loss = per_box.clone()
        background_loss[positive] = -float("inf")
        _, order = background_loss.sort(1, descending=True)
        hard_negative = order.sort(1)[1] < wanted_negatives
        normaliser = max(1, matched_total)
        return {"bbox_regression": sum(box_losses) / normaliser,
                "classification": (per_box[positive].sum() + per_box[hard_negative].sum())
                / normaliser}

    def forward(self, images, targets=None):
        if self.training:
            _check_targets(targets)
        original_sizes = _original_sizes(images)
        batch, targets = self.transform(images, targets)
        if targets is not None:
            _check_degenerate(targets)
        features = self.backbone(batch.tensors)
        if isinstance(features, ember.Tensor):
            features = OrderedDict([("0", features)])
        features = list(features.values())
        head_outputs = self.head(features)
        anchors = self.anchor_generator(batch, features)
        losses, detections = {}, []
        if self.training:
            matched_idxs = []
            for image_anchors, target in zip(anchors, targets):
                if target["boxes"].numel() == 0:
                    matched_idxs.append(ember.full((image_anchors.size(0),), -1,
                                                   dtype=ember.int64,
                                                   device=image_anchors.device))
                else:
                    quality = box_ops.box_iou(target["boxes"], image_anchors)
                    matched_idxs.append(self.proposal_matcher(quality))
            losses = self.compute_loss(targets, head_outputs, anchors, matched_idxs)
        else:
            detections = self.postprocess_detections(head_outputs, anchors, batch.image_sizes)
            detections = self.transform.postprocess(detections, batch.image_sizes,
                                                    original_sizes)
        return self.eager_outputs(losses, detections)

    def postprocess_detections(self, head_outputs, image_anchors, image_shapes):
        """Per image: decode and clip every box, keep per class (background excluded) the
        ``topk_candidates`` best scoring above ``score_thresh``, then class-wise NMS and at most
        ``detections_per_img``."""
        probabilities = F.softmax(head_outputs["cls_logits"], dim=-1)
        detections = []
        for codes, probs, anchors, shape in zip(head_outputs["bbox_regression"], probabilities,
                                                image_anchors, image_shapes):
            boxes = box_ops.clip_boxes_to_image(self.box_coder.decode_single(codes, anchors),
                                                shape)
            kept_boxes, kept_scores, kept_labels = [], [], []
            for label in range(1, probs.size(-1)):
                scores = probs[:, label]
                above = scores > self.score_thresh
                scores, candidates = scores[above], boxes[above]
                scores, best = scores.topk(min(self.topk_candidates, scores.size(0)))
                kept_boxes.append(candidates[best])
                kept_scores.append(scores)
                kept_labels.append(ember.full_like(scores, label, dtype=ember.int64))
            all_boxes = ember.cat(kept_boxes, dim=0)
            all_scores = ember.cat(kept_scores, dim=0)
            all_labels = ember.cat(kept_labels, dim=0)
            keep = box_ops.batched_nms(all_boxes, all_scores, all_labels,
                                       self.nms_thresh)[:self.detections_per_img]
            detections.append({"boxes": all_boxes[keep], "scores": all_scores[keep],
                               "labels": all_labels[keep]})
        return detections


def _vgg_extra_block(in_channels: int, mid: int, out: int, **conv) -> nn.Sequential:
    # a 1x1 squeeze, then a 3x3 (or given) conv: SSD's extra feature layers
    return nn.Sequential(nn.Conv2d(in_channels, mid, kernel_size=1), nn.ReLU(inplace=True),
                         nn.Conv2d(mid, out, **conv), nn.ReLU(inplace=True))


class SSDFeatureExtractorVGG(nn.Module):
    """SSD's VGG feature pyramid: conv4_3 (L2-normalised per position and scaled by the
    learnt ``scale_weight``, initially 20), the fc6/fc7 convolutions after conv5 (fc6 dilated
    by 6, the fifth pool made 3x3 stride 1), then four extra blocks (five with ``highres``,
    for SSD512).

    Args:
        backbone (nn.Sequential): VGG16's ``features``.
        highres (bool): add the extra block of SSD512.

    Forward returns an ordered dict ``"0"``, ``"1"``, ... of the feature maps.

    Example:
        >>> from ember.vision.models import vgg16
        >>> extractor = SSDFeatureExtractorVGG(vgg16().features, highres=False)
        >>> len(extractor.extra)
        5
    """

    def __init__(self, backbone: nn.Module, highres: bool) -> None:
        super().__init__()
        pools = [i for i, layer in enumerate(backbone) if isinstance(layer, nn.MaxPool2d)]
        # the third pool rounds up, so a 300 input gives conv4_3 maps of 38 (the paper's)
        backbone[pools[2]].ceil_mode = True
        self.features = nn.Sequential(*backbone[:pools[3]])
        self.scale_weight = nn.Parameter(ember.ones(512) * 20)
        extra = nn.ModuleList([
            _vgg_extra_block(1024, 256, 512, kernel_size=3, padding=1, stride=2),
            _vgg_extra_block(512, 128, 256, kernel_size=3, padding=1, stride=2),
            _vgg_extra_block(256, 128, 256, kernel_size=3),
            _vgg_extra_block(256, 128, 256, kernel_size=3),
        ])
        if highres:
            extra.append(_vgg_extra_block(256, 128, 256, kernel_size=4))
        _xavier_init(extra)
        fc = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=False),
            nn.Conv2d(512, 1024, kernel_size=3, padding=6, dilation=6),
            nn.ReLU(inplace=True),
            nn.Conv2d(1024, 1024, kernel_size=1),
            nn.ReLU(inplace=True))
        _xavier_init(fc)
        # conv5 (the fourth pool and its three convs, not the last pool), then fc6/fc7
        extra.insert(0, nn.Sequential(*backbone[pools[3]:-1], fc))
        self.extra = extra

    def forward(self, x):
        x = self.features(x)
        maps = [self.scale_weight.view(1, -1, 1, 1) * F.normalize(x)]
        for block in self.extra:
            x = block(x)
            maps.append(x)
        return OrderedDict((str(i), m) for i, m in enumerate(maps))


def _vgg_extractor(backbone, highres: bool, trainable_layers: int) -> SSDFeatureExtractorVGG:
    features = backbone.features
    # stages start at the input and after each pool but the last
    starts = [0] + [i for i, layer in enumerate(features)
                    if isinstance(layer, nn.MaxPool2d)][:-1]
    if not 0 <= trainable_layers <= len(starts):
        raise AssertionError(f"trainable_layers should be in the range [0, {len(starts)}]. "
                             f"Instead got {trainable_layers}")
    frozen = len(features) if trainable_layers == 0 else starts[len(starts) - trainable_layers]
    for layer in features[:frozen]:
        for p in layer.parameters():
            p.requires_grad_(False)
    return SSDFeatureExtractorVGG(features, highres)


def ssd300_vgg16(*, weights=None, progress: bool = True, num_classes: int | None = None,
                 weights_backbone=_WEIGHT_ENUMS["VGG16_Weights"].IMAGENET1K_FEATURES,
                 trainable_backbone_layers: int | None = None, **kwargs: Any) -> SSD:
    """SSD300 with a VGG16 backbone ("SSD: Single Shot MultiBox Detector"): six feature maps
    (38, 19, 10, 5, 3 and 1 cells for a 300x300 input), 8732 default boxes.

    ember cannot download weights: pass ``weights_backbone=None`` (and ``weights=None``) and
    load a saved ``state_dict`` (torchvision's loads unchanged). Images are resized to
    300x300 and normalised with the Caffe VGG statistics (0-255 scale).

    Args:
        weights: must be ``None``. progress (bool): ignored.
        num_classes (int, optional): classes including the background. Default: 91.
        weights_backbone: must be ``None`` here (the default names VGG16 features).
        trainable_backbone_layers (int, optional): 0 to 5 (default 4 with backbone weights;
            without them every layer trains).
        **kwargs: passed to :class:`SSD` (``size`` is fixed).

    Example:
        >>> model = ssd300_vgg16(weights_backbone=None, num_classes=5)
        >>> model.head.classification_head.module_list[0].out_channels
        20
    """
    if "size" in kwargs:
        warnings.warn("The size of the model is already fixed; ignoring the parameter.",
                      stacklevel=2)
    num_classes = _detection_classes("ssd300_vgg16", weights, num_classes)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 4)
    backbone = vgg16(weights=weights_backbone, progress=progress)
    backbone = _vgg_extractor(backbone, False, trainable)
    anchor_generator = DefaultBoxGenerator(
        [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
        scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
        steps=[8, 16, 32, 64, 100, 300])
    defaults = {
        # the original Caffe VGG's preprocessing: BGR means on a 0-255 scale
        "image_mean": [0.48235, 0.45882, 0.40784],
        "image_std": [1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0],
    }
    kwargs = {**defaults, **kwargs}
    return SSD(backbone, anchor_generator, (300, 300), num_classes, **kwargs)
