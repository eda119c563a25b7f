"""Lets torchvision's Python parts import beside a CPU-only torch, for recording only.

torchvision's wheels for torch 2.13 carry compiled ops (``torchvision._C``) built against CUDA
libraries that a CPU torch lacks; importing torchvision then fails on its first operator
registration. Declaring the operators' names is enough for transforms, utils, models, box ops
and the losses. ``nms`` (greedy suppression) and ``roi_align`` (the compiled kernel's sampling
rules; torchvision's own Python fallback differs from it at the map's far edge and is slow to
``torch.compile``) get kernels written here in plain torch, so detection models (Faster/Mask
R-CNN) run whole; the other compiled kernels stay unusable, so programs recorded this way avoid
them. See ``test_programs.py`` for the recipe.
"""

import importlib.abc
import importlib.machinery
import math
import sys

import torch

_lib = torch.library.Library("torchvision", "DEF")
for _name in ("qnms", "_roi_align_backward", "ps_roi_align",
              "_ps_roi_align_backward", "roi_pool", "_roi_pool_backward", "ps_roi_pool",
              "_ps_roi_pool_backward", "deform_conv2d", "_deform_conv2d_backward"):
    _lib.define(f"{_name}(Tensor a) -> Tensor")
_lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_lib.define("roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
            "SymInt pooled_width, int sampling_ratio, bool aligned) -> Tensor")


def _greedy_nms(dets, scores, iou_threshold):
    """Indices (int64) of the boxes kept, by decreasing score: a box is dropped when its IoU
    with an already kept, higher-scoring box is strictly above ``iou_threshold``."""
    if dets.numel() == 0:
        return torch.empty(0, dtype=torch.int64, device=dets.device)
    order = torch.argsort(scores, descending=True, stable=True)
    boxes = dets[order]
    x0, y0, x1, y1 = boxes.unbind(1)
    area = (x1 - x0) * (y1 - y0)
    # Pairwise IoU once, then a single pass in score order over a boolean "still alive" mask.
    iw = (torch.minimum(x1[:, None], x1[None]) - torch.maximum(x0[:, None], x0[None])).clamp(min=0)
    ih = (torch.minimum(y1[:, None], y1[None]) - torch.maximum(y0[:, None], y0[None])).clamp(min=0)
    inter = iw * ih
    iou = inter / (area[:, None] + area[None] - inter)
    alive = torch.ones(len(order), dtype=torch.bool)
    kept = []
    for i in range(len(order)):
        if alive[i]:
            kept.append(i)
            alive &= ~(iou[i] > iou_threshold)
    return order[torch.tensor(kept, dtype=torch.int64)]


_lib.impl("nms", _greedy_nms, "CompositeExplicitAutograd")


def _bin_weights(start, extent, pooled, grid, size, dtype):
    """``[pooled, size]``: for one RoI along one axis, each output cell's mean of the linear
    interpolation weights of its ``grid`` samples. A sample more than one pixel outside the
    map counts as zero; one inside the border pixel's half reads the border pixel."""
    weights = torch.zeros(pooled, size, dtype=dtype)
    step = extent / pooled
    for cell in range(pooled):
        for j in range(grid):
            pos = start + cell * step + (j + 0.5) * step / grid
            if pos < -1.0 or pos > size:
                continue
            pos = max(pos, 0.0)
            low = min(int(pos), size - 1)
            if low >= size - 1:
                weights[cell, size - 1] += 1.0 / grid
                continue
            frac = pos - low
            weights[cell, low] += (1.0 - frac) / grid
            weights[cell, low + 1] += frac / grid
    return weights


def _roi_align(input, rois, spatial_scale, pooled_height, pooled_width, sampling_ratio,
               aligned):
    """Bilinear RoI Align in plain torch ops (so autograd gives the backward): per RoI,
    ``Wy @ features @ Wx.T`` with separable per-axis sample weights (see ``_bin_weights``).
    Coordinates are computed in Python floats (double), which may differ from the compiled
    kernel's float32 in the last bits."""
    shift = 0.5 if aligned else 0.0
    outs = []
    for b, x1, y1, x2, y2 in rois.detach().double().tolist():
        x1, y1 = x1 * spatial_scale - shift, y1 * spatial_scale - shift
        w, h = x2 * spatial_scale - shift - x1, y2 * spatial_scale - shift - y1
        if not aligned:  # the original RoIAlign makes every region at least one pixel
            w, h = max(w, 1.0), max(h, 1.0)
        gh = sampling_ratio if sampling_ratio > 0 else max(math.ceil(h / pooled_height), 0)
        gw = sampling_ratio if sampling_ratio > 0 else max(math.ceil(w / pooled_width), 0)
        wy = _bin_weights(y1, h, pooled_height, gh, input.shape[2], input.dtype)
        wx = _bin_weights(x1, w, pooled_width, gw, input.shape[3], input.dtype)
        outs.append(wy @ input[int(b)] @ wx.T)
    if not outs:
        return input.new_zeros((0, input.shape[1], pooled_height, pooled_width))
    return torch.stack(outs)


_lib.impl("roi_align", _roi_align, "CompositeImplicitAutograd")


def _unlock_nms(module):
    # ``nms`` refuses to run when the compiled library failed to load, kernel or not.
    module._assert_has_ops = lambda: None


def _roi_align_kernel(module):
    # route ``roi_align`` to the kernel above rather than the compiled Python fallback
    module._has_ops = lambda: True
    module._assert_has_ops = lambda: None


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Adjusts two torchvision modules right after they execute (before anything imports
    names from them): ``nms`` and ``roi_align`` are let through to the kernels above."""

    _PATCHES = {"torchvision.ops.boxes": _unlock_nms,
                "torchvision.ops.roi_align": _roi_align_kernel}

    def find_spec(self, fullname, path, target=None):
        patch = self._PATCHES.get(fullname)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        run_module = spec.loader.exec_module

        def exec_then_patch(module):
            run_module(module)
            patch(module)

        spec.loader.exec_module = exec_then_patch
        return spec


sys.meta_path.insert(0, _PatchAfterImport())
