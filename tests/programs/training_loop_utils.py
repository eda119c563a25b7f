"""Training-loop utilities from the torch.optim docs: per-group options (no weight decay on
biases and norms), add_param_group for fine-tuning, zero_grad(set_to_none=...), optimizer
and scheduler state_dict round trips for resuming, optimizer hooks, scheduler chains
(SequentialLR warmup, OneCycleLR, CosineAnnealingWarmRestarts stepped per batch,
ReduceLROnPlateau, per-group LambdaLR) and a custom LRScheduler subclass."""
import math
import warnings

import numpy as np
import torch
from torch import nn
from torch.optim import SGD, Adam, AdamW
from torch.optim.lr_scheduler import (CosineAnnealingLR, CosineAnnealingWarmRestarts,
                                      ExponentialLR, LambdaLR, LinearLR, LRScheduler,
                                      OneCycleLR, ReduceLROnPlateau, SequentialLR, StepLR)

warnings.simplefilter("ignore")  # scheduler-order warnings differ in wording
rng = np.random.default_rng(0)
X = torch.from_numpy(rng.normal(size=(32, 6)).astype(np.float32))
Y = torch.from_numpy(rng.normal(size=(32, 2)).astype(np.float32))
WEIGHTS = [rng.normal(scale=0.3, size=s).astype(np.float32)
           for s in [(8, 6), (8,), (8,), (8,), (2, 8), (2,)]]


def make_model():
    model = nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 2))
    with torch.no_grad():
        for p, w in zip(model.parameters(), WEIGHTS):
            p.copy_(torch.from_numpy(w))
    return model


def fmt(values):
    return "[" + ", ".join(f"{v:.5g}" for v in values) + "]"


# per-group options: weight decay only on weight matrices
model = make_model()
decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
opt = AdamW([{"params": decay, "weight_decay": 0.1},
             {"params": no_decay, "weight_decay": 0.0, "lr": 3e-3}], lr=1e-2, betas=(0.9, 0.95))
print(opt)
print([len(g["params"]) for g in opt.param_groups], [g["lr"] for g in opt.param_groups],
      sorted(opt.defaults))
loss_fn = nn.MSELoss()
for step in range(5):
    opt.zero_grad()
    loss = loss_fn(model(X), Y)
    loss.backward()
    opt.step()
print(f"loss {loss.item():.5f}")

# the optimizer state: keyed by parameter, with step counts and moments
state = opt.state[decay[0]]
print(sorted(state), state["step"], state["exp_avg"].shape, f"{state['exp_avg_sq'].sum():.6g}")
sd = opt.state_dict()
print(sorted(sd), sorted(sd["state"]), [g["params"] for g in sd["param_groups"]])
print(sorted(sd["param_groups"][1]))

# resume: a fresh model/optimizer loaded from the state dicts continues identically
model2 = make_model()
model2.load_state_dict(model.state_dict())
opt2 = AdamW(model2.parameters(), lr=0.5)
try:
    opt2.load_state_dict(sd)
except ValueError as e:
    print("ValueError", e)
opt2 = AdamW([{"params": [p for p in model2.parameters() if p.dim() >= 2]},
              {"params": [p for p in model2.parameters() if p.dim() < 2]}], lr=0.5)
opt2.load_state_dict(sd)
print([g["lr"] for g in opt2.param_groups], [g["weight_decay"] for g in opt2.param_groups])
for m, o in [(model, opt), (model2, opt2)]:
    o.zero_grad()
    loss_fn(m(X), Y).backward()
    o.step()
print(all(torch.equal(a, b) for a, b in zip(model.parameters(), model2.parameters())))
sd["param_groups"][0]["lr"] = 123.0  # state_dict returns copies of the group options
print(opt.param_groups[0]["lr"])

# zero_grad: set_to_none (the default) drops .grad; False zeroes it in place
w = model[0].weight
opt.zero_grad(set_to_none=False)
print(w.grad is None, float(w.grad.abs().sum()))
opt.zero_grad()
print(w.grad is None)
model.zero_grad(set_to_none=False)
print(w.grad is None)

# fine-tuning: freeze the first layer, later add it as a new group with a smaller lr
model = make_model()
for p in model[0].parameters():
    p.requires_grad_(False)
opt = SGD([p for p in model.parameters() if p.requires_grad], lr=0.1, momentum=0.9,
          nesterov=True)
loss_fn(model(X), Y).backward()
opt.step()
for p in model[0].parameters():
    p.requires_grad_(True)
opt.add_param_group({"params": model[0].parameters(), "lr": 0.01})
print(len(opt.param_groups), opt.param_groups[1]["momentum"], opt.param_groups[1]["nesterov"],
      opt.param_groups[1]["lr"])
try:
    opt.add_param_group({"params": model[0].weight})
except ValueError as e:
    print("ValueError", e)
try:
    SGD(model.parameters(), lr=-1)
except ValueError as e:
    print("ValueError", e)
try:
    Adam(model.parameters(), betas=(1.0, 0.9))
except ValueError as e:
    print("ValueError", e)
opt.zero_grad()
loss = loss_fn(model(X), Y)
loss.backward()
opt.step()
print(f"{loss.item():.5f}", f"{model[0].weight.sum().item():.5f}")

# optimizer hooks
calls = []
h1 = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
h2 = opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))
opt.step()
h1.remove()
opt.step()
h2.remove()
opt.step()
print(calls)


# closures return the loss
def closure():
    opt.zero_grad()
    out = loss_fn(model(X), Y)
    out.backward()
    return out


print(f"{opt.step(closure).item():.5f}")


def lrs(sched_opt):
    return fmt(g["lr"] for g in sched_opt.param_groups)


def two_group_opt(cls=SGD, **kw):
    m = make_model()
    return cls([{"params": m[0].parameters()}, {"params": m[3].parameters(), "lr": 0.05}],
               lr=0.1, **kw)


# warmup then cosine with SequentialLR, two groups
opt = two_group_opt(momentum=0.9)
sched = SequentialLR(opt, [LinearLR(opt, start_factor=0.2, total_iters=3),
                           CosineAnnealingLR(opt, T_max=5, eta_min=1e-3)], milestones=[3])
trace = []
for epoch in range(9):
    opt.step()
    sched.step()
    trace.append(lrs(opt))
print("SequentialLR", " ".join(trace), fmt(sched.get_last_lr()))
state = sched.state_dict()
print(sorted(state), state["last_epoch"], [sorted(s) for s in state["_schedulers"]][:1])

# OneCycleLR per batch, with momentum cycling (SGD) and beta cycling (Adam), three phases
for cls, kw, extra in [(SGD, dict(momentum=0.9), {}), (Adam, {}, {}),
                       (SGD, dict(momentum=0.9), dict(three_phase=True, anneal_strategy="linear")),
                       (Adam, {}, dict(pct_start=0.5, div_factor=10.0,
                                       final_div_factor=100.0, cycle_momentum=False))]:
    opt = two_group_opt(cls, **kw)
    sched = OneCycleLR(opt, max_lr=[1.0, 0.5], epochs=2, steps_per_epoch=5, **extra)
    trace, moms = [], []
    for _ in range(10):
        opt.step()
        sched.step()
        trace.append(f"{opt.param_groups[0]['lr']:.4g}")
        group = opt.param_groups[1]
        moms.append(f"{group['momentum'] if 'momentum' in group else group['betas'][0]:.4g}")
    print("OneCycle", cls.__name__, " ".join(trace), "|", " ".join(moms))
    print(f"   initial {opt.param_groups[0]['initial_lr']:.4g} max {opt.param_groups[1]['max_lr']}"
          f" min {opt.param_groups[0]['min_lr']:.4g}")
try:
    opt.step()
    sched.step()
except ValueError as e:
    print("ValueError", str(e)[:60])
try:
    OneCycleLR(two_group_opt(), max_lr=0.1)
except ValueError as e:
    print("ValueError", e)

# CosineAnnealingWarmRestarts stepped with a fractional epoch each batch
opt = two_group_opt()
sched = CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.01)
iters = 4
trace = []
for epoch in range(6):
    for i in range(iters):
        opt.step()
        sched.step(epoch + i / iters)
    trace.append(f"{sched.T_cur:.3g}/{sched.T_i}:{opt.param_groups[0]['lr']:.4g}")
print("WarmRestarts", " ".join(trace))
try:
    CosineAnnealingWarmRestarts(opt, T_0=0)
except ValueError as e:
    print("ValueError", e)

# ReduceLROnPlateau in max mode on an accuracy, with cooldown, abs threshold and min_lr list
opt = two_group_opt()
plateau = ReduceLROnPlateau(opt, mode="max", factor=0.3, patience=1, threshold=0.05,
                            threshold_mode="abs", cooldown=1, min_lr=[0.02, 0.001])
for epoch, acc in enumerate([0.5, 0.6, 0.62, 0.63, 0.64, 0.8, 0.8, 0.8, 0.8, 0.8, 0.81]):
    plateau.step(acc)
    print(epoch, acc, lrs(opt), plateau.num_bad_epochs, plateau.cooldown_counter,
          f"{plateau.best:.3g}", fmt(plateau.get_last_lr()))
state = plateau.state_dict()
print(sorted(k for k in state if not k.startswith("_")))
plateau2 = ReduceLROnPlateau(two_group_opt(), mode="max")
plateau2.load_state_dict(state)
print(plateau2.mode, plateau2.patience, plateau2.best, plateau2.last_epoch)
try:
    ReduceLROnPlateau(opt, factor=1.5)
except ValueError as e:
    print("ValueError", e)
try:
    ReduceLROnPlateau(opt, mode="up")
except ValueError as e:
    print("ValueError", e)
try:
    ReduceLROnPlateau(opt, min_lr=[0.1])
except ValueError as e:
    print("ValueError", e)

# LambdaLR with one lambda per group; the state dict skips lambdas but keeps callable objects
class Warmup:
    def __init__(self, steps):
        self.steps = steps

    def __call__(self, step):
        return min(1.0, (step + 1) / self.steps)


opt = two_group_opt()
sched = LambdaLR(opt, [Warmup(4), lambda step: 0.5 ** step])
for _ in range(5):
    opt.step()
    sched.step()
print("LambdaLR", lrs(opt), fmt(sched.get_last_lr()), sched.last_epoch)
state = sched.state_dict()
print(sorted(state), state["lr_lambdas"])
opt_b = two_group_opt()
sched_b = LambdaLR(opt_b, [Warmup(10), lambda step: 1.0])
sched_b.load_state_dict(state)
print(sched_b.lr_lambdas[0].steps, sched_b.last_epoch)
try:
    LambdaLR(opt, [lambda s: 1.0])
except ValueError as e:
    print("ValueError", e)

# resuming a scheduler with last_epoch needs initial_lr in every group
opt = two_group_opt()
try:
    StepLR(opt, step_size=2, last_epoch=3)
except KeyError as e:
    print("KeyError", e)
for g in opt.param_groups:
    g["initial_lr"] = g["lr"]
sched = StepLR(opt, step_size=2, gamma=0.5, last_epoch=3)
print(sched.last_epoch, lrs(opt))
sched.step()
print(sched.last_epoch, lrs(opt), fmt(sched.get_last_lr()))


class WarmupInverseSqrt(LRScheduler):
    """A hand-written scheduler: linear warmup, then 1/sqrt(step) decay."""

    def __init__(self, optimizer, warmup, last_epoch=-1):
        self.warmup = warmup
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        step = max(self.last_epoch, 1)
        scale = min(step / self.warmup, math.sqrt(self.warmup / step))
        return [base * scale for base in self.base_lrs]


opt = two_group_opt()
sched = WarmupInverseSqrt(opt, warmup=3)
trace = []
for _ in range(7):
    opt.step()
    sched.step()
    trace.append(lrs(opt))
print("custom", " ".join(trace), sched.base_lrs)
print(sorted(sched.state_dict()))

# chaining two schedulers by stepping both (the docs' "chaining" example)
opt = two_group_opt()
s1 = ExponentialLR(opt, gamma=0.9)
s2 = StepLR(opt, step_size=2, gamma=0.1)
trace = []
for _ in range(5):
    opt.step()
    s1.step()
    s2.step()
    trace.append(lrs(opt))
print("chained", " ".join(trace))

# a tensor learning rate is accepted by Adam and read back as a tensor
model = make_model()
opt = Adam(model.parameters(), lr=torch.tensor(0.01))
loss_fn(model(X), Y).backward()
opt.step()
print(type(opt.param_groups[0]["lr"]).__name__, f"{model[3].bias.sum().item():.5f}")
try:
    Adam(model.parameters(), lr=torch.tensor(0.01), foreach=True)
except ValueError as e:
    print("ValueError", e)
