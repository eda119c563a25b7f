"""Muon against torch.optim.Muon: arguments, refusals, state; the step-by-step values are in
test_optimizers.py's sweep (MUON_CONFIGS)."""

import numpy as np
import pytest

import ember

from ._helpers import run_pair, tol


def _matrix(lib, shape=(3, 2)):
    return lib.zeros(shape, requires_grad=True)


@pytest.mark.parametrize("kwargs", [dict(lr=-1), dict(momentum=-0.1), dict(weight_decay=-1),
                                    dict(adjust_lr_fn="spectral")])
def test_invalid_hyperparameters_match_torch(torch, kwargs):
    messages = []
    for lib in (ember, torch):
        with pytest.raises(ValueError) as info:
            lib.optim.Muon([_matrix(lib)], **kwargs)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
def test_refuses_parameters_that_are_not_matrices(torch, shape):
    messages = []
    for lib in (ember, torch):
        with pytest.raises(ValueError) as info:
            lib.optim.Muon([_matrix(lib), _matrix(lib, shape)])
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_defaults_and_repr_match_torch(torch):
    e = ember.optim.Muon([_matrix(ember)])
    t = torch.optim.Muon([_matrix(torch)])
    assert e.defaults == t.defaults and list(e.defaults) == list(t.defaults)
    assert repr(e) == repr(t)


@pytest.mark.parametrize("kwargs,error", [(dict(ns_steps=100), ValueError),
                                          (dict(ns_coefficients=(1.0, 2.0)), ValueError)])
def test_step_refusals_match_torch(torch, kwargs, error):
    messages = []
    for lib in (ember, torch):
        p = _matrix(lib)
        p.grad = lib.ones(3, 2)
        with pytest.raises(error) as info:
            lib.optim.Muon([p], **kwargs).step()
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_refuses_complex_parameters(torch):
    messages = []
    for lib in (ember, torch):
        p = lib.zeros(2, 2, dtype=lib.complex64, requires_grad=True)
        p.grad = lib.ones(2, 2, dtype=lib.complex64)
        with pytest.raises(RuntimeError) as info:
            lib.optim.Muon([p]).step()
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_missing_grads_and_lazy_state(torch):
    def skip(k, i):
        return i == 1 or (i == 2 and 2 <= k <= 4)

    eo, to, ep, tp, history = run_pair(torch, "Muon", dict(lr=0.02), np.float64, steps=8,
                                       skip=skip, shapes=[(4, 3), (2, 2), (3, 5)])
    for e_params, t_params in history:
        for e, p in zip(e_params, t_params):
            np.testing.assert_allclose(e, p, **tol(np.float64))
    assert len(eo.state) == len(to.state) == 2


def test_state_dict_round_trip_continues_like_torch(torch):
    eo, to, ep, tp, _ = run_pair(torch, "Muon", dict(lr=0.02), np.float32, steps=3,
                                 shapes=[(4, 3), (3, 3)])
    sd = eo.state_dict()
    assert list(sd["state"][0]) == list(to.state_dict()["state"][0]) == ["momentum_buffer"]
    fresh = ember.optim.Muon(ep, lr=0.5)
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["lr"] == 0.02
    for lib, opt, params in ((ember, fresh, ep), (torch, to, tp)):
        for p in params:
            p.grad = lib.ones(tuple(p.shape))
        opt.step()
    for e, p in zip(ep, tp):
        np.testing.assert_allclose(e.detach().numpy(), p.detach().numpy(), **tol(np.float32))


def test_tensor_lr(torch):
    params = []
    for lib in (ember, torch):
        p = lib.ones(3, 2, requires_grad=True)
        p.grad = lib.tensor([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]])
        lib.optim.Muon([p], lr=lib.tensor(0.1)).step()
        params.append(p.detach().numpy())
    np.testing.assert_allclose(*params, rtol=1e-6)
