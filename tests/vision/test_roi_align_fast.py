"""roi_align's two read paths (windows, whole-map GEMMs) against a per-sample-point reference.

The reference below follows RoI Align's definition one bilinear sample at a time, in float64
loops, so it shares no code with ember's vectorised kernel. Each random case runs with every
RoI forced through each path (``_WINDOW_COST``), and once with the cost model's own choice.
"""

import math

import numpy as np
import pytest

import ember
from ember.vision.ops import roi as roi_mod
from ember.vision.ops import roi_align


def _bilinear(img, y, x):
    """One sample of ``img [C, H, W]`` at ``(y, x)``: zero more than a pixel outside."""
    _, height, width = img.shape
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return np.zeros(img.shape[0])
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= height - 1:
        y0 = y1 = height - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= width - 1:
        x0 = x1 = width - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    dy, dx = y - y0, x - x0
    return ((1 - dy) * (1 - dx) * img[:, y0, x0] + (1 - dy) * dx * img[:, y0, x1]
            + dy * (1 - dx) * img[:, y1, x0] + dy * dx * img[:, y1, x1])


def _reference(x, rois, out_hw, scale, sampling_ratio, aligned):
    ph, pw = out_hw
    out = np.zeros((len(rois), x.shape[1], ph, pw))
    shift = 0.5 if aligned else 0.0
    for k, (n, bx1, by1, bx2, by2) in enumerate(rois):
        left, top = bx1 * scale - shift, by1 * scale - shift
        w, h = bx2 * scale - shift - left, by2 * scale - shift - top
        if not aligned:
            w, h = max(w, 1.0), max(h, 1.0)
        gh = sampling_ratio if sampling_ratio > 0 else math.ceil(h / ph)
        gw = sampling_ratio if sampling_ratio > 0 else math.ceil(w / pw)
        count = max(gh * gw, 1)
        for i in range(ph):
            for j in range(pw):
                acc = np.zeros(x.shape[1])
                for a in range(gh):
                    yy = top + i * h / ph + (a + 0.5) * (h / ph) / gh
                    for b in range(gw):
                        xx = left + j * w / pw + (b + 0.5) * (w / pw) / gw
                        acc += _bilinear(x[int(n)], yy, xx)
                out[k, :, i, j] = acc / count
    return out


def _case(seed):
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    height, width = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    scale = float(rng.choice([1.0, 0.5, 0.25]))
    k = int(rng.integers(1, 9))
    # corners up to a few pixels beyond the map, some boxes inverted or degenerate
    lo = rng.uniform(-3, np.array([width, height]) / scale + 3, size=(k, 2))
    size = rng.uniform(-1, np.array([width, height]) / scale + 2, size=(k, 2))
    rois = np.concatenate([rng.integers(0, n, (k, 1)), lo, lo + size], axis=1)
    kw = {"output_size": (int(rng.integers(1, 5)), int(rng.integers(1, 5))),
          "spatial_scale": scale, "sampling_ratio": int(rng.choice([-1, 0, 1, 2, 3])),
          "aligned": bool(rng.integers(0, 2))}
    return rng.standard_normal((n, c, height, width)), rois, kw


@pytest.fixture(params=["windows", "whole", "auto"])
def path(request, monkeypatch):
    cost = {"windows": 0, "whole": 10**12, "auto": roi_mod._WINDOW_COST}[request.param]
    monkeypatch.setattr(roi_mod, "_WINDOW_COST", cost)
    return request.param


@pytest.mark.parametrize("seed", range(40))
def test_matches_per_point_reference(seed, path):
    x, rois, kw = _case(seed)
    got = roi_align(ember.from_numpy(x), ember.from_numpy(rois), **kw).numpy()
    want = _reference(x, rois, _pair(kw["output_size"]), kw["spatial_scale"],
                      kw["sampling_ratio"], kw["aligned"])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


@pytest.mark.parametrize("seed", range(6))
def test_list_boxes_and_float32(seed, path):
    x, rois, kw = _case(100 + seed)
    x32 = ember.from_numpy(x.astype(np.float32))
    per_image = [ember.from_numpy(rois[rois[:, 0] == i, 1:].astype(np.float32))
                 for i in range(x.shape[0])]
    got = roi_align(x32, per_image, **kw)
    assert got.dtype == ember.float32
    # the list form orders RoIs image by image
    order = np.argsort(rois[:, 0], kind="stable")
    want = _reference(x.astype(np.float32).astype(np.float64),
                      rois.astype(np.float32).astype(np.float64)[order],
                      _pair(kw["output_size"]), kw["spatial_scale"], kw["sampling_ratio"],
                      kw["aligned"])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-5)


def test_empty_boxes(path):
    x = ember.randn(2, 3, 5, 7)
    out = roi_align(x, ember.zeros((0, 5)), (2, 3), sampling_ratio=2)
    assert tuple(out.shape) == (0, 3, 2, 3)


def test_paths_agree_on_detector_sized_input(monkeypatch):
    rng = np.random.default_rng(7)
    x = ember.from_numpy(rng.standard_normal((2, 16, 25, 31)).astype(np.float32))
    lo = rng.uniform(0, 400, (60, 2))
    rois = np.concatenate([rng.integers(0, 2, (60, 1)), lo, lo + rng.uniform(4, 300, (60, 2))],
                          axis=1).astype(np.float32)
    outs = []
    for cost in (0, 10**12):
        monkeypatch.setattr(roi_mod, "_WINDOW_COST", cost)
        outs.append(roi_align(x, ember.from_numpy(rois), 7, 1 / 16, 2).numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", range(8))
def test_gradcheck(seed, path):
    x, rois, kw = _case(200 + seed)
    xt = ember.from_numpy(x).requires_grad_()
    boxes = ember.from_numpy(rois)
    fn = lambda t: roi_align(t, boxes, **kw)  # noqa: E731
    assert ember.autograd.gradcheck(fn, (xt,))
    assert ember.autograd.gradgradcheck(fn, (xt,))
