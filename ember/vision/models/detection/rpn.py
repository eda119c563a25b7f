"""Region Proposal Network (Ren et al., 2015): score anchors as object/background, regress
them towards objects, and keep the best few as proposals
(torchvision.models.detection.rpn)."""

from __future__ import annotations

import ember

from .... import nn
from ....nn import functional as F
from ...ops import boxes as box_ops
from ...ops.layers import Conv2dNormActivation
from . import _utils as det_utils
from .anchor_utils import AnchorGenerator  # noqa: F401  (torchvision exports it here too)
from .image_list import ImageList

__all__ = ["RPNHead", "RegionProposalNetwork", "concat_box_prediction_layers"]


class RPNHead(nn.Module):
    """The RPN's convolutional head: ``conv_depth`` 3x3 conv + ReLU layers shared by all
    levels, then a 1x1 conv scoring each anchor and a 1x1 conv regressing its 4 offsets.

    Args:
        in_channels (int): channels of the feature maps.
        num_anchors (int): anchors per position.
        conv_depth (int): shared 3x3 layers. Default: 1.

    Forward takes a list of feature maps and returns ``(objectness, bbox_deltas)``, two lists
    with ``Tensor[N, A, H, W]`` and ``Tensor[N, 4 * A, H, W]`` per level.

    Example:
        >>> head = RPNHead(8, 3)
        >>> scores, deltas = head([ember.randn(1, 8, 5, 5)])
        >>> tuple(scores[0].shape), tuple(deltas[0].shape)
        ((1, 3, 5, 5), (1, 12, 5, 5))
    """

    _version = 2

    def __init__(self, in_channels: int, num_anchors: int, conv_depth: int = 1) -> None:
        super().__init__()
        self.conv = nn.Sequential(*[Conv2dNormActivation(in_channels, in_channels,
                                                         kernel_size=3, norm_layer=None)
                                    for _ in range(conv_depth)])
        self.cls_logits = nn.Conv2d(in_channels, num_anchors, kernel_size=1, stride=1)
        self.bbox_pred = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=1, stride=1)
        # small-normal weights and zero biases, in module order (torchvision's draws)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.normal_(layer.weight, std=0.01)
                if layer.bias is not None:
                    nn.init.constant_(layer.bias, 0)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        if (local_metadata.get("version") or 0) < 2:
            # version 1 held one bare conv: "conv.weight" is now "conv.0.0.weight"
            for kind in ("weight", "bias"):
                old = f"{prefix}conv.{kind}"
                if old in state_dict:
                    state_dict[f"{prefix}conv.0.0.{kind}"] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def forward(self, x):
        logits, deltas = [], []
        for feature in x:
            shared = self.conv(feature)
            logits.append(self.cls_logits(shared))
            deltas.append(self.bbox_pred(shared))
        return logits, deltas


def permute_and_flatten(layer, N: int, A: int, C: int, H: int, W: int):
    """``Tensor[N, A * C, H, W]`` to ``Tensor[N, H * W * A, C]`` (position-major, then anchor).
    """
    return layer.view(N, -1, C, H, W).permute(0, 3, 4, 1, 2).reshape(N, -1, C)


def concat_box_prediction_layers(box_cls, box_regression):
    """Flatten the per-level head outputs into ``(Tensor[N * sum(HWA), C], Tensor[N *
    sum(HWA), 4])``, rows in anchor order (image, level, position, anchor).

    Example:
        >>> cls, reg = concat_box_prediction_layers([ember.zeros(2, 3, 4, 4)],
        ...                                         [ember.zeros(2, 12, 4, 4)])
        >>> tuple(cls.shape), tuple(reg.shape)
        ((96, 1), (96, 4))
    """
    scores, deltas = [], []
    for cls_level, reg_level in zip(box_cls, box_regression):
        N, AxC, H, W = cls_level.shape
        A = reg_level.shape[1] // 4
        C = AxC // A
        scores.append(permute_and_flatten(cls_level, N, A, C, H, W))
        deltas.append(permute_and_flatten(reg_level, N, A, 4, H, W))
    return ember.cat(scores, dim=1).flatten(0, -2), ember.cat(deltas, dim=1).reshape(-1, 4)


class RegionProposalNetwork(nn.Module):
    """Region Proposal Network.

    Decodes the head's offsets on the anchors, keeps each level's ``pre_nms_top_n`` best
    anchors, clips the boxes, drops tiny and low-scoring ones, suppresses overlaps per level
    (``nms_thresh``) and keeps ``post_nms_top_n`` proposals per image. In training it also
    matches anchors to the targets (IoU ``>= fg_iou_thresh`` positive, ``< bg_iou_thresh``
    negative, each target's best anchors positive), samples ``batch_size_per_image`` of them
    and returns the objectness and box-regression losses.

    Args:
        anchor_generator (AnchorGenerator): the anchors.
        head (nn.Module): e.g. :class:`RPNHead`.
        fg_iou_thresh (float), bg_iou_thresh (float): the matching thresholds.
        batch_size_per_image (int), positive_fraction (float): the sampler's settings.
        pre_nms_top_n (Dict[str, int]), post_nms_top_n (Dict[str, int]): with keys
            ``"training"`` and ``"testing"``.
        nms_thresh (float): the NMS IoU threshold.
        score_thresh (float): proposals scoring below this are dropped. Default: 0.0.

    Forward takes ``(images: ImageList, features: Dict[str, Tensor], targets=None)`` and
    returns ``(boxes: List[Tensor[K, 4]], losses: Dict[str, Tensor])``.

    Example:
        >>> rpn = RegionProposalNetwork(AnchorGenerator(((16,),), ((1.0,),)), RPNHead(4, 1),
        ...     0.7, 0.3, 256, 0.5, dict(training=50, testing=20),
        ...     dict(training=50, testing=10), 0.7).eval()
        >>> boxes, _ = rpn(ImageList(ember.zeros(1, 3, 32, 32), [(32, 32)]),
        ...                {"0": ember.randn(1, 4, 8, 8)})
        >>> len(boxes[0]) <= 10
        True
    """

    def __init__(self, anchor_generator: AnchorGenerator, head: nn.Module,
                 fg_iou_thresh: float, bg_iou_thresh: float, batch_size_per_image: int,
                 positive_fraction: float, pre_nms_top_n: dict, post_nms_top_n: dict,
                 nms_thresh: float, score_thresh: float = 0.0) -> None:
        super().__init__()
        self.anchor_generator = anchor_generator
        self.head = head
        self.box_coder = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        self.box_similarity = box_ops.box_iou
        self.proposal_matcher = det_utils.Matcher(fg_iou_thresh, bg_iou_thresh,
                                                  allow_low_quality_matches=True)
        self.fg_bg_sampler = det_utils.BalancedPositiveNegativeSampler(batch_size_per_image,
                                                                       positive_fraction)
        self._pre_nms_top_n = pre_nms_top_n
        self._post_nms_top_n = post_nms_top_n
        self.nms_thresh = nms_thresh
        self.score_thresh = score_thresh
        self.min_size = 1e-3

    def pre_nms_top_n(self) -> int:
        """Anchors kept per level before NMS, for the current mode."""
        return self._pre_nms_top_n["training" if self.training else "testing"]

    def post_nms_top_n(self) -> int:
        """Proposals kept per image after NMS, for the current mode."""
        return self._post_nms_top_n["training" if self.training else "testing"]

    def assign_targets_to_anchors(self, anchors, targets):
        """Per image: anchor labels (1 object, 0 background, -1 ignored; float32) and the
        ground-truth box each anchor regresses to."""
        labels, matched_boxes = [], []
        for anchors_i, target in zip(anchors, targets):
            gt = target["boxes"]
            if gt.numel() == 0:
                matched_boxes.append(ember.zeros(anchors_i.shape, dtype=ember.float32,
                                                 device=anchors_i.device))
                labels.append(ember.zeros((anchors_i.shape[0],), dtype=ember.float32,
                                          device=anchors_i.device))
                continue
            matches = self.proposal_matcher(self.box_similarity(gt, anchors_i))
            matched_boxes.append(gt[matches.clamp(min=0)])
            label = (matches >= 0).to(dtype=ember.float32)
            label[matches == self.proposal_matcher.BELOW_LOW_THRESHOLD] = 0.0
            label[matches == self.proposal_matcher.BETWEEN_THRESHOLDS] = -1.0
            labels.append(label)
        return labels, matched_boxes

    def _get_top_n_idx(self, objectness, num_anchors_per_level):
        # the best pre_nms_top_n anchors of each level, as indices into the whole row
        picked, offset = [], 0
        for level in objectness.split(num_anchors_per_level, 1):
            count = level.shape[1]
            _, idx = level.topk(min(self.pre_nms_top_n(), count), dim=1)
            picked.append(idx + offset)
            offset += count
        return ember.cat(picked, dim=1)

    def filter_proposals(self, proposals, objectness, image_shapes, num_anchors_per_level):
        """Keep the top anchors per level, clip, drop small and low-scoring boxes, NMS per
        level, keep ``post_nms_top_n``; returns per-image boxes and sigmoid scores."""
        num_images = proposals.shape[0]
        # proposals are not trained through: the losses see the head's outputs directly
        objectness = objectness.detach().reshape(num_images, -1)
        levels = ember.cat([ember.full((n,), i, dtype=ember.int64, device=proposals.device)
                            for i, n in enumerate(num_anchors_per_level)])
        levels = levels.reshape(1, -1).expand_as(objectness)
        top = self._get_top_n_idx(objectness, num_anchors_per_level)
        rows = ember.arange(num_images, device=proposals.device)[:, None]
        objectness, levels, proposals = objectness[rows, top], levels[rows, top], \
            proposals[rows, top]
        probs = ember.sigmoid(objectness)
        final_boxes, final_scores = [], []
        for boxes, scores, lvl, shape in zip(proposals, probs, levels, image_shapes):
            boxes = box_ops.clip_boxes_to_image(boxes, shape)
            keep = box_ops.remove_small_boxes(boxes, self.min_size)
            boxes, scores, lvl = boxes[keep], scores[keep], lvl[keep]
            keep = ember.where(scores >= self.score_thresh)[0]
            boxes, scores, lvl = boxes[keep], scores[keep], lvl[keep]
            keep = box_ops.batched_nms(boxes, scores, lvl, self.nms_thresh)
            keep = keep[:self.post_nms_top_n()]
            final_boxes.append(boxes[keep])
            final_scores.append(scores[keep])
        return final_boxes, final_scores

    def compute_loss(self, objectness, pred_bbox_deltas, labels, regression_targets):
        """Binary cross-entropy over the sampled anchors and smooth-L1 (beta 1/9) over the
        sampled positives, both divided by the number sampled."""
        pos_masks, neg_masks = self.fg_bg_sampler(labels)
        pos = ember.where(ember.cat(pos_masks, dim=0))[0]
        neg = ember.where(ember.cat(neg_masks, dim=0))[0]
        sampled = ember.cat([pos, neg], dim=0)
        objectness = objectness.flatten()
        labels = ember.cat(labels, dim=0)
        regression_targets = ember.cat(regression_targets, dim=0)
        box_loss = F.smooth_l1_loss(pred_bbox_deltas[pos], regression_targets[pos],
                                    beta=1 / 9, reduction="sum") / sampled.numel()
        objectness_loss = F.binary_cross_entropy_with_logits(objectness[sampled],
                                                             labels[sampled])
        return objectness_loss, box_loss

    def forward(self, images: ImageList, features, targets=None):
        feature_list = list(features.values())
        objectness, deltas = self.head(feature_list)
        anchors = self.anchor_generator(images, feature_list)
        num_images = len(anchors)
        per_level = [int(o.shape[1] * o.shape[2] * o.shape[3]) for o in objectness]
        objectness, deltas = concat_box_prediction_layers(objectness, deltas)
        proposals = self.box_coder.decode(deltas.detach(), anchors).view(num_images, -1, 4)
        boxes, _ = self.filter_proposals(proposals, objectness, images.image_sizes, per_level)
        losses = {}
        if self.training:
            if targets is None:
                raise ValueError("targets should not be None")
            labels, matched_boxes = self.assign_targets_to_anchors(anchors, targets)
            regression_targets = self.box_coder.encode(matched_boxes, anchors)
            loss_objectness, loss_rpn_box_reg = self.compute_loss(objectness, deltas, labels,
                                                                  regression_targets)
            losses = {"loss_objectness": loss_objectness, "loss_rpn_box_reg": loss_rpn_box_reg}
        return boxes, losses
