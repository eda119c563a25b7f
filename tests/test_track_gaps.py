"""Gaps found while writing the multi-object-tracking programs (tests/programs/track_*.py),
each checked against PyTorch: ``torch.linalg.solve_triangular`` refuses a call without its
keyword-only ``upper`` and non-bool flags with torch's own TypeErrors; an out-of-range integer
index names its position in the index as torch does (``t[..., 5]`` reports dimension 1);
``padding='same'`` with an even kernel warns once, as torch's kernel does; torchvision's IoU
family takes batched boxes ``(..., N, 4)`` and computes ``xywh``/``cxcywh`` IoU in their own
arithmetic; complex64 products (correlation-filter trackers multiply spectra) are formed as
torch's vectorised kernel forms them, four rounded real products, not NumPy's fused ones, so
``X * X.conj()`` is exactly real; a singular system in a batch (a Kalman gain with a
degenerate covariance) names its batch element, ``lu_factor`` raises torch's RuntimeError
with the first failing matrix's pivot, and ``solve_ex`` names itself. torchvision is not importable beside the oracle, so its
formulas (torchvision/ops/boxes.py, 0.28) are replayed with torch ops."""

import math
import warnings

import numpy as np
import pytest
import torch

import ember
from ember.vision import ops


def _error(fn, *args, **kwargs):
    with pytest.raises(Exception) as info:
        fn(*args, **kwargs)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("kwargs", [{}, {"upper": None}, {"upper": 1}, {"upper": "yes"},
                                    {"upper": True, "left": 0},
                                    {"upper": False, "unitriangular": None}])
def test_solve_triangular_flags_are_checked_like_torch(kwargs):
    got = _error(ember.linalg.solve_triangular, ember.eye(3), ember.ones(3, 1), **kwargs)
    want = _error(torch.linalg.solve_triangular, torch.eye(3), torch.ones(3, 1), **kwargs)
    assert got == want


def test_solve_triangular_still_solves_with_bool_flags():
    a = [[2.0, 0.0], [1.0, 4.0]]
    b = [[2.0], [9.0]]
    got = ember.linalg.solve_triangular(ember.tensor(a), ember.tensor(b), upper=False)
    want = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=False)
    assert got.tolist() == want.tolist()


_INDEX_CASES = ["t1[..., 3]", "t2[..., 5, :]", "t3[..., 5]", "t3[..., -9]", "t3[0, ..., 7]",
                "t1[None, ..., 4]", "t2[None, 5]", "t2[None, None, 0, 7]", "t3[True, 0, 9]",
                "t3[0:1, None, 5]", "t3[0, ..., ..., 9]", "t3[..., lib.tensor(9)]",
                "t3[[0], 9]", "t2[5]", "t2[:, 5]"]


@pytest.mark.parametrize("expr", _INDEX_CASES)
def test_out_of_range_index_names_its_position_like_torch(expr):
    def message(lib):
        scope = {"lib": lib, "t1": lib.zeros(3), "t2": lib.zeros(2, 3), "t3": lib.zeros(2, 3, 4)}
        with pytest.raises(IndexError) as info:
            exec(expr, scope)
        return str(info.value)

    assert message(ember) == message(torch)


def test_out_of_range_index_assignment_names_its_position_like_torch():
    def message(lib):
        t = lib.zeros(2, 3, 4)
        with pytest.raises(IndexError) as info:
            t[None, 0, 7] = 1.0
        return str(info.value)

    assert message(ember) == message(torch)


def _same_padding_warnings(lib, *convs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib.set_warn_always(True)  # torch warns once per process; ask for every time
        try:
            for conv in convs:
                conv(lib)
        finally:
            lib.set_warn_always(False)
    return [str(w.message).split(" (Triggered internally")[0] for w in caught
            if "padding='same'" in str(w.message)]


@pytest.mark.parametrize("conv", [
    lambda lib: lib.nn.functional.conv2d(lib.ones(1, 4, 5, 5), lib.ones(4, 2, 2, 2),
                                         padding="same", groups=2),
    lambda lib: lib.nn.functional.conv1d(lib.ones(1, 2, 6), lib.ones(2, 2, 4), padding="same"),
    lambda lib: lib.nn.functional.conv2d(lib.ones(1, 1, 5, 5), lib.ones(1, 1, 3, 2),
                                         padding="same", dilation=(1, 2)),
    lambda lib: lib.nn.functional.conv2d(lib.ones(1, 1, 5, 5), lib.ones(1, 1, 3, 3),
                                         padding="same"),
])
def test_same_padding_with_an_even_kernel_warns_like_torch(conv):
    assert _same_padding_warnings(ember, conv) == _same_padding_warnings(torch, conv)


def test_same_padding_warning_comes_once_per_process():
    import ember._config as config

    def run(lib):
        return lib.nn.functional.conv2d(lib.ones(1, 1, 4, 4), lib.ones(1, 1, 2, 2),
                                        padding="same")

    config._warned_once.discard("conv_same_even_kernel")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = [run(ember) for _ in range(3)]
    assert sum("padding='same'" in str(w.message) for w in caught) == 1
    assert got[0].tolist() == run(torch).tolist()


# torchvision 0.28's formulas, replayed with torch ops
def _tv_area(b, fmt="xyxy"):
    if fmt == "xyxy":
        return (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return b[..., 2] * b[..., 3]


def _tv_inter_union(b1, b2, fmt="xyxy"):
    a1, a2 = _tv_area(b1, fmt), _tv_area(b2, fmt)
    if fmt == "xyxy":
        lt = torch.max(b1[..., None, :2], b2[..., None, :, :2])
        rb = torch.min(b1[..., None, 2:], b2[..., None, :, 2:])
    elif fmt == "xywh":
        lt = torch.max(b1[..., None, :2], b2[..., None, :, :2])
        rb = torch.min(b1[..., None, :2] + b1[..., None, 2:],
                       b2[..., None, :, :2] + b2[..., None, :, 2:])
    else:
        lt = torch.max(b1[..., None, :2] - b1[..., None, 2:] / 2,
                       b2[..., None, :, :2] - b2[..., None, :, 2:] / 2)
        rb = torch.min(b1[..., None, :2] + b1[..., None, 2:] / 2,
                       b2[..., None, :, :2] + b2[..., None, :, 2:] / 2)
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter, a1[..., None] + a2[..., None, :] - inter


def _tv_iou(b1, b2, fmt="xyxy"):
    inter, union = _tv_inter_union(b1, b2, fmt)
    return inter / union


def _tv_enclosing(b1, b2):
    lti = torch.min(b1[..., None, :2], b2[..., None, :, :2])
    rbi = torch.max(b1[..., None, 2:], b2[..., None, :, 2:])
    return (rbi - lti).clamp(min=0)


def _tv_giou(b1, b2):
    inter, union = _tv_inter_union(b1, b2)
    whi = _tv_enclosing(b1, b2)
    areai = whi[..., 0] * whi[..., 1]
    return inter / union - (areai - union) / areai


def _tv_diou_iou(b1, b2, eps=1e-7):
    iou = _tv_iou(b1, b2)
    whi = _tv_enclosing(b1, b2)
    diag = whi[..., 0] ** 2 + whi[..., 1] ** 2 + eps
    xp, yp = (b1[..., 0] + b1[..., 2]) / 2, (b1[..., 1] + b1[..., 3]) / 2
    xg, yg = (b2[..., 0] + b2[..., 2]) / 2, (b2[..., 1] + b2[..., 3]) / 2
    centers = (xp[..., None] - xg[..., None, :]) ** 2 + (yp[..., None] - yg[..., None, :]) ** 2
    return iou - centers / diag, iou


def _tv_ciou(b1, b2, eps=1e-7):
    diou, iou = _tv_diou_iou(b1, b2, eps)
    w_pred = b1[..., None, 2] - b1[..., None, 0]
    h_pred = b1[..., None, 3] - b1[..., None, 1]
    w_gt = b2[..., None, :, 2] - b2[..., None, :, 0]
    h_gt = b2[..., None, :, 3] - b2[..., None, :, 1]
    v = (4 / (math.pi ** 2)) * torch.pow(torch.atan(w_pred / h_pred) - torch.atan(w_gt / h_gt), 2)
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return diou - alpha * v


def _boxes(shape, seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1, shape + (2,))
    wh = rng.uniform(0.05, 0.7, shape + (2,))
    return np.concatenate([xy, xy + wh], -1).astype(np.float32)


@pytest.mark.parametrize("shape1,shape2", [((5,), (3,)), ((2, 5), (2, 3)), ((4, 1, 3), (2, 6))])
@pytest.mark.parametrize("name,oracle", [("box_iou", _tv_iou),
                                         ("generalized_box_iou", _tv_giou),
                                         ("distance_box_iou", lambda a, b: _tv_diou_iou(a, b)[0]),
                                         ("complete_box_iou", _tv_ciou)])
def test_iou_family_takes_batched_boxes(name, oracle, shape1, shape2):
    b1, b2 = _boxes(shape1, 0), _boxes(shape2, 1)
    got = getattr(ops, name)(ember.from_numpy(b1), ember.from_numpy(b2))
    want = oracle(torch.from_numpy(b1), torch.from_numpy(b2))
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fmt", ["xywh", "cxcywh"])
def test_iou_in_other_formats_is_computed_in_their_own_arithmetic(fmt):
    rng = np.random.default_rng(3)
    b1 = rng.uniform(0.05, 0.9, (2, 64, 4)).astype(np.float32)
    b2 = rng.uniform(0.05, 0.9, (2, 48, 4)).astype(np.float32)
    got = ops.box_iou(ember.from_numpy(b1), ember.from_numpy(b2), fmt=fmt)
    want = _tv_iou(torch.from_numpy(b1), torch.from_numpy(b2), fmt)
    assert got.numpy().tobytes() == want.numpy().tobytes()
    area = ops.box_area(ember.from_numpy(b1), fmt=fmt)
    assert area.numpy().tobytes() == _tv_area(torch.from_numpy(b1), fmt).numpy().tobytes()


def test_batched_iou_gradients_reach_the_boxes():
    b1, b2 = _boxes((2, 3), 4), _boxes((2, 2), 5)
    e1 = ember.from_numpy(b1).requires_grad_()
    t1 = torch.from_numpy(b1).requires_grad_()
    ops.complete_box_iou(e1, ember.from_numpy(b2)).sum().backward()
    _tv_ciou(t1, torch.from_numpy(b2)).sum().backward()
    np.testing.assert_allclose(e1.grad.numpy(), t1.grad.numpy(), rtol=1e-5, atol=1e-6)


def _spectra(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=n) + 1j * rng.normal(size=n)).astype(np.complex64)


@pytest.mark.parametrize("n", [64, 1024])
def test_complex64_product_is_torchs(n):
    # whole vectors of torch's kernel (a multiple of 8 elements); its scalar tail is
    # compiler-dependent in the last bit
    a, b = _spectra(n, 0), _spectra(n, 1)
    want = (torch.from_numpy(a) * torch.from_numpy(b)).numpy()
    got = (ember.from_numpy(a) * ember.from_numpy(b)).numpy()
    assert got.tobytes() == want.tobytes()
    assert ember.mul(ember.from_numpy(a), ember.from_numpy(b)).numpy().tobytes() == want.tobytes()
    inplace = ember.from_numpy(a.copy())
    inplace.mul_(ember.from_numpy(b))
    assert inplace.numpy().tobytes() == want.tobytes()


def test_power_spectrum_is_exactly_real():
    a = _spectra(64, 2)
    want = torch.from_numpy(a) * torch.from_numpy(a).conj()
    got = ember.from_numpy(a) * ember.from_numpy(a).conj()
    assert (want.imag == 0).all() and (got.imag.numpy() == 0).all()
    assert got.numpy().tobytes() == want.numpy().tobytes()


def test_complex64_product_gradient_is_unchanged():
    a, b = _spectra(8, 3), _spectra(8, 4)
    ea, ta = ember.from_numpy(a).requires_grad_(), torch.from_numpy(a).requires_grad_()
    (ea * ember.from_numpy(b)).abs().sum().backward()
    (ta * torch.from_numpy(b)).abs().sum().backward()
    np.testing.assert_allclose(ea.grad.numpy(), ta.grad.numpy(), rtol=1e-5, atol=1e-6)


def _singular_batches(lib):
    s = lib.eye(3).repeat(3, 1, 1)
    s[2] = 0
    t = lib.eye(3).repeat(3, 1, 1)
    t[1] = 0
    t[2] = 0
    t[2, 0, 0] = 1
    u = lib.eye(3).repeat(2, 2, 1, 1)
    u[1, 0] = 0
    return [s, t, u, s[2], t[2]]


@pytest.mark.parametrize("which", range(5))
@pytest.mark.parametrize("call", [
    lambda lib, a: lib.linalg.lu_factor(a),
    lambda lib, a: lib.linalg.lu_factor_ex(a, check_errors=True),
    lambda lib, a: lib.linalg.solve(a, lib.ones(3, 1)),
    lambda lib, a: lib.linalg.solve(a, lib.ones(4, 3, 1)) if a.dim() == 2 else a.inverse(),
    lambda lib, a: lib.linalg.solve_ex(a, lib.ones(3, 1), check_errors=True),
])
def test_singular_systems_are_reported_like_torch(which, call):
    def report(lib):
        with pytest.raises(RuntimeError) as info:
            call(lib, _singular_batches(lib)[which])
        return isinstance(info.value, lib.linalg.LinAlgError), str(info.value)

    assert report(ember) == report(torch)
