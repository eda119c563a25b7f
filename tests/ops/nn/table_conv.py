"""Op-table entries for ``ember/_ops/nn/conv.py``: conv1d/2d/3d (stride, padding, dilation,
groups, ``'same'``, empty batch) and conv_transpose1d/2d (small shapes so the float64
finite-difference gradcheck stays fast)."""

from .._inputs import F
from ..spec import OpSpec

OPS = [
    OpSpec("conv2d", lambda L, x, w, b: F(L).conv2d(x, w, b),
           [((2, 3, 5, 5), (4, 3, 3, 3), (4,)), ((3, 4, 4), (2, 3, 1, 1), (2,))]),
    OpSpec("conv2d_stride_pad_dil", lambda L, x, w: F(L).conv2d(x, w, None, (2, 1), (1, 2),
                                                               (1, 2)),
           [((2, 3, 6, 5), (4, 3, 3, 2))]),
    OpSpec("conv2d_groups", lambda L, x, w, b: F(L).conv2d(x, w, b, padding=1, groups=2),
           [((2, 4, 4, 5), (6, 2, 3, 3), (6,))]),
    OpSpec("conv2d_same", lambda L, x, w: F(L).conv2d(x, w, padding="same"),
           [((1, 2, 5, 4), (3, 2, 2, 3))]),
    OpSpec("conv2d_empty_batch", lambda L, x, w: F(L).conv2d(x, w), [((0, 2, 4, 4), (3, 2, 3, 3))],
           gradcheck=False, gradgrad=False),
    OpSpec("conv1d", lambda L, x, w, b: F(L).conv1d(x, w, b, stride=2, padding=1),
           [((2, 3, 7), (4, 3, 3), (4,))]),
    OpSpec("conv1d_dilated_groups", lambda L, x, w: F(L).conv1d(x, w, dilation=2, groups=3),
           [((2, 3, 9), (3, 1, 3))]),
    OpSpec("conv3d", lambda L, x, w: F(L).conv3d(x, w, padding=1, stride=2),
           [((1, 2, 3, 4, 3), (2, 2, 2, 2, 2))]),
    OpSpec("conv_transpose2d", lambda L, x, w, b: F(L).conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1),
           [((2, 3, 3, 4), (3, 2, 3, 3), (2,))]),
    OpSpec("conv_transpose2d_groups_dil", lambda L, x, w: F(L).conv_transpose2d(
        x, w, groups=2, dilation=2, stride=(1, 2)),
           [((1, 4, 3, 3), (4, 1, 2, 3))]),
    OpSpec("conv_transpose1d", lambda L, x, w: F(L).conv_transpose1d(x, w, stride=3),
           [((2, 3, 4), (3, 2, 3)), ((3, 4), (3, 2, 2))]),
]
