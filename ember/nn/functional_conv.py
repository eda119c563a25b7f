"""The torch.nn.functional names for convolution, pooling, normalization, interpolation and
attention. The arithmetic lives in ``ember._ops`` (conv, pool, norm); composite functions that
only combine ops (attention, interpolation, instance norm) are written here."""

from __future__ import annotations

from .._ops.conv import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]
