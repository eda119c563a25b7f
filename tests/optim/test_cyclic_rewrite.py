"""ReduceLROnPlateau, CyclicLR, OneCycleLR, CosineAnnealingWarmRestarts and the LRScheduler
base class against torch, exactly: random step sequences (plain steps, steps before the
optimizer's, deprecated step(epoch) with fractional epochs, state-dict round trips, lrs changed by
hand, resuming with last_epoch >= 0) compare every lr, momentum, counter, state-dict key, warning
and error; and a set of edge cases (argument checks and their order, tensor lrs, the
optimizer-step wrapper, custom scale functions, old checkpoints)."""

import copy
import gc
import importlib
import pickle
import random
import warnings
import weakref

import pytest

import ember

torch = pytest.importorskip("torch")


def mk(lib, n=1, adam=False, lr=0.1, **kw):
    groups = [{"params": [lib.zeros(2, requires_grad=True)]} for _ in range(n)]
    if adam:
        return lib.optim.Adam(groups, lr=lr, **kw)
    return lib.optim.SGD(groups, lr=lr, **kw)


def norm(x):
    """Tensors as plain values and functions as a marker, so ember's and torch's results compare."""
    if isinstance(x, (ember.Tensor, torch.Tensor)):
        return ("T", tuple(x.shape), x.detach().reshape(-1).tolist())
    if isinstance(x, dict):
        return {k: norm(v) for k, v in x.items() if k != "params"}
    if isinstance(x, (list, tuple)):
        return type(x)(norm(v) for v in x)
    if callable(x) and not isinstance(x, type):
        return "<callable>"
    return x


def run(lib, fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            r = ("ok", norm(fn(lib)))
        except Exception as e:  # compared with torch's: same type and message
            r = ("err", type(e).__name__, str(e))
    return r, [(x.category.__name__, str(x.message)) for x in w]


# --------------------------------------------------------------------------------------------
# Edge cases, each run on both libraries
# --------------------------------------------------------------------------------------------

C = {}


def case(f):
    C[f.__name__] = f
    return f


@case
def not_opt(L):
    return L.optim.lr_scheduler.StepLR(object(), 2)


@case
def no_initial(L):
    return L.optim.lr_scheduler.StepLR(mk(L, 2), 2, last_epoch=1)


@case
def no_initial_second(L):
    o = mk(L, 2)
    o.param_groups[0]["initial_lr"] = 0.3
    return L.optim.lr_scheduler.StepLR(o, 2, last_epoch=1)


@case
def key_error_args(L):
    try:
        L.optim.lr_scheduler.ExponentialLR(mk(L), 0.9, last_epoch=0)
    except KeyError as e:
        return e.args


@case
def base_notimpl(L):
    return L.optim.lr_scheduler.LRScheduler(mk(L))


@case
def old_base_notimpl(L):
    return L.optim.lr_scheduler._LRScheduler(mk(L))


@case
def subclass_base(L):
    class Half(L.optim.lr_scheduler.LRScheduler):
        def get_lr(self):
            return [b * 0.5**self.last_epoch for b in self.base_lrs]

    o = mk(L, 2)
    s = Half(o)
    out = [s.get_last_lr(), s.state_dict()]
    for _ in range(3):
        o.step()
        s.step()
        out.append(s.get_last_lr())
    s.step(7)
    out.append((s.get_last_lr(), s.last_epoch, s._step_count))
    return out


@case
def warn_order(L):
    o = mk(L)
    s = L.optim.lr_scheduler.StepLR(o, 1)
    s.step()
    s.step()
    return s.get_last_lr()


@case
def warn_overridden(L):
    o = mk(L)
    s = L.optim.lr_scheduler.StepLR(o, 1)
    o.step = lambda *a, **k: None
    s.step()
    return s.get_last_lr()


@case
def warn_both(L):
    o = mk(L)
    s = L.optim.lr_scheduler.StepLR(o, 1)
    s.step(3)
    return s.get_last_lr()


@case
def no_warn_after_opt(L):
    o = mk(L)
    L.optim.lr_scheduler.StepLR(o, 1)
    o.step()
    s2 = L.optim.lr_scheduler.StepLR(o, 2)
    s2.step()
    return s2.get_last_lr()


@case
def pre_overridden_plain(L):
    o = mk(L)
    o.step = lambda: None
    return L.optim.lr_scheduler.StepLR(o, 1)


@case
def wrapper_attrs(L):
    o = mk(L)
    L.optim.lr_scheduler.StepLR(o, 1)
    f = o.step
    L.optim.lr_scheduler.ExponentialLR(o, 0.5)
    return (
        f is o.step,
        f.__name__,
        sorted(vars(f)),
        getattr(o, "_opt_called", "NA"),
        o.step(),
        o._opt_called,
    )


@case
def gc_opt(L):
    o = mk(L)
    s = L.optim.lr_scheduler.StepLR(o, 1)
    r = weakref.ref(o)
    del o, s
    gc.collect()
    return r() is None


@case
def deepcopy_opt(L):
    o = mk(L)
    L.optim.lr_scheduler.StepLR(o, 1)
    o2 = copy.deepcopy(o)
    p2 = o2.param_groups[0]["params"][0]
    p2.grad = L.ones(2)
    o2.step()
    return (
        p2.detach().tolist(),
        o.param_groups[0]["params"][0].detach().tolist(),
        getattr(o, "_opt_called", "NA"),
        getattr(o2, "_opt_called", "NA"),
        type(o2.step).__name__,
    )


@case
def pickle_sched(L):
    o = mk(L)
    s = L.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=5)
    s2 = pickle.loads(pickle.dumps(s.state_dict()))
    return s2


@case
def deepcopy_sched(L):
    o = mk(L, momentum=0.9)
    s = L.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=2)
    s2 = copy.deepcopy(s)
    s2.optimizer.step()
    s2.step()
    return (s2.get_last_lr(), s.get_last_lr())


@case
def get_lr_direct(L):
    out = []
    for make in [
        lambda o: L.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=3),
        lambda o: L.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=5),
        lambda o: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 3),
        lambda o: L.optim.lr_scheduler.StepLR(o, 3),
    ]:
        o = mk(L, momentum=0.9)
        s = make(o)
        out.append((s.get_lr(), s._get_lr_called_within_step, o.param_groups[0]["momentum"]))
    return out


@case
def rop_get_lr(L):
    return L.optim.lr_scheduler.ReduceLROnPlateau(mk(L)).get_lr()


@case
def rop_dict(L):
    s = L.optim.lr_scheduler.ReduceLROnPlateau(
        mk(L, 2), mode="max", threshold_mode="abs", min_lr=[0.1, 0.2]
    )
    return (
        list(vars(s)),
        s.state_dict(),
        isinstance(s, L.optim.lr_scheduler.LRScheduler),
        hasattr(s, "_step_count"),
        hasattr(s, "base_lrs"),
    )


@case
def rop_errors(L):
    out = []
    R = L.optim.lr_scheduler.ReduceLROnPlateau
    for kw in [
        dict(factor=1.0),
        dict(factor=2.0),
        dict(mode="avg"),
        dict(threshold_mode="foo"),
        dict(mode="avg", threshold_mode="x"),
        dict(min_lr=[0.1]),
        dict(mode=None),
        dict(threshold_mode=None),
        dict(factor="a"),
        dict(verbose=True),
    ]:
        try:
            R(mk(L, 2), **kw)
            out.append("ok")
        except Exception as e:
            out.append((type(e).__name__, str(e)))
    try:
        R(object(), factor=1.0)
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    try:
        R(object())
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    return out


@case
def rop_added_group(L):
    out = []
    for ml in [0.001, [0.001]]:
        o = mk(L)
        s = L.optim.lr_scheduler.ReduceLROnPlateau(o, patience=0, min_lr=ml)
        o.add_param_group({"params": [L.zeros(1, requires_grad=True)], "lr": 0.5})
        s.step(1.0)
        try:
            s.step(2.0)
            out.append((s.min_lrs, s._last_lr))
        except Exception as e:
            out.append((type(e).__name__, str(e)))
    return out


@case
def rop_metrics_types(L):
    s = L.optim.lr_scheduler.ReduceLROnPlateau(mk(L), patience=0)
    out = []
    for m in [L.tensor(0.5), 0.25, L.tensor([0.1]), "abc", L.tensor([1.0, 2.0])]:
        try:
            s.step(m)
            out.append((s.best, type(s.best).__name__, s.last_epoch))
        except Exception as e:
            out.append((type(e).__name__,))
    return out


@case
def rop_load(L):
    s = L.optim.lr_scheduler.ReduceLROnPlateau(mk(L), mode="max")
    s.step(3.0)
    sd = s.state_dict()
    s2 = L.optim.lr_scheduler.ReduceLROnPlateau(mk(L))
    s2.load_state_dict(sd)
    out = [vars(s2).get("mode_worse"), s2.best, s2.mode]
    try:
        s2.load_state_dict({"mode": "foo"})
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    return out


@case
def rop_cooldown_prop(L):
    s = L.optim.lr_scheduler.ReduceLROnPlateau(mk(L), patience=0, cooldown=2)
    out = []
    for m in [1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.7, 0.8]:
        s.step(m)
        out.append((s.in_cooldown, s.cooldown_counter, s.num_bad_epochs, s.get_last_lr()))
    return out


@case
def rop_tensor_lr(L):
    o = mk(L, lr=L.tensor(0.1))
    t = o.param_groups[0]["lr"]
    s = L.optim.lr_scheduler.ReduceLROnPlateau(o, patience=0, min_lr=L.tensor(0.002))
    for m in [1.0, 2.0, 3.0, 4.0]:
        s.step(m)
    return (o.param_groups[0]["lr"] is t, t, s.get_last_lr(), s._last_lr[0] is t)


@case
def tensor_lrs(L):
    out = []
    S = L.optim.lr_scheduler
    for make in [
        lambda o: S.StepLR(o, 2, 0.5),
        lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3),
        lambda o: S.CyclicLR(o, L.tensor(0.01), 0.1, step_size_up=3),
        lambda o: S.OneCycleLR(o, 0.1, total_steps=6),
        lambda o: S.CosineAnnealingWarmRestarts(o, 3, 2),
    ]:
        o = mk(L, lr=L.tensor(0.1), momentum=0.9)
        t = o.param_groups[0]["lr"]
        s = make(o)
        row = [
            o.param_groups[0]["lr"] is t,
            o.param_groups[0]["initial_lr"] is t,
            s.base_lrs[0] is t,
        ]
        for _ in range(5):
            o.step()
            s.step()
            row.append((t, s.get_last_lr(), s.get_last_lr()[0] is t))
        out.append(row)
    return out


@case
def tensor_resume(L):
    o = mk(L, lr=L.tensor(0.1))
    il = L.tensor(0.2)
    o.param_groups[0]["initial_lr"] = il
    s = L.optim.lr_scheduler.StepLR(o, 1, last_epoch=2)
    return (s.base_lrs[0] is il, s.base_lrs, o.param_groups[0]["lr"])


@case
def helpers(L):
    B = importlib.import_module(
        L.__name__ + (".optim._lr_base" if L is ember else ".optim.lr_scheduler")
    )
    o = mk(L, 2)
    out = [B._format_param("x", o, 0.3), B._format_param("x", o, (0.3, 0.4))]
    try:
        B._format_param("max_lr", o, [0.3])
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    g = {"lr": L.tensor(0.5)}
    old = g["lr"]
    B._update_param_group_val(g, "lr", L.tensor([0.25]))
    out.append((g["lr"] is old, g))
    g = {"lr": 0.5}
    v = L.tensor(0.25)
    B._update_param_group_val(g, "lr", v)
    out.append(g["lr"] is v)
    try:
        B._update_param_group_val({"lr": 0.5}, "new", 1.0)
    except Exception as e:
        out.append(type(e).__name__)
    o.param_groups[0]["lr"] = L.tensor(0.7)
    vals = B._param_groups_val_list(o, "lr")
    out.append((vals, vals[0] is o.param_groups[0]["lr"]))
    return out


@case
def cyc_errors(L):
    out = []
    C = L.optim.lr_scheduler.CyclicLR
    ada = lambda: L.optim.Adagrad([L.zeros(1, requires_grad=True)])
    for args, kw, o in [
        ((0.1, 1.0), dict(mode="sine"), None),
        ((0.1, 1.0), dict(mode="sine", scale_fn=lambda x: 1.0), None),
        (([0.1], 1.0), dict(mode="x"), 2),
        ((0.1, [1.0]), dict(mode="x"), 2),
        ((0.1, 1.0), dict(mode="x"), "ada"),
        ((0.1, 1.0), dict(step_size_up=0, mode="x"), 2),
        ((0.1, 1.0), dict(base_momentum=[1, 2]), "ada"),
        ((0.1, 1.0), dict(base_momentum=[1], max_momentum=[1]), 2),
        ((0.1, 1.0), dict(max_momentum=[1]), 2),
        ((0.1, 1.0), dict(cycle_momentum=False), "ada"),
        ((0.1, 1.0), dict(last_epoch=3), 1),
    ]:
        opt = ada() if o == "ada" else mk(L, o or 1)
        try:
            s = C(opt, *args, **kw)
            out.append(("ok", list(vars(s))))
        except Exception as e:
            out.append((type(e).__name__, str(e)))
    try:
        C(object(), 0.1, 1.0, mode="x")
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    return out


@case
def cyc_defaults_momentum(L):
    o = L.optim.Adagrad([L.zeros(1, requires_grad=True)])
    o.defaults["momentum"] = 0.9
    L.optim.lr_scheduler.CyclicLR(o, 0.1, 1.0, step_size_up=2)
    return o.param_groups[0]


@case
def cyc_groups_keys(L):
    out = []
    for adam in [False, True]:
        o = mk(L, 2, adam=adam, **({} if adam else {"momentum": 0.5}))
        o.param_groups[0]["initial_lr"] = 0.5
        o.param_groups[1]["base_momentum"] = 0.1
        s = L.optim.lr_scheduler.CyclicLR(
            o, [0.1, 0.2], 1.0, step_size_up=4, base_momentum=[0.7, 0.6]
        )
        out.append((o.param_groups, s.base_lrs, vars(s).get("base_momentums")))
        for _ in range(3):
            o.step()
            s.step()
            out.append(o.param_groups)
    return out


@case
def cyc_tensor_betas(L):
    o = mk(L, adam=True, betas=(L.tensor(0.9), L.tensor(0.99)))
    s = L.optim.lr_scheduler.CyclicLR(o, 0.1, 1.0, step_size_up=4)
    o.step()
    s.step()
    return o.param_groups[0]["betas"]


@case
def cyc_scale_calls(L):
    n = [0]

    def f(x):
        n[0] += 1
        return 0.9**x

    o = mk(L, 3, momentum=0.9)
    s = L.optim.lr_scheduler.CyclicLR(o, 0.1, 1.0, scale_fn=f)
    c0 = n[0]
    o.step()
    s.step()
    return c0, n[0]


@case
def cyc_state(L):
    class F:
        def __init__(self):
            self.k = 0.5

        def __call__(self, x):
            return self.k**x

    C = L.optim.lr_scheduler.CyclicLR
    out = []
    f = F()
    s = C(mk(L), 0.1, 1.0, scale_fn=f, scale_mode="iterations", mode="exp_range", gamma=0.3)
    sd = s.state_dict()
    out.append((sd, sd["_scale_fn_custom"] is f.__dict__, "_scale_fn_ref" in vars(s)))
    f.k = 0.1
    s2 = C(mk(L), 0.1, 1.0, scale_fn=f)
    sd["_scale_fn_custom"] = {"k": 0.7}
    s2.load_state_dict(sd)
    out.append(
        (
            f.k,
            s2._scale_fn_custom is f,
            "_scale_fn_ref" in vars(s2),
            s2.scale_mode,
            "_scale_fn_custom" in sd,
        )
    )
    out.append(C(mk(L), 0.1, 1.0, scale_fn=lambda x: 1.0).state_dict()["_scale_fn_custom"])
    s3 = C(mk(L), 0.1, 1.0, mode="exp_range", gamma=0.5)
    sd3 = s3.state_dict()
    s4 = C(mk(L), 0.1, 1.0)
    s4.load_state_dict(sd3)
    out.append((s4.scale_fn(2), s4.mode, s4.scale_mode))
    try:
        C(mk(L), 0.1, 1.0).load_state_dict(C(mk(L), 0.1, 1.0, scale_fn=F()).state_dict())
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    try:
        C(mk(L), 0.1, 1.0, scale_fn=abs).state_dict()
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    try:
        C(mk(L), 0.1, 1.0).load_state_dict({})
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    for m in ["triangular", "triangular2", "exp_range"]:
        for sm in ["cycle", "iterations"]:
            s = C(mk(L), 0.1, 1.0, mode=m, scale_mode=sm, gamma=0.9)
            out.append((s.scale_mode, s.scale_fn(3), s.scale_fn(2.5)))
    out.append(
        (
            C._triangular_scale_fn(5),
            C._triangular2_scale_fn(3),
            C._triangular2_scale_fn(2.5),
            C._exp_range_scale_fn(0.5, 3),
        )
    )
    return out


@case
def oc_errors(L):
    O = L.optim.lr_scheduler.OneCycleLR
    ada = lambda: L.optim.Adagrad([L.zeros(1, requires_grad=True)])
    out = []
    for kw, o in [
        ({}, 1),
        (dict(total_steps=0), 1),
        (dict(total_steps=-1), 1),
        (dict(total_steps=5.0), 1),
        (dict(total_steps="5"), 1),
        (dict(epochs=3), 1),
        (dict(steps_per_epoch=3), 1),
        (dict(epochs=3, steps_per_epoch=4), 1),
        (dict(epochs=0, steps_per_epoch=4), 1),
        (dict(epochs=2.0, steps_per_epoch=4), 1),
        (dict(epochs=2, steps_per_epoch=0), 1),
        (dict(epochs=0, steps_per_epoch=0), 1),
        (dict(total_steps=7, epochs=3, steps_per_epoch=4), 1),
        (dict(total_steps=0, epochs=3, steps_per_epoch=4), 1),
        (dict(total_steps=10, pct_start=2.0), 1),
        (dict(total_steps=10, pct_start=-0.1), 1),
        (dict(total_steps=10, pct_start=0), 1),
        (dict(total_steps=10, pct_start=1), 1),
        (dict(total_steps=10, pct_start="a"), 1),
        (dict(total_steps=10, anneal_strategy="exp"), 1),
        (dict(total_steps=10, anneal_strategy="exp", pct_start=3), 1),
        (dict(total_steps=10), "ada"),
        (dict(total_steps=10, max_lr=[0.1, 0.2]), "ada"),
        (dict(total_steps=10, cycle_momentum=False), "ada"),
        (dict(total_steps=10, base_momentum=[0.1]), 2),
        (dict(total_steps=10, max_momentum=[0.1]), 2),
        (dict(total_steps=10, base_momentum=[0.1], max_momentum=[0.2]), 2),
        (dict(total_steps=10, max_lr=[0.1], max_momentum=[0.1]), 2),
        (dict(total_steps=20, three_phase=True, pct_start=0.05), 1),
        (dict(total_steps=10, last_epoch=3), 1),
    ]:
        opt = ada() if o == "ada" else mk(L, o)
        kw = dict(kw)
        max_lr = kw.pop("max_lr", 0.1)
        try:
            s = O(opt, max_lr, **kw)
            out.append(("ok", s.state_dict()))
        except Exception as e:
            out.append((type(e).__name__, str(e)))
    return out


@case
def oc_past(L):
    o = mk(L)
    s = L.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=3)
    out = []
    for _ in range(5):
        try:
            o.step()
            s.step()
            out.append((s.last_epoch, s.get_last_lr()))
        except Exception as e:
            out.append(
                (
                    type(e).__name__,
                    str(e),
                    s.last_epoch,
                    s._step_count,
                    s._get_lr_called_within_step,
                )
            )
    try:
        s.step(9)
    except Exception as e:
        out.append((type(e).__name__, str(e), s.last_epoch, s._step_count))
    return out


@case
def oc_anneal_type(L):
    out = []
    o = mk(L)
    s = L.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=5)
    s._anneal_func_type = "foo"
    try:
        o.step()
        s.step()
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    o = mk(L)
    s = L.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=5)
    del s._anneal_func_type
    s.anneal_func = lambda a, b, c: 42.0
    o.step()
    s.step()
    out.append(s.get_last_lr())
    o = mk(L)
    s = L.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=5)
    del s._anneal_func_type
    try:
        o.step()
        s.step()
    except Exception as e:
        out.append((type(e).__name__,))
    O = L.optim.lr_scheduler.OneCycleLR
    for p in [0.0, 0.1, 0.25, 0.5, 0.77, 1.0, 1.3]:
        out.append(
            (
                O._annealing_cos(1.3, 0.01, p),
                O._annealing_linear(1.3, 0.01, p),
                O._annealing_cos(0.01, 1.3, p),
            )
        )
    return out


@case
def oc_groups(L):
    out = []
    for adam in [False, True]:
        o = mk(L, 2, adam=adam)
        o.param_groups[0]["initial_lr"] = 0.7
        s = L.optim.lr_scheduler.OneCycleLR(
            o,
            [0.1, 0.2],
            total_steps=10,
            base_momentum=[0.5, 0.6],
            div_factor=4,
            final_div_factor=10,
        )
        out.append((o.param_groups, list(vars(s)), s.base_lrs))

    def rs(L, keys):
        o = mk(L)
        g = o.param_groups[0]
        g["initial_lr"] = 0.7
        if keys:
            g.update(max_lr=0.3, min_lr=0.001, max_momentum=0.5, base_momentum=0.2)
        s = L.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=10, last_epoch=3)
        return (s.base_lrs, g)

    out.append(rs(L, True))
    try:
        rs(L, False)
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    return out


@case
def cawr_errors(L):
    W = L.optim.lr_scheduler.CosineAnnealingWarmRestarts
    out = []
    for args, kw in [
        ((0,), {}),
        ((2.0,), {}),
        (("2",), {}),
        ((2,), dict(T_mult=0)),
        ((2,), dict(T_mult=2.0)),
        ((2,), dict(eta_min="a")),
        ((2,), dict(eta_min=0)),
        ((2,), dict(last_epoch=3)),
    ]:
        try:
            s = W(mk(L), *args, **kw)
            out.append(("ok", s.state_dict()))
        except Exception as e:
            out.append((type(e).__name__, str(e)))
    try:
        W(object(), 0)
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    try:
        W(object(), 2)
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    return out


@case
def cawr_steps(L):
    o = mk(L)
    s = L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 2, 2)
    out = [(s._step_count, s.last_epoch, s.T_cur, s.T_i)]
    s.step()
    o.step()
    s.step()
    s.step(3.5)
    s.step()
    out.append((s._step_count, s.last_epoch, s.T_cur, s.T_i, s.get_last_lr()))
    try:
        s.step(-1)
    except Exception as e:
        out.append((type(e).__name__, str(e)))
    for e in [0.3, 100, 6, 14, 30, 62, 61.999]:
        s.step(e)
        out.append((s.last_epoch, s.T_cur, s.T_i, s.get_last_lr()))
    s.last_epoch = -5
    s.step()
    out.append((s.last_epoch, s.T_cur, s.T_i))
    for T0, Tm in [(3, 1), (4, 3), (2, 2)]:
        for le in range(0, 12):
            o = mk(L)
            o.param_groups[0]["initial_lr"] = 0.5
            s = L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T0, Tm, last_epoch=le)
            out.append((le, s.T_cur, s.T_i, s.get_last_lr()))
    return out


@case
def cawr_tensor_epoch(L):
    o = mk(L)
    s = L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 3, 1)
    o.step()
    s.step()
    s.step(L.tensor(2.5))
    return (s.last_epoch, s.T_cur, s.get_last_lr())


@pytest.mark.parametrize("name", sorted(C))
def test_case_matches_torch(name):
    assert run(ember, C[name]) == run(torch, C[name])


def test_warm_restarts_resume_far_into_a_run():
    # the construction step of a resumed scheduler takes T_cur modulo the period (subtracting
    # one period would leave T_cur == T_i, the lr at eta_min, for last_epoch = 7, T_0 = 4)
    rows = []
    for lib in (ember, torch):
        opt = mk(lib)
        opt.param_groups[0]["initial_lr"] = 0.5
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, 4, 3, last_epoch=7)
        rows.append((sched.T_cur, sched.T_i, sched.get_last_lr()))
    assert rows[0] == rows[1]
    assert rows[0] == (0, 12, [0.5])  # epoch 8 is the start of the second period


def test_step_order_warning_points_at_the_caller():
    opt = mk(ember)
    sched = ember.optim.lr_scheduler.StepLR(opt, 1)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        sched.step()
    assert [x.filename for x in w] == [__file__]


# --------------------------------------------------------------------------------------------
# Random step sequences
# --------------------------------------------------------------------------------------------


def build_opt(lib, cfg):
    groups = []
    for lr in cfg["lrs"]:
        groups.append({"params": [lib.zeros(2, requires_grad=True)], "lr": lr})
    if cfg["adam"]:
        opt = lib.optim.Adam(groups, lr=0.3)
    else:
        opt = lib.optim.SGD(groups, lr=0.3, momentum=0.9)
    for g, init in zip(opt.param_groups, cfg.get("initial", [])):
        if init is not None:
            for k, v in init.items():
                g[k] = v
    return opt


class Scale:
    def __init__(self, k):
        self.k = k

    def __call__(self, x):
        return self.k**x


def make(lib, cfg, opt, resume=None):
    ls = lib.optim.lr_scheduler
    kw = dict(cfg["kw"])
    if resume is not None:
        kw["last_epoch"] = -1
    if "scale_fn" in kw and kw["scale_fn"] is not None:
        kind, k = kw["scale_fn"]
        kw["scale_fn"] = Scale(k) if kind == "obj" else (lambda x, k=k: 1.0 / (1.0 + k * x))
    cls = getattr(ls, cfg["cls"])
    return cls(opt, **kw)


def snap(opt, sched):
    row = []
    for g in opt.param_groups:
        row.append(float(g["lr"]))
        if "momentum" in g:
            row.append(float(g["momentum"]))
        if "betas" in g:
            row.append(tuple(float(b) for b in g["betas"]))
        row.append(tuple(k for k in g if k != "params"))
    row.append([float(v) for v in sched.get_last_lr()])
    row.append(sched.last_epoch)
    row.append(getattr(sched, "_step_count", None))
    sd = sched.state_dict()
    row.append(list(sd))
    for key in (
        "T_cur",
        "T_i",
        "best",
        "num_bad_epochs",
        "cooldown_counter",
        "min_lrs",
        "_schedule_phases",
        "total_size",
        "step_ratio",
        "scale_mode",
    ):
        if key in sd:
            row.append((key, sd[key]))
    return row


def play(lib, cfg):
    out = []
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            opt = build_opt(lib, cfg)
            sched = make(lib, cfg, opt)
        except Exception as e:
            return [("init-error", type(e).__name__, str(e))]
        out.append(snap(opt, sched))
        metrics = iter(cfg.get("metrics", []))
        for op in cfg["script"]:
            try:
                if op in ("s", "n"):
                    if op == "s":
                        opt.step()
                    if cfg["cls"] == "ReduceLROnPlateau":
                        sched.step(next(metrics))
                    else:
                        sched.step()
                elif op[0] == "e":
                    val = op[1]
                    if cfg["cls"] == "ReduceLROnPlateau":
                        sched.step(next(metrics), val)
                    else:
                        sched.step(val)
                elif op == "x":
                    for g in opt.param_groups:
                        g["lr"] = g["lr"] * 0.7
                elif op == "r":
                    state = sched.state_dict()
                    sched2 = make(lib, cfg, opt, resume=True)
                    sched2.load_state_dict(state)
                    sched = sched2
                out.append(snap(opt, sched))
            except Exception as e:
                out.append(("error", op, type(e).__name__, str(e)))
        out.append([(x.category.__name__, str(x.message)) for x in w])
    return out


def rand_cfg(rng, cls):
    n = rng.choice([1, 2])
    lrs = [rng.choice([0.1, 0.3, 0.05, rng.uniform(0.001, 1)]) for _ in range(n)]
    adam = rng.random() < 0.4
    cfg = {"cls": cls, "lrs": lrs, "adam": adam}

    def perg(f):
        if rng.random() < 0.3:
            return [f() for _ in range(n)]
        return f()

    kw = {}
    resume = rng.random() < 0.25
    if cls == "CyclicLR":
        kw["base_lr"] = perg(lambda: rng.uniform(0.001, 0.1))
        kw["max_lr"] = perg(lambda: rng.uniform(0.1, 2))
        kw["step_size_up"] = rng.choice([1, 2, 3, 4, 5, 7, 2.5, 3.3])
        if rng.random() < 0.5:
            kw["step_size_down"] = rng.choice([1, 2, 3, 6, 0, 4.5])
        kw["mode"] = rng.choice(["triangular", "triangular2", "exp_range"])
        kw["gamma"] = rng.choice([1.0, 0.9, 0.99, 0.7])
        if rng.random() < 0.3:
            kw["scale_fn"] = (rng.choice(["obj", "fn"]), rng.uniform(0.5, 0.99))
            kw["scale_mode"] = rng.choice(["cycle", "iterations"])
        kw["cycle_momentum"] = rng.random() < 0.7
        if rng.random() < 0.5:
            kw["base_momentum"] = perg(lambda: rng.uniform(0.5, 0.85))
        if rng.random() < 0.5:
            kw["max_momentum"] = perg(lambda: rng.uniform(0.85, 0.99))
    elif cls == "OneCycleLR":
        kw["max_lr"] = perg(lambda: rng.uniform(0.01, 2))
        if rng.random() < 0.6:
            kw["total_steps"] = rng.randint(1, 40)
        else:
            kw["epochs"] = rng.randint(1, 6)
            kw["steps_per_epoch"] = rng.randint(1, 8)
        kw["pct_start"] = rng.choice([0.3, 0.25, 0.5, rng.random(), 0.1, 0.9, 1.0, 0.0])
        kw["anneal_strategy"] = rng.choice(["cos", "linear"])
        kw["three_phase"] = rng.random() < 0.4
        kw["cycle_momentum"] = rng.random() < 0.7
        if rng.random() < 0.5:
            kw["div_factor"] = rng.choice([10.0, 25.0, 3.7, 100])
        if rng.random() < 0.5:
            kw["final_div_factor"] = rng.choice([1e4, 100.0, 7.3])
        if rng.random() < 0.4:
            kw["base_momentum"] = perg(lambda: rng.uniform(0.5, 0.85))
        if rng.random() < 0.4:
            kw["max_momentum"] = perg(lambda: rng.uniform(0.85, 0.99))
    elif cls == "CosineAnnealingWarmRestarts":
        kw["T_0"] = rng.randint(1, 6)
        kw["T_mult"] = rng.choice([1, 1, 2, 3])
        kw["eta_min"] = rng.choice([0.0, 0, 0.001, rng.uniform(0, 0.05)])
    elif cls == "ReduceLROnPlateau":
        resume = False
        kw["mode"] = rng.choice(["min", "max"])
        kw["threshold_mode"] = rng.choice(["rel", "abs"])
        kw["threshold"] = rng.choice([1e-4, 0.0, 0.01, 0.1])
        kw["factor"] = rng.choice([0.1, 0.5, 0.33, 0.9])
        kw["patience"] = rng.randint(0, 3)
        kw["cooldown"] = rng.randint(0, 2)
        if rng.random() < 0.5:
            kw["min_lr"] = perg(lambda: rng.choice([0, 1e-3, 0.01, 0.05]))
        kw["eps"] = rng.choice([1e-8, 1e-3, 0.0])
        cfg["metrics"] = [
            rng.choice([1.0, 0.5, 0.99, 1.01, rng.uniform(0, 2), 0.3, 0.3001]) for _ in range(60)
        ]
    if resume:
        kw["last_epoch"] = rng.randint(0, 8)
        cfg["initial"] = []
        for _ in range(n):
            d = {"initial_lr": rng.uniform(0.01, 0.5)}
            if cls == "OneCycleLR":
                d.update(
                    max_lr=rng.uniform(0.3, 1), min_lr=1e-4, max_momentum=0.95, base_momentum=0.85
                )
            cfg["initial"].append(d)
    cfg["kw"] = kw
    ops = []
    for _ in range(rng.randint(3, 45)):
        r = rng.random()
        if r < 0.7:
            ops.append("s")
        elif r < 0.75:
            ops.append("n")
        elif r < 0.85:
            if cls == "CosineAnnealingWarmRestarts":
                ops.append(
                    (
                        "e",
                        rng.choice(
                            [
                                rng.randint(0, 30),
                                round(rng.uniform(0, 30), 2),
                                rng.uniform(0, 40),
                                -1,
                            ]
                        ),
                    )
                )
            else:
                ops.append(("e", rng.randint(0, 20)))
        elif r < 0.92:
            ops.append("r")
        else:
            ops.append("x")
    cfg["script"] = ops
    return cfg


CLASSES = ["CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts", "ReduceLROnPlateau"]


@pytest.mark.parametrize("chunk", range(3))
@pytest.mark.parametrize("cls", CLASSES)
def test_random_sequences_match_torch(cls, chunk):
    for seed in range(chunk * 25, chunk * 25 + 25):
        cfg = rand_cfg(random.Random(f"{cls}-{seed}"), cls)
        assert play(ember, cfg) == play(torch, cfg), (seed, cfg["kw"], cfg["script"])
