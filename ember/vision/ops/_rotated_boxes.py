"""Rotated boxes: the conversions between ``xywhr``, ``cxcywhr`` and ``xyxyxyxy``.

A rotated box is a ``w`` by ``h`` rectangle turned by ``r`` degrees counter-clockwise as seen
on the image (whose ``y`` axis points down). ``xywhr`` names its first corner, ``cxcywhr`` its
centre, and ``xyxyxyxy`` lists the four corners in order: the first, the one ``w`` along the
turned top edge, the opposite one, and the one ``h`` down the turned left edge. So for
``r = 90`` the top edge runs upwards from the first corner.

The functions work on the last dimension of any float tensor and are built of ember ops, so
gradients flow through them.
"""

from __future__ import annotations

import math

from ..._tensor import Tensor

ROTATED = ("xywhr", "cxcywhr", "xyxyxyxy")


def _float(boxes: Tensor) -> Tensor:
    from ... import float32

    return boxes if boxes.is_floating_point() else boxes.to(float32)


def _edges(w: Tensor, h: Tensor, r: Tensor):
    """The vectors along the turned top edge (``w`` long) and left edge (``h`` long)."""
    rad = r * (math.pi / 180.0)
    cos, sin = rad.cos(), rad.sin()
    return (w * cos, -(w * sin)), (h * sin, h * cos)


def _to_xywhr(boxes: Tensor, fmt: str) -> Tensor:
    from ... import atan2, stack

    if fmt == "xywhr":
        return boxes
    if fmt == "cxcywhr":
        cx, cy, w, h, r = boxes.unbind(-1)
        (ux, uy), (vx, vy) = _edges(w, h, r)
        return stack([cx - (ux + vx) / 2, cy - (uy + vy) / 2, w, h, r], -1)
    x1, y1, x2, y2, _, _, x4, y4 = boxes.unbind(-1)
    dx, dy = x2 - x1, y2 - y1
    w = (dx * dx + dy * dy).sqrt()
    h = ((x4 - x1) ** 2 + (y4 - y1) ** 2).sqrt()
    r = atan2(-dy, dx) * (180.0 / math.pi)
    return stack([x1, y1, w, h, r], -1)


def _from_xywhr(boxes: Tensor, fmt: str) -> Tensor:
    from ... import stack

    if fmt == "xywhr":
        return boxes
    x, y, w, h, r = boxes.unbind(-1)
    (ux, uy), (vx, vy) = _edges(w, h, r)
    if fmt == "cxcywhr":
        return stack([x + (ux + vx) / 2, y + (uy + vy) / 2, w, h, r], -1)
    return stack([x, y, x + ux, y + uy, x + ux + vx, y + uy + vy, x + vx, y + vy], -1)


def convert_rotated(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """``boxes`` (``(..., 5)`` or ``(..., 8)``) from one rotated format to another (lower-case
    names), in the input's dtype."""
    if in_fmt == out_fmt:
        return boxes.clone()
    out = _from_xywhr(_to_xywhr(_float(boxes), in_fmt), out_fmt)
    return out.to(boxes.dtype)


def flip_rotated(boxes: Tensor, fmt: str, size: float, horizontal: bool) -> Tensor:
    """Rotated boxes mirrored across ``x = size / 2`` (``horizontal``) or ``y = size / 2``.

    A mirror turns a box's corner order around, so the corner that was second becomes the
    first; the angle becomes ``-r`` (left-right) or ``180 - r`` (top-bottom), the values one
    gets by reading the mirrored rectangle from that corner.
    """
    from ... import stack

    data = _float(boxes)
    if fmt == "xyxyxyxy":
        pts = data.unflatten(-1, (4, 2))
        pts = pts[..., [1, 0, 3, 2], :]
        x, y = pts.unbind(-1)
        x, y = (size - x, y) if horizontal else (x, size - y)
        return stack([x, y], -1).flatten(-2).to(boxes.dtype)
    a, b, w, h, r = data.unbind(-1)
    if fmt == "xywhr":
        (ux, uy), _ = _edges(w, h, r)
        a, b = a + ux, b + uy  # the second corner leads after the mirror
    if horizontal:
        a, r = size - a, -r
    else:
        b, r = size - b, 180.0 - r
    return stack([a, b, w, h, r], -1).to(boxes.dtype)


def shift_rotated(boxes: Tensor, fmt: str, dx: float, dy: float) -> Tensor:
    """Rotated boxes moved by ``(dx, dy)`` (a pad or a crop's offset)."""
    data = _float(boxes)
    if fmt == "xyxyxyxy":
        from ... import tensor

        step = tensor([dx, dy] * 4, dtype=data.dtype)
        return (data + step).to(boxes.dtype)
    from ... import stack

    a, b, w, h, r = data.unbind(-1)
    return stack([a + dx, b + dy, w, h, r], -1).to(boxes.dtype)


def scale_rotated(boxes: Tensor, fmt: str, sx: float, sy: float) -> Tensor:
    """Rotated boxes after the image is stretched by ``sx`` across and ``sy`` down.

    A stretch turns a rectangle into a parallelogram. The result keeps the direction of its
    longer edge and its longer diagonal: the rectangle with those two corners opposite each
    other (probed against torchvision, which re-fits them this way).
    """
    from ... import atan2, stack, where

    data = _float(boxes)
    x1, y1, x2, y2, x3, y3, x4, y4 = _from_xywhr(_to_xywhr(data, fmt), "xyxyxyxy").unbind(-1)
    x1, x2, x3, x4 = x1 * sx, x2 * sx, x3 * sx, x4 * sx
    y1, y2, y3, y4 = y1 * sy, y2 * sy, y3 * sy, y4 * sy
    # the angle follows the longer of the two stretched edges (top: first -> second corner,
    # left: first -> fourth corner, which lies at the angle from straight down)
    tx, ty, lx, ly = x2 - x1, y2 - y1, x4 - x1, y4 - y1
    r = where(tx * tx + ty * ty >= lx * lx + ly * ly, atan2(-ty, tx), atan2(lx, ly))
    ux, uy = r.cos(), -r.sin()  # along the top edge
    vx, vy = -uy, ux  # along the left edge
    # diagonal first -> third corner: that corner stays first
    ax, ay = x3 - x1, y3 - y1
    w_a, h_a = ax * ux + ay * uy, ax * vx + ay * vy
    # diagonal second -> fourth corner: the first corner moves to the second minus the width
    bx, by = x4 - x2, y4 - y2
    w_b, h_b = -(bx * ux + by * uy), bx * vx + by * vy
    first = (ax * ax + ay * ay) >= (bx * bx + by * by)
    w, h = where(first, w_a, w_b), where(first, h_a, h_b)
    fx = where(first, x1, x2 - w_b * ux)
    fy = where(first, y1, y2 - w_b * uy)
    fitted = stack([fx, fy, w, h, r * (180.0 / math.pi)], -1)
    return _from_xywhr(fitted, fmt).to(boxes.dtype)


def inside(boxes: Tensor, fmt: str, canvas_size, slack: float = 1e-3) -> bool:
    """Whether every corner of every box lies on the ``(H, W)`` canvas (``slack`` absorbs
    float32 rounding of the corners)."""
    corners = _from_xywhr(_to_xywhr(_float(boxes), fmt), "xyxyxyxy")
    h, w = canvas_size
    xs, ys = corners[..., 0::2], corners[..., 1::2]
    return bool(((xs >= -slack) & (xs <= w + slack) & (ys >= -slack) & (ys <= h + slack))
                .all().item())
