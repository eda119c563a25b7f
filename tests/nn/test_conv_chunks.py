"""Convolutions split over batch chunks and threads (``ember._threads``) give torch's values
and gradients, for every layout the chunked kernels handle (wide stride-1 rows, strided,
dilated, grouped, padded, transposed with output_padding)."""

import numpy as np
import pytest

import ember
from ember import _threads
from ember._ops.nn import _conv_kernels

from ._helpers import same


@pytest.fixture
def tiny_chunks(monkeypatch):
    """Chunks of one or two images, run on two threads even on a one-core machine."""
    real = _threads.split
    monkeypatch.setattr(_threads, "split", lambda n, per, target=1, min_chunks=None:
                        real(n, per, target=per * 2 - 1, min_chunks=2))
    monkeypatch.setattr(_threads, "_threads", 2)


CONFIGS = [
    ((5, 3, 7, 6), (4, 3, 3, 3), dict(padding=1)),
    ((5, 4, 8, 8), (6, 2, 3, 2), dict(stride=(2, 1), dilation=(1, 2), groups=2)),
    ((4, 3, 9, 7), (4, 3, 3, 3), dict(stride=2, padding=(1, 2))),
    ((3, 2, 11), (4, 2, 3), dict(padding=2, dilation=2)),
    ((3, 2, 5, 4, 4), (3, 2, 2, 3, 2), dict(padding=1)),
]


@pytest.fixture(params=["image-major", "channel-major"])
def forward_layout(request, monkeypatch):
    """Run the forward through either column layout, whatever the size of the weight."""
    on = request.param == "image-major"
    monkeypatch.setattr(_conv_kernels, "_IMAGE_MAJOR_LENGTH", 1 if on else 1 << 60)
    monkeypatch.setattr(_conv_kernels, "_IMAGE_MAJOR_WGRAD_ROWS", 1 << 60 if on else 0)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs, ws, kw", CONFIGS)
def test_chunked_conv_matches_torch(torch, rng, tiny_chunks, forward_layout, xs, ws, kw, bias):
    fn = {3: "conv1d", 4: "conv2d", 5: "conv3d"}[len(xs)]
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    res = []
    for lib in (ember, torch):
        xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        y = getattr(lib.nn.functional, fn)(xt, wt, bt if bias else None, **kw)
        (y * y).sum().backward()
        res.append((y, xt.grad, wt.grad) + ((bt.grad,) if bias else ()))
    for e, t in zip(*res):
        same(e, t, atol=1e-10)


@pytest.mark.parametrize("xs, ws, kw", CONFIGS)
def test_chunked_conv_weight_grad_only(torch, rng, tiny_chunks, forward_layout, xs, ws, kw):
    """An input that needs no gradient (a first layer): only weight and bias gradients."""
    fn = {3: "conv1d", 4: "conv2d", 5: "conv3d"}[len(xs)]
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    res = []
    for lib in (ember, torch):
        wt, bt = (lib.tensor(a, requires_grad=True) for a in (w, b))
        y = getattr(lib.nn.functional, fn)(lib.tensor(x), wt, bt, **kw)
        (y * y).sum().backward()
        res.append((y, wt.grad, bt.grad))
    for e, t in zip(*res):
        same(e, t, atol=1e-10)


def test_chunked_conv_float32_and_double_backward(torch, rng, tiny_chunks):
    x, w = rng.standard_normal((6, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    res = []
    for lib in (ember, torch):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv2d(xt, wt, padding=1)
        gx, gw = lib.autograd.grad((y ** 2).sum(), [xt, wt], create_graph=True)
        hx, hw = lib.autograd.grad((gx ** 2).sum() + (gw ** 2).sum(), [xt, wt])
        y32 = lib.nn.functional.conv2d(xt.float(), wt.float())
        res.append((gx, gw, hx, hw, y32))
    for e, t in zip(*res):
        same(e, t, atol=1e-3 if e.dtype == ember.float32 else 1e-9)


def test_chunked_conv_transpose_output_padding(torch, rng, tiny_chunks):
    x, w = rng.standard_normal((5, 4, 4, 5)), rng.standard_normal((4, 2, 3, 3))
    kw = dict(stride=1, dilation=2, output_padding=1, padding=1)
    res = []
    for lib in (ember, torch):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv_transpose2d(xt, wt, **kw)
        (y * y).sum().backward()
        res.append((y, xt.grad, wt.grad))
    for e, t in zip(*res):
        same(e, t, atol=1e-10)


def test_worker_error_reaches_caller(monkeypatch):
    monkeypatch.setattr(_threads, "_threads", 2)

    def fn(lo, hi):
        if lo == 3:
            raise ValueError("chunk 3 failed")

    with pytest.raises(ValueError, match="chunk 3"):
        _threads.run_chunks(fn, [(i, i + 1) for i in range(6)], blas=False)
    seen = []
    _threads.run_chunks(lambda lo, hi: seen.append(lo), [(i, i + 1) for i in range(6)],
                        blas=False)
    assert sorted(seen) == list(range(6))


@pytest.mark.parametrize("shape, kw", [((5, 3, 8, 9), dict(kernel_size=2)),
                                       ((4, 2, 9, 9), dict(kernel_size=3)),
                                       ((3, 2, 4, 6, 6), dict(kernel_size=(2, 3, 2))),
                                       ((5, 3, 8, 8), dict(kernel_size=2, padding=1)),
                                       # overlapping windows: slice-adds, not stores
                                       ((3, 2, 7, 7), dict(kernel_size=3, stride=1)),
                                       ((3, 2, 9, 8), dict(kernel_size=2, dilation=2,
                                                           ceil_mode=True)),
                                       ((0, 2, 6, 6), dict(kernel_size=2))])
def test_chunked_max_pool_ties_match_torch(torch, rng, tiny_chunks, shape, kw):
    x = np.maximum(rng.integers(-2, 3, size=shape), 0).astype(np.float32)  # ReLU-like ties
    fn = "max_pool3d" if len(shape) == 5 else "max_pool2d"
    gy = rng.standard_normal(getattr(torch.nn.functional, fn)(torch.tensor(x), **kw).shape)
    res = []
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        y = getattr(lib.nn.functional, fn)(t, **kw)
        y.backward(lib.tensor(gy.astype(np.float32)))
        res.append((y, t.grad))
    for e, t in zip(*res):
        same(e, t)


def test_threaded_relu_matches_torch(torch, rng, monkeypatch):
    monkeypatch.setattr(_threads, "_threads", 2)
    x = rng.standard_normal((700, 500)).astype(np.float32)  # 1.4 MB: split over threads
    g = rng.standard_normal(x.shape).astype(np.float32)
    res = []
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        y = lib.relu(t)
        y.backward(lib.tensor(g))
        res.append((y, t.grad))
    for e, t in zip(*res):
        same(e, t, atol=0, rtol=0)
