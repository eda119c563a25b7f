"""Gaps found by the medical-imaging programs (tests/programs/med_*.py), checked against torch:
``F.interpolate`` resamples uint8 volumes in the nearest modes (label maps stored as bytes),
``F.affine_grid`` names ``size`` in its errors as it was given, ``quantile`` refuses a slice
longer than 2**24 values as torch does, and ``cross_entropy``/``nll_loss`` check a class
``weight`` (one value per class, the input's dtype), refuse uint8 targets beside 3-D or larger
inputs, and promote probability targets' losses with a float64 target or weight; the
instance-norm single-voxel error shows the input's Size as torch does, ``F.fold``'s channel
error ends as torch's, and ``adaptive_avg_pool3d``/``adaptive_max_pool3d`` run in float32 under
CPU autocast; ``scatter`` with a Tensor ``src`` and ``reduce`` warns of its deprecation once."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and words are what is compared
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
@pytest.mark.parametrize("shape,kw", [
    ((1, 2, 5), {"scale_factor": 2.5}),
    ((2, 1, 3, 5), {"size": (7, 2)}),
    ((1, 2, 3, 4, 5), {"scale_factor": (1.5, 0.5, 2.0)}),
    ((1, 1, 4, 6, 5), {"size": (3, 9, 5)}),
])
def test_interpolate_nearest_uint8(mode, shape, kw):
    data = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    want = torch.nn.functional.interpolate(torch.tensor(data), mode=mode, **kw)
    got = ember.nn.functional.interpolate(ember.tensor(data), mode=mode, **kw)
    assert got.dtype == ember.uint8 and want.dtype == torch.uint8
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_upsample_module_uint8_label_map():
    data = np.random.default_rng(1).integers(0, 4, (1, 1, 3, 4, 2)).astype(np.uint8)
    want = torch.nn.Upsample(scale_factor=2)(torch.tensor(data))
    got = ember.nn.Upsample(scale_factor=2)(ember.tensor(data))
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "bool"])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_interpolate_nearest_other_ints_still_refused(dtype, mode):
    t = _error(lambda: torch.nn.functional.interpolate(
        torch.zeros(1, 1, 2, 2, 2, dtype=getattr(torch, dtype)), scale_factor=2, mode=mode))
    e = _error(lambda: ember.nn.functional.interpolate(
        ember.zeros(1, 1, 2, 2, 2, dtype=getattr(ember, dtype)), scale_factor=2, mode=mode))
    assert t is not None and e is not None and e[0] == t[0]


@pytest.mark.parametrize("mode,shape", [("bilinear", (1, 1, 2, 2)),
                                        ("trilinear", (1, 1, 2, 2, 2)), ("area", (1, 1, 4, 4))])
def test_interpolate_uint8_other_modes(mode, shape):
    # torch's uint8 bilinear is a fixed-point kernel (emulated: tests/test_seg_gaps.py);
    # trilinear/area refuse
    t = _error(lambda: torch.nn.functional.interpolate(
        torch.zeros(shape, dtype=torch.uint8), scale_factor=0.5, mode=mode))
    e = _error(lambda: ember.nn.functional.interpolate(
        ember.zeros(shape, dtype=ember.uint8), scale_factor=0.5, mode=mode))
    if mode == "bilinear":
        assert t is None and e is None
    else:
        assert t is not None and e is not None and e[0] == t[0]


@pytest.mark.parametrize("size", [(1, 1, 2, 2), [1, 1, 2, 2], "Size", (1, 1, 2, 2, 2),
                                  [1, 1, 0, 2], (1, 2)])
@pytest.mark.parametrize("rows", [2, 3])
def test_affine_grid_error_shows_size_as_given(size, rows):
    def run(L):
        s = L.Size([1, 1, 0, 2]) if size == "Size" else size
        theta = L.zeros(1, rows, rows + 1)
        return _error(lambda: L.nn.functional.affine_grid(theta, s, align_corners=False))
    assert run(ember) == run(torch)


@pytest.mark.parametrize("fn", ["quantile", "nanquantile"])
@pytest.mark.parametrize("shape,dim", [((2 ** 24 + 1,), None), ((1, 2 ** 24 + 1), 1),
                                       ((2, 2 ** 23 + 1), None)])
def test_quantile_refuses_too_long_slices(fn, shape, dim):
    x = np.zeros(shape, np.float32)
    t = _error(lambda: getattr(torch, fn)(torch.from_numpy(x), 0.5, dim=dim))
    e = _error(lambda: getattr(ember, fn)(ember.from_numpy(x), 0.5, dim=dim))
    assert t == e == ("RuntimeError", "quantile() input tensor is too large")


def test_quantile_long_tensor_short_slices_allowed():
    # only the reduced slice's length counts: 2**24 + 2 values in two slices pass
    x = np.zeros((2, 2 ** 23 + 1), np.float32)
    x[1, :3] = 2.0
    want = torch.quantile(torch.from_numpy(x), 1.0, dim=1)
    got = ember.quantile(ember.from_numpy(x), 1.0, dim=1)
    assert got.tolist() == want.tolist() == [0.0, 2.0]


# -- class weights and byte targets in cross_entropy / nll_loss ---------------------------------

_SHAPES = [(4,), (3, 4), (2, 4, 3), (2, 4, 3, 3), (2, 4, 2, 2, 2)]


def _loss_inputs(L, shape):
    x = L.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    target = L.tensor(np.random.default_rng(1).integers(0, 4, tshape))
    return x, target


@pytest.mark.parametrize("shape", _SHAPES)
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("weight", [(3,), (5,), (2, 2), (), "float64", "int64"])
def test_class_weight_checked_like_torch(shape, fn, weight):
    def run(L):
        x, target = _loss_inputs(L, shape)
        if weight in ("float64", "int64"):
            w = L.ones(4, dtype=getattr(L, weight))
        else:
            w = L.ones(weight) if weight else L.tensor(2.0)
        return _error(lambda: getattr(L.nn.functional, fn)(x, target, weight=w))
    assert run(ember) == run(torch)


@pytest.mark.parametrize("shape", _SHAPES[2:])
def test_flat_weight_of_c_values_for_spatial_input(shape):
    # beside a 3-D or larger input torch reads any weight of C values flat
    x, target = _loss_inputs(torch, shape)
    ex, et = _loss_inputs(ember, shape)
    w = np.array([[0.5, 1.0], [2.0, 3.0]], np.float32)
    want = torch.nn.functional.cross_entropy(x, target, weight=torch.tensor(w))
    got = ember.nn.functional.cross_entropy(ex, et, weight=ember.tensor(w))
    assert abs(got.item() - want.item()) < 1e-6


@pytest.mark.parametrize("shape", _SHAPES)
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_uint8_targets_only_beside_small_inputs(shape, fn):
    def run(L):
        x, target = _loss_inputs(L, shape)
        try:
            return round(getattr(L.nn.functional, fn)(x, target.to(L.uint8)).item(), 5)
        except RuntimeError as e:
            return str(e)
    assert run(ember) == run(torch)


@pytest.mark.parametrize("case", ["target64", "weight64", "ls_weight64", "weight_int"])
def test_probability_targets_promote_like_torch(case):
    def run(L):
        x = L.tensor(np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32),
                     requires_grad=True)
        p = x.detach().softmax(1)
        w, ls = None, 0.0
        if case == "target64":
            p = p.double()
        elif case == "weight_int":
            w = L.tensor([1, 2, 1, 3])
        else:
            w = L.tensor([0.5, 1.0, 2.0, 1.5], dtype=L.float64)
            ls = 0.2 if case == "ls_weight64" else 0.0
        loss = L.nn.functional.cross_entropy(x, p, weight=w, label_smoothing=ls)
        loss.backward()
        return loss, x.grad
    (lt, gt), (le, ge) = run(torch), run(ember)
    assert str(le.dtype) == str(lt.dtype) and str(ge.dtype) == str(gt.dtype)
    assert abs(le.item() - lt.item()) < 1e-12 * (lt.dtype == torch.float64) + 1e-6
    np.testing.assert_allclose(ge.numpy(), gt.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape", _SHAPES[1:])
def test_probability_target_weight_shape_checked(shape):
    def run(L):
        x, _ = _loss_inputs(L, shape)
        return _error(lambda: L.nn.functional.cross_entropy(x, x.softmax(1), weight=L.ones(3)))
    assert run(ember) == run(torch)


@pytest.mark.parametrize("case", ["functional_5d", "module_unbatched_3d", "module_1d"])
def test_instance_norm_single_voxel_message(case):
    def run(L):
        fn = {"functional_5d": lambda: L.nn.functional.instance_norm(L.ones(2, 4, 1, 1, 1)),
              "module_unbatched_3d": lambda: L.nn.InstanceNorm3d(4)(L.ones(4, 1, 1, 1)),
              "module_1d": lambda: L.nn.InstanceNorm1d(4)(L.ones(4, 1))}[case]
        return _error(fn)
    assert run(ember) == run(torch) is not None


@pytest.mark.parametrize("kernel", [3, (4, 5)])
def test_fold_channel_count_message(kernel):
    # the overlap-add of 2-D slice patches: torch's words end with a full stop
    def run(L):
        return _error(lambda: L.nn.functional.fold(L.ones(2, 5, 4), (9, 11), kernel))
    assert run(ember) == run(torch) is not None


@pytest.mark.parametrize("case", ["avg1", "avg2", "avg_module", "max", "max_indices",
                                  "double"])
def test_adaptive_pool3d_autocasts_to_float32(case):
    # a 3-D classifier head (AdaptiveAvgPool3d) under CPU autocast: on torch's float32 list
    def run(L):
        x = L.tensor(np.random.default_rng(3).standard_normal((2, 3, 4, 4, 4)).astype(np.float32))
        F = L.nn.functional
        with L.autocast("cpu", dtype=L.bfloat16):
            out = {"avg1": lambda: F.adaptive_avg_pool3d(x.bfloat16(), 1),
                   "avg2": lambda: F.adaptive_avg_pool3d(x.bfloat16(), (2, 1, 2)),
                   "avg_module": lambda: L.nn.AdaptiveAvgPool3d(1)(L.nn.Conv3d(3, 2, 1)(x)),
                   "max": lambda: F.adaptive_max_pool3d(x.bfloat16(), 2),
                   "max_indices": lambda: F.adaptive_max_pool3d(x.bfloat16(), 2, True)[1],
                   "double": lambda: F.adaptive_avg_pool3d(x.double(), 2)}[case]()
        return str(out.dtype)
    assert run(ember) == run(torch)


_SCATTER_CALLS = {
    "scatter_src": "x.scatter(0, i, s, reduce='add')",
    "scatter__src": "x.clone().scatter_(0, i, s, reduce='multiply')",
    "scatter_value": "x.scatter(0, i, 2.0, reduce='add')",
    "scatter__value": "x.clone().scatter_(0, i, value=2.0, reduce='add')",
}


def _scatter_warnings(lib: str) -> dict:
    """Each call's warnings (the call made twice) under ``lib``, each in a fresh process state:
    PyTorch gives this warning once per program."""
    from tests._fresh_interpreter import run_each_fresh

    return run_each_fresh(lib, {
        case: (f"import warnings, {lib} as L\n"
               "x = L.zeros(3); i = L.tensor([0, 0, 2]); s = L.tensor([1., 2., 3.])\n"
               "with warnings.catch_warnings(record=True) as w:\n"
               "    warnings.simplefilter('always')\n"
               f"    {call}\n    {call}\n"
               "print([str(m.message).split(' (Triggered')[0] for m in w])\n")
        for case, call in _SCATTER_CALLS.items()})


@pytest.mark.parametrize("case", sorted(_SCATTER_CALLS))
def test_scatter_reduce_with_tensor_src_warns_once(case):
    expected = _scatter_warnings("torch")[case]
    assert expected.count("deprecated") == ("src" in case)  # once, though called twice
    assert _scatter_warnings("ember")[case] == expected
