"""``nn.SyncBatchNorm`` and the batch-norm statistics functions behind it.

PyTorch runs ``batch_norm_stats``, ``batch_norm_gather_stats(_with_counts)``,
``batch_norm_elemt`` and ``batch_norm_backward_reduce``/``_elemt`` on GPUs only (no CPU or meta
kernel), so their values are checked against what PyTorch computes on the CPU for the same
quantities (``native_batch_norm``'s saved statistics, ``native_batch_norm_backward``,
``batch_norm_update_stats``), and their dtypes against the rules of PyTorch's CUDA kernels
(statistics in float32 for float16/bfloat16 inputs). ``batch_norm_update_stats`` runs on
PyTorch's CPU and is compared directly. The module is compared with ``torch.nn.SyncBatchNorm``
in one process (where both compute BatchNorm); a real two-process MPI run checks the
synchronized path against one BatchNorm over the whole batch.
"""

from __future__ import annotations

import numpy as np
import pytest

import ember

from ..distributed._launch import rank_results, require_mpi, shared_launch
from ..distributed.workers.sync_batchnorm import CHECKS

torch = pytest.importorskip("torch")

C = 3
SHAPES = [(6, C), (4, C, 5), (2, C, 3, 4), (2, C, 2, 2, 3)]


def _data(shape, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    scale = (1 + np.arange(shape[1])).reshape((1, -1) + (1,) * (len(shape) - 2))
    return (rng.standard_normal(shape) * scale + 0.5).astype(dtype)


def _dims(ndim):
    return (0,) + tuple(range(2, ndim))


def _np(t):
    return t.detach().numpy()


def _torch_stats(x, eps):
    """PyTorch's CPU batch statistics: native_batch_norm's saved mean and invstd."""
    _, mean, invstd = torch.native_batch_norm(torch.from_numpy(x), None, None, None, None,
                                              True, 0.1, eps)
    return mean.numpy(), invstd.numpy()


# -- batch_norm_stats ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_stats_values(shape, dtype):
    x = _data(shape, dtype=dtype)
    mean, invstd = ember.batch_norm_stats(ember.from_numpy(x), 1e-5)
    want_mean, want_invstd = _torch_stats(x, 1e-5)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    assert mean.dtype == invstd.dtype == getattr(ember, dtype)
    assert mean.shape == invstd.shape == (C,)
    np.testing.assert_allclose(_np(mean), want_mean, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(_np(invstd), want_invstd, rtol=rtol)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_batch_norm_stats_reduced_precision_gives_float32(dtype):
    x = _data((8, C, 4))
    xe = ember.from_numpy(x).to(getattr(ember, dtype))
    mean, invstd = ember.batch_norm_stats(xe, 1e-5)
    assert mean.dtype == invstd.dtype == ember.float32  # the CUDA kernel's accumulate type
    want_mean, want_invstd = _torch_stats(torch.from_numpy(x).to(getattr(torch, dtype))
                                          .float().numpy(), 1e-5)
    np.testing.assert_allclose(_np(mean), want_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(invstd), want_invstd, rtol=1e-5)


def test_batch_norm_stats_zero_variance_and_zero_eps_gives_zero_invstd():
    mean, invstd = ember.batch_norm_stats(ember.tensor([[1.0, 2.0], [3.0, 2.0]]), 0.0)
    assert mean.tolist() == [2.0, 2.0] and invstd.tolist() == [1.0, 0.0]


def test_batch_norm_stats_errors():
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        ember.batch_norm_stats(ember.ones(2, 3, dtype=ember.int64), 1e-5)
    with pytest.raises(IndexError, match="Dimension out of range"):
        ember.batch_norm_stats(ember.ones(3), 1e-5)


# -- batch_norm_gather_stats(_with_counts) ------------------------------------------------------

def _parts(x, sizes, eps):
    """Each part's batch_norm_stats, stacked as the all_gather in SyncBatchNorm stacks them."""
    means, invstds, start = [], [], 0
    for n in sizes:
        m, s = ember.batch_norm_stats(ember.from_numpy(x[start:start + n]), eps)
        means.append(m)
        invstds.append(s)
        start += n
    return ember.stack(means), ember.stack(invstds)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sizes", [[4, 4], [1, 3, 6], [7, 2]])
def test_gather_stats_with_counts_is_the_whole_batch(sizes, dtype):
    eps, momentum = 1e-5, 0.3
    x = _data((sum(sizes), C, 5), seed=1, dtype=dtype)
    mean_all, invstd_all = _parts(x, sizes, eps)
    dt = getattr(ember, dtype)
    rm, rv = ember.full((C,), 0.2, dtype=dt), ember.full((C,), 1.5, dtype=dt)
    counts = ember.tensor([n * 5 for n in sizes], dtype=dt)
    mean, invstd = ember.batch_norm_gather_stats_with_counts(
        ember.from_numpy(x), mean_all, invstd_all, rm, rv, momentum, eps, counts)
    want_mean, want_invstd = _torch_stats(x, eps)
    # the running statistics as PyTorch's CPU kernel updates them over the whole batch
    trm = torch.full((C,), 0.2, dtype=getattr(torch, dtype))
    trv = torch.full((C,), 1.5, dtype=getattr(torch, dtype))
    torch.batch_norm_update_stats(torch.from_numpy(x), trm, trv, momentum)
    rtol = 1e-5 if dtype == "float32" else 1e-11
    assert mean.dtype == invstd.dtype == dt and mean.shape == (C,)
    np.testing.assert_allclose(_np(mean), want_mean, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(_np(invstd), want_invstd, rtol=rtol)
    np.testing.assert_allclose(_np(rm), trm.numpy(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(_np(rv), trv.numpy(), rtol=rtol)


def test_gather_stats_without_running_stats_and_with_one_count():
    x = _data((8, C, 2), seed=2)
    mean_all, invstd_all = _parts(x, [4, 4], 1e-5)
    mean, invstd = ember.batch_norm_gather_stats(ember.from_numpy(x), mean_all, invstd_all,
                                                 None, None, 0.1, 1e-5, 8)
    want_mean, want_invstd = _torch_stats(x, 1e-5)
    np.testing.assert_allclose(_np(mean), want_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(invstd), want_invstd, rtol=1e-5)
    rm, rv = ember.zeros(C), ember.ones(C)
    ember.batch_norm_gather_stats(ember.from_numpy(x), mean_all, invstd_all, rm, rv, 0.1,
                                  1e-5, 8)
    trm, trv = torch.zeros(C), torch.ones(C)
    torch.batch_norm_update_stats(torch.from_numpy(x), trm, trv, 0.1)
    np.testing.assert_allclose(_np(rm), trm.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_np(rv), trv.numpy(), rtol=1e-5)


def test_gather_stats_dtypes_follow_the_kernel():
    x = ember.from_numpy(_data((4, C), seed=3)).half()
    mean_all, invstd_all = _parts(_data((4, C), seed=3), [2, 2], 1e-5)  # float32 statistics
    counts = ember.tensor([2.0, 2.0], dtype=ember.float16)
    mean, invstd = ember.batch_norm_gather_stats_with_counts(x, mean_all, invstd_all, None,
                                                             None, 0.1, 1e-5, counts)
    assert mean.dtype == invstd.dtype == ember.float32
    rm = ember.zeros(C)  # float32 running statistics: counts must be float32 too
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Half"):
        ember.batch_norm_gather_stats_with_counts(x, mean_all, invstd_all, rm, ember.ones(C),
                                                  0.1, 1e-5, counts)
    with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
        ember.batch_norm_gather_stats_with_counts(x.double(), mean_all, invstd_all, None, None,
                                                  0.1, 1e-5, counts.double())


# -- batch_norm_elemt ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_elemt_is_batch_norm_with_given_stats(shape, affine):
    x = _data(shape, seed=4)
    rng = np.random.default_rng(5)
    w, b = (rng.standard_normal(C).astype(np.float32) for _ in range(2))
    xe = ember.from_numpy(x)
    mean, invstd = ember.batch_norm_stats(xe, 1e-5)
    out = ember.batch_norm_elemt(xe, ember.from_numpy(w) if affine else None,
                                 ember.from_numpy(b) if affine else None, mean, invstd, 1e-5)
    want = torch.nn.functional.batch_norm(
        torch.from_numpy(x), None, None, torch.from_numpy(w) if affine else None,
        torch.from_numpy(b) if affine else None, True, 0.1, 1e-5)
    assert out.dtype == ember.float32 and out.shape == shape
    np.testing.assert_allclose(_np(out), want.numpy(), rtol=1e-5, atol=1e-5)


def test_batch_norm_elemt_keeps_the_input_dtype():
    x = ember.from_numpy(_data((4, C, 2))).half()
    mean, invstd = ember.batch_norm_stats(x, 1e-5)
    out = ember.batch_norm_elemt(x, ember.ones(C), ember.zeros(C), mean, invstd, 1e-5)
    assert out.dtype == ember.float16


# -- batch_norm_backward_reduce / batch_norm_backward_elemt -------------------------------------

def _torch_backward(x, g, w, eps):
    """(grad_input, grad_weight, grad_bias) of training batch norm from PyTorch's CPU kernel."""
    tx, tg, tw = (torch.from_numpy(a) for a in (x, g, w))
    _, mean, invstd = torch.native_batch_norm(tx, tw, None, None, None, True, 0.1, eps)
    return torch.ops.aten.native_batch_norm_backward(tg, tx, tw, None, None, mean, invstd, True,
                                                     eps, [True, True, True])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_backward_reduce_and_elemt_give_batch_norms_gradients(shape, dtype):
    eps = 1e-5
    x, g = _data(shape, seed=6, dtype=dtype), _data(shape, seed=7, dtype=dtype)
    w = np.random.default_rng(8).standard_normal(C).astype(dtype)
    xe, ge, we = ember.from_numpy(x), ember.from_numpy(g), ember.from_numpy(w)
    mean, invstd = ember.batch_norm_stats(xe, eps)
    sum_dy, sum_dy_xmu, grad_w, grad_b = ember.batch_norm_backward_reduce(
        ge, xe, mean, invstd, we, True, True, True)
    dims = _dims(len(shape))
    tx, tg = torch.from_numpy(x), torch.from_numpy(g)
    rtol = 1e-5 if dtype == "float32" else 1e-11
    np.testing.assert_allclose(_np(sum_dy), tg.sum(dims).numpy(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(
        _np(sum_dy_xmu), (tg * (tx - torch.from_numpy(_np(mean)).reshape(
            (1, -1) + (1,) * (len(shape) - 2)))).sum(dims).numpy(), rtol=rtol, atol=rtol)
    want_gi, want_gw, want_gb = _torch_backward(x, g, w, eps)
    np.testing.assert_allclose(_np(grad_w), want_gw.numpy(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(_np(grad_b), want_gb.numpy(), rtol=rtol, atol=rtol)
    count = ember.tensor([x.size // C], dtype=ember.int32)
    gi = ember.batch_norm_backward_elemt(ge, xe, mean, invstd, we, sum_dy, sum_dy_xmu, count)
    assert gi.dtype == getattr(ember, dtype) and gi.shape == shape
    np.testing.assert_allclose(_np(gi), want_gi.numpy(), rtol=1e-4 if dtype == "float32"
                               else 1e-10, atol=rtol)


def test_backward_elemt_with_counts_of_several_processes():
    # two parts of 3 and 5 rows: summing their reduce results gives the whole batch's gradient
    eps = 1e-5
    x, g = _data((8, C, 2), seed=9), _data((8, C, 2), seed=10)
    w = np.array([0.5, -1.0, 2.0], np.float32)
    mean_all, invstd_all = _parts(x, [3, 5], eps)
    mean, invstd = ember.batch_norm_gather_stats_with_counts(
        ember.from_numpy(x), mean_all, invstd_all, None, None, 0.1, eps,
        ember.tensor([6.0, 10.0]))
    we = ember.from_numpy(w)
    pieces = [(ember.from_numpy(g[a:b]), ember.from_numpy(x[a:b])) for a, b in ((0, 3), (3, 8))]
    reduced = [ember.batch_norm_backward_reduce(gp, xp, mean, invstd, we, True, False, False)
               for gp, xp in pieces]
    sum_dy = reduced[0][0] + reduced[1][0]
    sum_dy_xmu = reduced[0][1] + reduced[1][1]
    assert reduced[0][2] is None and reduced[0][3] is None
    count = ember.tensor([6, 10], dtype=ember.int32)
    gi = ember.cat([ember.batch_norm_backward_elemt(gp, xp, mean, invstd, we, sum_dy, sum_dy_xmu,
                                                    count) for gp, xp in pieces])
    want_gi, _, _ = _torch_backward(x, g, w, eps)
    np.testing.assert_allclose(_np(gi), want_gi.numpy(), rtol=1e-4, atol=1e-5)


def test_backward_reduce_dtypes_and_missing_weight():
    x = ember.from_numpy(_data((4, C, 2))).half()
    mean, invstd = ember.batch_norm_stats(x, 1e-5)
    sum_dy, sum_dy_xmu, gw, gb = ember.batch_norm_backward_reduce(
        ember.ones_like(x), x, mean, invstd, ember.ones(C, dtype=ember.float16), True, True, True)
    assert sum_dy.dtype == sum_dy_xmu.dtype == ember.float32  # mean's dtype
    assert gw.dtype == gb.dtype == ember.float16  # weight's dtype
    outs = ember.batch_norm_backward_reduce(x, x, mean, invstd, None, False, False, False)
    assert outs == (None, None, None, None)


def test_backward_errors():
    x = ember.from_numpy(_data((4, C)))
    mean, invstd = ember.batch_norm_stats(x, 1e-5)
    with pytest.raises(RuntimeError, match="mean and invstd need to have the same data types"):
        ember.batch_norm_backward_reduce(x, x, mean, invstd.double(), None, True, True, True)
    with pytest.raises(RuntimeError, match="expected scalar type Int but found Float"):
        ember.batch_norm_backward_elemt(x, x, mean, invstd, None, mean, mean,
                                        ember.tensor([4.0]))


# -- batch_norm_update_stats: PyTorch runs it on the CPU ----------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum", [0.1, 0.7])
def test_update_stats_against_torch(shape, momentum):
    x = _data(shape, seed=11)
    rm, rv = ember.full((C,), 0.3), ember.full((C,), 2.0)
    trm, trv = torch.full((C,), 0.3), torch.full((C,), 2.0)
    mean, var = ember.batch_norm_update_stats(ember.from_numpy(x), rm, rv, momentum)
    tmean, tvar = torch.batch_norm_update_stats(torch.from_numpy(x), trm, trv, momentum)
    for got, want in ((mean, tmean), (var, tvar), (rm, trm), (rv, trv)):
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_allclose(_np(got), want.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("input_dtype,stats_dtype", [
    ("float64", None), ("float16", None), ("float16", "float32"), ("bfloat16", "float32"),
    ("float16", "float16"), ("float64", "float64")])
def test_update_stats_dtypes(input_dtype, stats_dtype):
    x = _data((4, C, 3), seed=12)
    tx = torch.from_numpy(x).to(getattr(torch, input_dtype))
    ex = ember.from_numpy(x).to(getattr(ember, input_dtype))
    if stats_dtype is None:
        targs, eargs = (None, None), (None, None)
    else:
        targs = (torch.zeros(C, dtype=getattr(torch, stats_dtype)),
                 torch.ones(C, dtype=getattr(torch, stats_dtype)))
        eargs = (ember.zeros(C, dtype=getattr(ember, stats_dtype)),
                 ember.ones(C, dtype=getattr(ember, stats_dtype)))
    want = torch.batch_norm_update_stats(tx, *targs, 0.1)
    got = ember.batch_norm_update_stats(ex, *eargs, 0.1)
    tol = 1e-2 if input_dtype in ("float16", "bfloat16") else 1e-6
    for g, w in zip(got + tuple(a for a in eargs if a is not None),
                    want + tuple(a for a in targs if a is not None)):
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_allclose(_np(g.float()), w.float().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("case", ["long", "1d", "empty", "float_with_half_stats",
                                  "double_with_float_stats", "half_with_double_stats"])
def test_update_stats_errors_as_torch(case):
    x = _data((4, C))
    make = {
        "long": lambda lib: (lib.ones(4, C, dtype=lib.int64), None, None),
        "1d": lambda lib: (lib.ones(3), None, None),
        "empty": lib_empty,
        "float_with_half_stats": lambda lib: (lib.tensor(x), lib.zeros(C, dtype=lib.float16),
                                              lib.ones(C, dtype=lib.float16)),
        "double_with_float_stats": lambda lib: (lib.tensor(x).double(), lib.zeros(C),
                                                lib.ones(C)),
        "half_with_double_stats": lambda lib: (lib.tensor(x).half(), lib.zeros(C).double(),
                                               lib.ones(C).double()),
    }[case]
    with pytest.raises(Exception) as want:
        torch.batch_norm_update_stats(*make(torch), 0.1)
    with pytest.raises(want.type) as got:
        ember.batch_norm_update_stats(*make(ember), 0.1)
    assert str(got.value) == str(want.value)


def lib_empty(lib):
    return lib.ones(0, C), None, None


def test_update_stats_one_value_per_channel_gives_nan_running_var():
    rm, rv, trm, trv = ember.zeros(C), ember.ones(C), torch.zeros(C), torch.ones(C)
    x = _data((1, C))
    ember.batch_norm_update_stats(ember.tensor(x), rm, rv, 0.1)
    torch.batch_norm_update_stats(torch.tensor(x), trm, trv, 0.1)
    np.testing.assert_allclose(_np(rv), trv.numpy())
    np.testing.assert_allclose(_np(rm), trm.numpy(), rtol=1e-6)


# -- none of them is differentiable -------------------------------------------------------------

def test_update_stats_is_not_differentiable_as_in_torch():
    x = _data((4, C))
    tx = torch.tensor(x, requires_grad=True)
    ex = ember.tensor(x, requires_grad=True)
    tmean, _ = torch.batch_norm_update_stats(tx, None, None, 0.1)
    emean, _ = ember.batch_norm_update_stats(ex, None, None, 0.1)
    assert emean.requires_grad == tmean.requires_grad
    with pytest.raises(RuntimeError) as want:
        tmean.sum().backward()
    with pytest.raises(RuntimeError) as got:
        emean.sum().backward()
    assert str(got.value) == str(want.value)


def test_statistics_functions_are_not_differentiable():
    x = ember.tensor(_data((4, C)), requires_grad=True)
    mean, invstd = ember.batch_norm_stats(x, 1e-5)
    out = ember.batch_norm_elemt(x, None, None, mean, invstd, 1e-5)
    assert mean.requires_grad and out.requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::batch_norm_elemt is not "
                                           "implemented"):
        out.sum().backward()
    with ember.no_grad():
        assert not ember.batch_norm_stats(x, 1e-5)[0].requires_grad


# -- the module in one process: BatchNorm, as torch.nn.SyncBatchNorm ----------------------------

def _pair(**kwargs):
    e = ember.nn.SyncBatchNorm(C, **kwargs)
    t = torch.nn.SyncBatchNorm(C, **kwargs)
    if e.weight is not None:
        w = np.array([0.5, 1.5, -2.0], np.float32)
        b = np.array([0.1, -0.3, 0.7], np.float32)
        with ember.no_grad(), torch.no_grad():
            e.weight.copy_(ember.tensor(w))
            t.weight.copy_(torch.tensor(w))
            if e.bias is not None:
                e.bias.copy_(ember.tensor(b))
                t.bias.copy_(torch.tensor(b))
    return e, t


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kwargs", [{}, {"momentum": None}, {"affine": False},
                                    {"track_running_stats": False}, {"bias": False}])
def test_module_matches_torch_in_one_process(shape, kwargs):
    e, t = _pair(**kwargs)
    for step in range(3):
        x, g = _data(shape, seed=20 + step), _data(shape, seed=30 + step)
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        eo, to = e(ex), t(tx)
        (eo * ember.tensor(g)).sum().backward()
        (to * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(_np(eo), to.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
        for name, tp in t.named_parameters():
            np.testing.assert_allclose(getattr(e, name).grad.numpy(), tp.grad.numpy(),
                                       rtol=1e-4, atol=1e-5)
        for name, tb in t.named_buffers():
            np.testing.assert_allclose(getattr(e, name).numpy(), tb.numpy(), rtol=1e-5,
                                       atol=1e-6)
        e.zero_grad()
        t.zero_grad()
    e.eval()
    t.eval()
    x = _data(shape, seed=40)
    np.testing.assert_allclose(_np(e(ember.tensor(x))), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"track_running_stats": False},
                                    {"bias": False}, {"eps": 1e-3, "momentum": None}])
def test_module_state_dict_and_repr_match_torch(kwargs):
    e, t = _pair(**kwargs)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert e.process_group is None
    assert type(e).__module__ == "ember.nn.modules.batchnorm"
    assert ember.nn.SyncBatchNorm is ember.nn.modules.batchnorm.SyncBatchNorm
    # torch's state dict loads into ember's module
    e2 = ember.nn.SyncBatchNorm(C, **kwargs)
    e2.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})


@pytest.mark.parametrize("case", ["1d", "no_channels", "one_value_per_channel",
                                  "wrong_channels"])
def test_module_errors_match_torch(case):
    x = {"1d": np.ones(3, np.float32), "no_channels": np.ones((2, 0), np.float32),
         "one_value_per_channel": np.ones((1, C), np.float32),
         "wrong_channels": np.ones((2, C + 1), np.float32)}[case]
    e, t = _pair()
    with pytest.raises(Exception) as want:
        t(torch.tensor(x))
    with pytest.raises(want.type) as got:
        e(ember.tensor(x))
    if case != "wrong_channels":  # that one is F.batch_norm's, worded its own way in ember
        assert str(got.value).startswith(str(want.value).split(" torch.Size")[0])


def _conv_net(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Sequential(nn.Identity(), nn.BatchNorm2d(4, affine=False)),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 8), nn.BatchNorm1d(8, track_running_stats=False))


def test_convert_sync_batchnorm_matches_torch():
    e_net, t_net = _conv_net(ember), _conv_net(torch)
    e_net[1].eval()
    t_net[1].eval()
    e_net[1].qconfig = t_net[1].qconfig = "a qconfig"
    e_weight, e_running = e_net[1].weight, e_net[1].running_mean
    e_conv = ember.nn.SyncBatchNorm.convert_sync_batchnorm(e_net)
    t_conv = torch.nn.SyncBatchNorm.convert_sync_batchnorm(t_net)
    assert e_conv is e_net
    e_types = [type(m).__name__ for m in e_conv.modules()]
    assert e_types == [type(m).__name__ for m in t_conv.modules()]
    assert e_types.count("SyncBatchNorm") == 3 and "BatchNorm2d" not in e_types
    assert list(e_conv.state_dict()) == list(t_conv.state_dict())
    assert repr(e_conv) == repr(t_conv)
    # the same parameter and buffer objects, training flag and qconfig
    assert e_conv[1].weight is e_weight and e_conv[1].running_mean is e_running
    assert not e_conv[1].training and e_conv[3][1].training
    assert e_conv[1].qconfig == "a qconfig" and not hasattr(e_conv[3][1], "qconfig")


def test_convert_sync_batchnorm_of_a_batchnorm_returns_a_new_layer():
    bn = ember.nn.BatchNorm1d(C, eps=1e-3, momentum=0.2, bias=False)
    sync = ember.nn.SyncBatchNorm.convert_sync_batchnorm(bn, process_group="group")
    assert type(sync) is ember.nn.SyncBatchNorm and sync is not bn
    assert (sync.eps, sync.momentum, sync.bias, sync.process_group) == (1e-3, 0.2, None,
                                                                        "group")
    assert sync.weight is bn.weight and sync.num_batches_tracked is bn.num_batches_tracked


# -- two processes under MPI --------------------------------------------------------------------

SIZE = 2


@pytest.fixture(scope="module")
def mpi_results(tmp_path_factory):
    require_mpi()
    folder, proc = shared_launch(tmp_path_factory, "sync_batchnorm", "sync_batchnorm.py", SIZE)
    return proc, rank_results(folder, SIZE, proc)


@pytest.mark.parametrize("name", list(CHECKS))
def test_two_processes(mpi_results, name):
    _, ranks = mpi_results
    for rank, got in enumerate(ranks):
        outcome = got.get(name, "not run: an earlier check aborted the job")
        assert outcome == "ok", f"rank {rank}: {outcome}"


def test_two_process_job_exits_cleanly(mpi_results):
    proc, _ = mpi_results
    assert proc.returncode == 0, proc.stderr[-3000:]
