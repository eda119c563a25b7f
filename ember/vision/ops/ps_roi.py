"""Position-sensitive RoI pooling (R-FCN, Dai et al., 2016): ``ps_roi_align``, ``ps_roi_pool``.

Output bin ``(i, j)`` of output channel ``c`` reads only input channel
``(c * PH + i) * PW + j``, so the input has ``C_out * PH * PW`` channels. Both ops average
over a bin (bilinear samples for align, whole pixels for pool), and averages are separable:
as in ``roi.py`` each RoI is ``Ay @ features @ Ax.T`` with per-axis weight matrices, taken
here only on the matching channel, written with ember's matmul so gradients flow.
"""

from __future__ import annotations

import numpy as np

import ember

from ... import nn
from .roi import _axis_weights, _c_round, _check_boxes, _pair, _rois_array

__all__ = ["ps_roi_align", "PSRoIAlign", "ps_roi_pool", "PSRoIPool"]


def _per_image(input, batch_index: np.ndarray, compute):
    """Run ``compute(image, rows)`` for the RoIs of each image and restore the RoI order."""
    outs, order = [], []
    for n in np.unique(batch_index):
        rows = np.nonzero(batch_index == n)[0]
        outs.append(compute(input[int(n)], rows))
        order.append(rows)
    order = np.concatenate(order)
    out = ember.cat(outs) if len(outs) > 1 else outs[0]
    if np.any(order != np.arange(len(order))):
        out = out[ember.from_numpy(np.argsort(order)).to(input.device)]
    return out


def _position_sensitive(input, rois, ay, ax, ph, pw, no_samples=None):
    channels = input.shape[1]
    if channels % (ph * pw) != 0:
        raise RuntimeError("input channels must be a multiple of pooling height * pooling "
                           "width")
    out_channels = channels // (ph * pw)
    height, width = input.shape[2:]
    ay_t = ember.from_numpy(ay).to(input.device)
    ax_t = ember.from_numpy(ax).to(input.device)

    def compute(image, rows):
        idx = ember.from_numpy(rows).to(input.device)
        k = len(rows)
        grouped = image.reshape(out_channels, ph, pw, height, width)
        # [k, 1, ph, 1, 1, H] @ [C', ph, pw, H, W] -> [k, C', ph, pw, 1, W]: row weights of
        # bin i meet only the channels of bin row i
        rows_done = ember.matmul(ay_t[idx].reshape(k, 1, ph, 1, 1, height), grouped)
        # ... @ [k, 1, 1, pw, W, 1] -> [k, C', ph, pw, 1, 1]
        out = ember.matmul(rows_done, ax_t[idx].reshape(k, 1, 1, pw, width, 1))
        return out.reshape(k, out_channels, ph, pw)

    out = _per_image(input, rois[:, 0].astype(np.int64), compute)
    if no_samples is not None and no_samples.any():
        # torchvision divides an empty sum by a zero sample count: NaN, and no gradient
        mask = ember.from_numpy(no_samples.reshape(-1, 1, 1, 1)).to(input.device)
        out = ember.where(mask, ember.full((), float("nan"), dtype=input.dtype), out)
    return out


def _empty(input, ph, pw):
    return ember.zeros((0, input.shape[1] // (ph * pw), ph, pw), dtype=input.dtype,
                       device=input.device)


def ps_roi_align(input, boxes, output_size, spatial_scale: float = 1.0,
                 sampling_ratio: int = -1):
    """Position-sensitive RoI Align: RoI Align where each output bin reads its own channel.

    Boxes are shifted by half a pixel (as ``roi_align(..., aligned=True)``).

    Args:
        input (Tensor[N, C, H, W]): features, ``C = C_out * output_size[0] * output_size[1]``.
        boxes (Tensor[K, 5] or List[Tensor[L, 4]]): regions, as for :func:`roi_align`.
        output_size (int or Tuple[int, int]): the pooled ``(height, width)``.
        spatial_scale (float): maps box coordinates to the feature map.
        sampling_ratio (int): samples per bin along each axis; ``<= 0`` chooses
            ``ceil(roi_size / output_size)``.

    Returns:
        Tensor[K, C_out, output_size[0], output_size[1]]: the pooled features.

    Example:
        >>> x = ember.randn(1, 8, 6, 6)
        >>> ps_roi_align(x, ember.tensor([[0., 0, 0, 4, 4]]), 2).shape
        torch.Size([1, 2, 2, 2])
    """
    _check_boxes(boxes)
    ph, pw = _pair(output_size)
    dtype = input.dtype.np_dtype
    rois = _rois_array(boxes, dtype)
    if len(rois) == 0:
        return _empty(input, ph, pw)
    scale, half = dtype.type(spatial_scale), dtype.type(0.5)
    x1, y1 = rois[:, 1] * scale - half, rois[:, 2] * scale - half
    roi_w = rois[:, 3] * scale - half - x1
    roi_h = rois[:, 4] * scale - half - y1
    bin_w, bin_h = roi_w / dtype.type(pw), roi_h / dtype.type(ph)
    if sampling_ratio > 0:
        grid_h = grid_w = np.full(len(rois), sampling_ratio)
    else:  # an inverted box gives a negative count: no samples, but a finite -0.0 result
        grid_h = np.ceil(roi_h / dtype.type(ph)).astype(np.int64)
        grid_w = np.ceil(roi_w / dtype.type(pw)).astype(np.int64)
    height, width = input.shape[2:]
    ay = _axis_weights(y1, bin_h, np.maximum(grid_h, 0), ph, height, dtype)
    ax = _axis_weights(x1, bin_w, np.maximum(grid_w, 0), pw, width, dtype)
    return _position_sensitive(input, rois, ay, ax, ph, pw, no_samples=grid_h * grid_w == 0)


def _box_filter(start, bin_size, pooled: int, size: int, dtype):
    """``[K, pooled, size]``: ``1 / len`` over each bin's whole pixels, clipped to the map.

    torchvision's kernel clips bins to ``size - 1``, so the last row and column of the map
    never take part; ember reproduces that."""
    p = np.arange(pooled, dtype=dtype)
    last = size - 1
    lo = np.clip(np.floor(p * bin_size[:, None]) + start[:, None], 0, last).astype(np.int64)
    hi = np.clip(np.ceil((p + 1) * bin_size[:, None]) + start[:, None], 0, last)
    hi = hi.astype(np.int64)
    pix = np.arange(size)
    inside = (pix >= lo[..., None]) & (pix < hi[..., None])
    length = np.maximum(hi - lo, 1)[..., None]
    return (inside / length).astype(dtype)


def ps_roi_pool(input, boxes, output_size, spatial_scale: float = 1.0):
    """Position-sensitive RoI Pool: the average of each bin's whole pixels, each output bin
    reading its own channel.

    Args:
        input (Tensor[N, C, H, W]): features, ``C = C_out * output_size[0] * output_size[1]``.
        boxes (Tensor[K, 5] or List[Tensor[L, 4]]): regions, as for :func:`roi_align`.
        output_size (int or Tuple[int, int]): the pooled ``(height, width)``.
        spatial_scale (float): maps box coordinates to the feature map.

    Returns:
        Tensor[K, C_out, output_size[0], output_size[1]]: the pooled features (0 where a bin
        covers no pixel).

    Example:
        >>> x = ember.randn(1, 8, 6, 6)
        >>> ps_roi_pool(x, ember.tensor([[0., 0, 0, 4, 4]]), 2).shape
        torch.Size([1, 2, 2, 2])
    """
    _check_boxes(boxes)
    ph, pw = _pair(output_size)
    dtype = input.dtype.np_dtype
    rois = _rois_array(boxes, dtype)
    if len(rois) == 0:
        return _empty(input, ph, pw)
    scale = dtype.type(spatial_scale)
    start_w, start_h = _c_round(rois[:, 1] * scale), _c_round(rois[:, 2] * scale)
    end_w, end_h = _c_round(rois[:, 3] * scale), _c_round(rois[:, 4] * scale)
    roi_w = np.maximum(end_w - start_w, 1).astype(dtype)
    roi_h = np.maximum(end_h - start_h, 1).astype(dtype)
    height, width = input.shape[2:]
    ay = _box_filter(start_h, roi_h / dtype.type(ph), ph, height, dtype)
    ax = _box_filter(start_w, roi_w / dtype.type(pw), pw, width, dtype)
    return _position_sensitive(input, rois, ay, ax, ph, pw)


class PSRoIAlign(nn.Module):
    """Module form of :func:`ps_roi_align`.

    Example:
        >>> pool = PSRoIAlign(2, spatial_scale=1.0, sampling_ratio=2)
        >>> pool(ember.randn(1, 8, 6, 6), ember.tensor([[0., 0, 0, 4, 4]])).shape
        torch.Size([1, 2, 2, 2])
    """

    def __init__(self, output_size, spatial_scale: float, sampling_ratio: int):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio

    def forward(self, input, rois):
        return ps_roi_align(input, rois, self.output_size, self.spatial_scale,
                            self.sampling_ratio)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale}, sampling_ratio={self.sampling_ratio})")


class PSRoIPool(nn.Module):
    """Module form of :func:`ps_roi_pool`.

    Example:
        >>> pool = PSRoIPool(2, spatial_scale=1.0)
        >>> pool(ember.randn(1, 8, 6, 6), ember.tensor([[0., 0, 0, 4, 4]])).shape
        torch.Size([1, 2, 2, 2])
    """

    def __init__(self, output_size, spatial_scale: float):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input, rois):
        return ps_roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale})")
