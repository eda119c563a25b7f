"""Region-of-interest pooling: ``roi_align`` and ``roi_pool`` and their modules.

RoI Align's bilinear sampling is separable: a sample at ``(y, x)`` mixes rows with weights
that depend only on ``y`` and columns with weights that depend only on ``x``, and the
average over a bin's sample grid factors the same way. So each RoI's output is
``Ay @ features @ Ax.T`` with two small weight matrices (``Ay``: output rows by input rows,
``Ax``: output columns by input columns) built in NumPy. The op (``SeparableRoI``) is linear
in the features: its gradient is its adjoint ``Ay.T @ grad @ Ax`` (the scatter-add of the
bilinear weights), another op whose gradient is the first again, so gradients of any order
flow. Boxes get no gradient, as in torchvision.

The products read the features in one of two ways, per RoI, whichever is estimated cheaper:
a small RoI gathers just the window of pixels its samples touch; a large one (where copying
the window would cost more) multiplies its full weight matrices against the whole map, so
its work no longer grows with its area (1000 RoIs of 30-49 px on a 256x50x50 map: forward
0.9 s -> 0.17 s single-threaded).

RoI Pool takes the maximum of each bin; the winners' positions are found in NumPy (all
regions at once, with a 2-D sparse table of block maxima) and the output gathers them with
ember indexing, whose backward adds each gradient at its winner.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import ember

from ... import nn
from ..._ops._core import Op

__all__ = ["roi_align", "RoIAlign", "roi_pool", "RoIPool"]


def _pair(v):
    if isinstance(v, (list, tuple)):
        return tuple(v) if len(v) == 2 else (v[0], v[0])
    return (v, v)


def _check_boxes(boxes):
    # AssertionError, as torchvision's asserts raise, but kept under ``python -O`` too
    if isinstance(boxes, (list, tuple)):
        for t in boxes:
            if t.size(1) != 4:
                raise AssertionError("The shape of the tensor in the boxes list is not correct "
                                     "as List[Tensor[L, 4]]")
    elif isinstance(boxes, ember.Tensor):
        if boxes.size(1) != 5:
            raise AssertionError("The boxes tensor shape is not correct as Tensor[K, 5]")
    else:
        raise AssertionError("boxes is expected to be a Tensor[L, 5] or a List[Tensor[K, 4]]")


def _rois_array(boxes, dtype) -> np.ndarray:
    """``[K, 5]`` rows ``(batch index, x1, y1, x2, y2)`` as a NumPy array of ``dtype``."""
    if isinstance(boxes, ember.Tensor):
        return boxes.detach().cpu().numpy().astype(dtype, copy=False)
    parts = []
    for i, t in enumerate(boxes):
        b = t.detach().cpu().numpy().astype(dtype, copy=False)
        parts.append(np.concatenate([np.full((len(b), 1), i, dtype=dtype), b], axis=1))
    return np.concatenate(parts) if parts else np.zeros((0, 5), dtype=dtype)


def _axis_weights(start, bin_size, grid, pooled: int, size: int, dtype) -> np.ndarray:
    """``[K, pooled, size]``: each output row's average of bilinear weights over its samples.

    ``start``, ``bin_size`` and ``grid`` (samples per bin) are per-RoI ``[K]`` arrays. The
    arithmetic runs in the features' dtype so that samples fall on the same pixels as
    torchvision's kernel.
    """
    k = len(start)
    gmax = int(grid.max()) if k else 0
    out = np.zeros((k, pooled, size), dtype=dtype)
    if gmax == 0:
        return out
    p = np.arange(pooled, dtype=dtype)[None, :, None]
    i = np.arange(gmax)
    g = grid[:, None, None]
    pos = (start[:, None, None] + p * bin_size[:, None, None]
           + (i.astype(dtype)[None, None, :] + dtype.type(0.5)) * bin_size[:, None, None]
           / np.maximum(g, 1).astype(dtype))
    # samples beyond this RoI's grid, or more than one pixel outside the map, add nothing
    valid = (i[None, None, :] < g) & (pos >= -1) & (pos <= size)
    pos = np.maximum(pos, 0)
    low = np.minimum(pos.astype(np.int64), size - 1)
    at_edge = low >= size - 1
    high = np.where(at_edge, low, low + 1)
    frac = np.where(at_edge, 0, pos - low).astype(dtype)
    scale = valid / np.maximum(g, 1).astype(dtype)
    rows = (np.arange(k)[:, None, None] * pooled + np.arange(pooled)[None, :, None]) * size
    flat = out.reshape(-1)
    np.add.at(flat, (rows + low).ravel(), ((1 - frac) * scale).ravel())
    np.add.at(flat, (rows + high).ravel(), (frac * scale).ravel())
    return out


def roi_align(input, boxes, output_size, spatial_scale: float = 1.0, sampling_ratio: int = -1,
              aligned: bool = False):
    """RoI Align (Mask R-CNN): average bilinear samples over each bin of each region.

    Args:
        input (Tensor[N, C, H, W]): the feature maps.
        boxes (Tensor[K, 5] or List[Tensor[L, 4]]): regions in ``(x1, y1, x2, y2)`` input
            coordinates; a ``[K, 5]`` tensor starts each row with its image's index, a list
            holds one tensor per image.
        output_size (int or Tuple[int, int]): the pooled ``(height, width)``.
        spatial_scale (float): maps box coordinates to the feature map (e.g. 1/16).
        sampling_ratio (int): samples per bin along each axis; ``<= 0`` chooses
            ``ceil(roi_size / output_size)`` for each region.
        aligned (bool): shift boxes by half a pixel so that pixel centres line up (as
            Detectron2); False keeps the original behaviour, where regions are at least 1x1.

    Returns:
        Tensor[K, C, output_size[0], output_size[1]]: the pooled features.

    Example:
        >>> x = ember.arange(16.).reshape(1, 1, 4, 4)
        >>> roi_align(x, ember.tensor([[0., 0, 0, 2, 2]]), 1, aligned=True)  # mean of 0, 1, 4, 5
        tensor([[[[2.5000]]]])
    """
    _check_boxes(boxes)
    ph, pw = _pair(output_size)
    dtype = input.dtype.np_dtype
    rois = _rois_array(boxes, dtype)
    n_img, channels, height, width = input.shape
    if len(rois) == 0:
        return ember.zeros((0, channels, ph, pw), dtype=input.dtype, device=input.device)
    scale = dtype.type(spatial_scale)
    offset = dtype.type(0.5 if aligned else 0.0)
    x1, y1 = rois[:, 1] * scale - offset, rois[:, 2] * scale - offset
    roi_w = rois[:, 3] * scale - offset - x1
    roi_h = rois[:, 4] * scale - offset - y1
    if not aligned:  # the original RoIAlign treats every region as at least one pixel
        roi_w, roi_h = np.maximum(roi_w, 1), np.maximum(roi_h, 1)
    bin_w, bin_h = roi_w / dtype.type(pw), roi_h / dtype.type(ph)
    if sampling_ratio > 0:
        grid_h = grid_w = np.full(len(rois), sampling_ratio)
    else:
        grid_h = np.maximum(np.ceil(roi_h / dtype.type(ph)), 0).astype(np.int64)
        grid_w = np.maximum(np.ceil(roi_w / dtype.type(pw)), 0).astype(np.int64)
    ay = _axis_weights(y1, bin_h, grid_h, ph, height, dtype)
    ax = _axis_weights(x1, bin_w, grid_w, pw, width, dtype)
    return SeparableRoI.apply(input, plan=_Plan(rois[:, 0].astype(np.int64), ay, ax))


def _support(weights):
    """First index and length of the nonzero span of each RoI's ``[pooled, size]`` weights."""
    used = (weights != 0).any(axis=1)  # [K, size]
    start = used.argmax(axis=1)
    stop = used.shape[1] - used[:, ::-1].argmax(axis=1)
    span = np.where(used.any(axis=1), stop - start, 0)
    return start, span


# elements of one gathered window block: bounds the forward's scratch memory (~32 MB float32)
_WINDOW_BUDGET = 1 << 23


class _Plan:
    """The per-image pieces of ``out[k] = Ay[k] @ x[image(k)] @ Ax[k].T``.

    Weight matrices are kept row-major in the layouts the products below read, so every
    ``np.matmul`` there is a plain BLAS call (NumPy falls back to a slow loop on stacked
    transposed operands). A RoI's weights are zero outside the few rows and columns its
    samples touch; ``row0``/``rows`` and ``col0``/``cols`` give that window."""

    def __init__(self, batch_index, ay, ax):
        k, self.ph, self.height = ay.shape
        self.pw, self.width = ax.shape[1:]
        self.num_rois = k
        self.images = []
        row0, rows_used = _support(ay)
        col0, cols_used = _support(ax)
        for n in np.unique(batch_index):
            rows = np.nonzero(batch_index == n)[0]
            self.images.append({
                "n": int(n), "rows": rows, "ay": ay[rows], "ax": ax[rows],
                "row0": row0[rows], "hs": rows_used[rows],
                "col0": col0[rows], "ws": cols_used[rows]})


# A RoI whose window is large goes through whole-map GEMMs instead (``_whole_map``): their
# work is fixed (about ``ph * (H + pw) * W`` per channel) and needs no window copies, which
# cost about this many times more per window element (measured single-threaded, C=256).
_WINDOW_COST = 100


def _split(plan, img):
    """Positions (into ``img``'s RoIs) of those read through windows and of those read
    through the whole map, whichever is estimated cheaper for each RoI."""
    area = img["hs"].astype(np.int64) * img["ws"]
    whole = area * _WINDOW_COST > plan.ph * (plan.height + plan.pw) * plan.width
    return np.nonzero(~whole)[0], np.nonzero(whole)[0]


def _whole_map(plan, img, channels, subset):
    """``subset`` (positions into ``img``'s RoIs) in chunks sized to ``_WINDOW_BUDGET``;
    yields ``(chunk, ay, ax)`` with the full ``[m, ph, H]`` and ``[m, pw, W]`` weights."""
    step = max(1, _WINDOW_BUDGET // (plan.ph * channels * plan.width))
    for i in range(0, len(subset), step):
        chunk = subset[i:i + step]
        yield chunk, img["ay"][chunk], img["ax"][chunk]


def _blocks(plan, img, channels, subset):
    """RoIs ``subset`` of one image in blocks of similar window height, sized to
    ``_WINDOW_BUDGET``; yields ``(block, row0, col0, ay, ax)`` with windows of ``hs`` rows
    and ``ws`` columns (``ay``: ``[m, ph, hs]`` and ``ax``: ``[m, pw, ws]``, the weights
    inside the window)."""
    order = subset[np.argsort(-img["hs"][subset], kind="stable")]
    i = 0
    while i < len(order):
        hs_max = max(int(img["hs"][order[i]]), 1)
        block = order[i:i + max(1, _WINDOW_BUDGET // (hs_max * channels * plan.width))]
        i += len(block)
        hs = max(int(img["hs"][block].max()), 1)
        ws = max(int(img["ws"][block].max()), 1)
        # a window that would overhang the map is shifted inside it
        row0 = np.minimum(img["row0"][block], plan.height - hs)
        col0 = np.minimum(img["col0"][block], plan.width - ws)
        ri = row0[:, None] + np.arange(hs)
        ci = col0[:, None] + np.arange(ws)
        ay = np.take_along_axis(img["ay"][block], ri[:, None, :], axis=2)
        ax = np.take_along_axis(img["ax"][block], ci[:, None, :], axis=2)
        yield block, row0, col0, ay, ax


class SeparableRoI(Op):
    """``[K, C, ph, pw]`` from ``x [N, C, H, W]``: each RoI's ``Ay @ x[image] @ Ax.T``.

    A small RoI reads only its window of the features: each block of them gathers its
    windows and runs two batched GEMMs (columns, then rows). Large RoIs (``_split``) run
    one GEMM of their row weights against the whole map, then a batched one for columns."""

    @staticmethod
    def forward(ctx, x, plan):
        ctx.plan, ctx.in_shape = plan, x.shape
        channels = x.shape[1]
        ph, pw = plan.ph, plan.pw
        out = np.zeros((plan.num_rois, channels, ph, pw), dtype=x.dtype)
        for img in plan.images:
            by_row = np.ascontiguousarray(x[img["n"]].transpose(1, 0, 2))  # [H, C, W]
            windowed, whole = _split(plan, img)
            flat_rows = by_row.reshape(plan.height, channels * plan.width)
            for chunk, ay, ax in _whole_map(plan, img, channels, whole):
                m = len(chunk)
                t = ay.reshape(m * ph, plan.height) @ flat_rows  # rows: [m*ph, C*W]
                axt = np.ascontiguousarray(ax.transpose(0, 2, 1))
                t = np.matmul(t.reshape(m, ph * channels, plan.width), axt)  # columns
                out[img["rows"][chunk]] = t.reshape(m, ph, channels, pw).transpose(0, 2, 1, 3)
            for block, row0, col0, ay, ax in _blocks(plan, img, channels, windowed):
                m, hs, ws = len(block), ay.shape[2], ax.shape[2]
                # one gather of every window: [m, C, hs, ws]
                windows = sliding_window_view(by_row, (hs, ws), axis=(0, 2))
                win = windows[row0, :, col0].reshape(m, channels * hs, ws)
                axt = np.ascontiguousarray(ax.transpose(0, 2, 1))
                t = np.matmul(win, axt).reshape(m, channels, hs, pw)  # columns
                t = np.ascontiguousarray(t.transpose(0, 2, 1, 3)).reshape(m, hs, channels * pw)
                t = np.matmul(ay, t)  # rows: [m, ph, C*pw]
                out[img["rows"][block]] = t.reshape(m, ph, channels, pw).transpose(0, 2, 1, 3)
        return out

    @staticmethod
    def backward(ctx, grad):
        return SeparableRoIAdjoint.apply(grad, plan=ctx.plan, in_shape=ctx.in_shape)


class SeparableRoIAdjoint(Op):
    """The adjoint of :class:`SeparableRoI` (its input gradient): ``x[image] +=
    Ay.T @ g @ Ax`` over the RoIs, window by window for small RoIs and through one
    whole-map accumulator for large ones; its own gradient is :class:`SeparableRoI` again."""

    @staticmethod
    def forward(ctx, g, plan, in_shape):
        ctx.plan = plan
        channels = in_shape[1]
        ph, pw = plan.ph, plan.pw
        out = np.zeros(in_shape, dtype=g.dtype)
        for img in plan.images:
            target = out[img["n"]]
            windowed, whole = _split(plan, img)
            if len(whole):
                acc = np.zeros((plan.height, channels * plan.width), dtype=g.dtype)
                for chunk, ay, ax in _whole_map(plan, img, channels, whole):
                    m = len(chunk)
                    t = np.ascontiguousarray(g[img["rows"][chunk]].transpose(0, 2, 1, 3))
                    t = np.matmul(t.reshape(m, ph * channels, pw), ax)  # [m, ph*C, W]
                    acc += ay.reshape(m * ph, plan.height).T @ t.reshape(m * ph, -1)
                target += acc.reshape(plan.height, channels, plan.width).transpose(1, 0, 2)
            for block, row0, col0, ay, ax in _blocks(plan, img, channels, windowed):
                m, hs, ws = len(block), ay.shape[2], ax.shape[2]
                t = np.ascontiguousarray(g[img["rows"][block]].transpose(0, 2, 1, 3))
                ayt = np.ascontiguousarray(ay.transpose(0, 2, 1))
                t = np.matmul(ayt, t.reshape(m, ph, channels * pw))  # [m, hs, C*pw]
                t = np.ascontiguousarray(t.reshape(m, hs, channels, pw).transpose(0, 2, 1, 3))
                t = np.matmul(t.reshape(m, channels * hs, pw), ax).reshape(m, channels, hs, ws)
                # windows overlap: add them one at a time
                for j in range(m):
                    target[:, row0[j]:row0[j] + hs, col0[j]:col0[j] + ws] += t[j]
        return out

    @staticmethod
    def backward(ctx, grad):
        return SeparableRoI.apply(grad, plan=ctx.plan)


def _c_round(v):
    # C's round(): halves go away from zero (NumPy's rint goes to even)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _first_max(va, ia, vb, ib):
    """Elementwise max of two candidates with their flat indices; ties go to the smaller
    index, which is the earlier pixel in row-major order (the first hit)."""
    take_b = vb > va
    tie = vb == va
    tie &= ib < ia
    take_b |= tie
    return np.where(take_b, vb, va), np.where(take_b, ib, ia)


def _pool_winners(x: np.ndarray, rois: np.ndarray, ph: int, pw: int, scale):
    """Flat indices into ``x`` of each bin's maximum (first in row-major order) and a mask of
    the bins that cover no pixel.

    Vectorized with a 2-D sparse table: table ``(a, b)`` holds, at each pixel, the maximum
    (and its first position) of the ``2**a`` by ``2**b`` block starting there. A bin of
    ``h`` by ``w`` pixels is covered by four such blocks with ``2**a <= h < 2**(a+1)``
    (likewise ``b``), anchored at its four corners; the bin's first maximum is the first
    maximum of one of them, so the candidate with the largest value and, among equals, the
    smallest flat index wins. Tables are built one level at a time and each is used for
    the bins of its size, then dropped, so memory stays a few copies of ``x``."""
    n_img, channels, height, width = x.shape
    dtype = x.dtype
    k = len(rois)
    start_w, start_h = _c_round(rois[:, 1] * scale), _c_round(rois[:, 2] * scale)
    end_w, end_h = _c_round(rois[:, 3] * scale), _c_round(rois[:, 4] * scale)
    roi_w = np.maximum(end_w - start_w + 1, 1).astype(dtype)
    roi_h = np.maximum(end_h - start_h + 1, 1).astype(dtype)
    bin_h, bin_w = roi_h / dtype.type(ph), roi_w / dtype.type(pw)
    p_h, p_w = np.arange(ph, dtype=dtype), np.arange(pw, dtype=dtype)
    hs = np.clip(np.floor(p_h * bin_h[:, None]) + start_h[:, None], 0, height).astype(np.int64)
    he = np.clip(np.ceil((p_h + 1) * bin_h[:, None]) + start_h[:, None], 0, height)
    ws = np.clip(np.floor(p_w * bin_w[:, None]) + start_w[:, None], 0, width).astype(np.int64)
    we = np.clip(np.ceil((p_w + 1) * bin_w[:, None]) + start_w[:, None], 0, width)
    he, we = he.astype(np.int64), we.astype(np.int64)
    empty = (he <= hs)[:, :, None] | (we <= ws)[:, None, :]  # [K, ph, pw]
    flat = np.zeros((k, ph, pw, channels), dtype=np.int64)
    if k == 0 or empty.all():
        return flat.transpose(0, 3, 1, 2), np.broadcast_to(empty[:, None], (k, channels, ph, pw))
    batch = rois[:, 0].astype(np.int64)
    # log2 of each bin's height and width (-1 for an empty extent)
    lh = np.where(he > hs, np.floor(np.log2(np.maximum(he - hs, 1))), -1).astype(np.int64)
    lw = np.where(we > ws, np.floor(np.log2(np.maximum(we - ws, 1))), -1).astype(np.int64)
    # channels last, so one fancy index gathers every channel of a pixel: [N, H, W, C]
    rows_v = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    # int32 positions where they fit: half the memory traffic of the table builds
    pos_type = np.int32 if x.size < 2**31 else np.int64
    rows_i = np.arange(x.size, dtype=pos_type).reshape(x.shape).transpose(0, 2, 3, 1)
    for a in range(int(lh.max()) + 1):
        if a > 0:  # blocks of 2**a rows from two of 2**(a-1)
            half = 1 << (a - 1)
            rows_v, rows_i = _first_max(rows_v[:, :-half], rows_i[:, :-half],
                                        rows_v[:, half:], rows_i[:, half:])
        sel_h = lh == a  # [K, ph]
        if not sel_h.any():
            continue
        tv, ti = rows_v, rows_i
        for b in range(int(lw.max()) + 1):
            if b > 0:
                half = 1 << (b - 1)
                tv, ti = _first_max(tv[:, :, :-half], ti[:, :, :-half],
                                    tv[:, :, half:], ti[:, :, half:])
            r, i, j = np.nonzero(sel_h[:, :, None] & (lw == b)[:, None, :])
            if len(r) == 0:
                continue
            n = batch[r]
            top, bottom = hs[r, i], he[r, i] - (1 << a)
            left, right = ws[r, j], we[r, j] - (1 << b)
            best_v, best_i = tv[n, top, left], ti[n, top, left]  # [bins, C]
            for y, xx in ((top, right), (bottom, left), (bottom, right)):
                best_v, best_i = _first_max(best_v, best_i, tv[n, y, xx], ti[n, y, xx])
            flat[r, i, j] = best_i
    return flat.transpose(0, 3, 1, 2), np.broadcast_to(empty[:, None], (k, channels, ph, pw))


def roi_pool(input, boxes, output_size, spatial_scale: float = 1.0):
    """RoI Pool (Fast R-CNN): the maximum over each bin of each region, on whole pixels.

    Args:
        input (Tensor[N, C, H, W]): the feature maps.
        boxes (Tensor[K, 5] or List[Tensor[L, 4]]): regions in ``(x1, y1, x2, y2)`` input
            coordinates, as for :func:`roi_align`.
        output_size (int or Tuple[int, int]): the pooled ``(height, width)``.
        spatial_scale (float): maps box coordinates to the feature map.

    Returns:
        Tensor[K, C, output_size[0], output_size[1]]: the pooled features (0 where a bin
        covers no pixel).

    Example:
        >>> x = ember.arange(16.).reshape(1, 1, 4, 4)
        >>> roi_pool(x, ember.tensor([[0., 0, 0, 3, 3]]), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    _check_boxes(boxes)
    ph, pw = _pair(output_size)
    x = input.detach().cpu().numpy()
    rois = _rois_array(boxes, x.dtype)
    channels = input.shape[1]
    if len(rois) == 0:
        return ember.zeros((0, channels, ph, pw), dtype=input.dtype, device=input.device)
    flat, empty = _pool_winners(x, rois, ph, pw, x.dtype.type(spatial_scale))
    picked = input.reshape(-1)[ember.from_numpy(flat).to(input.device)]
    if empty.any():
        picked = ember.where(ember.from_numpy(np.ascontiguousarray(empty)).to(input.device),
                             ember.zeros((), dtype=input.dtype, device=input.device), picked)
    return picked


class RoIAlign(nn.Module):
    """Module form of :func:`roi_align`.

    Example:
        >>> pool = RoIAlign((2, 2), spatial_scale=0.5, sampling_ratio=2)
        >>> pool(ember.randn(1, 3, 8, 8), ember.tensor([[0., 0, 0, 8, 8]])).shape
        torch.Size([1, 3, 2, 2])
    """

    def __init__(self, output_size, spatial_scale: float, sampling_ratio: int,
                 aligned: bool = False):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input, rois):
        return roi_align(input, rois, self.output_size, self.spatial_scale,
                         self.sampling_ratio, self.aligned)

    def __repr__(self):
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale}, sampling_ratio={self.sampling_ratio}, "
                f"aligned={self.aligned})")


class RoIPool(nn.Module):
    """Module form of :func:`roi_pool`.

    Example:
        >>> pool = RoIPool((2, 2), spatial_scale=0.5)
        >>> pool(ember.randn(1, 3, 8, 8), ember.tensor([[0., 0, 0, 8, 8]])).shape
        torch.Size([1, 3, 2, 2])
    """

    def __init__(self, output_size, spatial_scale: float):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input, rois):
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self):
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale})")
