"""The learning-rate range test and cyclical schedules, as fastai's ``lr_find`` and the
pytorch-lr-finder package implement them on plain PyTorch: the model and optimizer state are
saved with ``copy.deepcopy(state_dict())``, the learning rate grows exponentially per batch
through ``LambdaLR`` (and by writing ``param_group["lr"]`` directly), the loss is smoothed with
an exponential moving average and the run stops when it diverges; the suggestion is the
steepest descent of the smoothed curve (``torch.diff``/``torch.argmin``). Then training with
``OneCycleLR`` (cycling Adam's ``betas`` and SGD's ``momentum``, ``three_phase``,
``anneal_strategy``), ``CyclicLR`` (``triangular2``, ``exp_range``, a custom ``scale_fn``) and
``CosineAnnealingWarmRestarts`` stepped with fractional epochs, printing ``get_last_lr()`` and the
optimizer's ``repr``; ``state_dict`` round trips of the schedulers resume mid-cycle."""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import lr_scheduler

rng = np.random.default_rng(1)
X = torch.from_numpy(rng.normal(size=(256, 8)).astype(np.float32))
W = torch.from_numpy(rng.normal(size=(8, 3)).astype(np.float32))
y = (X @ W + 0.2 * torch.from_numpy(rng.normal(size=(256, 3)).astype(np.float32))).argmax(1)
batches = [(X[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]


def make_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))


# ---------------------------------------------------------------- LR range test
model = make_model()
opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
saved_model = copy.deepcopy(model.state_dict())
saved_opt = copy.deepcopy(opt.state_dict())
start_lr, end_lr, num_iter = 1e-4, 10.0, 40
gamma = (end_lr / start_lr) ** (1 / (num_iter - 1))
finder = lr_scheduler.LambdaLR(opt, lambda it: gamma ** it)
lrs, losses = [], []
avg, beta, best = 0.0, 0.9, math.inf
for it in range(num_iter):
    xb, yb = batches[it % len(batches)]
    loss = F.cross_entropy(model(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    lrs.append(finder.get_last_lr()[0])
    avg = beta * avg + (1 - beta) * loss.item()
    smoothed = avg / (1 - beta ** (it + 1))
    losses.append(smoothed)
    best = min(best, smoothed)
    finder.step()
    if smoothed > 4 * best or not math.isfinite(smoothed):
        print(f"diverged at iteration {it} lr {lrs[-1]:.4f}")
        break
curve = torch.tensor(losses)
grad = torch.diff(curve)
i = int(torch.argmin(grad[5:])) + 5
print(f"range test: {len(lrs)} lrs from {lrs[0]:.1e} to {lrs[-1]:.3f}, min smoothed loss "
      f"{curve.min().item():.4f} at lr {lrs[int(curve.argmin())]:.4f}")
print(f"suggested lr (steepest) {lrs[i]:.4f}")
model.load_state_dict(saved_model)
opt.load_state_dict(saved_opt)
print("restored", opt.param_groups[0]["lr"], "initial_lr" in opt.param_groups[0],
      round(model[0].weight.sum().item(), 4))

# manual exponential sweep writing param_group["lr"] directly
model = make_model()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for it in range(6):
    for g in opt.param_groups:
        g["lr"] = 1e-3 * 3 ** it
    xb, yb = batches[it]
    loss = F.cross_entropy(model(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
print("manual sweep lrs", [round(1e-3 * 3 ** it, 4) for it in range(6)], "last loss",
      round(loss.item(), 4))
print(opt)

# ---------------------------------------------------------------- one-cycle training
suggested = lrs[i]


def train(model, opt, sched, epochs, per_batch=True, tag=""):
    trace = []
    for ep in range(epochs):
        for b, (xb, yb) in enumerate(batches):
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if per_batch:
                sched.step()
            trace.append(opt.param_groups[0]["lr"])
        print(f"{tag} epoch {ep} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.5f}")
    return trace


model = make_model()
opt = torch.optim.SGD(model.parameters(), lr=suggested, momentum=0.9, nesterov=True)
sched = lr_scheduler.OneCycleLR(opt, max_lr=suggested, epochs=3, steps_per_epoch=len(batches),
                                pct_start=0.3, div_factor=25.0, final_div_factor=1e4)
trace = train(model, opt, sched, 3, tag="onecycle-sgd")
print("peak at step", int(np.argmax(trace)), "momentum now",
      round(opt.param_groups[0]["momentum"], 4), "first/last lr", f"{trace[0]:.5f}",
      f"{trace[-1]:.2e}")

model = make_model()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
sched = lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=2 * len(batches), three_phase=True,
                                anneal_strategy="linear", base_momentum=0.8, max_momentum=0.95)
train(model, opt, sched, 2, tag="onecycle-adamw")
print("adamw betas now", tuple(round(b, 4) for b in opt.param_groups[0]["betas"]))

# ---------------------------------------------------------------- cyclic schedules
for mode, kw in [("triangular2", {}), ("exp_range", {"gamma": 0.97}),
                 ("custom", {"scale_fn": lambda x: 1 / (1 + 0.5 * (x - 1)),
                             "scale_mode": "cycle"})]:
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    kw = dict(kw)
    if mode != "custom":
        kw["mode"] = mode
    sched = lr_scheduler.CyclicLR(opt, base_lr=0.005, max_lr=0.1, step_size_up=3,
                                  step_size_down=5, **kw)
    trace = train(model, opt, sched, 2, tag=f"cyclic-{mode}")
    print(f"cyclic-{mode} lrs", [round(v, 4) for v in trace[:10]],
          "momentum", round(opt.param_groups[0]["momentum"], 4))

# resume CyclicLR mid-cycle from its state_dict
model = make_model()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
sched = lr_scheduler.CyclicLR(opt, base_lr=0.005, max_lr=0.1, step_size_up=4)
for _ in range(5):
    opt.step()
    sched.step()
state = sched.state_dict()
print("cyclic state keys", sorted(k for k in state if not k.startswith("_")))
opt2 = torch.optim.SGD(make_model().parameters(), lr=0.01, momentum=0.9)
sched2 = lr_scheduler.CyclicLR(opt2, base_lr=0.005, max_lr=0.1, step_size_up=4)
sched2.load_state_dict(state)
for _ in range(3):
    opt.step()
    sched.step()
    opt2.step()
    sched2.step()
print("resumed lr", round(sched2.get_last_lr()[0], 5), "original", round(sched.get_last_lr()[0], 5),
      "last_epoch", sched2.last_epoch)

# warm restarts stepped with fractional epochs, as the docs show
model = make_model()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=1e-4)
seen = []
iters = len(batches)
for epoch in range(4):
    for b, (xb, yb) in enumerate(batches):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step(epoch + b / iters)
        seen.append(sched.get_last_lr()[0])
print("warm restarts T_i", sched.T_i, "T_cur", round(sched.T_cur, 4), "lrs",
      [round(v, 4) for v in seen[::4]])
print("final loss", round(loss.item(), 4))
