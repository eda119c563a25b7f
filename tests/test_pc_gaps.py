"""Gaps found while writing the point-cloud programs (tests/programs/pc_*.py), each checked
against PyTorch: the dtype-mismatch messages of the batched and matrix-vector product kernels
(``bmm``/``matmul`` with a batch, ``matmul`` of a batch and a vector), and the once-per-program
UserWarning of ``searchsorted``/``bucketize`` on a non-contiguous input, boundary or sorter
tensor, and PyTorch's node names for ``grid_sample`` (GridSampler2D/3DBackward0) and
``cross``/``linalg.cross`` (LinalgCrossBackward0), ``instance_norm`` (ViewBackward0: torch
views a batch norm) and ``embedding_bag`` (EmbeddingBagBackward0 for every mode), which ember
builds from several ops."""

import warnings

import numpy as np
import pytest
import torch

import ember

PRODUCTS = {
    "bmm": lambda lib, a, b: lib.bmm(a((2, 3, 3)), b((2, 3, 3))),
    "matmul_3d_3d": lambda lib, a, b: a((2, 3, 3)) @ b((2, 3, 3)),
    "matmul_2d_3d": lambda lib, a, b: a((3, 3)) @ b((2, 3, 3)),
    "matmul_4d_3d": lambda lib, a, b: a((1, 2, 3, 3)) @ b((2, 3, 3)),
    "matmul_1d_3d": lambda lib, a, b: a((3,)) @ b((2, 3, 3)),
    "matmul_3d_1d": lambda lib, a, b: a((2, 3, 3)) @ b((3,)),
    "matmul_2d_1d": lambda lib, a, b: a((3, 3)) @ b((3,)),
    "mv": lambda lib, a, b: lib.mv(a((3, 3)), b((3,))),
    "matmul_3d_2d": lambda lib, a, b: a((2, 3, 3)) @ b((3, 3)),
}


def _product_error(lib, case, dt_a, dt_b):
    def make(dt):
        return lambda shape: lib.ones(*shape, dtype=getattr(lib, dt))

    try:
        PRODUCTS[case](lib, make(dt_a), make(dt_b))
    except RuntimeError as e:
        return str(e)
    return None


@pytest.mark.parametrize("case", sorted(PRODUCTS))
@pytest.mark.parametrize("dts", [("float64", "float32"), ("float32", "float64"),
                                 ("int64", "float32"), ("float16", "float32")])
def test_product_dtype_mismatch_message(case, dts):
    want = _product_error(torch, case, *dts)
    got = _product_error(ember, case, *dts)
    assert want is not None and got is not None
    # ember may add a hint after torch's sentence, never change it
    assert got.startswith(want), (got, want)


def _searchsorted_warnings(lib, call):
    prev = lib.is_warn_always_enabled()
    lib.set_warn_always(True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = call(lib)
    finally:
        lib.set_warn_always(prev)
    msgs = [str(w.message).split(" (Triggered internally")[0] for w in caught
            if issubclass(w.category, UserWarning)]
    return out.tolist(), msgs


SEARCHES = {
    "bucketize_input": lambda lib: lib.bucketize(
        lib.tensor([[0.2, 9.0], [0.7, 9.0]])[:, 0], lib.tensor([0.1, 0.5])),
    "searchsorted_input": lambda lib: lib.searchsorted(
        lib.tensor([0.1, 0.5]), lib.tensor([[0.2, 9.0], [0.7, 9.0]])[:, 0]),
    "searchsorted_boundary": lambda lib: lib.searchsorted(
        lib.tensor([[0.1, 9.0], [0.5, 9.0]])[:, 0], lib.tensor([0.3])),
    "searchsorted_sorter": lambda lib: lib.searchsorted(
        lib.tensor([0.5, 0.1]), lib.tensor([0.3]), sorter=lib.tensor([[1, 0], [0, 0]])[:, 0]),
    "searchsorted_all": lambda lib: lib.searchsorted(
        lib.tensor([[0.5, 9.0], [0.1, 9.0]])[:, 0], lib.tensor([[0.3, 1.0], [0.05, 1.0]])[:, 0],
        sorter=lib.tensor([[1, 0], [0, 0]])[:, 0]),
    "contiguous": lambda lib: lib.bucketize(lib.tensor([0.2, 0.7]), lib.tensor([0.1, 0.5])),
}


@pytest.mark.parametrize("case", sorted(SEARCHES))
def test_searchsorted_non_contiguous_warning(case):
    want = _searchsorted_warnings(torch, SEARCHES[case])
    got = _searchsorted_warnings(ember, SEARCHES[case])
    assert got == want


GRID_CASES = [(4, "bilinear"), (4, "nearest"), (4, "bicubic"), (5, "bilinear"), (5, "nearest")]


@pytest.mark.parametrize("ndim,mode", GRID_CASES)
@pytest.mark.parametrize("req", [(True, False), (False, True), (True, True)])
def test_grid_sample_node_name_and_grads(ndim, mode, req):
    x = np.random.default_rng(0).standard_normal((1, 2) + (3,) * (ndim - 2))
    g = np.random.default_rng(1).uniform(-1.1, 1.1, (1, 2, 2, ndim - 2) if ndim == 4
                                         else (1, 1, 2, 2, 3))
    res = {}
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=req[0])
        gt = lib.tensor(g, requires_grad=req[1])
        out = lib.nn.functional.grid_sample(xt, gt, mode=mode, padding_mode="border",
                                            align_corners=False)
        wrt = [t for t in (xt, gt) if t.requires_grad]
        grads = lib.autograd.grad(out.pow(2).sum(), wrt)
        res[lib.__name__] = (out.grad_fn.name(), [gr.detach().numpy() for gr in grads])
    assert res["ember"][0] == res["torch"][0]
    for a, b in zip(res["ember"][1], res["torch"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


CROSSES = {
    "torch.cross": lambda lib, a, b: lib.cross(a, b, dim=2),
    "linalg.cross": lambda lib, a, b: lib.linalg.cross(a, b),
    "broadcast": lambda lib, a, b: lib.linalg.cross(a, b[:1]),
    "method": lambda lib, a, b: a.cross(b, dim=-1),
}


@pytest.mark.parametrize("case", sorted(CROSSES))
def test_cross_node_name_and_grads(case):
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3))
    res = {}
    for lib in (torch, ember):
        a, b = lib.tensor(x, requires_grad=True), lib.tensor(y, requires_grad=True)
        out = CROSSES[case](lib, a, b)
        ga, gb = lib.autograd.grad((out * lib.tensor(x)).sum(), [a, b])
        res[lib.__name__] = (out.grad_fn.name(), ga.numpy(), gb.numpy())
    assert res["ember"][0] == res["torch"][0]
    np.testing.assert_allclose(res["ember"][1], res["torch"][1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res["ember"][2], res["torch"][2], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ndim", [3, 4, 5])
@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("train", [True, False])
def test_instance_norm_node_name_and_grads(ndim, affine, track, train):
    x = np.random.default_rng(3).standard_normal((2, 3) + (4,) * (ndim - 2))
    res = {}
    for lib in (torch, ember):
        cls = {3: lib.nn.InstanceNorm1d, 4: lib.nn.InstanceNorm2d, 5: lib.nn.InstanceNorm3d}[ndim]
        m = cls(3, affine=affine, track_running_stats=track).double().train(train)
        xt = lib.tensor(x, requires_grad=True)
        out = m(xt)
        gx, = lib.autograd.grad((out * lib.tensor(x)).sum(), [xt])
        res[lib.__name__] = (out.grad_fn.name(), out.detach().numpy(), gx.numpy())
    assert res["ember"][0] == res["torch"][0]
    np.testing.assert_allclose(res["ember"][1], res["torch"][1], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(res["ember"][2], res["torch"][2], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("bags", ["offsets", "2d"])
def test_embedding_bag_node_name_and_grads(mode, bags):
    w = np.random.default_rng(4).standard_normal((6, 3))
    res = {}
    for lib in (torch, ember):
        wt = lib.tensor(w, requires_grad=True)
        if bags == "offsets":
            out = lib.nn.functional.embedding_bag(lib.tensor([0, 2, 1, 3, 5]), wt,
                                                  lib.tensor([0, 2]), mode=mode)
        else:
            out = lib.nn.functional.embedding_bag(lib.tensor([[0, 2], [1, 3]]), wt, mode=mode)
        gw, = lib.autograd.grad((out * lib.arange(out.numel()).view(out.shape)).sum(), [wt])
        res[lib.__name__] = (out.grad_fn.name(), out.detach().numpy(), gw.numpy())
    assert res["ember"][0] == res["torch"][0]
    np.testing.assert_allclose(res["ember"][1], res["torch"][1], rtol=1e-12)
    np.testing.assert_allclose(res["ember"][2], res["torch"][2], rtol=1e-12)
