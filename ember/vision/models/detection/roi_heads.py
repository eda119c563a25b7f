"""The second stage of the R-CNN family: pool each proposal's features, classify it and refine
its box, and (Mask / Keypoint R-CNN) predict its mask or keypoints
(torchvision.models.detection.roi_heads)."""

from __future__ import annotations

import ember

from .... import nn
from ....nn import functional as F
from ...ops import boxes as box_ops
from ...ops import roi_align
from . import _utils as det_utils

__all__ = ["RoIHeads", "fastrcnn_loss", "maskrcnn_loss", "maskrcnn_inference",
           "project_masks_on_boxes", "keypoints_to_heatmap", "heatmaps_to_keypoints",
           "keypointrcnn_loss", "keypointrcnn_inference", "expand_boxes", "expand_masks",
           "paste_mask_in_image", "paste_masks_in_image"]

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


def project_masks_on_boxes(gt_masks, boxes, matched_idxs, M: int):
    """Crop each proposal's matched ground-truth mask and resample it to ``M x M``
    (``roi_align`` at full resolution, so the target has the prediction's grid).

    Args:
        gt_masks (Tensor[G, H, W]): one image's instance masks.
        boxes (Tensor[K, 4]): its positive proposals.
        matched_idxs (Tensor[K]): the mask each proposal was matched to.
        M (int): the side of the predicted masks.

    Example:
        >>> m = ember.ones(1, 8, 8)
        >>> project_masks_on_boxes(m, ember.tensor([[0., 0, 4, 4]]), ember.tensor([0]), 2)
        tensor([[[1., 1.],
                 [1., 1.]]])
    """
    which = matched_idxs.to(boxes)[:, None]
    # roi_align's [K, 5] form: the first column picks the mask the box crops
    regions = ember.cat([which, boxes], dim=1)
    stack = gt_masks[:, None].to(regions)
    return roi_align(stack, regions, (M, M), 1.0)[:, 0]


def maskrcnn_loss(mask_logits, proposals, gt_masks, gt_labels, mask_matched_idxs):
    """Mask R-CNN's mask loss: binary cross-entropy (with logits) between each positive
    proposal's mask for its own class and the ground-truth mask cropped to the proposal.

    Args:
        mask_logits (Tensor[K, C, M, M]): the mask predictor's output.
        proposals (List[Tensor[K_i, 4]]): positive proposals per image.
        gt_masks (List[Tensor[G_i, H, W]]), gt_labels (List[Tensor[G_i]]),
        mask_matched_idxs (List[Tensor[K_i]]): per image.

    Returns:
        Tensor: the mean loss (0 connected to ``mask_logits`` when there is no target).

    Example:
        >>> loss = maskrcnn_loss(ember.zeros(1, 2, 2, 2), [ember.tensor([[0., 0, 4, 4]])],
        ...                      [ember.ones(1, 8, 8)], [ember.tensor([1])], [ember.tensor([0])])
        >>> round(loss.item(), 4)
        0.6931
    """
    side = mask_logits.shape[-1]
    labels = [lab[idx] for lab, idx in zip(gt_labels, mask_matched_idxs)]
    targets = [project_masks_on_boxes(m, p, idx, side)
               for m, p, idx in zip(gt_masks, proposals, mask_matched_idxs)]
    labels = ember.cat(labels, dim=0)
    targets = ember.cat(targets, dim=0)
    if targets.numel() == 0:
        # keeps the graph connected (distributed training needs every parameter used)
        return mask_logits.sum() * 0
    rows = ember.arange(labels.shape[0], device=labels.device)
    return F.binary_cross_entropy_with_logits(mask_logits[rows, labels], targets)


def maskrcnn_inference(x, labels):
    """Each detection's mask probabilities for its predicted class.

    Args:
        x (Tensor[K, C, M, M]): mask logits of all images' detections.
        labels (List[Tensor[K_i]]): the detected classes per image.

    Returns:
        List[Tensor[K_i, 1, M, M]]: sigmoid probabilities per image.

    Example:
        >>> [p.shape for p in maskrcnn_inference(ember.zeros(3, 4, 2, 2),
        ...                                      [ember.tensor([1, 2]), ember.tensor([3])])]
        [torch.Size([2, 1, 2, 2]), torch.Size([1, 1, 2, 2])]
    """
    probs = x.sigmoid()
    counts = [lab.shape[0] for lab in labels]
    chosen = ember.cat(labels)
    rows = ember.arange(x.shape[0], device=chosen.device)
    return probs[rows, chosen][:, None].split(counts, dim=0)


def keypoints_to_heatmap(keypoints, rois, heatmap_size: int):
    """The heatmap cell (``y * size + x``) of each keypoint inside its RoI, and whether it is
    a valid target (visible and inside the RoI).

    Args:
        keypoints (Tensor[K, P, 3]): ``(x, y, visibility)``.
        rois (Tensor[K, 4]): the boxes.
        heatmap_size (int): the heatmap's side.

    Returns:
        (Tensor[K, P] int64 cell indices, zero where invalid; Tensor[K, P] int64 validity)

    Example:
        >>> keypoints_to_heatmap(ember.tensor([[[3., 1, 1], [9, 9, 1]]]),
        ...                      ember.tensor([[0., 0, 8, 8]]), 4)
        (tensor([[1, 0]]), tensor([[1, 0]]))
    """
    left, top = rois[:, 0][:, None], rois[:, 1][:, None]
    sx = (heatmap_size / (rois[:, 2] - rois[:, 0]))[:, None]
    sy = (heatmap_size / (rois[:, 3] - rois[:, 1]))[:, None]
    px, py = keypoints[..., 0], keypoints[..., 1]
    # a keypoint exactly on the right/bottom edge belongs to the last cell, not past it
    on_right = px == rois[:, 2][:, None]
    on_bottom = py == rois[:, 3][:, None]
    col = ((px - left) * sx).floor().long()
    row = ((py - top) * sy).floor().long()
    col[on_right] = heatmap_size - 1
    row[on_bottom] = heatmap_size - 1
    inside = (col >= 0) & (row >= 0) & (col < heatmap_size) & (row < heatmap_size)
    valid = (inside & (keypoints[..., 2] > 0)).long()
    return (row * heatmap_size + col) * valid, valid


def keypointrcnn_loss(keypoint_logits, proposals, gt_keypoints, keypoint_matched_idxs):
    """Keypoint R-CNN's loss: per keypoint, cross-entropy over the ``H * W`` heatmap cells
    with the ground-truth cell as the class, averaged over the valid keypoints.

    Args:
        keypoint_logits (Tensor[K, P, H, W]) with ``H == W``.
        proposals (List[Tensor[K_i, 4]]), gt_keypoints (List[Tensor[G_i, P, 3]]),
        keypoint_matched_idxs (List[Tensor[K_i]]): per image.

    Example:
        >>> loss = keypointrcnn_loss(ember.zeros(1, 1, 4, 4), [ember.tensor([[0., 0, 8, 8]])],
        ...                          [ember.tensor([[[3., 1, 1]]])], [ember.tensor([0])])
        >>> round(loss.item(), 4)  # log(16)
        2.7726
    """
    n, k, h, w = keypoint_logits.shape
    if h != w:
        raise ValueError("keypoint_logits height and width (last two elements of shape) should "
                         f"be equal. Instead got H = {h} and W = {w}")
    cells, valid = [], []
    for boxes, kps, idx in zip(proposals, gt_keypoints, keypoint_matched_idxs):
        cell, ok = keypoints_to_heatmap(kps[idx], boxes, h)
        cells.append(cell.view(-1))
        valid.append(ok.view(-1))
    targets = ember.cat(cells, dim=0)
    keep = ember.where(ember.cat(valid, dim=0).to(ember.uint8))[0]
    if targets.numel() == 0 or len(keep) == 0:
        # no valid keypoint: a zero that still reaches every logit
        return keypoint_logits.sum() * 0
    flat = keypoint_logits.view(n * k, h * w)
    return F.cross_entropy(flat[keep], targets[keep])


def heatmaps_to_keypoints(maps, rois):
    """Decode heatmaps to keypoints in image coordinates: each RoI's maps are resized
    (bicubic) to the box's size in whole pixels, the maximum's cell centre is the keypoint and
    the resized map's value there its score.

    Args:
        maps (Tensor[K, P, H, W]): logits.
        rois (Tensor[K, 4]): the boxes.

    Returns:
        (Tensor[K, P, 3] ``(x, y, 1)`` float32, Tensor[K, P] scores)

    Example:
        >>> maps = ember.zeros(1, 1, 4, 4)
        >>> maps[0, 0, 1, 2] = 5.0
        >>> heatmaps_to_keypoints(maps, ember.tensor([[0., 0, 4, 4]]))[0]
        tensor([[[2.5000, 1.5000, 1.0000]]])
    """
    left, top = rois[:, 0], rois[:, 1]
    widths = (rois[:, 2] - rois[:, 0]).clamp(min=1)
    heights = (rois[:, 3] - rois[:, 1]).clamp(min=1)
    wide, high = widths.ceil(), heights.ceil()
    count = maps.shape[1]
    points = ember.zeros((len(rois), 3, count), dtype=ember.float32, device=maps.device)
    scores = ember.zeros((len(rois), count), dtype=ember.float32, device=maps.device)
    every = ember.arange(count, device=maps.device)
    for i in range(len(rois)):
        out_w, out_h = int(wide[i].item()), int(high[i].item())
        resized = F.interpolate(maps[i][:, None], size=(out_h, out_w), mode="bicubic",
                                align_corners=False)[:, 0]
        best = resized.reshape(count, -1).argmax(dim=1)
        col = best % out_w
        row = ember.div(best - col, out_w, rounding_mode="floor")
        # cell centres, scaled back from whole pixels to the box's true size
        points[i, 0, :] = (col.float() + 0.5) * (widths[i] / out_w) + left[i]
        points[i, 1, :] = (row.float() + 0.5) * (heights[i] / out_h) + top[i]
        points[i, 2, :] = 1
        scores[i, :] = resized[every, row, col]
    return points.permute(0, 2, 1), scores


def keypointrcnn_inference(x, boxes):
    """Per image, the keypoints and scores of its detections (see
    :func:`heatmaps_to_keypoints`).

    Args:
        x (Tensor[K, P, H, W]): the keypoint logits of all images' detections.
        boxes (List[Tensor[K_i, 4]]): the detected boxes per image.

    Example:
        >>> kps, scores = keypointrcnn_inference(ember.zeros(2, 3, 4, 4),
        ...                                      [ember.tensor([[0., 0, 4, 4], [1, 1, 5, 9]])])
        >>> kps[0].shape, scores[0].shape
        (torch.Size([2, 3, 3]), torch.Size([2, 3]))
    """
    points, scores = [], []
    for maps, rois in zip(x.split([b.size(0) for b in boxes], dim=0), boxes):
        p, s = heatmaps_to_keypoints(maps, rois)
        points.append(p)
        scores.append(s)
    return points, scores


def expand_boxes(boxes, scale: float):
    """Scale boxes about their centres by ``scale``.

    Example:
        >>> expand_boxes(ember.tensor([[2., 2, 6, 4]]), 1.5)
        tensor([[1.0000, 1.5000, 7.0000, 4.5000]])
    """
    half_w = (boxes[:, 2] - boxes[:, 0]) * 0.5 * scale
    half_h = (boxes[:, 3] - boxes[:, 1]) * 0.5 * scale
    mid_x = (boxes[:, 2] + boxes[:, 0]) * 0.5
    mid_y = (boxes[:, 3] + boxes[:, 1]) * 0.5
    return ember.stack((mid_x - half_w, mid_y - half_h, mid_x + half_w, mid_y + half_h), dim=1)


def expand_masks(mask, padding: int):
    """Zero-pad ``M x M`` masks by ``padding`` on every side; returns the padded masks and the
    growth factor ``(M + 2 * padding) / M``.

    Example:
        >>> padded, scale = expand_masks(ember.ones(1, 1, 2, 2), 1)
        >>> padded.shape, scale
        (torch.Size([1, 1, 4, 4]), 2.0)
    """
    side = mask.shape[-1]
    return F.pad(mask, (padding,) * 4), float(side + 2 * padding) / side


def paste_mask_in_image(mask, box, im_h: int, im_w: int):
    """Resize one ``M x M`` mask (bilinear) to its integer box and place it in an
    ``im_h x im_w`` zero image (the part outside the image is cut off).

    Example:
        >>> paste_mask_in_image(ember.ones(2, 2), ember.tensor([1, 1, 2, 2]), 4, 4).sum()
        tensor(4.)
    """
    x1, y1, x2, y2 = (int(v) for v in box.tolist())
    # the box's corners are both inclusive pixels
    width, height = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)
    grown = F.interpolate(mask.expand((1, 1, -1, -1)), size=(height, width), mode="bilinear",
                          align_corners=False)[0][0]
    image = ember.zeros((im_h, im_w), dtype=grown.dtype, device=grown.device)
    left, right = max(x1, 0), min(x2 + 1, im_w)
    top, bottom = max(y1, 0), min(y2 + 1, im_h)
    image[top:bottom, left:right] = grown[top - y1:bottom - y1, left - x1:right - x1]
    return image


def paste_masks_in_image(masks, boxes, img_shape, padding: int = 1):
    """Paste each ``[1, M, M]`` mask probability map into an image of ``img_shape`` at its
    box. Masks are padded by ``padding`` and boxes grown alike first, so the mask's border
    falls off smoothly.

    Args:
        masks (Tensor[K, 1, M, M]), boxes (Tensor[K, 4]), img_shape (Tuple[int, int]).

    Returns:
        Tensor[K, 1, H, W]

    Example:
        >>> paste_masks_in_image(ember.ones(1, 1, 4, 4), ember.tensor([[2., 2, 6, 6]]),
        ...                      (10, 12)).shape
        torch.Size([1, 1, 10, 12])
    """
    masks, scale = expand_masks(masks, padding=padding)
    boxes = expand_boxes(boxes, scale).to(ember.int64)
    im_h, im_w = img_shape
    pasted = [paste_mask_in_image(m[0], b, im_h, im_w) for m, b in zip(masks, boxes)]
    if not pasted:
        return masks.new_empty((0, 1, im_h, im_w))
    return ember.stack(pasted, dim=0)[:, None]


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
        mask_roi_pool, mask_head, mask_predictor (optional): Mask R-CNN's branch, run on the
            positive proposals (training, loss ``loss_mask``) or the detections (eval, adding
            ``masks`` probabilities ``[K, 1, M, M]``).
        keypoint_roi_pool, keypoint_head, keypoint_predictor (optional): Keypoint R-CNN's
            branch, alike (``loss_keypoint``; ``keypoints`` ``[K, P, 3]`` and
            ``keypoints_scores``).

    Forward takes ``(features: Dict[str, Tensor], proposals: List[Tensor[K, 4]],
    image_shapes: List[Tuple[int, int]], targets=None)`` and returns ``(result, losses)``:
    per-image dicts of ``boxes``, ``labels``, ``scores`` (eval) and a loss dict (training).
    With a branch, training targets also need ``masks`` (``[G, H, W]``) or ``keypoints``
    (float ``[G, P, 3]``).

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
        self.mask_roi_pool = mask_roi_pool
        self.mask_head = mask_head
        self.mask_predictor = mask_predictor
        self.keypoint_roi_pool = keypoint_roi_pool
        self.keypoint_head = keypoint_head
        self.keypoint_predictor = keypoint_predictor

    def has_mask(self) -> bool:
        """Whether the mask branch (pooler, head and predictor) is present."""
        return self.mask_roi_pool is not None and self.mask_head is not None \
            and self.mask_predictor is not None

    def has_keypoint(self) -> bool:
        """Whether the keypoint branch (pooler, head and predictor) is present."""
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
        if self.has_mask() and not all("masks" in t for t in targets):
            raise ValueError("Every element of targets should have a masks key")

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
                if self.has_keypoint() and t["keypoints"].dtype != ember.float32:
                    raise TypeError(f"target keypoints must of float type, instead got "
                                    f"{t['keypoints'].dtype}")
        labels = regression_targets = matched_idxs = None
        if self.training:
            proposals, matched_idxs, labels, regression_targets = \
                self.select_training_samples(proposals, targets)
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
        if self.has_mask():
            rois, matched = self._branch_inputs(proposals, result, labels, matched_idxs)
            logits = self.mask_predictor(self.mask_head(self.mask_roi_pool(features, rois,
                                                                           image_shapes)))
            if self.training:
                losses["loss_mask"] = maskrcnn_loss(
                    logits, rois, [t["masks"] for t in targets],
                    [t["labels"] for t in targets], matched)
            else:
                probs = maskrcnn_inference(logits, [r["labels"] for r in result])
                for prob, r in zip(probs, result):
                    r["masks"] = prob
        # keypoint R-CNN's branch (torchvision skips it when the model is scripted for
        # export; an eager model always runs it)
        if self.has_keypoint():
            rois, matched = self._branch_inputs(proposals, result, labels, matched_idxs)
            logits = self.keypoint_predictor(self.keypoint_head(
                self.keypoint_roi_pool(features, rois, image_shapes)))
            if self.training:
                losses["loss_keypoint"] = keypointrcnn_loss(
                    logits, rois, [t["keypoints"] for t in targets], matched)
            else:
                if logits is None or rois is None:
                    raise ValueError("both keypoint_logits and keypoint_proposals should not "
                                     "be None when not in training mode.")
                points, point_scores = keypointrcnn_inference(logits, rois)
                for p, ps, r in zip(points, point_scores, result):
                    r["keypoints"] = p
                    r["keypoints_scores"] = ps
        return result, losses

    def _branch_inputs(self, proposals, result, labels, matched_idxs):
        # the mask/keypoint branches see the positive sampled proposals (with the target
        # each matched) in training, and the final detections in eval
        if not self.training:
            return [r["boxes"] for r in result], None
        if matched_idxs is None:
            raise ValueError("if in training, matched_idxs should not be None")
        rois, matched = [], []
        for boxes, label, idx in zip(proposals, labels, matched_idxs):
            positive = ember.where(label > 0)[0]
            rois.append(boxes[positive])
            matched.append(idx[positive])
        return rois, matched
