"""Normalization layers against torch: outputs, gradients, running statistics over several
training steps, eval mode, buffers, reprs and state_dict keys."""

import numpy as np
import pytest

import ember
import ember.nn as enn

from ._helpers import copy_params, pair, same


def run_steps(torch, make, shape, rng, steps=3, train=True, perturb=True):
    """Several forward/backward steps in both libraries; compare everything each step."""
    t_mod, e_mod = make(torch.nn), make(enn)
    if perturb:  # non-trivial affine parameters
        with torch.no_grad():
            for p in t_mod.parameters():
                p.add_(torch.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    copy_params(e_mod, t_mod)
    assert repr(e_mod) == repr(t_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    t_mod.train(train)
    e_mod.train(train)
    for _ in range(steps):
        x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
        ex, tx = pair(torch, x)
        ey, ty = e_mod(ex), t_mod(tx)
        same(ey, ty, atol=3e-5, rtol=1e-4)
        up = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
        ey.backward(ember.tensor(up))
        ty.backward(torch.tensor(up))
        same(ex.grad, tx.grad, atol=3e-5, rtol=1e-4)
        t_params = dict(t_mod.named_parameters())
        for name, p in e_mod.named_parameters():
            same(p.grad, t_params[name].grad, atol=1e-4, rtol=1e-4)
        t_bufs = dict(t_mod.named_buffers())
        for name, b in e_mod.named_buffers():
            same(b, t_bufs[name], atol=1e-6, rtol=1e-5)
            assert str(b.dtype).split(".")[-1] == str(t_bufs[name].dtype).split(".")[-1]
    return e_mod, t_mod


CASES = [
    ("bn1d", lambda nn: nn.BatchNorm1d(3), (6, 3)),
    ("bn1d_3d", lambda nn: nn.BatchNorm1d(3, momentum=0.3), (4, 3, 5)),
    ("bn1d_cumulative", lambda nn: nn.BatchNorm1d(3, momentum=None), (5, 3)),
    ("bn2d", lambda nn: nn.BatchNorm2d(4), (3, 4, 3, 2)),
    ("bn2d_no_affine", lambda nn: nn.BatchNorm2d(2, affine=False, eps=1e-3), (3, 2, 2, 2)),
    ("bn2d_no_bias", lambda nn: nn.BatchNorm2d(2, bias=False), (3, 2, 2, 2)),
    ("bn2d_untracked", lambda nn: nn.BatchNorm2d(2, track_running_stats=False), (3, 2, 2, 2)),
    ("bn3d", lambda nn: nn.BatchNorm3d(2), (2, 2, 2, 3, 2)),
    ("ln", lambda nn: nn.LayerNorm(5), (2, 3, 5)),
    ("ln_2d_no_bias", lambda nn: nn.LayerNorm((3, 5), bias=False, eps=1e-3), (2, 3, 5)),
    ("ln_plain", lambda nn: nn.LayerNorm(4, elementwise_affine=False), (3, 4)),
    ("gn", lambda nn: nn.GroupNorm(2, 6), (3, 6, 4)),
    ("gn_2d", lambda nn: nn.GroupNorm(3, 6, affine=False), (2, 6, 2, 3)),
    ("in1d", lambda nn: nn.InstanceNorm1d(3), (2, 3, 6)),
    ("in2d_affine_tracked", lambda nn: nn.InstanceNorm2d(3, affine=True,
                                                         track_running_stats=True),
     (2, 3, 4, 3)),
    ("in1d_unbatched", lambda nn: nn.InstanceNorm1d(3, affine=True), (3, 6)),
    ("rms", lambda nn: nn.RMSNorm(4), (3, 4)),
    ("rms_eps", lambda nn: nn.RMSNorm((2, 4), eps=1e-3), (3, 2, 4)),
]


@pytest.mark.parametrize("name,make,shape", CASES, ids=[c[0] for c in CASES])
def test_norm_layers_train_match_torch(torch, rng, name, make, shape):
    run_steps(torch, make, shape, rng)


@pytest.mark.parametrize("name,make,shape", CASES, ids=[c[0] for c in CASES])
def test_norm_layers_eval_match_torch(torch, rng, name, make, shape):
    run_steps(torch, make, shape, rng, steps=1, train=False)


def test_batchnorm_train_then_eval(torch, rng):
    e_mod, t_mod = run_steps(torch, lambda nn: nn.BatchNorm2d(3), (4, 3, 2, 2), rng, steps=4)
    assert int(e_mod.num_batches_tracked) == 4
    e_mod.eval()
    t_mod.eval()
    x = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    same(e_mod(ember.tensor(x)), t_mod(torch.tensor(x)), atol=1e-5)
    ember_before = e_mod.running_mean.numpy().copy()
    e_mod(ember.tensor(x))
    np.testing.assert_array_equal(e_mod.running_mean.numpy(), ember_before)


def test_batchnorm_one_value_per_channel_says_eval():
    m = enn.BatchNorm1d(3)
    with pytest.raises(ValueError) as info:
        m(ember.randn(1, 3))
    # the size printed as PyTorch prints it, and the way out in a note
    assert str(info.value) == ("Expected more than 1 value per channel when training, got input "
                               "size torch.Size([1, 3])")
    assert any("eval()" in note for note in info.value.__notes__)
    m.eval()
    assert m(ember.randn(1, 3)).shape == (1, 3)


def test_norm_input_errors():
    with pytest.raises(ValueError, match="expected 4D input"):
        enn.BatchNorm2d(3)(ember.randn(2, 3))
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        enn.BatchNorm1d(3)(ember.randn(2, 4))  # PyTorch's type and words
    with pytest.raises(RuntimeError, match="normalized_shape"):
        enn.LayerNorm(4)(ember.randn(2, 5))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        enn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        ember.nn.functional.group_norm(ember.randn(2, 6, 3), 4)


def test_batchnorm_double_backward_matches_torch(torch, rng):
    x = rng.standard_normal((4, 3, 2))
    w = rng.standard_normal(3)
    res = []
    for lib in (ember, torch):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.batch_norm(xt, None, None, wt, None, training=True)
        gx, gw = lib.autograd.grad((y * y * y).sum(), (xt, wt), create_graph=True)
        res.append(lib.autograd.grad((gx * gx).sum() + (gw * gw).sum(), (xt, wt)))
    for e, t in zip(*res):
        same(e, t, atol=1e-8)


def test_batchnorm_state_dict_roundtrip_from_torch(torch):
    t_mod = torch.nn.BatchNorm1d(3)
    t_mod(torch.randn(5, 3))
    e_mod = enn.BatchNorm1d(3)
    e_mod.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    same(e_mod.running_var, t_mod.running_var)
    assert int(e_mod.num_batches_tracked) == 1
    assert e_mod.num_batches_tracked.dtype == ember.int64


def _versioned_load_cases(L):
    """Each case: a module, the state dict it loads (strict=False) and a label."""
    def net():
        return L.nn.Sequential(L.nn.Linear(2, 3), L.nn.BatchNorm1d(3))

    src = net()
    src.train()
    src(L.ones(4, 2))  # num_batches_tracked becomes 1
    with_meta = src.state_dict()
    plain = {k: v for k, v in with_meta.items() if "num_batches_tracked" not in k}
    # the metadata says version 2, so a missing counter is reported
    filtered = with_meta.copy()
    del filtered["1.num_batches_tracked"]
    only_linear = L.nn.Sequential(L.nn.Linear(2, 3)).state_dict()
    return [(net(), plain, "plain dict"), (net(), filtered, "versioned dict"),
            (net(), only_linear, "other model's metadata"),
            (L.nn.BatchNorm1d(3, track_running_stats=False),
             {"running_mean": L.zeros(3), "running_var": L.ones(3)}, "no running stats")]


def test_norm_state_dict_version_fills_num_batches_tracked_as_torch(torch):
    # warm-starting from a dict without num_batches_tracked keeps the counter and reports
    # no missing key unless the dict's metadata says it was saved at version 2
    for (e_mod, e_sd, label), (t_mod, t_sd, _) in zip(_versioned_load_cases(ember),
                                                      _versioned_load_cases(torch)):
        e_res = e_mod.load_state_dict(e_sd, strict=False)
        t_res = t_mod.load_state_dict(t_sd, strict=False)
        assert repr(e_res) == repr(t_res), label
        counters = [[(k, int(v)) for k, v in m.state_dict().items() if "batches" in k]
                    for m in (e_mod, t_mod)]
        assert counters[0] == counters[1], label


def test_instance_norm_refuses_pre_0_4_running_stats_as_torch(torch):
    state = {"running_mean": np.zeros(3, np.float32), "running_var": np.ones(3, np.float32)}
    msgs = []
    for lib in (ember, torch):
        with pytest.raises(RuntimeError) as err:
            lib.nn.InstanceNorm1d(3).load_state_dict(
                {k: lib.from_numpy(v) for k, v in state.items()})
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]
    assert "Unexpected running stats buffer(s)" in msgs[0]


def test_top_level_batch_and_instance_norm_use_aten_argument_order(torch, rng):
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    w = rng.random(3).astype(np.float32)
    outs = []
    for lib in (ember, torch):
        rm, rv = lib.zeros(3), lib.ones(3)
        y = lib.batch_norm(lib.tensor(x), lib.tensor(w), None, rm, rv, True, 0.2, 1e-5, False)
        z = lib.instance_norm(lib.tensor(x), lib.tensor(w), None, None, None, True, 0.1,
                              1e-5, False)
        outs.append((y, z, rm, rv))
    for e, t in zip(*outs):
        same(e, t, atol=1e-5)


@pytest.mark.parametrize("name,shape", [("BatchNorm2d", (2, 3, 4, 4)), ("BatchNorm1d", (5, 4)),
                                        ("LayerNorm", (2, 4)), ("GroupNorm", (2, 4, 3))])
def test_half_precision_input_with_float32_parameters_as_torch(name, shape):
    # autocast hands norms a bfloat16 activation while their parameters stay float32: PyTorch
    # computes in float32 and returns bfloat16, with float32 parameter gradients
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    args = {"BatchNorm2d": (3,), "BatchNorm1d": (4,), "LayerNorm": (4,), "GroupNorm": (2, 4)}
    res = []
    for lib in (torch, ember):
        m = getattr(lib.nn, name)(*args[name])
        xi = lib.tensor(x).to(lib.bfloat16).requires_grad_()
        y = m(xi)
        (y.float() * lib.arange(y.numel()).reshape(y.shape).float()).sum().backward()
        res.append((y.dtype, xi.grad.dtype, m.weight.grad.dtype, y.float().detach().numpy(),
                    m.weight.grad.numpy()))
    assert [str(d) for d in res[0][:3]] == [str(d) for d in res[1][:3]]
    np.testing.assert_allclose(res[1][3], res[0][3], atol=1e-2)
    np.testing.assert_allclose(res[1][4], res[0][4], rtol=2e-2, atol=1e-2)
