"""Every scheduler's lr (and momentum) sequence against torch.optim.lr_scheduler."""

import math
import warnings

import pytest

import ember


def _opt(lib, name="SGD"):
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(3, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if name == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    return getattr(lib.optim, name)(groups, lr=0.1)


def _sched(lib, opt, make):
    ls = lib.optim.lr_scheduler
    return make(ls, opt)


SCHEDULERS = {
    "StepLR": lambda ls, o: ls.StepLR(o, step_size=4, gamma=0.5),
    "StepLR-1": lambda ls, o: ls.StepLR(o, step_size=1),
    "MultiStepLR": lambda ls, o: ls.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3),
    "ExponentialLR": lambda ls, o: ls.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda ls, o: ls.CosineAnnealingLR(o, T_max=10),
    "CosineAnnealingLR-eta": lambda ls, o: ls.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "CosineAnnealingWarmRestarts": lambda ls, o: ls.CosineAnnealingWarmRestarts(o, T_0=5),
    "CosineAnnealingWarmRestarts-mult": lambda ls, o: ls.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.001),
    "LambdaLR": lambda ls, o: ls.LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR-list": lambda ls, o: ls.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]),
    "MultiplicativeLR": lambda ls, o: ls.MultiplicativeLR(o, lambda e: 0.9),
    "LinearLR": lambda ls, o: ls.LinearLR(o),
    "LinearLR-custom": lambda ls, o: ls.LinearLR(o, start_factor=0.2, end_factor=0.7,
                                                 total_iters=8),
    "ConstantLR": lambda ls, o: ls.ConstantLR(o),
    "ConstantLR-custom": lambda ls, o: ls.ConstantLR(o, factor=0.25, total_iters=9),
    "PolynomialLR": lambda ls, o: ls.PolynomialLR(o),
    "PolynomialLR-pow": lambda ls, o: ls.PolynomialLR(o, total_iters=12, power=2.0),
    "SequentialLR": lambda ls, o: ls.SequentialLR(
        o, [ls.LinearLR(o, start_factor=0.1, total_iters=4), ls.ExponentialLR(o, gamma=0.9)],
        milestones=[5]),
    "SequentialLR-3": lambda ls, o: ls.SequentialLR(
        o, [ls.ConstantLR(o, factor=0.5, total_iters=3), ls.StepLR(o, 2),
            ls.CosineAnnealingLR(o, T_max=8)], milestones=[4, 12]),
    "ChainedScheduler": lambda ls, o: ls.ChainedScheduler(
        [ls.ConstantLR(o, factor=0.1, total_iters=3), ls.ExponentialLR(o, gamma=0.9)]),
    "OneCycleLR": lambda ls, o: ls.OneCycleLR(o, max_lr=1.0, total_steps=31),
    "OneCycleLR-linear-3phase": lambda ls, o: ls.OneCycleLR(
        o, max_lr=[0.5, 1.0], epochs=4, steps_per_epoch=8, anneal_strategy="linear",
        three_phase=True, div_factor=10.0, final_div_factor=100.0),
    "OneCycleLR-nomomentum": lambda ls, o: ls.OneCycleLR(o, max_lr=0.3, total_steps=40,
                                                         cycle_momentum=False, pct_start=0.5),
    "CyclicLR": lambda ls, o: ls.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "CyclicLR-tri2": lambda ls, o: ls.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1,
                                               step_size_up=3, step_size_down=5,
                                               mode="triangular2"),
    "CyclicLR-exp": lambda ls, o: ls.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                              mode="exp_range", gamma=0.9,
                                              base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-scalefn": lambda ls, o: ls.CyclicLR(o, 0.01, 0.1, step_size_up=2,
                                                  scale_fn=lambda x: 0.5 ** x,
                                                  scale_mode="iterations",
                                                  cycle_momentum=False),
}
ADAM_SCHEDULERS = ["OneCycleLR", "CyclicLR", "CyclicLR-exp", "StepLR"]


def _trace(lib, make, steps=30, opt_name="SGD"):
    opt = _opt(lib, opt_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = make(lib.optim.lr_scheduler, opt)
        out = [_snapshot(opt, sched)]
        for _ in range(steps):
            opt.step()
            sched.step()
            out.append(_snapshot(opt, sched))
    return out


def _snapshot(opt, sched):
    row = [float(lr) for lr in sched.get_last_lr()]
    for g in opt.param_groups:
        row.append(g["lr"])
        if "momentum" in g:
            row.append(g["momentum"])
        if "betas" in g:
            row.extend(g["betas"])
    return row


def _close(a, b):
    assert len(a) == len(b)
    for k, (x, y) in enumerate(zip(a, b)):
        assert len(x) == len(y), k
        for u, v in zip(x, y):
            assert math.isclose(u, v, rel_tol=1e-12, abs_tol=1e-15), (k, x, y)


@pytest.mark.parametrize("key", sorted(SCHEDULERS))
def test_sequence_matches_torch(torch, key):
    _close(_trace(ember, SCHEDULERS[key]), _trace(torch, SCHEDULERS[key]))


@pytest.mark.parametrize("key", ADAM_SCHEDULERS)
def test_with_adam_betas(torch, key):
    _close(_trace(ember, SCHEDULERS[key], opt_name="Adam"),
           _trace(torch, SCHEDULERS[key], opt_name="Adam"))


@pytest.mark.parametrize("mode,threshold_mode,kw", [
    ("min", "rel", dict(patience=2)),
    ("min", "abs", dict(patience=1, threshold=0.05, cooldown=2, factor=0.5)),
    ("max", "rel", dict(patience=0, min_lr=[0.02, 0.001])),
    ("max", "abs", dict(patience=3, eps=0.01, min_lr=0.03)),
])
def test_reduce_lr_on_plateau(torch, mode, threshold_mode, kw):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.81, 0.82, 0.83, 0.84, 0.7, 0.7, 0.7, 0.69,
               0.69, 0.69, 0.69, 0.9, 1.2, 1.2, 1.2, 1.1, 1.0, 1.0, 1.0]
    traces = []
    for lib in (ember, torch):
        opt = _opt(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode,
                                                         threshold_mode=threshold_mode, **kw)
        rows = []
        for m in metrics:
            sched.step(m)
            rows.append(_snapshot(opt, sched) + [sched.num_bad_epochs, sched.cooldown_counter])
        traces.append(rows)
    _close(*traces)


@pytest.mark.parametrize("key", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                                 "LinearLR", "ConstantLR", "PolynomialLR",
                                 "CosineAnnealingWarmRestarts-mult", "LambdaLR"])
def test_step_with_epoch_uses_closed_form(torch, key):
    epochs = [0, 1, 2, 5, 3, 9, 14, 7, 30, 2.5] if "Warm" in key else [0, 1, 2, 5, 3, 9, 14, 7]
    traces = []
    for lib in (ember, torch):
        opt = _opt(lib)
        sched = SCHEDULERS[key](lib.optim.lr_scheduler, opt)
        opt.step()
        rows = []
        for e in epochs:
            if "Warm" in key:  # fractional epochs are its documented use: no warning
                sched.step(e)
            else:
                with pytest.warns(UserWarning, match="epoch parameter"):
                    sched.step(e)
            rows.append(_snapshot(opt, sched))
        traces.append(rows)
    _close(*traces)


def _plain(value):
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize("key", sorted(SCHEDULERS))
def test_state_dict_keys_and_resume(torch, key):
    make = SCHEDULERS[key]
    e_opt, t_opt = _opt(ember), _opt(torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e_s, t_s = make(ember.optim.lr_scheduler, e_opt), make(torch.optim.lr_scheduler, t_opt)
        for _ in range(7):
            e_opt.step()
            t_opt.step()
            e_s.step()
            t_s.step()
    esd, tsd = e_s.state_dict(), t_s.state_dict()
    assert set(esd) == set(tsd)
    for k in ("last_epoch", "_step_count", "base_lrs", "_last_lr"):
        if k in tsd:
            assert _plain(esd[k]) == pytest.approx(_plain(tsd[k]), rel=1e-12)
    # resume: a fresh optimizer/scheduler loaded from the state continues identically
    e_opt2 = _opt(ember)
    e_opt2.load_state_dict(e_opt.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e_s2 = make(ember.optim.lr_scheduler, e_opt2)
        e_opt2.load_state_dict(e_opt.state_dict())
        e_s2.load_state_dict(e_s.state_dict())
        for _ in range(10):
            for o, s in ((e_opt, e_s), (e_opt2, e_s2)):
                o.step()
                s.step()
            assert _snapshot(e_opt2, e_s2) == _snapshot(e_opt, e_s)


def test_warns_when_scheduler_steps_before_optimizer(torch):
    for lib in (ember, torch):
        opt = _opt(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, 2)
        with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
            sched.step()
    opt = _opt(ember)
    sched = ember.optim.lr_scheduler.StepLR(opt, 2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
        with pytest.warns(UserWarning, match="get_last_lr"):
            sched.get_lr()


@pytest.mark.parametrize("call", [
    lambda ls, o: ls.ConstantLR(o, factor=1.5),
    lambda ls, o: ls.LinearLR(o, start_factor=0),
    lambda ls, o: ls.LinearLR(o, end_factor=2),
    lambda ls, o: ls.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda ls, o: ls.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    lambda ls, o: ls.OneCycleLR(o, max_lr=0.1),
    lambda ls, o: ls.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=2.0),
    lambda ls, o: ls.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
    lambda ls, o: ls.OneCycleLR(o, max_lr=[0.1], total_steps=10),
    lambda ls, o: ls.CyclicLR(o, 0.1, 1.0, mode="sine"),
    lambda ls, o: ls.ReduceLROnPlateau(o, factor=1.0),
    lambda ls, o: ls.ReduceLROnPlateau(o, mode="avg"),
    lambda ls, o: ls.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda ls, o: ls.LambdaLR(o, [lambda e: 1.0]),
    lambda ls, o: ls.SequentialLR(o, [ls.StepLR(o, 2)], milestones=[3]),
    lambda ls, o: ls.ChainedScheduler([]),
    lambda ls, o: ls.StepLR(o, 2, last_epoch=3),
])
def test_errors_match_torch(torch, call):
    errors = []
    for lib in (ember, torch):
        opt = _opt(lib)
        with pytest.raises(Exception) as info:
            call(lib.optim.lr_scheduler, opt)
        errors.append((type(info.value).__name__, str(info.value)))
    assert errors[0] == errors[1]


def test_onecycle_past_total_steps_raises(torch):
    opt = _opt(ember)
    sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()
