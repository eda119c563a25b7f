"""F.grid_sample and F.affine_grid against PyTorch: every mode x padding_mode x align_corners,
4-D and 5-D input, float32 and float64, points outside [-1, 1] and exactly on the borders;
values and gradients to input, grid and theta; the default-align_corners warnings; errors with
PyTorch's types and messages."""

import itertools
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

MODES = ["bilinear", "nearest", "bicubic"]
PADDINGS = ["zeros", "border", "reflection"]
# points on the borders, the centre, beyond the borders and far outside (several reflections)
SPECIAL = [-1.0, 1.0, 0.0, -1.5, 1.5, -3.0, 3.0, 2.5, -7.25, 1 / 3, -0.999, 0.999]
TOL = {np.float32: 2e-5, np.float64: 1e-11}


def _grid(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    g = rng.uniform(-1.6, 1.6, shape).astype(dtype)
    flat = g.reshape(-1)
    flat[:60] = rng.choice(SPECIAL, min(60, flat.size)).astype(dtype)
    return g


def _run(lib, x, g, **kw):
    """Output and the gradients to input and grid of a weighted sum of the output."""
    xi = lib.tensor(x, requires_grad=True)
    gi = lib.tensor(g, requires_grad=True)
    out = lib.nn.functional.grid_sample(xi, gi, **kw)
    w = np.linspace(-1, 2, out.numel()).reshape(tuple(out.shape)).astype(x.dtype)
    (out * lib.tensor(w)).sum().backward()
    return out.detach().numpy(), xi.grad.numpy(), gi.grad.numpy()


def _same(got, want, dtype):
    for name, e, t in zip(("output", "input grad", "grid grad"), got, want):
        assert e.shape == t.shape and e.dtype == t.dtype, (name, e.shape, t.shape)
        np.testing.assert_allclose(e, t, rtol=TOL[dtype], atol=TOL[dtype], err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", MODES)
def test_4d_values_and_gradients_as_torch(mode, padding_mode, align_corners, dtype):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(dtype)
    g = _grid((2, 6, 7, 2), dtype, 1)  # non-square input and output
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    _same(_run(ember, x, g, **kw), _run(torch, x, g, **kw), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_5d_values_and_gradients_as_torch(mode, padding_mode, align_corners, dtype):
    x = np.random.default_rng(2).standard_normal((2, 2, 3, 4, 5)).astype(dtype)
    g = _grid((2, 3, 2, 4, 3), dtype, 3)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    _same(_run(ember, x, g, **kw), _run(torch, x, g, **kw), dtype)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode,padding_mode", list(itertools.product(MODES, PADDINGS)))
def test_unit_sized_input_as_torch(mode, padding_mode, align_corners):
    """A 1-pixel-wide image: with align_corners the span is empty (every point is pixel 0)."""
    x = np.random.default_rng(4).standard_normal((1, 2, 3, 1))
    g = _grid((1, 4, 5, 2), np.float64, 5)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    _same(_run(ember, x, g, **kw), _run(torch, x, g, **kw), np.float64)


@pytest.mark.parametrize("mode,padding_mode", list(itertools.product(MODES, PADDINGS)))
def test_nan_and_infinite_grid_points_as_torch(mode, padding_mode):
    x = np.arange(20.0).reshape(1, 1, 4, 5)
    g = np.array([[[[np.nan, 0.3], [0.2, np.nan], [np.inf, 0.0], [-np.inf, 0.0]]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NaN/inf give NaN quietly, never a NumPy warning
        got = ember.nn.functional.grid_sample(ember.tensor(x), ember.tensor(g), mode=mode,
                                              padding_mode=padding_mode, align_corners=False)
    want = torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(g), mode=mode,
                                           padding_mode=padding_mode, align_corners=False)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_float16_close_to_torch(mode):
    """Half precision runs in half precision (as PyTorch's CPU kernel): same dtype, values
    within a few half-precision ulps."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float16)
    g = rng.uniform(-1.2, 1.2, (2, 6, 7, 2)).astype(np.float16)
    got = ember.nn.functional.grid_sample(ember.tensor(x), ember.tensor(g), mode=mode,
                                          align_corners=False)
    want = torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(g), mode=mode,
                                           align_corners=False)
    assert got.dtype == ember.float16
    np.testing.assert_allclose(got.numpy().astype(np.float32),
                               want.numpy().astype(np.float32), atol=2e-2)


@pytest.mark.parametrize("dt", ["float32", "bfloat16"])
def test_cpu_autocast_dtypes_as_torch(dt):
    """Under CPU autocast affine_grid's matmul runs in bfloat16 and grid_sample in float32."""
    got = []
    for lib in (ember, torch):
        F = lib.nn.functional
        theta = lib.tensor([[[1.0, 0.1, 0.0], [0.0, 0.9, 0.1]]]).to(getattr(lib, dt))
        x = lib.ones(1, 2, 5, 6, dtype=getattr(lib, dt))
        with lib.autocast("cpu", dtype=lib.bfloat16):
            g = F.affine_grid(theta, [1, 2, 5, 6], align_corners=False)
            out = F.grid_sample(x, g, align_corners=False)
            mixed = F.grid_sample(x.float(), g.bfloat16(), align_corners=False)
        got.append((str(g.dtype), str(out.dtype), str(mixed.dtype), out.float().numpy()))
    assert got[0][:3] == got[1][:3]
    np.testing.assert_allclose(got[0][3], got[1][3], atol=1e-6)


def test_nearest_gives_the_grid_a_zero_gradient_as_torch():
    x = ember.randn(1, 1, 3, 3, requires_grad=True)
    g = ember.zeros(1, 2, 2, 2, requires_grad=True)
    ember.nn.functional.grid_sample(x, g, mode="nearest", align_corners=False).sum().backward()
    assert g.grad is not None and g.grad.abs().sum().item() == 0
    assert x.grad[0, 0, 1, 1].item() == 4


def test_identity_affine_grid_reproduces_the_image():
    x = ember.randn(3, 2, 5, 6)
    theta = ember.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).expand(3, 2, 3)
    for ac in (False, True):
        g = ember.nn.functional.affine_grid(theta, x.size(), align_corners=ac)
        y = ember.nn.functional.grid_sample(x, g, align_corners=ac)
        np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("hw", [(28, 28), (7, 12)])
def test_identity_transform_grid_gradient_as_torch(hw, mode, align_corners, dtype):
    """The identity affine grid (the Spatial Transformer's initial theta) puts every point
    within an ulp of a pixel centre, where the gradient to the grid jumps from one neighbour
    difference to the other: the unnormalised coordinate must round as PyTorch's fused kernel
    rounds it, or the gradient to theta comes out different."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 2, *hw)).astype(dtype)
    theta = np.tile(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype), (2, 1, 1))
    res = []
    for lib in (ember, torch):
        t = lib.tensor(theta, requires_grad=True)
        g = lib.nn.functional.affine_grid(t, [2, 2, *hw], align_corners=align_corners)
        out = lib.nn.functional.grid_sample(lib.tensor(x), g, mode=mode,
                                            align_corners=align_corners)
        w = np.cos(np.arange(out.numel())).reshape(tuple(out.shape)).astype(dtype)
        (out * lib.tensor(w)).sum().backward()
        res.append((out.detach().numpy(), t.grad.numpy()))
    tol = 50 * TOL[dtype]
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=tol, atol=tol)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=tol, atol=tol)


def test_second_order_gradient_as_torch():
    """The composite is differentiable twice (create_graph), e.g. for gradient penalties."""
    rng = np.random.default_rng(6)
    x, g = rng.standard_normal((1, 2, 4, 5)), rng.uniform(-1.2, 1.2, (1, 3, 3, 2))
    res = []
    for lib in (ember, torch):
        xi, gi = lib.tensor(x, requires_grad=True), lib.tensor(g, requires_grad=True)
        out = lib.nn.functional.grid_sample(xi, gi, padding_mode="border", align_corners=True)
        (dx,) = lib.autograd.grad((out ** 2).sum(), xi, create_graph=True)
        (dx ** 2).sum().backward()
        res.append(gi.grad.numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape,gshape", [((0, 3, 4, 5), (0, 6, 7, 2)),
                                          ((2, 0, 4, 5), (2, 6, 7, 2)),
                                          ((2, 3, 4, 5), (2, 0, 7, 2)),
                                          ((2, 3, 2, 4, 5), (2, 1, 0, 3, 3))])
def test_empty_batch_channels_or_grid_as_torch(shape, gshape):
    x, g = np.ones(shape, np.float32), np.zeros(gshape, np.float32)
    got = ember.nn.functional.grid_sample(ember.tensor(x), ember.tensor(g), align_corners=False)
    want = torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(g), align_corners=False)
    assert tuple(got.shape) == tuple(want.shape) and got.dtype == ember.float32


# -- affine_grid ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [[2, 3, 4, 5], [2, 1, 1, 5], [3, 2, 4, 5, 6], [1, 1, 2, 1, 3]])
def test_affine_grid_values_and_theta_gradient_as_torch(size, align_corners, dtype):
    rng = np.random.default_rng(7)
    th = rng.standard_normal((size[0], len(size) - 2, len(size) - 1)).astype(dtype)
    res = []
    for lib in (ember, torch):
        t = lib.tensor(th, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = lib.nn.functional.affine_grid(t, size, align_corners=align_corners)
        w = np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)).astype(dtype)
        (out * lib.tensor(w)).sum().backward()
        res.append((out.detach().numpy(), t.grad.numpy(), [str(c.message) for c in caught]))
    tol = 10 * TOL[dtype]
    assert res[0][0].shape == res[1][0].shape and res[0][0].dtype == res[1][0].dtype
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=tol, atol=tol)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=tol, atol=tol)
    assert res[0][2] == res[1][2]  # the unit-size warning with align_corners=True


@pytest.mark.parametrize("fn", ["affine_grid", "grid_sample"])
def test_default_align_corners_warns_as_torch(fn):
    msgs = []
    for lib in (ember, torch):
        F = lib.nn.functional
        with pytest.warns(UserWarning) as rec:
            if fn == "affine_grid":
                F.affine_grid(lib.zeros(1, 2, 3), [1, 1, 2, 2])
            else:
                F.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2))
        msgs.append([str(r.message) for r in rec])
        assert rec[0].filename == __file__  # stacklevel points at the caller
    assert msgs[0] == msgs[1]


# -- errors -----------------------------------------------------------------------------------

def _grid_sample_call(lib, xs, gs, xdt="float32", gdt="float32", **kw):
    x = lib.zeros(xs, dtype=getattr(lib, xdt))
    g = lib.zeros(gs, dtype=getattr(lib, gdt))
    return lib.nn.functional.grid_sample(x, g, **{"align_corners": False, **kw})


GRID_SAMPLE_ERRORS = [
    ((2, 3, 4, 5), (2, 6, 7, 2), {"mode": "area"}),
    ((2, 3, 4, 5), (2, 6, 7, 2), {"padding_mode": "reflect"}),
    ((3, 4, 5), (6, 7, 2), {}),
    ((2, 3, 4, 5), (1, 6, 7, 2), {}),
    ((2, 3, 4, 5), (2, 6, 7, 3), {}),
    ((2, 3, 4, 5), (2, 6, 2), {}),
    ((2, 3, 4), (2, 6, 1), {}),
    ((2, 3, 4, 5, 6), (2, 6, 7, 2), {}),
    ((2, 3, 4, 5, 6), (2, 6, 1, 3), {}),
    ((2, 3, 4, 5), (2, 6, 1, 1, 2), {}),
    ((2, 3, 0, 5), (2, 6, 7, 2), {}),
    ((2, 3, 4, 5, 6), (2, 1, 6, 7, 3), {"mode": "bicubic"}),
    ((2, 3, 4, 5), (2, 6, 7, 2), {"xdt": "int64"}),
    ((2, 3, 4, 5, 6), (2, 1, 6, 7, 3), {"xdt": "int64", "gdt": "int64"}),
    ((2, 3, 4, 5), (2, 6, 7, 2), {"gdt": "float64"}),
    ((2, 3, 4, 5), (2, 6, 7, 2), {"xdt": "float64"}),
    ((2, 3, 4, 5), (2, 6, 7, 2), {"gdt": "int64"}),
    ((), (1, 1, 1, 2), {}),
    ((1, 1, 2, 2), (), {}),
    ((2,), (2, 1), {}),
]


@pytest.mark.parametrize("xs,gs,kw", GRID_SAMPLE_ERRORS)
def test_grid_sample_errors_as_torch(xs, gs, kw):
    with pytest.raises(Exception) as want:
        _grid_sample_call(torch, xs, gs, **kw)
    with pytest.raises(want.type) as got:
        _grid_sample_call(ember, xs, gs, **kw)
    assert str(got.value) == str(want.value)


AFFINE_ERRORS = [
    ((2, 2, 3), [2, 3, 4, 5], "int64"),
    ((2, 2, 3), [2, 3, 4, 5], "complex64"),
    ((2, 3, 4), [2, 3, 4, 5], "float32"),
    ((2, 2, 3), [2, 3, 4, 5, 6], "float32"),
    ((2, 3), [2, 3, 4, 5], "float32"),
    ((2, 2, 3), [2, 3, 4], "float32"),
    ((2, 2, 3), [2, 3, 0, 5], "float32"),
    ((2, 2, 3), [3, 3, 4, 5], "float32"),
    ((2, 3, 4), [3, 3, 4, 5, 6], "float32"),
]


@pytest.mark.parametrize("ts,size,dt", AFFINE_ERRORS)
def test_affine_grid_errors_as_torch(ts, size, dt):
    def call(lib):
        theta = lib.zeros(ts, dtype=getattr(lib, dt))
        return lib.nn.functional.affine_grid(theta, size, align_corners=False)

    with pytest.raises(Exception) as want:
        call(torch)
    with pytest.raises(want.type) as got:
        call(ember)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("which", [0, 1])
def test_grid_sample_non_tensor_arguments_as_torch(which):
    def call(lib):
        args = [lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2)]
        args[which] = [[1.0]]
        return lib.nn.functional.grid_sample(*args, align_corners=False)

    with pytest.raises(TypeError) as want:
        call(torch)
    with pytest.raises(TypeError) as got:
        call(ember)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("mode,padding_mode", list(itertools.product(MODES, PADDINGS)))
def test_on_the_cuda_stand_in_as_on_the_cpu(mode, padding_mode, monkeypatch):
    """On a ``cuda`` device (the fake_cupy stand-in, which refuses host conversions) the
    composite stays on the device and gives the CPU's values and gradients."""
    from ember import _backend, _threads

    from ..device import fake_cupy

    monkeypatch.setattr(_threads, "PARALLEL_MIN_BYTES", 0)
    prev = _backend.use_cuda_module(fake_cupy)
    try:
        rng = np.random.default_rng(9)
        x, g = rng.standard_normal((2, 3, 4, 5)), _grid((2, 6, 7, 2), np.float64, 10)
        theta = np.array([[[1.0, 0.1, 0.0], [0.0, 1.0, 0.2]]] * 2)
        res = []
        for dev in ("cpu", "cuda"):
            xi, gi, ti = (ember.tensor(a, device=dev, requires_grad=True) for a in (x, g, theta))
            grid = gi + ember.nn.functional.affine_grid(ti, [2, 3, 6, 7], align_corners=False)
            out = ember.nn.functional.grid_sample(xi, grid, mode=mode, padding_mode=padding_mode,
                                                  align_corners=False)
            assert out.device.type == dev
            out.sum().backward()
            res.append([t.detach().cpu().numpy() for t in (out, xi.grad, gi.grad, ti.grad)])
        for a, b in zip(*res):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    finally:
        _backend.use_cuda_module(prev)
