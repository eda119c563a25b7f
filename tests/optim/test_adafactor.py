"""ember.optim.Adafactor against torch.optim.Adafactor: trajectories, param groups,
state_dict layout and round trips, and the constructor's and step's errors."""

import copy

import numpy as np
import pytest

import ember

from ._helpers import run_pair, tol

CONFIGS = [
    {},
    {"lr": 0.1, "weight_decay": 0.05},
    {"maximize": True, "d": 1.5},
    {"eps": (1e-20, 1e-2), "beta2_decay": -0.5},
]


def _run(torch, kwargs, dtype, **extra):
    return run_pair(torch, "Adafactor", kwargs, dtype, **extra)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", CONFIGS)
def test_trajectory_matches_torch(torch, kwargs, dtype):
    *_, history = _run(torch, kwargs, dtype, steps=12)
    for ember_params, torch_params in history:
        for e, t in zip(ember_params, torch_params):
            assert e.dtype == t.dtype
            np.testing.assert_allclose(e, t, **tol(dtype))


def test_tensor_lr(torch):
    rng = np.random.default_rng(3)
    init = rng.standard_normal((3, 4))
    out = []
    for lib in (torch, ember):
        p = lib.tensor(init.copy(), requires_grad=True)
        opt = lib.optim.Adafactor([p], lr=lib.tensor(0.05))
        for k in range(4):
            p.grad = lib.tensor(np.cos(init * (k + 1)))
            opt.step()
        out.append(p.detach().numpy())
    # torch keeps a tensor lr as a float32 tensor in its step-size arithmetic; ember takes
    # its value as a Python float, so the float64 parameters agree to float32 precision
    np.testing.assert_allclose(out[1], out[0], rtol=1e-6)


def test_parameters_without_grad_are_skipped(torch):
    eo, to, ep, tp, history = _run(torch, {}, np.float32, steps=8,
                                   skip=lambda k, i: (k + i) % 3 == 0)
    for ember_params, torch_params in history:
        for e, t in zip(ember_params, torch_params):
            np.testing.assert_allclose(e, t, **tol(np.float32))
    assert [float(eo.state[p]["step"]) for p in ep] == [float(to.state[p]["step"]) for p in tp]


def test_param_groups_and_per_group_eps1(torch):
    """Groups with their own hyperparameters; eps1=None takes each group's first dtype."""
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in ((3, 2), (4,), (2, 2), (3,))]
    dtypes = ["float64", "float32", "float32", "float64"]
    out = []
    for lib in (torch, ember):
        ps = [lib.tensor(a.astype(d), requires_grad=True) for a, d in zip(arrays, dtypes)]
        opt = lib.optim.Adafactor([{"params": ps[:2]},
                                   {"params": ps[2:], "lr": 0.2, "weight_decay": 0.1}],
                                  eps=(None, 1e-3))
        opt.add_param_group({"params": [lib.tensor(arrays[0].astype("float32"),
                                                   requires_grad=True)], "d": 2.0})
        ps.append(opt.param_groups[2]["params"][0])
        for k in range(5):
            for p in ps:
                # tiny gradients make eps1 (float64's or float32's machine epsilon) count
                p.grad = (p.detach() * 1e-5 + 1e-9 * (k + 1)).to(p.dtype)
            opt.step()
        out.append(([p.detach().numpy() for p in ps], opt))
    for e, t in zip(out[1][0], out[0][0]):
        assert e.dtype == t.dtype
        np.testing.assert_allclose(e, t, rtol=2e-5, atol=1e-7)
    assert [g["lr"] for g in out[1][1].param_groups] == [g["lr"] for g in out[0][1].param_groups]


def _layout(sd):
    state = {k: {key: (type(v).__name__, str(v.dtype), tuple(v.shape)) for key, v in st.items()}
             for k, st in sd["state"].items()}
    groups = [{k: (type(v).__name__, v) for k, v in g.items()} for g in sd["param_groups"]]
    return state, groups


def test_state_dict_layout_matches_torch(torch):
    eo, to, *_ = _run(torch, {"lr": 0.05}, np.float32, steps=3)
    assert _layout(eo.state_dict()) == _layout(to.state_dict())
    assert set(eo.state_dict()["state"][0]) == {"step", "row_var", "col_var"}
    assert set(eo.state_dict()["state"][1]) == {"step", "variance"}


def test_state_dict_round_trip_resumes_identically(torch):
    eo, _, ep, _, _ = _run(torch, {"weight_decay": 0.01}, np.float64, steps=4)
    sd = copy.deepcopy(eo.state_dict())
    params2 = [p.detach().clone().requires_grad_(True) for p in ep]
    eo2 = ember.optim.Adafactor(params2, weight_decay=0.01)
    eo2.load_state_dict(sd)
    rng = np.random.default_rng(5)
    for _ in range(4):
        for p, q in zip(ep, params2):
            g = rng.standard_normal(tuple(p.shape))
            p.grad, q.grad = ember.tensor(g), ember.tensor(g)
        eo.step()
        eo2.step()
    for p, q in zip(ep, params2):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_loading_torchs_state_dict_continues_torchs_run(torch):
    eo, to, ep, tp, _ = _run(torch, {}, np.float64, steps=3)
    sd = to.state_dict()
    converted = {"state": {k: {n: ember.tensor(v.numpy()) for n, v in st.items()}
                           for k, st in sd["state"].items()},
                 "param_groups": copy.deepcopy(sd["param_groups"])}
    with ember.no_grad():
        for p, q in zip(ep, tp):
            p.copy_(ember.tensor(q.detach().numpy()))
    eo.load_state_dict(converted)
    for k in range(3):
        for p, q in zip(ep, tp):
            g = np.sin(q.detach().numpy() * (k + 2))
            p.grad, q.grad = ember.tensor(g), torch.tensor(g)
        eo.step()
        to.step()
    for p, q in zip(ep, tp):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), **tol(np.float64))


@pytest.mark.parametrize("kwargs", [
    {"lr": -1.0}, {"beta2_decay": 0.5}, {"eps": (-1.0, 1e-3)}, {"eps": (None, -1.0)},
    {"d": 0.5}, {"weight_decay": -0.1},
])
def test_invalid_hyperparameters_match_torch(torch, kwargs):
    with pytest.raises(ValueError) as want:
        torch.optim.Adafactor([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as got:
        ember.optim.Adafactor([ember.zeros(2, requires_grad=True)], **kwargs)
    assert str(got.value) == str(want.value)


def test_step_errors_match_torch(torch):
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
            lib.optim.Adafactor([lib.zeros(2, requires_grad=True)], lr=lib.tensor([0.1, 0.2]))
        p = lib.zeros(2, dtype=lib.complex64, requires_grad=True)
        p.grad = lib.ones(2, dtype=lib.complex64)
        with pytest.raises(RuntimeError, match="Adafactor does not support complex parameters"):
            lib.optim.Adafactor([p]).step()


def test_defaults_and_docstring(torch):
    e = ember.optim.Adafactor([ember.zeros(2, requires_grad=True)])
    t = torch.optim.Adafactor([torch.zeros(2, requires_grad=True)])
    assert e.defaults == t.defaults
    assert "Adafactor" in ember.optim.__all__ and "Example:" in ember.optim.Adafactor.__doc__
    assert repr(e) == repr(t)
