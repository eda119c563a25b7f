"""Gaps found while writing the super-resolution programs (tests/programs/sr_*.py), each checked
against PyTorch: ``F.pixel_shuffle``/``F.pixel_unshuffle`` argument checks (an int factor, no
bool or float, in torch's order of checks; a positive factor; which side is not divisible);
``ctx.saved_variables``, the deprecated alias of ``saved_tensors`` that NAFNet's custom
``LayerNorm2d`` Function reads in backward; the deprecation warnings of ``F.upsample``,
``F.upsample_nearest`` and ``F.upsample_bilinear`` (old SR code still calls them); 2x
upsampling of float16/bfloat16 images (half-precision SR inference) computed in float32 and
rounded once, as torch's kernels, forward and backward, and adaptive average pooling of them
closer to torch (it was rounded after each axis)."""

import warnings

import numpy as np
import pytest
import torch

import ember


def _outcome(fn, *args):
    try:
        out = fn(*args)
    except Exception as exc:  # noqa: BLE001 - the exception is the thing compared
        return type(exc).__name__, str(exc)
    return "ok", tuple(out.shape), out.detach().numpy().tolist()


@pytest.mark.parametrize("name,shape,factor", [
    ("pixel_shuffle", (1, 4, 2, 2), 0), ("pixel_shuffle", (1, 4, 2, 2), -2),
    ("pixel_unshuffle", (1, 4, 2, 2), 0), ("pixel_unshuffle", (1, 4, 2, 2), -1),
    ("pixel_shuffle", (1, 4, 2, 2), 2.0), ("pixel_shuffle", (1, 4, 2, 2), 2.5),
    ("pixel_shuffle", (1, 4, 2, 2), True), ("pixel_unshuffle", (1, 1, 4, 4), 2.0),
    ("pixel_shuffle", (4, 2), 2.0), ("pixel_shuffle", (4, 2), 0),
    ("pixel_shuffle", (1, 4, 2, 2), "tensor2"), ("pixel_shuffle", (1, 4, 2, 2), "tensor2.0"),
    ("pixel_shuffle", (1, 4, 2, 2), np.int64(2)), ("pixel_unshuffle", (1, 4, 2, 2), 1),
    ("pixel_unshuffle", (1, 2, 3, 4), 2), ("pixel_unshuffle", (1, 2, 4, 3), 2),
    ("pixel_unshuffle", (1, 2, 3, 3), 2), ("pixel_shuffle", (1, 3, 2, 2), 2)])
def test_pixel_shuffle_factor_checks(name, shape, factor):
    results = []
    for lib in (torch, ember):
        f = factor
        if isinstance(factor, str):
            f = lib.tensor(2) if factor == "tensor2" else lib.tensor(2.0)
        x = lib.arange(float(np.prod(shape))).reshape(shape)
        results.append(_outcome(getattr(lib.nn.functional, name), x, f))
    assert results[1] == results[0]


def test_pixel_shuffle_modules_reject_float_factor():
    for lib in (torch, ember):
        with pytest.raises(TypeError, match="must be int, not float"):
            lib.nn.PixelShuffle(2.0)(lib.zeros(1, 4, 2, 2))
        with pytest.raises(TypeError, match="must be int, not float"):
            lib.nn.PixelUnshuffle(2.0)(lib.zeros(1, 1, 4, 4))


def _scale_function(lib):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.seen_in_forward = ctx.saved_variables
            ctx.save_for_backward(x, w)
            return x * w

        @staticmethod
        def backward(ctx, grad):
            x, w = ctx.saved_variables
            return grad * w, (grad * x).sum()

    return Scale


def test_ctx_saved_variables_alias_warns_like_torch():
    results = []
    for lib in (torch, ember):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        w = lib.tensor(2.0, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = _scale_function(lib).apply(x, w)
            in_forward = y.grad_fn.seen_in_forward
            on_node = y.grad_fn.saved_variables
            y.sum().backward()
        messages = [(w_.category, str(w_.message)) for w_ in caught]
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            _ = y.grad_fn.saved_variables
        results.append((in_forward, len(on_node), x.grad.tolist(), w.grad.item(), messages))
    assert results[1] == results[0]
    assert results[0][-1][0] == (DeprecationWarning,
                                 "'saved_variables' is deprecated; use 'saved_tensors'")


def test_builtin_nodes_have_no_saved_variables():
    for lib in (torch, ember):
        x = lib.ones(2, requires_grad=True)
        assert not hasattr(lib.mul(x, x).grad_fn, "saved_variables")


@pytest.mark.parametrize("name,kwargs", [
    ("upsample", dict(scale_factor=2, mode="bicubic", align_corners=False)),
    ("upsample", dict(size=(3, 5))), ("upsample_nearest", dict(scale_factor=2)),
    ("upsample_bilinear", dict(size=(4, 3)))])
def test_deprecated_upsample_functions_warn(name, kwargs):
    results = []
    for lib in (torch, ember):
        x = lib.arange(8.0).reshape(1, 2, 2, 2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = getattr(lib.nn.functional, name)(x, **kwargs)
        here = [(w.category, str(w.message), w.filename) for w in caught]
        results.append((here, np.round(out.numpy().astype(np.float64), 4).tolist()))
    assert results[1] == results[0]
    assert results[0][0][0][2] == __file__  # attributed to the caller's line


def test_upsampling_modules_do_not_warn():
    for lib in (torch, ember):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.nn.UpsamplingBilinear2d(scale_factor=2)(lib.zeros(1, 1, 2, 2))
            lib.nn.UpsamplingNearest2d(size=3)(lib.zeros(1, 1, 2, 2))


_HALF_INPUT = np.random.default_rng(3).standard_normal((2, 3, 6, 7, 5)).astype(np.float32)
_HALF_GRAD = np.random.default_rng(4).standard_normal((2, 3, 12, 14, 10)).astype(np.float32)


def _interp_low(lib, dtype, mode, nd, align_corners):
    x = _HALF_INPUT[(Ellipsis,) + (0,) * (3 - nd)]
    x = lib.from_numpy(x.copy()).to(getattr(lib, dtype)).requires_grad_()
    y = lib.nn.functional.interpolate(x, scale_factor=2, mode=mode, align_corners=align_corners)
    g = _HALF_GRAD[(Ellipsis,) + tuple(slice(0, n) for n in y.shape[2:]) + (0,) * (3 - nd)]
    y.backward(lib.from_numpy(np.ascontiguousarray(g)).to(getattr(lib, dtype)))
    return y.detach().float().numpy(), x.grad.float().numpy(), y.grad_fn.name()


# (bicubic bfloat16 is left out: torch rounds its cubic weights differently there, and one
# element in five still ends one unit in the last place off)
@pytest.mark.parametrize("dtype,mode,nd", [
    ("float16", "bilinear", 2), ("bfloat16", "bilinear", 2), ("float16", "trilinear", 3),
    ("bfloat16", "trilinear", 3), ("float16", "bicubic", 2), ("float16", "linear", 1),
    ("bfloat16", "linear", 1)])
def test_low_precision_2x_upsampling_bit_exact(dtype, mode, nd):
    want = _interp_low(torch, dtype, mode, nd, False)
    got = _interp_low(ember, dtype, mode, nd, False)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[2] == want[2]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_adaptive_avg_pool_mostly_exact(dtype):
    x = _HALF_INPUT[..., 0]
    outs = [lib.nn.functional.adaptive_avg_pool2d(lib.from_numpy(x.copy()).to(
        getattr(lib, dtype)), (4, 5)).float().numpy() for lib in (torch, ember)]
    assert outs[1].dtype == outs[0].dtype
    # one rounding instead of one per axis: 1 in 15 elements still differ by one ulp (torch
    # rounds its weights its own way), against 1 in 3 before
    assert (outs[1] != outs[0]).mean() < 0.1
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-2, atol=1e-2)
