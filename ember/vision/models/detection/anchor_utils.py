"""Anchor boxes for region proposal networks (torchvision.models.detection.anchor_utils)."""

from __future__ import annotations

import math

import ember

from .... import nn
from .image_list import ImageList

__all__ = ["AnchorGenerator", "DefaultBoxGenerator"]


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


class DefaultBoxGenerator(nn.Module):
    """SSD's default boxes ("SSD: Single Shot MultiBox Detector", section 2.2): for feature map
    ``k`` a square of side ``s_k``, a square of side ``sqrt(s_k * s_{k+1})``, and for every
    ratio ``r`` of ``aspect_ratios[k]`` a ``(s_k * sqrt(r), s_k / sqrt(r))`` box and its
    transpose, all relative to the image size and centred on each cell of the map.

    Args:
        aspect_ratios (List[List[int]]): the extra ratios of each feature map.
        min_ratio (float), max_ratio (float): the first and last map's scale when ``scales``
            is not given (the others spaced evenly between, then ``1.0`` appended).
        scales (List[float], optional): one scale per map plus one (``s_{k+1}`` of the last).
        steps (List[int], optional): per map, the image pixels per cell (centres at
            ``(i + 0.5) * step``); by default the map's size divides the image evenly.
        clip (bool): clamp the relative ``(cx, cy, w, h)`` boxes to ``[0, 1]``. Default: True.

    Forward takes ``(image_list, feature_maps)`` and returns one ``Tensor[A, 4]`` of
    ``(x1, y1, x2, y2)`` pixel boxes per image (the same for every image of the batch).

    Example:
        >>> gen = DefaultBoxGenerator([[2]])
        >>> gen.num_anchors_per_location()
        [4]
        >>> batch = ImageList(ember.zeros(1, 3, 10, 10), [(10, 10)])
        >>> gen(batch, [ember.zeros(1, 8, 1, 1)])[0][0]
        tensor([4.2500, 4.2500, 5.7500, 5.7500])
    """

    def __init__(self, aspect_ratios, min_ratio: float = 0.15, max_ratio: float = 0.9,
                 scales=None, steps=None, clip: bool = True) -> None:
        super().__init__()
        if steps is not None and len(aspect_ratios) != len(steps):
            raise ValueError("aspect_ratios and steps should have the same length")
        self.aspect_ratios = aspect_ratios
        self.steps = steps
        self.clip = clip
        n_maps = len(aspect_ratios)
        if scales is None:
            if n_maps > 1:
                # evenly spaced from min_ratio to max_ratio, one per map
                gap = (max_ratio - min_ratio) / (n_maps - 1.0)
                scales = [min_ratio + gap * k for k in range(n_maps)]
                scales.append(1.0)
            else:
                scales = [min_ratio, max_ratio]
        self.scales = scales
        self._wh_pairs = self._generate_wh_pairs(n_maps)

    def _generate_wh_pairs(self, num_outputs: int, dtype=ember.float32,
                           device=ember.device("cpu")):
        pairs = []
        for k in range(num_outputs):
            small = self.scales[k]
            between = math.sqrt(self.scales[k] * self.scales[k + 1])
            sizes = [[small, small], [between, between]]
            for ratio in self.aspect_ratios[k]:
                root = math.sqrt(ratio)
                sizes.extend([[small * root, small / root], [small / root, small * root]])
            pairs.append(ember.as_tensor(sizes, dtype=dtype, device=device))
        return pairs

    def num_anchors_per_location(self) -> list[int]:
        """Boxes per cell of each map: two squares plus two per aspect ratio.

        Example:
            >>> DefaultBoxGenerator([[2], [2, 3]]).num_anchors_per_location()
            [4, 6]
        """
        return [2 + 2 * len(r) for r in self.aspect_ratios]

    def _grid_default_boxes(self, grid_sizes, image_size, dtype=ember.float32):
        # relative (cx, cy, w, h) boxes of every map, cells row-major, a cell's boxes together
        per_map = []
        for k, (rows, cols) in enumerate(grid_sizes):
            if self.steps is not None:
                cells_y, cells_x = image_size[0] / self.steps[k], image_size[1] / self.steps[k]
            else:
                cells_y, cells_x = rows, cols
            centre_x = ((ember.arange(0, cols) + 0.5) / cells_x).to(dtype=dtype)
            centre_y = ((ember.arange(0, rows) + 0.5) / cells_y).to(dtype=dtype)
            grid_y, grid_x = ember.meshgrid(centre_y, centre_x, indexing="ij")
            centres = ember.stack((grid_x.reshape(-1), grid_y.reshape(-1)), dim=-1)
            n_sizes = self._wh_pairs[k].shape[0]
            centres = centres.repeat_interleave(n_sizes, dim=0)
            sizes = self._wh_pairs[k]
            if self.clip:
                sizes = sizes.clamp(min=0, max=1)
            sizes = sizes.repeat(rows * cols, 1)
            per_map.append(ember.cat((centres, sizes), dim=1))
        return ember.cat(per_map, dim=0)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(aspect_ratios={self.aspect_ratios}, "
                f"clip={self.clip}, scales={self.scales}, steps={self.steps})")

    def forward(self, image_list: ImageList, feature_maps):
        grid_sizes = [tuple(f.shape[-2:]) for f in feature_maps]
        image_size = image_list.tensors.shape[-2:]
        dtype, device = feature_maps[0].dtype, feature_maps[0].device
        relative = self._grid_default_boxes(grid_sizes, image_size, dtype=dtype).to(device)
        scale = ember.tensor([image_size[1], image_size[0]] * 2, dtype=dtype, device=device)
        corners = ember.cat((relative[:, :2] - 0.5 * relative[:, 2:],
                             relative[:, :2] + 0.5 * relative[:, 2:]), dim=-1)
        boxes = corners * scale
        return [boxes for _ in image_list.image_sizes]
