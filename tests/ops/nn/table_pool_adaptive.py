"""Op-table entries for ``ember/_ops/nn/pool_adaptive.py``: adaptive average and max pooling
in 1, 2 and 3 dimensions (even and uneven windows, ``_with_indices``), max-unpooling (fed by
max pooling's indices; overlapping windows repeat indices), interpolation (nearest uses the
module's axis gather) and ``grid_sample``, the other resampler."""

from .._inputs import F
from ..spec import OpSpec


def _image_and_grid(rng):
    # sample points strictly inside and a little outside [-1, 1], off the pixel centres, so
    # finite differences do not straddle a kink of the bilinear weights
    return [rng.uniform(-2, 2, (2, 3, 5, 4)), rng.uniform(-1.1, 1.1, (2, 3, 6, 2))]

OPS = [
    OpSpec("adaptive_avg_pool2d", lambda L, x: F(L).adaptive_avg_pool2d(x, (2, 3)),
           [((2, 3, 4, 6),)]),
    # uneven windows go through averaging matrices: linear, the gradient tied to the input
    OpSpec("adaptive_avg_pool2d_uneven", lambda L, x: F(L).adaptive_avg_pool2d(x, (3, 2)),
           [((2, 3, 5, 7),)]),
    OpSpec("adaptive_avg_pool1d", lambda L, x: F(L).adaptive_avg_pool1d(x, 1),
           [((2, 3, 5),)]),
    OpSpec("adaptive_max_pool2d", lambda L, x: F(L).adaptive_max_pool2d(x, (3, 2)),
           [((2, 3, 5, 7),), ((2, 3, 6, 4),)]),
    OpSpec("adaptive_max_pool1d", lambda L, x: F(L).adaptive_max_pool1d(x, 3),
           [((2, 3, 7),)]),
    # 3-d: even windows (strided pools), uneven (matrices / per-window argmax), unbatched
    # input with a None size, the 1x1x1 mean, and the _with_indices variants
    OpSpec("adaptive_avg_pool3d", lambda L, x: F(L).adaptive_avg_pool3d(x, (2, 3, 2)),
           [((2, 3, 4, 6, 4),)]),
    OpSpec("adaptive_avg_pool3d_uneven", lambda L, x: F(L).adaptive_avg_pool3d(x, (3, 2, 4)),
           [((2, 2, 5, 4, 7),), ((3, 4, 5, 3),)]),
    OpSpec("adaptive_avg_pool3d_none", lambda L, x: F(L).adaptive_avg_pool3d(x, (2, None, 3)),
           [((2, 4, 6, 3, 6),)]),
    OpSpec("adaptive_avg_pool3d_1", lambda L, x: F(L).adaptive_avg_pool3d(x, 1),
           [((2, 3, 3, 4, 5),)]),
    OpSpec("adaptive_max_pool3d", lambda L, x: F(L).adaptive_max_pool3d(x, (3, 2, 4)),
           [((2, 3, 5, 4, 7),), ((2, 2, 4, 6, 4),), ((3, 5, 4, 7),)]),
    OpSpec("adaptive_max_pool3d_indices", lambda L, x: F(L).adaptive_max_pool3d(
        x, (2, 3, 2), return_indices=True), [((2, 2, 4, 5, 4),)]),
    OpSpec("adaptive_max_pool3d_with_indices", lambda L, x: F(L).adaptive_max_pool3d_with_indices(
        x, (3, None, 2)), [((1, 2, 5, 3, 4),)]),
    OpSpec("adaptive_max_pool2d_with_indices", lambda L, x: F(L).adaptive_max_pool2d_with_indices(
        x, (3, 2)), [((2, 3, 5, 7),)]),
    OpSpec("adaptive_max_pool1d_with_indices", lambda L, x: F(L).adaptive_max_pool1d_with_indices(
        x, 3), [((2, 3, 7),)]),
    # interpolation
    OpSpec("interpolate_nearest", lambda L, x: F(L).interpolate(x, scale_factor=2),
           [((2, 2, 3, 4),), ((2, 3, 5),)]),
    OpSpec("interpolate_nearest_size", lambda L, x: F(L).interpolate(x, size=(5, 3)),
           [((1, 2, 3, 4),)]),
    OpSpec("interpolate_nearest_exact", lambda L, x: F(L).interpolate(
        x, size=(5, 3), mode="nearest-exact"), [((1, 2, 3, 4),)]),
    OpSpec("interpolate_bilinear", lambda L, x: F(L).interpolate(
        x, scale_factor=(1.5, 2), mode="bilinear"), [((2, 2, 3, 4),)]),
    OpSpec("interpolate_bilinear_corners", lambda L, x: F(L).interpolate(
        x, size=(5, 2), mode="bilinear", align_corners=True), [((1, 2, 3, 4),)]),
    # bicubic: the source index may fall below 0 and the four taps are clamped to the border
    OpSpec("interpolate_bicubic", lambda L, x: F(L).interpolate(
        x, scale_factor=(1.5, 2), mode="bicubic"), [((2, 2, 3, 4),)]),
    OpSpec("interpolate_bicubic_down", lambda L, x: F(L).interpolate(
        x, size=(2, 3), mode="bicubic"), [((1, 2, 5, 7),)]),
    OpSpec("interpolate_bicubic_corners", lambda L, x: F(L).interpolate(
        x, size=(5, 2), mode="bicubic", align_corners=True), [((1, 2, 3, 4),)]),
    # antialias: on a downscale the filter widens with the scale and rows are renormalized
    OpSpec("interpolate_bilinear_antialias", lambda L, x: F(L).interpolate(
        x, scale_factor=(0.37, 1.7), mode="bilinear", antialias=True), [((1, 2, 11, 4),)]),
    OpSpec("interpolate_bicubic_antialias", lambda L, x: F(L).interpolate(
        x, size=(3, 5), mode="bicubic", antialias=True, align_corners=True), [((2, 1, 9, 7),)]),
    OpSpec("interpolate_lanczos", lambda L, x: F(L).interpolate(
        x, size=(4, 9), mode="lanczos", antialias=True), [((1, 2, 10, 5),)]),
    OpSpec("interpolate_area_3d", lambda L, x: F(L).interpolate(x, size=(3, 2, 3), mode="area"),
           [((1, 2, 5, 4, 6),)]),
    OpSpec("interpolate_linear", lambda L, x: F(L).interpolate(x, size=7, mode="linear"),
           [((2, 3, 4),)]),
    OpSpec("interpolate_linear_scale", lambda L, x: F(L).interpolate(
        x, scale_factor=1.7, mode="linear"), [((2, 3, 5),)]),
    OpSpec("grid_sample", lambda L, x, g: F(L).grid_sample(x, g, align_corners=False),
           [()], make=_image_and_grid, gradgrad=False),
    # a constant grid (a fixed warp): under create_graph the input's gradient still requires
    # grad, tied to the input as by torch's node (its second derivative: None)
    OpSpec("grid_sample_const_grid", lambda L, x, g: F(L).grid_sample(x, g, align_corners=False),
           [()], make=_image_and_grid, grad_inputs=(0,)),
    OpSpec("grid_sample_border_corners", lambda L, x, g: F(L).grid_sample(
        x, g, padding_mode="border", align_corners=True), [()], make=_image_and_grid,
           gradgrad=False),
    OpSpec("grid_sample_reflection", lambda L, x, g: F(L).grid_sample(
        x, g, padding_mode="reflection", align_corners=False), [()], make=_image_and_grid,
           gradgrad=False),
    OpSpec("max_unpool3d", lambda L, x: F(L).max_unpool3d(
        *F(L).max_pool3d(x, 2, return_indices=True), 2), [((1, 2, 4, 4, 2),)]),
    # repeated indices: the value is stored once but, as in PyTorch, every repeat's gradient
    # flows back, so finite differences disagree by design (torch's gradient is still compared)
    OpSpec("max_unpool2d_overlap", lambda L, x: F(L).max_unpool2d(
        *F(L).max_pool2d(x, 3, stride=1, return_indices=True), 3, stride=1), [((2, 2, 5, 4),)],
           gradcheck=False),
    OpSpec("max_unpool1d", lambda L, x: F(L).max_unpool1d(
        *F(L).max_pool1d(x, 2, return_indices=True), 2), [((2, 3, 6),)]),
]
