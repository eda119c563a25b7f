"""Gaps found while writing the semantic-segmentation programs (tests/programs/seg_*.py), each
checked against PyTorch: ``F.interpolate`` on uint8 images/label maps in the 'bilinear',
'bicubic' and 'lanczos' modes (torch's fixed-point separable kernels, emulated bit for bit,
with ``align_corners``, ``scale_factor`` and ``antialias``); the kernel names in the
"not implemented for" errors of the other integer cases; torchvision v2's ``resize`` of uint8
tensors, which calls that kernel for bicubic without antialias and for lanczos too."""

import contextlib
import warnings

import numpy as np
import pytest
import torch

import ember


def _pair(shape=(2, 3, 9, 11), seed=0):
    data = np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)
    return torch.from_numpy(data.copy()), ember.from_numpy(data.copy())


_SPECS = [dict(size=(13, 17)), dict(size=(4, 5)), dict(size=(9, 6)), dict(size=(2, 3)),
          dict(scale_factor=1.5), dict(scale_factor=(0.6, 1.3)), dict(scale_factor=2.0),
          dict(scale_factor=0.7, recompute_scale_factor=True), dict(size=(9, 11))]


@pytest.mark.parametrize("mode,antialias,align_corners", [
    ("bilinear", False, False), ("bilinear", False, True), ("bilinear", True, False),
    ("bilinear", True, True), ("bicubic", False, False), ("bicubic", False, True),
    ("bicubic", True, False), ("bicubic", True, True), ("lanczos", True, False)])
def test_interpolate_uint8_bit_exact(mode, antialias, align_corners):
    t, e = _pair()
    for spec in _SPECS:
        kw = dict(mode=mode, antialias=antialias, align_corners=align_corners, **spec)
        want = torch.nn.functional.interpolate(t, **kw)
        got = ember.nn.functional.interpolate(e, **kw)
        assert got.dtype == ember.uint8 and tuple(got.shape) == tuple(want.shape), spec
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=str(spec))


@pytest.mark.parametrize("shape", [(1, 1, 5, 4), (1, 4, 16, 3), (3, 8, 3, 7)])
def test_interpolate_uint8_shapes_and_channels_last(shape):
    t, e = _pair(shape, seed=1)
    t, e = (t.contiguous(memory_format=torch.channels_last),
            e.contiguous(memory_format=ember.channels_last))
    for mode in ("bilinear", "bicubic"):
        want = torch.nn.functional.interpolate(t, size=(7, 9), mode=mode)
        got = ember.nn.functional.interpolate(e, size=(7, 9), mode=mode)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.stride() == want.stride()


def test_upsample_modules_uint8():
    t, e = _pair((1, 3, 4, 5), seed=2)
    for lib, x in ((torch, t), (ember, e)):
        out = [lib.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)(x),
               lib.nn.UpsamplingBilinear2d(size=(6, 7))(x)]
        if lib is torch:
            want = out
        else:
            got = out
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001  (the type and message are compared)
        return type(exc).__name__, str(exc)
    return None


@pytest.mark.parametrize("dtype", ["uint8", "int64", "int32", "bool"])
@pytest.mark.parametrize("mode,nd,aa", [("linear", 1, False), ("bilinear", 2, False),
                                        ("bicubic", 2, False), ("trilinear", 3, False),
                                        ("area", 1, False), ("area", 2, False),
                                        ("area", 3, False), ("nearest", 1, False),
                                        ("nearest", 2, False), ("nearest-exact", 3, False),
                                        ("bilinear", 2, True), ("lanczos", 2, True)])
def test_interpolate_integer_errors_match_torch(dtype, mode, nd, aa):
    def run(lib):
        x = lib.zeros((2, 3) + (4,) * nd, dtype=getattr(lib, dtype))
        return lib.nn.functional.interpolate(x, size=(6,) * nd, mode=mode, antialias=aa)

    assert _error(lambda: run(ember)) == _error(lambda: run(torch))


def test_v2_resize_uint8_uses_the_uint8_kernel():
    from ember.vision.transforms import InterpolationMode as IM
    from ember.vision.transforms.v2 import functional as F2

    t, e = _pair((3, 9, 11), seed=3)
    for mode, aa in ((IM.BICUBIC, False), (IM.BICUBIC, True), (IM.BILINEAR, True),
                     (IM.LANCZOS, True)):
        got = F2.resize(e, [5, 14], interpolation=mode, antialias=aa)
        want = torch.nn.functional.interpolate(t[None], size=(5, 14), mode=mode.value,
                                               align_corners=False, antialias=aa)[0]
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(ValueError, match="InterpolationMode.LANCZOS requires antialias=True"):
        F2.resize(e, [5, 14], interpolation=IM.LANCZOS, antialias=False)


def test_v2_resize_lanczos_integer_and_float_tensors():
    from ember.vision.transforms import InterpolationMode as IM
    from ember.vision.transforms.v2 import functional as F2

    t, e = _pair((2, 3, 8, 10), seed=4)
    for dtype in ("int16", "float64"):
        got = F2.resize(e.to(getattr(ember, dtype)), [4, 13], interpolation=IM.LANCZOS)
        want = torch.nn.functional.interpolate(t.double(), size=(4, 13), mode="lanczos",
                                               antialias=True, align_corners=False)
        want = want.round() if dtype == "int16" else want
        assert got.dtype == getattr(ember, dtype) and tuple(got.shape) == (2, 3, 4, 13)
        np.testing.assert_allclose(got.double().numpy(), want.numpy(), atol=1.0 if
                                   dtype == "int16" else 1e-4)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "bool",
                                   "float16", "bfloat16", "float64"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_pool_dtypes_match_torch(dtype, nd):
    """torch pools float32/64 and int64 (and half/bfloat16 in 1-d/2-d): a uint8 image must be
    converted first, not averaged in uint8."""
    def run(lib):
        x = (lib.arange(2 * 3 * 4 ** nd).reshape((2, 3) + (4,) * nd) % 7).to(
            getattr(lib, dtype))
        F = lib.nn.functional
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[nd - 1]
        lp = (F.lp_pool1d, F.lp_pool2d, F.lp_pool3d)[nd - 1]
        out = []
        for fn in (lambda: pool(x, 2), lambda: pool(x, 3, 2, 1, count_include_pad=False),
                   lambda: lp(x, 2, 2)):
            err = _error(fn)
            out.append(err if err else (str(fn().dtype), round(fn().double().sum().item(), 2)))
        return out

    assert run(ember) == [(e if isinstance(e[0], str) and "." in e[0] else e) for e in run(torch)]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "lanczos"])
def test_interpolate_antialias_refuses_half(dtype, mode):
    def run(lib):
        x = lib.rand(1, 2, 6, 6).to(getattr(lib, dtype))
        return lib.nn.functional.interpolate(x, size=(3, 4), mode=mode, antialias=True)

    assert _error(lambda: run(ember)) == _error(lambda: run(torch)) is not None


@pytest.mark.parametrize("dtype", ["int8", "int16", "uint16", "uint32", "int32", "uint8",
                                   "bool"])
def test_index_tensor_dtypes_match_torch(dtype):
    """torch indexes with int64/int32 and uint8/bool masks only: an int8 or int16 index
    tensor is refused, not silently used."""
    def run(lib):
        x = lib.arange(12).view(3, 4)
        i = (lib.tensor([True, False, True]) if dtype == "bool"
             else lib.tensor([0, 2, 1]).to(getattr(lib, dtype)))
        out = []
        for fn in (lambda: x[i], lambda: x[:, i[:2]] if dtype != "bool" else x[i, 1:],
                   lambda: x.clone().index_put_((i,), lib.tensor(5)),
                   lambda: x.clone().__setitem__(i, 0)):
            err = _error(fn)
            res = fn() if err is None else None
            out.append(err if err else (res.tolist() if res is not None else None))
        return out

    with pytest.warns(UserWarning) if dtype == "uint8" else contextlib.nullcontext():
        mine = run(ember)
    assert mine == run(torch)


@pytest.mark.parametrize("case", ["float_into_long", "one_elem", "mask2d", "out_of_place",
                                  "int_into_float", "vector_values", "accumulate",
                                  "index_not_mask", "uint8_mask"])
def test_index_put_lone_mask_fills_like_masked_fill(case):
    """``label.index_put_((label == 0,), torch.tensor(255.))``: torch routes a lone mask with a
    one-element value through ``masked_fill_`` (value cast to the tensor's dtype)."""
    def run(lib):
        x = lib.arange(12).view(3, 4)
        m = lib.tensor([True, False, True])
        fns = {
            "float_into_long": lambda: x.clone().index_put_((m,), lib.tensor(5.5)),
            "one_elem": lambda: x.clone().index_put_((m,), lib.tensor([5.5])),
            "mask2d": lambda: x.clone().index_put_((x > 5,), lib.tensor(255.0)),
            "out_of_place": lambda: lib.index_put(x, (m,), lib.tensor(2.5)),
            "int_into_float": lambda: x.double().index_put_((m,), lib.tensor(7)),
            "vector_values": lambda: x.clone().index_put_((m,), lib.tensor([5.5] * 4)),
            "accumulate": lambda: x.clone().index_put_((m,), lib.tensor(5.5), accumulate=True),
            "index_not_mask": lambda: x.clone().index_put_((lib.tensor([0]),), lib.tensor(5.5)),
            "uint8_mask": lambda: x.clone().index_put_((m.to(lib.uint8),), lib.tensor(7)),
        }
        err = _error(fns[case])
        return err if err else (fns[case]().tolist(), str(fns[case]().dtype))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run(ember) == run(torch)


def test_index_put_lone_mask_gradients():
    grads = []
    for lib in (torch, ember):
        x = lib.zeros(5, requires_grad=True)
        v = lib.tensor(3.0, dtype=lib.float64, requires_grad=True)
        y = x.clone().index_put_((lib.tensor([True, False, True, False, True]),), v)
        (y * lib.arange(5.0)).sum().backward()
        grads.append((y.grad_fn.name(), y.tolist(), x.grad.tolist(), v.grad.item(),
                      str(v.grad.dtype)))
    assert grads[0] == grads[1]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [((2, 3, 5), (1, 2)), ((1, 2, 4, 5), (1, 2, 1, 0)),
                                       ((2, 4, 5), (1, 2, 1, 1)), ((1, 1, 3, 4, 5), (1,) * 6),
                                       ((1, 2, 4, 5), (0, 0, 0, 0)), ((2, 4, 5), (0, 0))])
def test_pad_modes_node_names_and_fresh_outputs(mode, shape, pad):
    """``F.pad(x, ..., mode="reflect")`` leaves torch's ReflectionPad2DBackward0 (and
    Replication...) on top, and all-zero pads still give a new tensor, never ``x`` itself."""
    def run(lib):
        x = lib.rand(*shape, requires_grad=True)
        y = lib.nn.functional.pad(x, pad, mode=mode)
        plain = lib.rand(*shape)
        z = lib.nn.functional.pad(plain, pad, mode=mode)
        name = y.grad_fn.name() if mode != "circular" else None
        return name, y is x, z is plain, z.data_ptr() == plain.data_ptr()

    assert run(ember) == run(torch)
