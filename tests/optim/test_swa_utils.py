"""optim.swa_utils against torch: AveragedModel (SWA, EMA through avg_fn and multi_avg_fn,
use_buffers), SWALR's learning rates, update_bn's statistics, state_dicts and errors."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
BATCHES = [RNG.standard_normal((8, 4)).astype(np.float32) for _ in range(6)]
TARGETS = [RNG.standard_normal((8, 2)).astype(np.float32) for _ in range(6)]


def build(lib):
    return lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.BatchNorm1d(6), lib.nn.ReLU(),
                             lib.nn.Linear(6, 2))


def same_model():
    torch.manual_seed(0)
    t_model = build(torch)
    e_model = build(ember)
    e_model.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_model.state_dict().items()})
    return t_model, e_model


def averaging_run(lib, model, make_averaged, steps=5):
    """SGD steps on ``model``; the averaged model is updated after each. Returns it."""
    averaged = make_averaged(lib, model)
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in zip(BATCHES[:steps], TARGETS[:steps]):
        opt.zero_grad()
        loss = ((model(lib.tensor(x)) - lib.tensor(y)) ** 2).mean()
        loss.backward()
        opt.step()
        averaged.update_parameters(model)
    return averaged


AVERAGING = {
    "swa_default": lambda lib, m: lib.optim.swa_utils.AveragedModel(m),
    "swa_multi": lambda lib, m: lib.optim.swa_utils.AveragedModel(
        m, multi_avg_fn=lib.optim.swa_utils.get_swa_multi_avg_fn()),
    "swa_avg_fn": lambda lib, m: lib.optim.swa_utils.AveragedModel(
        m, avg_fn=lib.optim.swa_utils.get_swa_avg_fn()),
    "ema_multi": lambda lib, m: lib.optim.swa_utils.AveragedModel(
        m, multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.9)),
    "ema_avg_fn": lambda lib, m: lib.optim.swa_utils.AveragedModel(
        m, avg_fn=lib.optim.swa_utils.get_ema_avg_fn(0.8)),
    "ema_use_buffers": lambda lib, m: lib.optim.swa_utils.AveragedModel(
        m, multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.9), use_buffers=True),
    "swa_use_buffers": lambda lib, m: lib.optim.swa_utils.AveragedModel(m, use_buffers=True),
}


@pytest.mark.parametrize("name", sorted(AVERAGING))
def test_averaged_model_matches_torch(name):
    t_model, e_model = same_model()
    t_avg = averaging_run(torch, t_model, AVERAGING[name])
    e_avg = averaging_run(ember, e_model, AVERAGING[name])
    t_state, e_state = t_avg.state_dict(), e_avg.state_dict()
    assert list(e_state) == list(t_state)
    assert list(e_state)[0] == "n_averaged" and int(e_state["n_averaged"]) == 5
    assert e_state["n_averaged"].dtype == ember.int64
    for key, tv in t_state.items():
        np.testing.assert_allclose(e_state[key].numpy(), tv.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=key)
    x = BATCHES[-1]
    t_avg.eval()
    e_avg.eval()
    np.testing.assert_allclose(e_avg(ember.tensor(x)).detach().numpy(),
                               t_avg(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    # The averaged state loads into torch's AveragedModel and back.
    fresh = AVERAGING[name](torch, build(torch))
    fresh.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e_state.items()})
    assert int(fresh.n_averaged) == 5


def test_update_bn_matches_torch():
    t_model, e_model = same_model()
    loader_t = [(torch.tensor(x), torch.tensor(y)) for x, y in zip(BATCHES, TARGETS)]
    loader_e = [(ember.tensor(x), ember.tensor(y)) for x, y in zip(BATCHES, TARGETS)]
    t_model.eval()
    e_model.eval()
    torch.optim.swa_utils.update_bn(loader_t, t_model)
    ember.optim.swa_utils.update_bn(loader_e, e_model)
    assert not e_model.training  # the mode is restored
    bn_t, bn_e = t_model[1], e_model[1]
    assert bn_e.momentum == bn_t.momentum == 0.1
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(bn_e, name).numpy(), getattr(bn_t, name).numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)
    # Plain tensors as batches, and a model without BatchNorm (nothing to do).
    ember.optim.swa_utils.update_bn([ember.tensor(x) for x in BATCHES], e_model)
    np.testing.assert_allclose(bn_e.running_mean.numpy(), bn_t.running_mean.numpy(), rtol=1e-5)
    ember.optim.swa_utils.update_bn([ember.tensor(x) for x in BATCHES], ember.nn.Linear(4, 2))


def lr_trace(lib, kwargs, epochs=8, groups=False, resume_at=None):
    model = lib.nn.Linear(2, 2)
    params = ([{"params": [model.weight], "lr": 0.5}, {"params": [model.bias]}]
              if groups else model.parameters())
    opt = lib.optim.SGD(params, lr=1.0)
    sched = lib.optim.swa_utils.SWALR(opt, **kwargs)
    lrs = [sched.get_last_lr()]
    for epoch in range(epochs):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        if resume_at == epoch:
            state = sched.state_dict()
            sched = lib.optim.swa_utils.SWALR(opt, **kwargs)
            sched.load_state_dict(state)
    return lrs


SWALR_CASES = [
    dict(swa_lr=0.05),
    dict(swa_lr=0.05, anneal_epochs=3, anneal_strategy="linear"),
    dict(swa_lr=0.1, anneal_epochs=0),
    dict(swa_lr=[0.05, 0.2], anneal_epochs=4),
]


@pytest.mark.parametrize("kwargs", SWALR_CASES, ids=lambda k: "-".join(map(str, k.values())))
def test_swalr_matches_torch(kwargs):
    groups = isinstance(kwargs["swa_lr"], list)
    np.testing.assert_allclose(lr_trace(ember, kwargs, groups=groups),
                               lr_trace(torch, kwargs, groups=groups), rtol=1e-12)
    np.testing.assert_allclose(lr_trace(ember, kwargs, groups=groups, resume_at=2),
                               lr_trace(torch, kwargs, groups=groups, resume_at=2), rtol=1e-12)


def test_swalr_state_dict_keys_and_errors():
    for lib in (torch, ember):
        opt = lib.optim.SGD(lib.nn.Linear(2, 2).parameters(), lr=1.0)
        sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.1)
        assert "anneal_func" not in sched.state_dict() and "optimizer" not in sched.state_dict()
        assert sched.state_dict()["_anneal_strategy"] == "cos"
        with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear', "
                                             "instead got step"):
            lib.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_strategy="step")
        with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0, "
                                             "got -1"):
            lib.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=-1)
        with pytest.raises(ValueError, match="swa_lr must have the same length"):
            lib.optim.swa_utils.SWALR(opt, swa_lr=[0.1, 0.2])
        with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided. Please provide "
                                             r"a value in \[0,1\] range."):
            lib.optim.swa_utils.get_ema_multi_avg_fn(1.5)
        with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
            lib.optim.swa_utils.AveragedModel(
                lib.nn.Linear(2, 2), avg_fn=lib.optim.swa_utils.get_swa_avg_fn(),
                multi_avg_fn=lib.optim.swa_utils.get_swa_multi_avg_fn())


def _int_outcome(lib, fn, n):
    avg = [lib.tensor([10, 20, 30])]
    try:
        fn(avg, [lib.tensor([20, 40, 60])], n(lib))
    except Exception as e:  # torch refuses some integer paths; ember must refuse them too
        return type(e).__name__
    return avg[0].numpy().tolist()


@pytest.mark.parametrize("n", [lambda lib: 1, lambda lib: lib.tensor(1)], ids=["int", "tensor"])
@pytest.mark.parametrize("make", ["swa", "ema"])
def test_integer_tensors_are_averaged_like_torch(make, n):
    def fn(lib):
        return (lib.optim.swa_utils.get_swa_multi_avg_fn() if make == "swa"
                else lib.optim.swa_utils.get_ema_multi_avg_fn(0.5))

    assert _int_outcome(ember, fn(ember), n) == _int_outcome(torch, fn(torch), n)
