"""Anchor boxes for region proposal networks (torchvision.models.detection.anchor_utils)."""

from __future__ import annotations

import ember

from .... import nn
from .image_list import ImageList

__all__ = ["AnchorGenerator"]


class AnchorGenerator(nn.Module):
    """Anchors for a list of feature maps: for every position of feature map ``i``, one box per
    (aspect ratio, size) pair of ``aspect_ratios[i]`` x ``sizes[i]``, centred on the position
    mapped back to image pixels.

    A box of size ``s`` and ratio ``r`` (height over width) has width ``s / sqrt(r)`` and height
    ``s * sqrt(r)``, rounded to whole pixels. Anchors at one position are ordered ratio-major.

    Args:
        sizes (Tuple[Tuple[int]]): anchor sizes per feature map (a flat tuple means one size
            per map).
        aspect_ratios (Tuple[Tuple[float]]): ratios per feature map (a flat tuple is used for
            every map).

    Forward takes ``(image_list: ImageList, feature_maps: List[Tensor])`` and returns one
    ``Tensor[A, 4]`` of ``(x1, y1, x2, y2)`` anchors per image.

    Example:
        >>> gen = AnchorGenerator(sizes=((16,),), aspect_ratios=((1.0,),))
        >>> batch = ImageList(ember.zeros(1, 3, 8, 8), [(8, 8)])
        >>> gen(batch, [ember.zeros(1, 4, 2, 2)])[0]
        tensor([[-8., -8.,  8.,  8.],
                [-4., -8., 12.,  8.],
                [-8., -4.,  8., 12.],
                [-4., -4., 12., 12.]])
    """

    def __init__(self, sizes=((128, 256, 512),), aspect_ratios=((0.5, 1.0, 2.0),)) -> None:
        super().__init__()
        if not isinstance(sizes[0], (list, tuple)):
            sizes = tuple((s,) for s in sizes)
        if not isinstance(aspect_ratios[0], (list, tuple)):
            aspect_ratios = (aspect_ratios,) * len(sizes)
        self.sizes, self.aspect_ratios = sizes, aspect_ratios
        self.cell_anchors = [self.generate_anchors(s, r) for s, r in zip(sizes, aspect_ratios)]

    def generate_anchors(self, scales, aspect_ratios, dtype=ember.float32,
                         device=ember.device("cpu")):
        """The zero-centred anchors of one feature map, ``Tensor[len(ratios) * len(scales), 4]``.
        """
        scales = ember.as_tensor(scales, dtype=dtype, device=device)
        ratios = ember.as_tensor(aspect_ratios, dtype=dtype, device=device)
        height_factor = ember.sqrt(ratios)
        width_factor = 1 / height_factor
        widths = (width_factor[:, None] * scales[None, :]).reshape(-1)
        heights = (height_factor[:, None] * scales[None, :]).reshape(-1)
        return (ember.stack([-widths, -heights, widths, heights], dim=1) / 2).round()

    def set_cell_anchors(self, dtype, device) -> None:
        """Move the per-map base anchors to ``dtype`` and ``device``."""
        self.cell_anchors = [a.to(dtype=dtype, device=device) for a in self.cell_anchors]

    def num_anchors_per_location(self) -> list[int]:
        """The number of anchors at each position, per feature map.

        Example:
            >>> AnchorGenerator().num_anchors_per_location()
            [9]
        """
        return [len(s) * len(r) for s, r in zip(self.sizes, self.aspect_ratios)]

    def grid_anchors(self, grid_sizes, strides):
        """Shift each map's base anchors to every position of its grid (row-major positions,
        all anchors of a position together)."""
        if not (len(grid_sizes) == len(strides) == len(self.cell_anchors)):
            raise ValueError("Anchors should be Tuple[Tuple[int]] because each feature map "
                             "could potentially have different sizes and aspect ratios. There "
                             "needs to be a match between the number of feature maps passed "
                             "and the number of sizes / aspect ratios specified.")
        out = []
        for (rows, cols), (step_y, step_x), base in zip(grid_sizes, strides, self.cell_anchors):
            device = base.device
            xs = ember.arange(0, cols, dtype=ember.int32, device=device) * step_x
            ys = ember.arange(0, rows, dtype=ember.int32, device=device) * step_y
            grid_y, grid_x = ember.meshgrid(ys, xs, indexing="ij")
            grid_x, grid_y = grid_x.reshape(-1), grid_y.reshape(-1)
            shifts = ember.stack((grid_x, grid_y, grid_x, grid_y), dim=1)
            out.append((shifts.view(-1, 1, 4) + base.view(1, -1, 4)).reshape(-1, 4))
        return out

    def forward(self, image_list: ImageList, feature_maps):
        grid_sizes = [tuple(f.shape[-2:]) for f in feature_maps]
        padded = image_list.tensors.shape[-2:]
        dtype, device = feature_maps[0].dtype, feature_maps[0].device
        # each map's stride: padded image pixels per feature cell (integer division)
        strides = [[ember.tensor(padded[0] // h, dtype=ember.int64, device=device),
                    ember.tensor(padded[1] // w, dtype=ember.int64, device=device)]
                   for h, w in grid_sizes]
        self.set_cell_anchors(dtype, device)
        per_image = ember.cat(self.grid_anchors(grid_sizes, strides))
        return [per_image for _ in image_list.image_sizes]
