"""ember's vectorized ``roi_pool`` against a plain loop-per-bin reference written here.

The reference follows torchvision's documented rules: C-style rounding of the scaled box,
bins of ``roi / pooled`` pixels (floor start, ceil end, clipped to the map), the maximum of
each bin with the first hit in row-major order winning ties, 0 for bins that cover no pixel,
and the gradient of each output added at its winning pixel.
"""

import math

import numpy as np
import pytest

import ember
from ember.vision import ops


def _c_round(v):
    return math.copysign(math.floor(abs(v) + 0.5), v)


def _reference(x, rois, ph, pw, scale):
    """``(out, winners)``: pooled values and each bin's flat winner index (-1 when empty)."""
    n_img, channels, height, width = x.shape
    k = len(rois)
    out = np.zeros((k, channels, ph, pw), dtype=x.dtype)
    win = np.full((k, channels, ph, pw), -1, dtype=np.int64)
    s = x.dtype.type(scale)
    for r in range(k):
        n = int(rois[r, 0])
        x1, y1, x2, y2 = (_c_round(float(v * s)) for v in rois[r, 1:])
        rw = x.dtype.type(max(x2 - x1 + 1, 1))
        rh = x.dtype.type(max(y2 - y1 + 1, 1))
        bh, bw = rh / x.dtype.type(ph), rw / x.dtype.type(pw)
        for i in range(ph):
            h0 = min(max(int(math.floor(x.dtype.type(i) * bh)) + int(y1), 0), height)
            h1 = min(max(int(math.ceil(x.dtype.type(i + 1) * bh)) + int(y1), 0), height)
            for j in range(pw):
                w0 = min(max(int(math.floor(x.dtype.type(j) * bw)) + int(x1), 0), width)
                w1 = min(max(int(math.ceil(x.dtype.type(j + 1) * bw)) + int(x1), 0), width)
                if h1 <= h0 or w1 <= w0:
                    continue
                for c in range(channels):
                    best, where = None, -1
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            v = x[n, c, h, w]
                            if best is None or v > best:  # strict: the first hit keeps ties
                                best, where = v, ((n * channels + c) * height + h) * width + w
                    out[r, c, i, j], win[r, c, i, j] = best, where
    return out, win


def _random_rois(rng, k, n_img, height, width, scale):
    # boxes partly or wholly outside the map, degenerate (x2 < x1) and tiny ones included
    lo_x, lo_y = -0.5 * width / scale, -0.5 * height / scale
    x1 = rng.uniform(lo_x, 1.3 * width / scale, k)
    y1 = rng.uniform(lo_y, 1.3 * height / scale, k)
    x2 = x1 + rng.uniform(-2, 1.2 * width / scale, k)
    y2 = y1 + rng.uniform(-2, 1.2 * height / scale, k)
    return np.stack([rng.integers(0, n_img, k), x1, y1, x2, y2], 1)


def _check(x_np, rois_np, out_size, scale, as_list=False):
    ph, pw = (out_size, out_size) if isinstance(out_size, int) else out_size
    ref, win = _reference(x_np, rois_np.astype(x_np.dtype), ph, pw, scale)
    x = ember.from_numpy(x_np.copy()).requires_grad_()
    if as_list:
        boxes = [ember.from_numpy(rois_np[rois_np[:, 0] == i, 1:].astype(x_np.dtype))
                 for i in range(x_np.shape[0])]
        order = np.concatenate([np.nonzero(rois_np[:, 0] == i)[0]
                                for i in range(x_np.shape[0])])
        ref, win = ref[order], win[order]
    else:
        boxes = ember.from_numpy(rois_np.astype(x_np.dtype))
    out = ops.roi_pool(x, boxes, out_size, scale)
    np.testing.assert_array_equal(out.detach().numpy(), ref)
    g = np.random.default_rng(1).standard_normal(ref.shape).astype(x_np.dtype)
    (out * ember.from_numpy(g)).sum().backward()
    expect = np.zeros(x_np.size, dtype=np.float64)
    keep = win >= 0
    np.add.at(expect, win[keep], g[keep].astype(np.float64))
    np.testing.assert_allclose(x.grad.numpy().ravel(), expect, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_roi_pool_matches_loop_reference_with_ties(seed, dtype):
    rng = np.random.default_rng(seed)
    n_img, channels, height, width = 2, 3, 11 + seed, 13 + 2 * seed
    # few distinct values: most bins hold ties, so the first-hit rule is exercised
    x = rng.integers(-2, 3, (n_img, channels, height, width)).astype(dtype)
    scale = [1.0, 0.5, 0.25, 1 / 3][seed % 4]
    rois = _random_rois(rng, 25, n_img, height, width, scale)
    out_size = [(2, 2), 3, (7, 7), (4, 2), 1, (5, 6)][seed]
    _check(x, rois, out_size, scale)


@pytest.mark.parametrize("seed", range(3))
def test_roi_pool_matches_loop_reference_continuous_and_list(seed):
    rng = np.random.default_rng(100 + seed)
    x = rng.standard_normal((3, 4, 17, 19)).astype(np.float32)
    rois = _random_rois(rng, 30, 3, 17, 19, 0.5)
    _check(x, rois, (3, 4), 0.5, as_list=True)
    _check(x, rois, 2, 0.5)


def test_roi_pool_all_equal_and_infinite_values():
    # every pixel equal: each bin's winner is its top-left pixel; -inf must still be picked
    x = np.full((1, 2, 6, 7), -np.inf, dtype=np.float32)
    x[0, 1] = 5.0
    rois = np.array([[0, 0, 0, 6, 5], [0, 1.4, 2.6, 3.2, 4.9], [0, -9, -9, -3, -3]])
    _check(x, rois, (3, 3), 1.0)


def test_roi_pool_every_bin_empty():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    rois = np.array([[1, 50, 50, 60, 60], [0, -20, -20, -10, -10]])
    _check(x, rois, 2, 1.0)
