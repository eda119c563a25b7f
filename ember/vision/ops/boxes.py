"""Box arithmetic and suppression (torchvision.ops.boxes).

Boxes are ``Tensor[N, 4]`` in ``(x1, y1, x2, y2)`` form unless a function says otherwise.
The IoU family is written with ember ops, so gradients reach the boxes as they do in
torchvision; ``nms`` and its relatives return indices and need no gradient.
"""

from __future__ import annotations

import math

import numpy as np

import ember

from ... import _dtype as D

__all__ = ["nms", "batched_nms", "remove_small_boxes", "clip_boxes_to_image", "box_convert",
           "box_area", "box_iou", "generalized_box_iou", "complete_box_iou", "distance_box_iou",
           "masks_to_boxes"]

_FLOATS = (D.float32, D.float64)
_INTS = (D.int32, D.int64)
# the C++ scalar-type names torch's kernels print in "not implemented for" errors
_TYPE_NAMES = {D.int64: "Long", D.int32: "Int", D.int16: "Short", D.int8: "Char",
               D.uint8: "Byte", D.bool: "Bool"}
_AXIS_ALIGNED = ("xyxy", "xywh", "cxcywh")
_ROTATED = ("cxcywhr", "xywhr", "xyxyxyxy")


def _upcast(t):
    # products of coordinates overflow small types: widen half floats to float32 and small
    # integers to int32, keep the rest
    if t.is_floating_point():
        return t if t.dtype in _FLOATS else t.float()
    return t if t.dtype in _INTS else t.int()


def _np(t):
    return t.detach().cpu().numpy()


def _iou_matrix(boxes: np.ndarray) -> np.ndarray:
    """Pairwise IoU as the suppression kernels compute it, in the boxes' own precision."""
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x2 - x1) * (y2 - y1)
    w = np.maximum(np.minimum(x2[:, None], x2) - np.maximum(x1[:, None], x1), 0)
    h = np.maximum(np.minimum(y2[:, None], y2) - np.maximum(y1[:, None], y1), 0)
    inter = w * h
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / (area[:, None] + area - inter)


def _greedy_keep(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    # best score first; equal scores keep their input order (a stable sort), as torch's does
    order = np.argsort(-scores, kind="stable")
    iou = _iou_matrix(boxes[order])
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(order[i])
        # NaN (a 0/0 from two empty boxes) compares False: such a box suppresses nothing
        suppressed[i + 1:] |= iou[i, i + 1:] > iou_threshold
    return np.asarray(keep, dtype=np.int64)


def _check_nms_args(boxes, scores):
    # torchvision's kernel checks, in its order and words
    if boxes.dim() != 2:
        raise RuntimeError(f"boxes should be a 2d tensor, got {boxes.dim()}D")
    if boxes.shape[1] != 4:
        raise RuntimeError(f"boxes should have 4 elements in dimension 1, got {boxes.shape[1]}")
    if scores.dim() != 1:
        raise RuntimeError(f"scores should be a 1d tensor, got {scores.dim()}D")
    if boxes.shape[0] != scores.shape[0]:
        raise RuntimeError("boxes and scores should have same number of elements in dimension 0"
                           f", got {boxes.shape[0]} and {scores.shape[0]}")
    if not boxes.is_floating_point():
        raise RuntimeError(f'"nms_kernel" not implemented for \'{_TYPE_NAMES.get(boxes.dtype)}\'')


def nms(boxes, scores, iou_threshold: float):
    """Non-maximum suppression: keep the best box, drop those overlapping it, repeat.

    A box is dropped when its IoU with a kept, higher-scoring box is greater than
    ``iou_threshold``. Equal scores are visited in input order.

    Args:
        boxes (Tensor[N, 4]): boxes in ``(x1, y1, x2, y2)`` format, ``0 <= x1 < x2``.
        scores (Tensor[N]): a score per box.
        iou_threshold (float): discard boxes with IoU above this.

    Returns:
        Tensor: int64 indices of the kept boxes, by decreasing score.

    Example:
        >>> boxes = ember.tensor([[0., 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]])
        >>> nms(boxes, ember.tensor([0.9, 0.8, 0.7]), 0.5)
        tensor([0, 2])
    """
    _check_nms_args(boxes, scores)
    keep = _greedy_keep(_np(boxes), _np(scores), float(iou_threshold))
    return ember.from_numpy(keep).to(boxes.device)


def batched_nms(boxes, scores, idxs, iou_threshold: float):
    """Non-maximum suppression within each category: boxes of different ``idxs`` never
    suppress each other.

    Args:
        boxes (Tensor[N, 4]): boxes in ``(x1, y1, x2, y2)`` format.
        scores (Tensor[N]): a score per box.
        idxs (Tensor[N]): the category of each box.
        iou_threshold (float): discard boxes with IoU above this.

    Returns:
        Tensor: int64 indices of the kept boxes, by decreasing score.

    Example:
        >>> boxes = ember.tensor([[0., 0, 10, 10], [1, 1, 10, 10]])
        >>> batched_nms(boxes, ember.tensor([0.9, 0.8]), ember.tensor([0, 1]), 0.5)
        tensor([0, 1])
    """
    if boxes.numel() == 0:
        return ember.empty((0,), dtype=ember.int64, device=boxes.device)
    _check_nms_args(boxes, scores)
    b, s, c = _np(boxes), _np(scores), _np(idxs)
    # one suppression per category (on the CPU torchvision does the same at every size; its
    # coordinate-offset shortcut would let boxes with negative coordinates cross categories)
    mask = np.zeros(len(s), dtype=bool)
    for cls in np.unique(c):
        where = np.nonzero(c == cls)[0]
        mask[where[_greedy_keep(b[where], s[where], float(iou_threshold))]] = True
    keep = np.nonzero(mask)[0]
    # equal scores keep index order here; torch's (unstable) sort may order them otherwise
    keep = keep[np.argsort(-s[keep], kind="stable")]
    return ember.from_numpy(keep.astype(np.int64)).to(boxes.device)


def remove_small_boxes(boxes, min_size: float):
    """Indices of the boxes whose width and height are both at least ``min_size``.

    Args:
        boxes (Tensor[N, 4]): boxes in ``(x1, y1, x2, y2)`` format.
        min_size (float): the smallest width and height kept.

    Returns:
        Tensor[K]: int64 indices of the boxes kept.

    Example:
        >>> remove_small_boxes(ember.tensor([[0., 0, 1, 1], [0, 0, 5, 5]]), 2)
        tensor([1])
    """
    ws = boxes[:, 2] - boxes[:, 0]
    hs = boxes[:, 3] - boxes[:, 1]
    keep = (ws >= min_size) & (hs >= min_size)
    return ember.where(keep)[0]


def clip_boxes_to_image(boxes, size: tuple[int, int]):
    """Clamp boxes so that they lie inside an image of ``size = (height, width)``.

    Args:
        boxes (Tensor[..., 4]): boxes in ``(x1, y1, x2, y2)`` format.
        size (Tuple[height, width]): the image size.

    Returns:
        Tensor[..., 4]: the clipped boxes.

    Example:
        >>> clip_boxes_to_image(ember.tensor([[-5., 2, 30, 40]]), (20, 25))
        tensor([[ 0.,  2., 25., 20.]])
    """
    dim = boxes.dim()
    height, width = size
    xs = boxes[..., 0::2].clamp(min=0, max=width)
    ys = boxes[..., 1::2].clamp(min=0, max=height)
    return ember.stack((xs, ys), dim=dim).reshape(boxes.shape)


def _xywh_to_xyxy(boxes):
    x, y, w, h = boxes.unbind(-1)
    return ember.stack([x, y, x + w, y + h], dim=-1)


def _cxcywh_to_xyxy(boxes):
    cx, cy, w, h = boxes.unbind(-1)
    return ember.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def _xyxy_to_xywh(boxes):
    x1, y1, x2, y2 = boxes.unbind(-1)
    return ember.stack([x1, y1, x2 - x1, y2 - y1], dim=-1)


def _xyxy_to_cxcywh(boxes):
    x1, y1, x2, y2 = boxes.unbind(-1)
    return ember.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)


_TO_XYXY = {"xywh": _xywh_to_xyxy, "cxcywh": _cxcywh_to_xyxy}
_FROM_XYXY = {"xywh": _xyxy_to_xywh, "cxcywh": _xyxy_to_cxcywh}


def box_convert(boxes, in_fmt: str, out_fmt: str):
    """Convert boxes between ``'xyxy'``, ``'xywh'`` and ``'cxcywh'`` formats, or between the
    rotated ``'xywhr'``, ``'cxcywhr'`` and ``'xyxyxyxy'`` ones.

    ``'xyxy'`` is corners, ``'xywh'`` the top-left corner with width and height, ``'cxcywh'``
    the centre with width and height. Rotated boxes add an angle in degrees (counter-clockwise
    on the image) to the first corner or the centre, or list their four corners. Conversions
    between the axis-aligned and the rotated family raise ``NotImplementedError``.

    Args:
        boxes (Tensor[N, 4]): the boxes.
        in_fmt (str): their format.
        out_fmt (str): the format wanted.

    Returns:
        Tensor[N, 4]: the boxes in ``out_fmt``.

    Example:
        >>> box_convert(ember.tensor([[1., 2, 3, 4]]), "xywh", "xyxy")
        tensor([[1., 2., 4., 6.]])
    """
    if in_fmt not in _AXIS_ALIGNED or out_fmt not in _AXIS_ALIGNED:
        message = ("Unsupported Bounding Box Conversions for given "
                   f"in_fmt {in_fmt} and out_fmt {out_fmt}")
        if in_fmt in _ROTATED and out_fmt in _ROTATED:
            from ._rotated_boxes import convert_rotated

            return convert_rotated(boxes, in_fmt, out_fmt)
        if in_fmt in _AXIS_ALIGNED + _ROTATED and out_fmt in _AXIS_ALIGNED + _ROTATED:
            # torchvision converts only within one family (axis-aligned or rotated)
            raise NotImplementedError(message)
        raise ValueError(message)
    if in_fmt == out_fmt:
        return boxes.clone()
    if in_fmt != "xyxy":
        boxes = _TO_XYXY[in_fmt](boxes)
    if out_fmt != "xyxy":
        boxes = _FROM_XYXY[out_fmt](boxes)
    return boxes


def box_area(boxes, fmt: str = "xyxy"):
    """Area of each box.

    Args:
        boxes (Tensor[..., 4]): the boxes (any leading batch dimensions).
        fmt (str, optional): their format, ``'xyxy'`` (default), ``'xywh'`` or ``'cxcywh'``.

    Returns:
        Tensor[...]: the areas (small integer and half types are widened first).

    Example:
        >>> box_area(ember.tensor([[0., 0, 2, 3]]))
        tensor([6.])
    """
    if fmt not in _AXIS_ALIGNED:
        raise ValueError(f"Unsupported Bounding Box area for given format {fmt}")
    boxes = _upcast(boxes)
    if fmt == "xyxy":
        return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return boxes[..., 2] * boxes[..., 3]


def _corners(boxes, fmt: str):
    """The top-left and bottom-right corners, ``(..., 1, 2)`` each, computed in ``fmt``'s own
    arithmetic as torchvision does (so the IoU matches it to the last bit)."""
    xy, wh = boxes[..., None, :2], boxes[..., None, 2:]
    if fmt == "xyxy":
        return xy, wh
    if fmt == "xywh":
        return xy, xy + wh
    return xy - wh / 2, xy + wh / 2


def _inter_union(boxes1, boxes2, fmt: str = "xyxy"):
    """Intersections and unions of every pair, ``(..., N, M)``, of boxes ``(..., N, 4)`` and
    ``(..., M, 4)``."""
    area1 = box_area(boxes1, fmt)
    area2 = box_area(boxes2, fmt)
    lt1, rb1 = _corners(boxes1, fmt)
    lt2, rb2 = _corners(boxes2, fmt)
    lt = ember.maximum(lt1, lt2.transpose(-3, -2))
    rb = ember.minimum(rb1, rb2.transpose(-3, -2))
    wh = _upcast(rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter, area1[..., None] + area2[..., None, :] - inter


def _enclosing_wh(boxes1, boxes2):
    """Width and height of the smallest box enclosing each pair, ``(..., N, M, 2)``."""
    lti = ember.minimum(boxes1[..., None, :2], boxes2[..., None, :, :2])
    rbi = ember.maximum(boxes1[..., None, 2:], boxes2[..., None, :, 2:])
    return _upcast(rbi - lti).clamp(min=0)


def box_iou(boxes1, boxes2, fmt: str = "xyxy"):
    """Intersection over union of every pair of boxes.

    Args:
        boxes1 (Tensor[..., N, 4]): the first boxes (any leading batch dimensions).
        boxes2 (Tensor[..., M, 4]): the second boxes.
        fmt (str, optional): their format, ``'xyxy'`` (default), ``'xywh'`` or ``'cxcywh'``.

    Returns:
        Tensor[..., N, M]: the IoU of each pair.

    Example:
        >>> box_iou(ember.tensor([[0., 0, 2, 2]]), ember.tensor([[1., 1, 3, 3]]))
        tensor([[0.1429]])
    """
    if fmt not in _AXIS_ALIGNED:
        raise ValueError(f"Unsupported format {fmt!r}. Supported axis-aligned formats: "
                         f"{_AXIS_ALIGNED}. Supported rotated formats: {_ROTATED}.")
    inter, union = _inter_union(boxes1, boxes2, fmt)
    return inter / union


def generalized_box_iou(boxes1, boxes2):
    """Generalized IoU (Rezatofighi et al., 2019) of every pair of boxes: IoU minus the share
    of the smallest enclosing box that the union leaves uncovered.

    Args:
        boxes1 (Tensor[..., N, 4]): boxes in ``(x1, y1, x2, y2)`` format.
        boxes2 (Tensor[..., M, 4]): boxes in ``(x1, y1, x2, y2)`` format.

    Returns:
        Tensor[..., N, M]: values in ``[-1, 1]``.

    Example:
        >>> generalized_box_iou(ember.tensor([[0., 0, 1, 1]]), ember.tensor([[2., 0, 3, 1]]))
        tensor([[-0.3333]])
    """
    inter, union = _inter_union(boxes1, boxes2)
    iou = inter / union
    whi = _enclosing_wh(boxes1, boxes2)
    areai = whi[..., 0] * whi[..., 1]
    return iou - (areai - union) / areai


def _diou_and_iou(boxes1, boxes2, eps):
    iou = box_iou(boxes1, boxes2)
    whi = _enclosing_wh(boxes1, boxes2)
    diagonal_sq = whi[..., 0] ** 2 + whi[..., 1] ** 2 + eps
    cx1 = (boxes1[..., 0] + boxes1[..., 2]) / 2
    cy1 = (boxes1[..., 1] + boxes1[..., 3]) / 2
    cx2 = (boxes2[..., 0] + boxes2[..., 2]) / 2
    cy2 = (boxes2[..., 1] + boxes2[..., 3]) / 2
    centers_sq = (_upcast(cx1[..., None] - cx2[..., None, :]) ** 2
                  + _upcast(cy1[..., None] - cy2[..., None, :]) ** 2)
    return iou - centers_sq / diagonal_sq, iou


def distance_box_iou(boxes1, boxes2, eps: float = 1e-7):
    """Distance IoU (Zheng et al., 2020) of every pair: IoU minus the squared distance of the
    centres over the squared diagonal of the enclosing box.

    Args:
        boxes1 (Tensor[..., N, 4]): boxes in ``(x1, y1, x2, y2)`` format.
        boxes2 (Tensor[..., M, 4]): boxes in ``(x1, y1, x2, y2)`` format.
        eps (float, optional): added to the diagonal to avoid dividing by zero.

    Returns:
        Tensor[..., N, M]: the distance IoU of each pair.

    Example:
        >>> distance_box_iou(ember.tensor([[0., 0, 2, 2]]), ember.tensor([[0., 0, 2, 2]]))
        tensor([[1.]])
    """
    boxes1 = _upcast(boxes1)
    boxes2 = _upcast(boxes2)
    diou, _ = _diou_and_iou(boxes1, boxes2, eps)
    return diou


def complete_box_iou(boxes1, boxes2, eps: float = 1e-7):
    """Complete IoU (Zheng et al., 2020) of every pair: distance IoU less a penalty for
    differing aspect ratios.

    Args:
        boxes1 (Tensor[..., N, 4]): boxes in ``(x1, y1, x2, y2)`` format.
        boxes2 (Tensor[..., M, 4]): boxes in ``(x1, y1, x2, y2)`` format.
        eps (float, optional): keeps the divisions finite.

    Returns:
        Tensor[..., N, M]: the complete IoU of each pair.

    Example:
        >>> complete_box_iou(ember.tensor([[0., 0, 2, 2]]), ember.tensor([[0., 0, 2, 2]]))
        tensor([[1.]])
    """
    boxes1 = _upcast(boxes1)
    boxes2 = _upcast(boxes2)
    diou, iou = _diou_and_iou(boxes1, boxes2, eps)
    w1 = boxes1[..., None, 2] - boxes1[..., None, 0]
    h1 = boxes1[..., None, 3] - boxes1[..., None, 1]
    w2 = boxes2[..., None, :, 2] - boxes2[..., None, :, 0]
    h2 = boxes2[..., None, :, 3] - boxes2[..., None, :, 1]
    v = (4 / (math.pi ** 2)) * (ember.atan(w2 / h2) - ember.atan(w1 / h1)) ** 2
    with ember.no_grad():
        # the trade-off weight is a constant in the gradient (the paper's choice)
        alpha = v / (1 - iou + v + eps)
    return diou - alpha * v


def masks_to_boxes(masks):
    """The tight ``(x1, y1, x2, y2)`` box around the nonzero pixels of each mask.

    Args:
        masks (Tensor[N, H, W]): the masks.

    Returns:
        Tensor[N, 4]: float boxes; an empty mask gives zeros.

    Example:
        >>> m = ember.zeros(1, 4, 5); m[0, 1:3, 2:4] = 1
        >>> masks_to_boxes(m)
        tensor([[2., 1., 3., 2.]])
    """
    if masks.numel() == 0:
        return ember.zeros((0, 4), device=masks.device, dtype=ember.float32)
    m = _np(masks) != 0
    rows = m.any(axis=2)
    cols = m.any(axis=1)
    h, w = m.shape[1:]
    out = np.zeros((m.shape[0], 4), dtype=np.float32)
    nonempty = rows.any(axis=1)
    out[:, 0] = np.argmax(cols, axis=1)
    out[:, 1] = np.argmax(rows, axis=1)
    out[:, 2] = w - 1 - np.argmax(cols[:, ::-1], axis=1)
    out[:, 3] = h - 1 - np.argmax(rows[:, ::-1], axis=1)
    out[~nonempty] = 0
    return ember.from_numpy(out).to(masks.device)
