"""Deformable convolution v1/v2 (Dai et al., 2017; Zhu et al., 2019).

Each kernel tap reads the input at its regular position plus a learned offset, by bilinear
interpolation, optionally scaled by a learned mask; the samples then meet the weights as in
an ordinary convolution (im2col, then a matmul). The sampling is written with ember ops
(``gather`` of the four neighbours, weights made from the fractional offsets), so gradients
reach the input, the offsets, the mask, the weight and the bias.
"""

from __future__ import annotations

import math

import numpy as np

import ember

from ... import nn
from ...nn import init

__all__ = ["deform_conv2d", "DeformConv2d"]


def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def _check(input, offset, weight, mask, kh, kw, out_hw):
    channels = input.shape[1]
    if channels % weight.shape[1] != 0:
        raise RuntimeError(f"input channels ({channels}) must be a multiple of the weight's "
                           f"input channels per group ({weight.shape[1]})")
    taps = kh * kw
    groups = offset.shape[1] // (2 * taps)
    if groups == 0:
        raise RuntimeError(
            "the shape of the offset tensor at dimension 1 is not valid. It should be a "
            f"multiple of 2 * weight.size[2] * weight.size[3].\nGot offset.shape[1]="
            f"{offset.shape[1]}, while 2 * weight.size[2] * weight.size[3]={2 * taps}")
    if offset.shape[1] != 2 * groups * taps or channels % groups != 0:
        raise RuntimeError(f"offset has {offset.shape[1]} channels: expected 2 * offset_groups "
                           f"* {taps} with offset_groups dividing the {channels} input channels")
    if mask is not None and mask.shape[1] != groups * taps:
        raise RuntimeError(f"mask.shape[1] is not valid: got: {mask.shape[1]} expected: "
                           f"{groups * taps}")
    if tuple(offset.shape[2:]) != out_hw:
        raise RuntimeError(f"offset output dims: ({offset.shape[2]}, {offset.shape[3]}) - "
                           f"computed output dims: ({out_hw[0]}, {out_hw[1]})")
    return groups


def _sample(input, y, x, groups):
    """Bilinear samples ``[N, G, C/G, T]`` of ``input`` at positions ``y``, ``x`` (``[N, G, T]``
    tensors). A position farther than one pixel outside the map reads 0, and so does each
    neighbour that lies outside it."""
    n, channels, height, width = input.shape
    per_group = channels // groups
    yn, xn = y.detach().cpu().numpy(), x.detach().cpu().numpy()
    inside = (yn > -1) & (yn < height) & (xn > -1) & (xn < width)
    y0, x0 = np.floor(yn), np.floor(xn)
    ly = y - ember.from_numpy(y0).to(y.device)
    lx = x - ember.from_numpy(x0).to(x.device)
    hy, hx = 1 - ly, 1 - lx
    y0, x0 = y0.astype(np.int64), x0.astype(np.int64)
    flat = input.reshape(n, groups, per_group, height * width)
    taps = y.shape[-1]
    out = 0
    for dy, dx, wy, wx in ((0, 0, hy, hx), (0, 1, hy, lx), (1, 0, ly, hx), (1, 1, ly, lx)):
        yy, xx = y0 + dy, x0 + dx
        ok = inside & (yy >= 0) & (yy <= height - 1) & (xx >= 0) & (xx <= width - 1)
        where = np.where(ok, np.clip(yy, 0, height - 1) * width + np.clip(xx, 0, width - 1), 0)
        index = np.broadcast_to(where[:, :, None, :], (n, groups, per_group, taps))
        index = ember.from_numpy(np.ascontiguousarray(index)).to(input.device)
        values = ember.gather(flat, 3, index)
        weight = wy * wx * ember.from_numpy(ok.astype(yn.dtype)).to(input.device)
        out = out + values * weight.unsqueeze(2)
    return out


def deform_conv2d(input, offset, weight, bias=None, stride=(1, 1), padding=(0, 0),
                  dilation=(1, 1), mask=None):
    """Deformable convolution (v2 when ``mask`` is given).

    Args:
        input (Tensor[N, C_in, H, W]): the input.
        offset (Tensor[N, 2 * G * kh * kw, H_out, W_out]): ``(dy, dx)`` per offset group
            ``G`` and kernel tap, at each output position.
        weight (Tensor[C_out, C_in / groups, kh, kw]): convolution weights.
        bias (Tensor[C_out], optional): Default: None.
        stride (int or Tuple[int, int]): Default: 1.
        padding (int or Tuple[int, int]): Default: 0.
        dilation (int or Tuple[int, int]): Default: 1.
        mask (Tensor[N, G * kh * kw, H_out, W_out], optional): modulation of each sample.

    Returns:
        Tensor[N, C_out, H_out, W_out]: the result.

    Example:
        >>> x = ember.randn(1, 2, 5, 5)
        >>> offset = ember.zeros(1, 2 * 3 * 3, 3, 3)  # zero offsets: an ordinary convolution
        >>> deform_conv2d(x, offset, ember.randn(4, 2, 3, 3)).shape
        torch.Size([1, 4, 3, 3])
    """
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    out_ch, per_group_in, kh, kw = weight.shape
    n, channels, height, width = input.shape
    out_h = (height + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    out_w = (width + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    groups = _check(input, offset, weight, mask, kh, kw, (out_h, out_w))
    taps = kh * kw
    # regular sampling grid: tap (i, j) of output (r, c) sits at (r*sh - ph + i*dh, ...)
    ti, tj = np.divmod(np.arange(taps), kw)
    base_y = (np.arange(out_h)[None, :, None] * sh - ph + ti[:, None, None] * dh)
    base_x = (np.arange(out_w)[None, None, :] * sw - pw + tj[:, None, None] * dw)
    dtype = input.dtype
    off = offset.reshape(n, groups, taps, 2, out_h, out_w)
    base_y = ember.from_numpy(base_y.astype(np.float64)).to(dtype=dtype, device=input.device)
    base_x = ember.from_numpy(base_x.astype(np.float64)).to(dtype=dtype, device=input.device)
    y = (off[:, :, :, 0] + base_y).reshape(n, groups, -1)
    x = (off[:, :, :, 1] + base_x).reshape(n, groups, -1)
    cols = _sample(input, y, x, groups)  # [N, G, C/G, taps * L]
    if mask is not None:
        cols = cols * mask.reshape(n, groups, 1, -1)
    # im2col layout: channel-major, then tap, then position
    cols = cols.reshape(n, channels * taps, out_h * out_w)
    weight_groups = channels // per_group_in
    cols = cols.reshape(n, weight_groups, per_group_in * taps, out_h * out_w)
    w = weight.reshape(weight_groups, out_ch // weight_groups, per_group_in * taps)
    out = ember.matmul(w, cols).reshape(n, out_ch, out_h, out_w)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out


class DeformConv2d(nn.Module):
    """Module form of :func:`deform_conv2d`: holds ``weight`` and ``bias``; ``forward(input,
    offset, mask=None)``.

    Args:
        in_channels (int), out_channels (int), kernel_size (int or tuple): as ``nn.Conv2d``.
        stride, padding, dilation (int or tuple): as ``nn.Conv2d``.
        groups (int): weight groups. Default: 1.
        bias (bool): Default: True.

    Example:
        >>> conv = DeformConv2d(2, 4, 3, padding=1)
        >>> conv(ember.randn(1, 2, 5, 5), ember.zeros(1, 18, 5, 5)).shape
        torch.Size([1, 4, 5, 5])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True):
        super().__init__()
        # Each group maps its own slice of the input channels to its own output channels.
        for label, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % groups:
                raise ValueError(f"{label} must be divisible by groups")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = kh, kw = _pair(kernel_size)
        self.stride, self.padding, self.dilation = _pair(stride), _pair(padding), _pair(dilation)
        self.weight = nn.Parameter(ember.empty(out_channels, in_channels // groups, kh, kw))
        # registered as None without a bias, so state_dict and named_parameters skip it
        self.register_parameter("bias", nn.Parameter(ember.empty(out_channels)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform weights and a uniform bias, as ``nn.Conv2d``."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input, offset, mask=None):
        return deform_conv2d(input, offset, self.weight, self.bias, stride=self.stride,
                             padding=self.padding, dilation=self.dilation, mask=mask)

    def __repr__(self) -> str:
        s = (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
             f"kernel_size={self.kernel_size}, stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s + ")"
