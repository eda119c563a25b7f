"""Learning-rate schedules composed as training recipes compose them, checkpointed mid-run.

LinearLR warmup followed by CosineAnnealingWarmRestarts (SequentialLR), a ChainedScheduler of
MultiplicativeLR and a LambdaLR, CyclicLR (triangular2 and exp_range, cycling momentum),
OneCycleLR with three phases and linear annealing, PolynomialLR, and ReduceLROnPlateau with a
cooldown and per-group min_lr. get_last_lr() is printed every step, the scheduler and optimizer
are saved halfway and resumed into fresh objects, and a wrong call order or argument is caught.
"""
import io
import math
import warnings

import numpy as np
import torch
import torch.nn as nn
from torch.optim import lr_scheduler as sched

rng = np.random.default_rng(11)
X = torch.from_numpy(rng.standard_normal((16, 3)).astype(np.float32))
y = (X[:, :1] * 2 - X[:, 1:2]).clone()


def make(lr=0.1, momentum=0.9, groups=False):
    torch.manual_seed(1)
    model = nn.Linear(3, 1)
    if groups:
        params = [{"params": [model.weight]}, {"params": [model.bias], "lr": lr * 10}]
    else:
        params = model.parameters()
    return model, torch.optim.SGD(params, lr=lr, momentum=momentum)


def one_step(model, opt):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X), y)
    loss.backward()
    opt.step()
    return loss.item()


def fmt(values):
    return "[" + ", ".join(f"{v:.5f}" for v in values) + "]"


def run(name, build, steps, save_at=None, **make_kw):
    """Train ``steps`` steps printing get_last_lr; optionally save at ``save_at``, resume
    a fresh model/optimizer/scheduler from the checkpoint and check it follows the same path."""
    print(f"-- {name}")
    model, opt = make(**make_kw)
    scheduler = build(opt)
    print("initial", fmt(scheduler.get_last_lr()))
    trail, buffer = [], None
    for step in range(steps):
        loss = one_step(model, opt)
        scheduler.step()
        lr = scheduler.get_last_lr()
        trail.append((loss, lr))
        momentum = opt.param_groups[0]["momentum"]
        print(f"{step:2d} loss {loss:.4f} lr {fmt(lr)} momentum {momentum:.4f}")
        if step == save_at:
            buffer = io.BytesIO()
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "sched": scheduler.state_dict()}, buffer)
    if buffer is not None:
        buffer.seek(0)
        ckpt = torch.load(buffer, weights_only=False)
        model2, opt2 = make(**make_kw)
        scheduler2 = build(opt2)
        model2.load_state_dict(ckpt["model"])
        opt2.load_state_dict(ckpt["opt"])
        scheduler2.load_state_dict(ckpt["sched"])
        resumed = []
        for _ in range(save_at + 1, steps):
            loss = one_step(model2, opt2)
            scheduler2.step()
            resumed.append((loss, scheduler2.get_last_lr()))
        print("resumed identically:", resumed == trail[save_at + 1:],
              "last_epoch", getattr(scheduler2, "last_epoch", None))


def warmup_then_restarts(opt):
    warmup = sched.LinearLR(opt, start_factor=0.01, end_factor=1.0, total_iters=3)
    restarts = sched.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=1e-3)
    return sched.SequentialLR(opt, schedulers=[warmup, restarts], milestones=[3])


run("LinearLR warmup -> CosineAnnealingWarmRestarts", warmup_then_restarts, 12, save_at=5)


def chained(opt):
    decay = sched.MultiplicativeLR(opt, lr_lambda=lambda epoch: 0.9)
    wobble = sched.LambdaLR(opt, lr_lambda=[lambda e: 1 + 0.5 * math.sin(e),
                                            lambda e: 1.0 / (1 + e)])
    return sched.ChainedScheduler([decay, wobble], optimizer=opt)


run("ChainedScheduler(MultiplicativeLR, LambdaLR per group)", chained, 6, save_at=2,
    groups=True)
run("CyclicLR triangular2", lambda o: sched.CyclicLR(
    o, base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=1, mode="triangular2",
    base_momentum=0.8, max_momentum=0.95), 9, save_at=4)
run("CyclicLR exp_range", lambda o: sched.CyclicLR(
    o, base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=3, mode="exp_range", gamma=0.9,
    cycle_momentum=False), 7, groups=True)
run("OneCycleLR three_phase linear", lambda o: sched.OneCycleLR(
    o, max_lr=0.5, epochs=2, steps_per_epoch=5, pct_start=0.3, anneal_strategy="linear",
    three_phase=True, div_factor=10, final_div_factor=100), 10, save_at=4)
run("PolynomialLR", lambda o: sched.PolynomialLR(o, total_iters=4, power=0.5), 6)

# ReduceLROnPlateau: patience, threshold_mode, cooldown and per-group floors
model, opt = make(groups=True)
plateau = sched.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=1, cooldown=2,
                                  threshold=0.05, threshold_mode="rel", min_lr=[0.01, 0.2])
print("-- ReduceLROnPlateau")
for epoch, acc in enumerate([0.5, 0.6, 0.61, 0.62, 0.6, 0.6, 0.6, 0.61, 0.6, 0.59, 0.6, 0.6]):
    plateau.step(acc)
    print(epoch, acc, fmt(plateau.get_last_lr()), "bad", plateau.num_bad_epochs,
          "cooldown", plateau.cooldown_counter, "best", plateau.best)
state = plateau.state_dict()
print(sorted(k for k in state if not k.startswith("_")))

# mistakes people make, and what PyTorch says
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model, opt = make()
    s = sched.StepLR(opt, step_size=2)
    s.step()  # before optimizer.step()
    one_step(model, opt)
    print(len(caught), [str(w.category.__name__) for w in caught])
    print(str(caught[0].message).split(".")[0] if caught else "no warning")
for bad in [lambda o: sched.OneCycleLR(o, max_lr=0.1),
            lambda o: sched.CyclicLR(o, base_lr=0.1, max_lr=0.2, mode="zigzag"),
            lambda o: sched.LinearLR(o, start_factor=2.0),
            lambda o: sched.SequentialLR(o, [sched.ConstantLR(o)], milestones=[1, 2]),
            lambda o: sched.ReduceLROnPlateau(o, factor=1.5)]:
    try:
        bad(make()[1])
    except ValueError as err:
        print("ValueError:", err)
model, opt = make()
onecycle = sched.OneCycleLR(opt, max_lr=0.1, total_steps=2)
try:
    for _ in range(4):
        one_step(model, opt)
        onecycle.step()
except ValueError as err:
    print("ValueError:", err)
