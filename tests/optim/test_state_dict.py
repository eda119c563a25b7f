"""Optimizer state_dict: PyTorch's layout, save/load resume, loading torch's own state."""

import copy

import numpy as np
import pytest

import ember

from ._helpers import run_pair, tol
from .test_optimizers import CONFIGS, IDS


def _layout(sd):
    """Keys, Python types and tensor dtypes/shapes of a state_dict, library-neutral."""
    state = {}
    for k, st in sd["state"].items():
        state[k] = {key: (type(v).__name__, str(v.dtype), tuple(v.shape))
                    if hasattr(v, "dtype") else (type(v).__name__, v) for key, v in st.items()}
    groups = [{k: (type(v).__name__, v) for k, v in g.items()} for g in sd["param_groups"]]
    return state, groups


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_layout_matches_torch(torch, name, kwargs):
    eo, to, *_ = run_pair(torch, name, kwargs, np.float32, steps=3)
    assert _layout(eo.state_dict()) == _layout(to.state_dict())


def _np_to(lib, value):
    if hasattr(value, "detach"):
        return lib.from_numpy(value.detach().numpy().copy())
    if isinstance(value, dict):
        return {k: _np_to(lib, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_np_to(lib, v) for v in value]
    return value


@pytest.mark.parametrize("name,kwargs", CONFIGS[::2], ids=IDS[::2])
def test_resume_from_state_dict_is_identical(torch, name, kwargs):
    eo, _, ep, _, _ = run_pair(torch, name, kwargs, np.float64, steps=5)
    sd = copy.deepcopy(eo.state_dict())
    params2 = [p.detach().clone().requires_grad_(True) for p in ep]
    eo2 = getattr(ember.optim, name)(params2, **kwargs)
    eo2.load_state_dict(sd)
    rng = np.random.default_rng(1)
    for _ in range(5):
        for p, q in zip(ep, params2):
            g = rng.standard_normal(tuple(p.shape))
            p.grad = ember.from_numpy(g.copy())
            q.grad = ember.from_numpy(g.copy())
        eo.step()
        eo2.step()
        for p, q in zip(ep, params2):
            if name in ("NAdam", "ASGD"):
                # Loading casts their float32 scalar state (mu_product, eta, mu) to the
                # param's float64, exactly as torch does, so the resumed run is not bitwise.
                np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6, atol=1e-8)
            else:
                np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


@pytest.mark.parametrize("name,kwargs", CONFIGS[1::2], ids=IDS[1::2])
def test_load_torch_state_dict_and_continue(torch, name, kwargs):
    """A torch optimizer's state_dict (tensors converted) loads into ember and continues
    exactly as torch continues."""
    eo, to, ep, tp, _ = run_pair(torch, name, kwargs, np.float64, steps=4)
    for p, q in zip(ep, tp):
        p.detach().numpy()[...] = q.detach().numpy()
    eo2 = getattr(ember.optim, name)(ep, **kwargs)
    eo2.load_state_dict(_np_to(ember, to.state_dict()))
    rng = np.random.default_rng(2)
    for _ in range(4):
        for p, q in zip(ep, tp):
            g = rng.standard_normal(tuple(p.shape))
            p.grad = ember.from_numpy(g.copy())
            q.grad = torch.from_numpy(g.copy())
        eo2.step()
        to.step()
    # NAdam/ASGD: loading casts float32 scalar state to float64 (as torch's load does).
    t = dict(rtol=1e-6, atol=1e-8) if name in ("NAdam", "ASGD") else tol(np.float64)
    for p, q in zip(ep, tp):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), **t)


def test_load_casts_state_to_param_dtype_but_not_step():
    p = ember.zeros(3, dtype=ember.float64, requires_grad=True)
    opt = ember.optim.Adam([p])
    sd = {"state": {0: {"step": ember.tensor(2.0),
                        "exp_avg": ember.ones(3, dtype=ember.float32),
                        "exp_avg_sq": ember.ones(3, dtype=ember.float32)}},
          "param_groups": copy.deepcopy(opt.state_dict()["param_groups"])}
    opt.load_state_dict(sd)
    st = opt.state[p]
    assert st["exp_avg"].dtype == ember.float64
    assert st["step"].dtype == ember.float32
    p.grad = ember.ones(3, dtype=ember.float64)
    opt.step()
    assert float(st["step"]) == 3.0


def test_load_validates_group_sizes(torch):
    for lib in (ember, torch):
        a, b = lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([a, b], lr=0.1)
        one_group = lib.optim.SGD([a], lr=0.1).state_dict()
        with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
            opt.load_state_dict(one_group)
        two_groups = lib.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).state_dict()
        with pytest.raises(ValueError, match="different number of parameter groups"):
            opt.load_state_dict(two_groups)


def test_legacy_float_step_becomes_tensor():
    p = ember.zeros(2, requires_grad=True)
    opt = ember.optim.Adam([p])
    sd = {"state": {0: {"step": 4, "exp_avg": ember.zeros(2), "exp_avg_sq": ember.zeros(2)}},
          "param_groups": opt.state_dict()["param_groups"]}
    opt.load_state_dict(sd)
    assert isinstance(opt.state[p]["step"], ember.Tensor)
    assert float(opt.state[p]["step"]) == 4.0


def test_param_names_are_saved(torch):
    sds = []
    for lib in (ember, torch):
        a, b = lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([("w", a), ("b", b)], lr=0.1)
        sds.append(opt.state_dict()["param_groups"])
    assert sds[0] == sds[1]
    assert sds[0][0]["param_names"] == ["w", "b"]


def test_optimizer_pickles_and_keeps_stepping():
    import pickle

    p = ember.zeros(2, requires_grad=True)
    opt = ember.optim.Adam([p])
    p.grad = ember.ones(2)
    opt.step()
    opt2 = pickle.loads(pickle.dumps(opt))
    p2 = opt2.param_groups[0]["params"][0]
    assert opt2.state[p2]["step"].shape == ()
    p2.grad = ember.ones(2)
    opt2.step()
    assert float(opt2.state[p2]["step"]) == 2.0
