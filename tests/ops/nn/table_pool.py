"""Op-table entries for ``ember/_ops/nn/pool.py``: max and average pooling (1-d and 2-d,
overlapping, ceil mode, dilation, divisor), fractional max pooling and the power-average pooling
built on them."""

import numpy as np

from .._inputs import F
from ..spec import OpSpec

# fixed window-start samples for fractional max pooling, so both libraries pool alike
_S2 = np.random.default_rng(0).random((2, 3, 2))
_S3 = np.random.default_rng(1).random((1, 2, 3))

OPS = [
    # pooling: random uniform inputs have no ties, so max pooling is smooth at the samples
    OpSpec("max_pool2d", lambda L, x: F(L).max_pool2d(x, 2),
           [((2, 3, 4, 6),), ((3, 5, 4),)]),
    OpSpec("max_pool2d_overlap_ceil", lambda L, x: F(L).max_pool2d(
        x, 3, stride=2, padding=1, ceil_mode=True), [((2, 2, 6, 5),)]),
    OpSpec("max_pool2d_dilation", lambda L, x: F(L).max_pool2d(x, (2, 3), stride=1,
                                                               dilation=(2, 1)),
           [((1, 2, 5, 5),)]),
    OpSpec("max_pool2d_indices", lambda L, x: F(L).max_pool2d(x, 2, return_indices=True),
           [((1, 2, 4, 4),)]),
    OpSpec("max_pool1d", lambda L, x: F(L).max_pool1d(x, 3, stride=2, ceil_mode=True),
           [((2, 3, 8),)]),
    # the _with_indices forms always return (output, indices)
    OpSpec("max_pool1d_with_indices", lambda L, x: F(L).max_pool1d_with_indices(x, 3, 2),
           [((2, 3, 8),)]),
    OpSpec("max_pool2d_with_indices", lambda L, x: F(L).max_pool2d_with_indices(
        x, 3, stride=2, padding=1, ceil_mode=True), [((2, 2, 6, 5),)]),
    OpSpec("max_pool3d_with_indices", lambda L, x: F(L).max_pool3d_with_indices(x, 2),
           [((1, 2, 4, 4, 6),)]),
    OpSpec("avg_pool2d", lambda L, x: F(L).avg_pool2d(x, 2), [((2, 3, 4, 6),)]),
    OpSpec("avg_pool2d_pad_ceil", lambda L, x: F(L).avg_pool2d(
        x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
           [((2, 2, 6, 5),)]),
    OpSpec("avg_pool2d_divisor", lambda L, x: F(L).avg_pool2d(x, (2, 3), stride=(1, 2),
                                                              divisor_override=4),
           [((1, 2, 5, 5),)]),
    OpSpec("avg_pool1d", lambda L, x: F(L).avg_pool1d(x, 3, stride=2, padding=1),
           [((2, 3, 7),), ((3, 6),)]),
    OpSpec("lp_pool2d", lambda L, x: F(L).lp_pool2d(x, 2, 2), [((2, 3, 4, 4),)],
           domain=(0.5, 2.0)),
    OpSpec("lp_pool1d", lambda L, x: F(L).lp_pool1d(x, 3, 2, stride=1), [((2, 3, 5),)],
           domain=(0.5, 2.0)),
    OpSpec("lp_pool3d", lambda L, x: F(L).lp_pool3d(x, 2, (2, 2, 1), stride=1),
           [((1, 2, 3, 3, 2),)], domain=(0.5, 2.0)),
    OpSpec("lp_pool2d_inf", lambda L, x: F(L).lp_pool2d(x, float("inf"), 2), [((2, 3, 4, 4),)]),
    OpSpec("fractional_max_pool2d", lambda L, x: F(L).fractional_max_pool2d(
        x, 2, output_size=(3, 4), _random_samples=L.tensor(_S2).to(x)),
           [((2, 3, 6, 7),)]),
    OpSpec("fractional_max_pool3d_with_indices",
           lambda L, x: F(L).fractional_max_pool3d_with_indices(
               x, (2, 1, 2), output_ratio=(0.5, 0.7, 0.6),
               _random_samples=L.tensor(_S3).to(x)), [((1, 2, 5, 4, 5),)]),
]
