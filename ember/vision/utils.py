"""``make_grid`` and ``save_image``: tile a batch of images, write it as a PNG (Pillow)."""

from __future__ import annotations

import math
import os
from typing import Any, BinaryIO

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor

__all__ = ["make_grid", "save_image"]


def make_grid(tensor: Tensor | list[Tensor], nrow: int = 8, padding: int = 2,
              normalize: bool = False, value_range: tuple[float, float] | None = None,
              scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Tile a (B, C, H, W) batch (or list of images) into one (3, H', W') image, ``nrow`` wide.

    ``normalize`` shifts each image (``scale_each``) or the batch into [0, 1] using
    ``value_range`` (default: its min and max).

    Example:
        >>> make_grid(ember.rand(16, 3, 8, 8), nrow=4).shape
        torch.Size([3, 42, 42])
    """
    if isinstance(tensor, (list, tuple)):
        if not all(isinstance(t, Tensor) for t in tensor):
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
        arr = np.stack([np.asarray(t._data) for t in tensor])
        dtype = tensor[0].dtype
    elif isinstance(tensor, Tensor):
        arr = np.asarray(tensor._data)
        dtype = tensor.dtype
    else:
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 3:
        arr = np.concatenate([arr] * 3, 0) if arr.shape[0] == 1 else arr
        arr = arr[None]
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = np.concatenate([arr] * 3, 1)
    if arr.ndim != 4:
        raise ValueError(f"make_grid expects images of shape (B, C, H, W), (C, H, W) or (H, W); "
                         f"got {arr.ndim} dimensions")
    if normalize:
        arr = arr.astype(np.result_type(arr.dtype, np.float32), copy=True)

        def norm_range(t: np.ndarray) -> np.ndarray:
            low, high = value_range if value_range is not None else (float(t.min()),
                                                                     float(t.max()))
            return (np.clip(t, low, high) - low) / max(high - low, 1e-5)

        if scale_each:
            arr = np.stack([norm_range(a) for a in arr])
        else:
            arr = norm_range(arr)
        dtype = D.from_numpy_dtype(arr.dtype)
    if arr.shape[0] == 1:
        return Tensor._make(np.ascontiguousarray(arr[0]), dtype)
    nmaps = arr.shape[0]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = arr.shape[2] + padding, arr.shape[3] + padding
    grid = np.full((arr.shape[1], height * ymaps + padding, width * xmaps + padding), pad_value,
                   arr.dtype)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid[:, y * height + padding: y * height + padding + arr.shape[2],
                 x * width + padding: x * width + padding + arr.shape[3]] = arr[k]
            k += 1
    return Tensor._make(grid, dtype)


def save_image(tensor: Tensor | list[Tensor], fp: str | os.PathLike | BinaryIO,
               format: str | None = None, **kwargs: Any) -> None:
    """Save a tensor (or batch, tiled by ``make_grid``) with values in [0, 1] as an image file.

    Example:
        >>> save_image(ember.rand(4, 3, 8, 8), "samples.png", nrow=2)
    """
    from PIL import Image

    grid = make_grid(tensor, **kwargs)
    arr = np.asarray(grid._data, np.float32)
    ndarr = np.clip(arr * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    if ndarr.shape[2] == 1:
        ndarr = ndarr[:, :, 0]
    Image.fromarray(np.ascontiguousarray(ndarr)).save(fp, format=format)
