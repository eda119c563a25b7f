"""optim.swap_in_optimizer_params_and_state against torch: steps on the swapped-in parameters
and state, updates reaching the caller's state tensors, the live optimizer restored, refusals."""

import numpy as np
import pytest

import ember

SHAPES = [(3, 2), (4,), (2, 2)]


def _setup(lib, name, kwargs, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    params = [lib.tensor(rng.standard_normal(s), requires_grad=True) for s in SHAPES]
    opt = getattr(lib.optim, name)([{"params": params[:2]}, {"params": params[2:], "lr": 0.05}],
                                   **kwargs)
    for p in params:
        p.grad = lib.ones(p.shape, dtype=p.dtype)
    opt.step()
    return params, opt


def _run(lib, name, kwargs):
    params, opt = _setup(lib, name, kwargs)
    live_before = [p.detach().clone() for p in params]
    live_state = {k: v.clone() if hasattr(v, "clone") else v
                  for k, v in opt.state[params[0]].items()}
    other, osd = _setup(lib, name, kwargs, rng_seed=1)
    for p in other:
        p.grad = lib.full(p.shape, 0.5, dtype=p.dtype)
    osd_sd = osd.state_dict()
    osd_sd["param_groups"][1]["lr"] = 0.2
    swap = {f"p{i}": p for i, p in enumerate(other)}
    groups_before = opt.param_groups
    with lib.optim.swap_in_optimizer_params_and_state(opt, swap, osd_sd):
        assert opt.param_groups[1]["lr"] == 0.2
        opt.step()
    assert opt.param_groups is groups_before and opt.param_groups[1]["lr"] == 0.05
    for p, before in zip(params, live_before):
        assert np.array_equal(p.detach().numpy(), before.numpy())
    for k, v in opt.state[params[0]].items():
        assert np.array_equal(np.asarray(v), np.asarray(live_state[k]))
    state = {i: {k: np.asarray(v).copy() for k, v in s.items()}
             for i, s in osd_sd["state"].items()}
    return [p.detach().numpy().copy() for p in other], state


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=0.01)),
                                         ("AdamW", dict(lr=0.01, weight_decay=0.1))])
def test_step_on_swapped_params_and_state_matches_torch(torch, name, kwargs):
    e_params, e_state = _run(ember, name, kwargs)
    t_params, t_state = _run(torch, name, kwargs)
    for e, t in zip(e_params, t_params):
        np.testing.assert_allclose(e, t, rtol=1e-12)
    assert e_state.keys() == t_state.keys()
    for i in t_state:
        assert e_state[i].keys() == t_state[i].keys()
        for k in t_state[i]:
            np.testing.assert_allclose(e_state[i][k], t_state[i][k], rtol=1e-12, err_msg=k)


def _errors(torch, make):
    out = []
    for lib in (ember, torch):
        params, opt = _setup(lib, "SGD", dict(lr=0.1, momentum=0.9))
        osd = opt.state_dict()
        swap = {str(i): p for i, p in enumerate(params)}
        with pytest.raises(RuntimeError) as info:
            args = make(lib, opt, swap, osd)
            with lib.optim.swap_in_optimizer_params_and_state(*args):
                pass
        out.append(str(info.value))
    return out


@pytest.mark.parametrize("make", [
    lambda L, opt, swap, osd: (L.optim.SGD([L.ones(1, requires_grad=True)], lr=0.1), swap, osd),
    lambda L, opt, swap, osd: (opt, swap, [osd]),
    lambda L, opt, swap, osd: (opt, swap, dict(osd, state=[1])),
    lambda L, opt, swap, osd: (opt, swap, dict(osd, state={0: 1})),
    lambda L, opt, swap, osd: (opt, swap, dict(osd, param_groups=osd["param_groups"][:1])),
    lambda L, opt, swap, osd: (opt, swap, dict(osd, param_groups=(1, 2))),
    lambda L, opt, swap, osd: (opt, swap, dict(osd, param_groups=[
        dict(osd["param_groups"][0], params=[0]), osd["param_groups"][1]])),
    lambda L, opt, swap, osd: (opt, swap, dict(osd, param_groups=[
        dict(osd["param_groups"][0], extra=1), osd["param_groups"][1]])),
    lambda L, opt, swap, osd: (opt, dict(list(swap.items())[:2]), osd),
    lambda L, opt, swap, osd: (opt, swap, dict(osd, state=dict(osd["state"], **{"x": {}}))),
])
def test_refusals_match_torch(torch, make):
    e, t = _errors(torch, make)
    assert e == t
