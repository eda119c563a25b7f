"""Detection losses (torchvision.ops: focal loss and the IoU-based box regression losses).

Each takes matched pairs of boxes (``boxes1[i]`` against ``boxes2[i]``), not all pairs, and
reduces with ``reduction`` = ``'none'`` | ``'mean'`` | ``'sum'``.
"""

from __future__ import annotations

import math

import ember

from ... import _dtype as D
from ...nn import functional as F

__all__ = ["sigmoid_focal_loss", "generalized_box_iou_loss", "distance_box_iou_loss",
           "complete_box_iou_loss"]


def _reduction_error(reduction):
    return ValueError(f"Invalid Value for arg 'reduction': '{reduction} \n Supported reduction "
                      "modes: 'none', 'mean', 'sum'")


def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise _reduction_error(reduction)


def _reduce_box_loss(loss, reduction):
    if reduction == "mean":
        # an empty batch gives 0 (still attached to the graph), not the NaN of mean()
        return loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()
    if reduction == "sum":
        return loss.sum()
    return loss


def _float_boxes(t):
    return t if t.dtype in (D.float32, D.float64) else t.float()


def sigmoid_focal_loss(inputs, targets, alpha: float = 0.25, gamma: float = 2,
                       reduction: str = "none"):
    """The focal loss of RetinaNet (Lin et al., 2017) for binary targets on logits.

    Each element's binary cross-entropy is multiplied by ``(1 - p_t) ** gamma``, ``p_t``
    being the probability the model gives to the element's true label, so that the examples
    already classified well weigh little; with ``alpha >= 0`` it is also weighted by
    ``alpha`` where the target is 1 and ``1 - alpha`` where it is 0.

    Args:
        inputs (Tensor): logits, of any shape.
        targets (Tensor): labels in ``[0, 1]``, of the shape of ``inputs``.
        alpha (float): the weight of the positive class; negative: no weighting.
            Default: 0.25.
        gamma (float): the focusing exponent (0 gives the plain cross-entropy). Default: 2.
        reduction (str): ``'none'`` | ``'mean'`` | ``'sum'``. Default: ``'none'``.

    Returns:
        Tensor: the loss per element, or its mean or sum (the mean of no elements is NaN).

    Example:
        >>> logits = ember.tensor([2.0, -1.0])
        >>> sigmoid_focal_loss(logits, ember.tensor([1.0, 0.0]), alpha=-1, gamma=0)
        tensor([0.1269, 0.3133])
        >>> sigmoid_focal_loss(logits, ember.tensor([1.0, 0.0]), reduction="sum")
        tensor(0.0174)
    """
    # the cross-entropy first: its checks (shapes, dtypes) are the errors torchvision raises
    bce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    negatives = 1 - targets
    prob = ember.sigmoid(inputs)
    p_t = prob * targets + (1 - prob) * negatives
    weight = (1 - p_t) ** gamma
    if alpha >= 0:
        weight = weight * (alpha * targets + (1 - alpha) * negatives)
    loss = bce * weight
    # as torchvision: the loss is computed before the reduction name is checked
    reduce = {"none": None, "mean": ember.mean, "sum": ember.sum}
    if reduction not in reduce:
        raise _reduction_error(reduction)
    return loss if reduce[reduction] is None else reduce[reduction](loss)


def _pair_inter_union(boxes1, boxes2):
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xi1 = ember.maximum(x1, x1g)
    yi1 = ember.maximum(y1, y1g)
    xi2 = ember.minimum(x2, x2g)
    yi2 = ember.minimum(y2, y2g)
    overlaps = (yi2 > yi1) & (xi2 > xi1)
    # where() sends no gradient through the pairs that do not overlap
    inter = ember.where(overlaps, (xi2 - xi1) * (yi2 - yi1), ember.zeros_like(x1))
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
    return inter, union


def generalized_box_iou_loss(boxes1, boxes2, reduction: str = "none", eps: float = 1e-7):
    """Generalized IoU loss ``1 - GIoU`` of matched boxes (Rezatofighi et al., 2019).

    Args:
        boxes1 (Tensor[N, 4] or Tensor[4]): predicted boxes, ``(x1, y1, x2, y2)``.
        boxes2 (Tensor[N, 4] or Tensor[4]): target boxes, ``(x1, y1, x2, y2)``.
        reduction (str): ``'none'`` | ``'mean'`` | ``'sum'``. Default: ``'none'``.
        eps (float): keeps the divisions finite. Default: 1e-7.

    Returns:
        Tensor: the loss, in ``[0, 2]`` per pair.

    Example:
        >>> generalized_box_iou_loss(ember.tensor([[0., 0, 1, 1]]), ember.tensor([[2., 0, 3, 1]]))
        tensor([1.3333])
    """
    _check_reduction(reduction)
    boxes1 = _float_boxes(boxes1)
    boxes2 = _float_boxes(boxes2)
    inter, union = _pair_inter_union(boxes1, boxes2)
    iou = inter / (union + eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xc1 = ember.minimum(x1, x1g)
    yc1 = ember.minimum(y1, y1g)
    xc2 = ember.maximum(x2, x2g)
    yc2 = ember.maximum(y2, y2g)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    giou = iou - ((area_c - union) / (area_c + eps))
    return _reduce_box_loss(1 - giou, reduction)


def _diou_loss_and_iou(boxes1, boxes2, eps):
    inter, union = _pair_inter_union(boxes1, boxes2)
    iou = inter / (union + eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xc1 = ember.minimum(x1, x1g)
    yc1 = ember.minimum(y1, y1g)
    xc2 = ember.maximum(x2, x2g)
    yc2 = ember.maximum(y2, y2g)
    diagonal_sq = ((xc2 - xc1) ** 2) + ((yc2 - yc1) ** 2) + eps
    cx, cy = (x2 + x1) / 2, (y2 + y1) / 2
    cxg, cyg = (x1g + x2g) / 2, (y1g + y2g) / 2
    centers_sq = ((cx - cxg) ** 2) + ((cy - cyg) ** 2)
    return 1 - iou + (centers_sq / diagonal_sq), iou


def distance_box_iou_loss(boxes1, boxes2, reduction: str = "none", eps: float = 1e-7):
    """Distance IoU loss of matched boxes (Zheng et al., 2020): ``1 - IoU`` plus the squared
    centre distance over the squared diagonal of the enclosing box.

    Args:
        boxes1 (Tensor[N, 4] or Tensor[4]): predicted boxes, ``(x1, y1, x2, y2)``.
        boxes2 (Tensor[N, 4] or Tensor[4]): target boxes, ``(x1, y1, x2, y2)``.
        reduction (str): ``'none'`` | ``'mean'`` | ``'sum'``. Default: ``'none'``.
        eps (float): keeps the divisions finite. Default: 1e-7.

    Returns:
        Tensor: the loss.

    Example:
        >>> distance_box_iou_loss(ember.tensor([[0., 0, 2, 2]]), ember.tensor([[0., 0, 2, 2]]))
        tensor([0.])
    """
    _check_reduction(reduction)
    boxes1 = _float_boxes(boxes1)
    boxes2 = _float_boxes(boxes2)
    loss, _ = _diou_loss_and_iou(boxes1, boxes2, eps)
    return _reduce_box_loss(loss, reduction)


def complete_box_iou_loss(boxes1, boxes2, reduction: str = "none", eps: float = 1e-7):
    """Complete IoU loss of matched boxes (Zheng et al., 2020): the distance IoU loss plus a
    penalty for differing aspect ratios.

    Args:
        boxes1 (Tensor[N, 4] or Tensor[4]): predicted boxes, ``(x1, y1, x2, y2)``.
        boxes2 (Tensor[N, 4] or Tensor[4]): target boxes, ``(x1, y1, x2, y2)``.
        reduction (str): ``'none'`` | ``'mean'`` | ``'sum'``. Default: ``'none'``.
        eps (float): keeps the aspect-ratio weight finite. Default: 1e-7.

    Returns:
        Tensor: the loss.

    Example:
        >>> complete_box_iou_loss(ember.tensor([[0., 0, 2, 2]]), ember.tensor([[0., 0, 2, 2]]))
        tensor([0.])
    """
    _check_reduction(reduction)
    boxes1 = _float_boxes(boxes1)
    boxes2 = _float_boxes(boxes2)
    # as torchvision 0.29: ``eps`` reaches only the trade-off weight below; the distance
    # part keeps its default 1e-7
    diou_loss, iou = _diou_loss_and_iou(boxes1, boxes2, 1e-7)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    w_pred, h_pred = x2 - x1, y2 - y1
    w_gt, h_gt = x2g - x1g, y2g - y1g
    v = (4 / (math.pi ** 2)) * ((ember.atan(w_gt / h_gt) - ember.atan(w_pred / h_pred)) ** 2)
    with ember.no_grad():
        # the trade-off weight is a constant in the gradient (the paper's choice)
        alpha = v / (1 - iou + v + eps)
    return _reduce_box_loss(diou_loss + alpha * v, reduction)
