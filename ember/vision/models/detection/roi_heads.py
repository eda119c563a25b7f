"""The second stage of Faster R-CNN: pool each proposal's features, classify it and refine its
box (torchvision.models.detection.roi_heads; the box branch only)."""

from __future__ import annotations

import ember

from .... import nn
from ....nn import functional as F
from ...ops import boxes as box_ops
from . import _utils as det_utils

__all__ = ["RoIHeads", "fastrcnn_loss"]

_FLOAT_TYPES = (ember.float32, ember.float64, ember.float16)


def fastrcnn_loss(class_logits, box_regression, labels, regression_targets):
    """Fast R-CNN's losses: cross-entropy over all sampled proposals, and smooth-L1 (beta 1/9)
    between each positive's regression for its own class and its target, summed and divided
    by the number of sampled proposals.

    Args:
        class_logits (Tensor[N, C]), box_regression (Tensor[N, 4 * C]): the predictor's output.
        labels (List[Tensor]), regression_targets (List[Tensor]): per image.

    Returns:
        (classification_loss, box_loss)

    Example:
        >>> cls, box = fastrcnn_loss(ember.zeros(2, 3), ember.zeros(2, 12),
        ...                          [ember.tensor([0, 2])], [ember.zeros(2, 4)])
        >>> round(cls.item(), 4), box.item()
        (1.0986, 0.0)
    """
    labels = ember.cat(labels, dim=0)
    regression_targets = ember.cat(regression_targets, dim=0)
    classification_loss = F.cross_entropy(class_logits, labels)
    positive = ember.where(labels > 0)[0]
    num_rows = class_logits.shape[0]
    per_class = box_regression.reshape(num_rows, box_regression.size(-1) // 4, 4)
    box_loss = F.smooth_l1_loss(per_class[positive, labels[positive]],
                                regression_targets[positive], beta=1 / 9, reduction="sum")
    return classification_loss, box_loss / labels.numel()


class RoIHeads(nn.Module):
    """Classify proposals and refine their boxes (Fast R-CNN on top of the RPN).

    In training the ground-truth boxes join the proposals, proposals are matched to targets
    (IoU ``>= fg_iou_thresh`` takes the target's label, ``< bg_iou_thresh`` is background) and
    ``batch_size_per_image`` are sampled; the forward returns the classification and box
    losses. In eval each proposal gives one box per non-background class scoring above
    ``score_thresh``; after per-class NMS (``nms_thresh``) the best ``detections_per_img``
    remain.

    Args:
        box_roi_pool (MultiScaleRoIAlign), box_head (nn.Module), box_predictor (nn.Module):
            the feature pooler, the shared head and the class/box predictor.
        fg_iou_thresh (float), bg_iou_thresh (float): the matching thresholds.
        batch_size_per_image (int), positive_fraction (float): the sampler's settings.
        bbox_reg_weights (Tuple[float, float, float, float], optional): the box coder's
            weights. Default: ``(10, 10, 5, 5)``.
        score_thresh (float), nms_thresh (float), detections_per_img (int): inference
            filtering.
        mask_roi_pool, mask_head, mask_predictor, keypoint_roi_pool, keypoint_head,
            keypoint_predictor: Mask/Keypoint R-CNN's branches; ember does not implement them
            yet, so they must be ``None``.

    Forward takes ``(features: Dict[str, Tensor], proposals: List[Tensor[K, 4]],
    image_shapes: List[Tuple[int, int]], targets=None)`` and returns ``(result, losses)``:
    per-image dicts of ``boxes``, ``labels``, ``scores`` (eval) and a loss dict (training).

    Example:
        >>> from ember.vision.ops import MultiScaleRoIAlign
        >>> from ember.vision.models.detection.faster_rcnn import TwoMLPHead, FastRCNNPredictor
        >>> heads = RoIHeads(MultiScaleRoIAlign(["0"], 2, 2), TwoMLPHead(4 * 4, 8),
        ...                  FastRCNNPredictor(8, 3), 0.5, 0.5, 16, 0.25, None, 0.0, 0.5,
        ...                  10).eval()
        >>> out, _ = heads({"0": ember.randn(1, 4, 8, 8)}, [ember.tensor([[0., 0, 20, 20]])],
        ...                [(32, 32)])
        >>> sorted(out[0])
        ['boxes', 'labels', 'scores']
    """

    def __init__(self, box_roi_pool, box_head, box_predictor, fg_iou_thresh: float,
                 bg_iou_thresh: float, batch_size_per_image: int, positive_fraction: float,
                 bbox_reg_weights, score_thresh: float, nms_thresh: float,
                 detections_per_img: int, mask_roi_pool=None, mask_head=None,
                 mask_predictor=None, keypoint_roi_pool=None, keypoint_head=None,
                 keypoint_predictor=None) -> None:
        super().__init__()
        extras = (mask_roi_pool, mask_head, mask_predictor, keypoint_roi_pool, keypoint_head,
                  keypoint_predictor)
        if any(part is not None for part in extras):
            raise NotImplementedError("ember's RoIHeads has the box branch only: the mask and "
                                      "keypoint branches (Mask/Keypoint R-CNN) are not "
                                      "implemented yet")
        self.box_similarity = box_ops.box_iou
        self.proposal_matcher = det_utils.Matcher(fg_iou_thresh, bg_iou_thresh,
                                                  allow_low_quality_matches=False)
        self.fg_bg_sampler = det_utils.BalancedPositiveNegativeSampler(batch_size_per_image,
                                                                       positive_fraction)
        # Fast R-CNN's usual code scaling: centres x10, log sizes x5
        self.box_coder = det_utils.BoxCoder((10.0, 10.0, 5.0, 5.0) if bbox_reg_weights is None
                                            else bbox_reg_weights)
        self.box_roi_pool, self.box_head = box_roi_pool, box_head
        self.box_predictor = box_predictor
        self.score_thresh, self.nms_thresh = score_thresh, nms_thresh
        self.detections_per_img = detections_per_img
        self.mask_roi_pool = self.mask_head = self.mask_predictor = None
        self.keypoint_roi_pool = self.keypoint_head = self.keypoint_predictor = None

    def has_mask(self) -> bool:
        """Whether the mask branch is present (never, in ember yet)."""
        return self.mask_roi_pool is not None and self.mask_head is not None \
            and self.mask_predictor is not None

    def has_keypoint(self) -> bool:
        """Whether the keypoint branch is present (never, in ember yet)."""
        return self.keypoint_roi_pool is not None and self.keypoint_head is not None \
            and self.keypoint_predictor is not None

    def assign_targets_to_proposals(self, proposals, gt_boxes, gt_labels):
        """Per image: the matched target index of each proposal (clamped to >= 0) and its
        label (the target's, 0 background, -1 ignored)."""
        matched, labels = [], []
        for boxes, gt, gt_label in zip(proposals, gt_boxes, gt_labels):
            if gt.numel() == 0:
                # an image without objects: every proposal is background
                matched.append(ember.zeros((boxes.shape[0],), dtype=ember.int64,
                                           device=boxes.device))
                labels.append(ember.zeros((boxes.shape[0],), dtype=ember.int64,
                                          device=boxes.device))
                continue
            matches = self.proposal_matcher(self.box_similarity(gt, boxes))
            clamped = matches.clamp(min=0)
            label = gt_label[clamped].to(dtype=ember.int64)
            label[matches == self.proposal_matcher.BELOW_LOW_THRESHOLD] = 0
            label[matches == self.proposal_matcher.BETWEEN_THRESHOLDS] = -1
            matched.append(clamped)
            labels.append(label)
        return matched, labels

    def subsample(self, labels):
        """Per image, the indices of the sampled proposals (positives and negatives)."""
        positives, negatives = self.fg_bg_sampler(labels)
        return [ember.where(pos | neg)[0] for pos, neg in zip(positives, negatives)]

    def add_gt_proposals(self, proposals, gt_boxes):
        """Append each image's ground-truth boxes to its proposals."""
        return [ember.cat((p, gt)) for p, gt in zip(proposals, gt_boxes)]

    def check_targets(self, targets) -> None:
        """Targets are required in training, each with ``boxes`` and ``labels``."""
        if targets is None:
            raise ValueError("targets should not be None")
        if not all("boxes" in t for t in targets):
            raise ValueError("Every element of targets should have a boxes key")
        if not all("labels" in t for t in targets):
            raise ValueError("Every element of targets should have a labels key")

    def select_training_samples(self, proposals, targets):
        """Add the targets to the proposals, match, sample; returns the sampled proposals,
        their matched target indices, labels and regression targets (per image)."""
        self.check_targets(targets)
        dtype = proposals[0].dtype
        gt_boxes = [t["boxes"].to(dtype) for t in targets]
        gt_labels = [t["labels"] for t in targets]
        proposals = self.add_gt_proposals(proposals, gt_boxes)
        matched_idxs, labels = self.assign_targets_to_proposals(proposals, gt_boxes, gt_labels)
        sampled = self.subsample(labels)
        matched_gt_boxes = []
        for i, rows in enumerate(sampled):
            proposals[i] = proposals[i][rows]
            labels[i] = labels[i][rows]
            matched_idxs[i] = matched_idxs[i][rows]
            gt = gt_boxes[i]
            if gt.numel() == 0:
                # background only: any box serves as a (never used) regression target
                gt = ember.zeros((1, 4), dtype=dtype, device=gt.device)
            matched_gt_boxes.append(gt[matched_idxs[i]])
        regression_targets = self.box_coder.encode(matched_gt_boxes, proposals)
        return proposals, matched_idxs, labels, regression_targets

    def postprocess_detections(self, class_logits, box_regression, proposals, image_shapes):
        """Decode one box per class, score by softmax, drop background, low scores and tiny
        boxes, per-class NMS, keep ``detections_per_img`` (per image)."""
        num_classes = class_logits.shape[-1]
        counts = [boxes.shape[0] for boxes in proposals]
        all_boxes = self.box_coder.decode(box_regression, proposals).split(counts, 0)
        all_scores = F.softmax(class_logits, -1).split(counts, 0)
        out_boxes, out_scores, out_labels = [], [], []
        for boxes, scores, shape in zip(all_boxes, all_scores, image_shapes):
            boxes = box_ops.clip_boxes_to_image(boxes, shape)
            labels = ember.arange(num_classes, device=boxes.device).view(1, -1) \
                .expand_as(scores)
            # column 0 is the background class
            boxes = boxes[:, 1:].reshape(-1, 4)
            scores = scores[:, 1:].reshape(-1)
            labels = labels[:, 1:].reshape(-1)
            keep = ember.where(scores > self.score_thresh)[0]
            boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            keep = box_ops.remove_small_boxes(boxes, min_size=1e-2)
            boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            keep = box_ops.batched_nms(boxes, scores, labels, self.nms_thresh)
            keep = keep[:self.detections_per_img]
            out_boxes.append(boxes[keep])
            out_scores.append(scores[keep])
            out_labels.append(labels[keep])
        return out_boxes, out_scores, out_labels

    def forward(self, features, proposals, image_shapes, targets=None):
        if targets is not None:
            for t in targets:
                if t["boxes"].dtype not in _FLOAT_TYPES:
                    raise TypeError(f"target boxes must of float type, instead got "
                                    f"{t['boxes'].dtype}")
                if t["labels"].dtype != ember.int64:
                    raise TypeError(f"target labels must of int64 type, instead got "
                                    f"{t['labels'].dtype}")
        labels = regression_targets = None
        if self.training:
            proposals, _, labels, regression_targets = self.select_training_samples(proposals,
                                                                                    targets)
        pooled = self.box_roi_pool(features, proposals, image_shapes)
        class_logits, box_regression = self.box_predictor(self.box_head(pooled))
        result, losses = [], {}
        if self.training:
            if labels is None or regression_targets is None:
                raise ValueError("labels and regression_targets cannot be None")
            loss_classifier, loss_box_reg = fastrcnn_loss(class_logits, box_regression, labels,
                                                          regression_targets)
            losses = {"loss_classifier": loss_classifier, "loss_box_reg": loss_box_reg}
        else:
            boxes, scores, labels = self.postprocess_detections(class_logits, box_regression,
                                                                proposals, image_shapes)
            result = [{"boxes": b, "labels": lab, "scores": s}
                      for b, s, lab in zip(boxes, scores, labels)]
        return result, losses
