"""A learning-rate range test and hypergradient descent, as the pytorch-lr-finder package and
the "Online Learning Rate Adaptation with Hypergradient Descent" code write them: a custom
``LRScheduler`` subclass sweeping the rate exponentially, a smoothed loss with divergence
stop, model and optimizer restored from ``state_dict`` copies, the steepest-descent
suggestion; then SGD-HD / Adam-HD as ``Optimizer`` subclasses that learn their own rate; then
the schedules people use with the found rate: CyclicLR in ``exp_range`` mode cycling momentum
(SGD) and beta1 (Adam), three-phase OneCycleLR, LambdaLR with one lambda per group,
PolynomialLR, MultiplicativeLR, ChainedScheduler, ReduceLROnPlateau with cooldown, and a
scheduler ``state_dict`` round trip."""
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import (ChainedScheduler, CyclicLR, LambdaLR, LRScheduler,
                                      MultiplicativeLR, OneCycleLR, PolynomialLR,
                                      ReduceLROnPlateau)

torch.manual_seed(0)

X = torch.randn(512, 10)
w = torch.randn(10, 3)
Y = (X @ w + 0.5 * torch.randn(512, 3)).argmax(1)


def make_model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))


def batches(epoch, bs=32):
    perm = torch.randperm(512, generator=torch.Generator().manual_seed(epoch))
    for i in range(0, 512, bs):
        idx = perm[i:i + bs]
        yield X[idx], Y[idx]


class ExponentialLRSweep(LRScheduler):
    """Exponentially increases the learning rate between two boundaries over ``num_iter``."""

    def __init__(self, optimizer, end_lr, num_iter, last_epoch=-1):
        self.end_lr = end_lr
        if num_iter <= 1:
            raise ValueError("`num_iter` must be larger than 1")
        self.num_iter = num_iter
        super(ExponentialLRSweep, self).__init__(optimizer, last_epoch)

    def get_lr(self):
        r = self.last_epoch / (self.num_iter - 1)
        return [base_lr * (self.end_lr / base_lr) ** r for base_lr in self.base_lrs]


def range_test(model, optimizer, start_lr=1e-5, end_lr=10, num_iter=60, smooth_f=0.05,
               diverge_th=5):
    model_state = copy.deepcopy(model.state_dict())
    optim_state = copy.deepcopy(optimizer.state_dict())
    for group in optimizer.param_groups:
        group["lr"] = start_lr
    scheduler = ExponentialLRSweep(optimizer, end_lr, num_iter)
    lrs, losses, best = [], [], None
    data = iter(batches(100, bs=16))
    for iteration in range(num_iter):
        try:
            inputs, labels = next(data)
        except StopIteration:
            data = iter(batches(101 + iteration, bs=16))
            inputs, labels = next(data)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()
        lrs.append(scheduler.get_last_lr()[0])
        scheduler.step()
        loss = loss.item()
        if iteration > 0:
            loss = smooth_f * loss + (1 - smooth_f) * losses[-1]
        if best is None or loss < best:
            best = loss
        losses.append(loss)
        if loss > diverge_th * best:
            break
    model.load_state_dict(model_state)
    optimizer.load_state_dict(optim_state)
    return lrs, losses


model = make_model()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
lrs, losses = range_test(model, optimizer)
print("range test: iters", len(lrs), "first lr", f"{lrs[0]:.2e}", "last lr", f"{lrs[-1]:.3e}")
print("smoothed losses", [round(v, 3) for v in losses[::8]])
slopes = torch.tensor(losses[1:]) - torch.tensor(losses[:-1])
skip = 5
min_grad_idx = int(slopes[skip:].argmin()) + skip
print("suggested lr", f"{lrs[min_grad_idx]:.3e}", "restored lr", optimizer.param_groups[0]["lr"],
      "state empty", len(optimizer.state) == 0)
suggested = lrs[min_grad_idx]


class SGDHD(torch.optim.Optimizer):
    """SGD whose learning rate follows its hypergradient: lr += beta * g_t . g_{t-1}."""

    def __init__(self, params, lr=1e-3, hypergrad_lr=1e-4):
        defaults = dict(lr=lr, hypergrad_lr=hypergrad_lr)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            grads = [p.grad for p in group["params"] if p.grad is not None]
            flat = torch.cat([g.reshape(-1) for g in grads])
            state = self.state[group["params"][0]]
            if "prev_grad" in state:
                h = torch.dot(flat, state["prev_grad"]).item()
                group["lr"] += group["hypergrad_lr"] * h
            state["prev_grad"] = flat.clone()
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"])
        return loss


class AdamHD(torch.optim.Adam):
    """Adam with the hypergradient rate update on its own (bias-corrected) direction."""

    def __init__(self, params, lr=1e-3, hypergrad_lr=1e-7, **kwargs):
        super().__init__(params, lr=lr, **kwargs)
        for group in self.param_groups:
            group["hypergrad_lr"] = hypergrad_lr

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            h = 0.0
            for p in group["params"]:
                state = self.state[p]
                if p.grad is None or len(state) == 0:
                    continue
                step = float(state["step"])
                b1, b2 = group["betas"]
                m_hat = state["exp_avg"] / (1 - b1 ** step)
                v_hat = state["exp_avg_sq"] / (1 - b2 ** step)
                h += torch.sum(p.grad * (-m_hat / (v_hat.sqrt() + group["eps"]))).item()
            group["lr"] -= group["hypergrad_lr"] * h
        return super().step(closure)


for name, make_opt in [("SGD-HD", lambda ps: SGDHD(ps, lr=0.01, hypergrad_lr=1e-3)),
                       ("Adam-HD", lambda ps: AdamHD(ps, lr=1e-3, hypergrad_lr=1e-5))]:
    model = make_model()
    opt = make_opt(model.parameters())
    trace = []
    for epoch in range(4):
        for inputs, labels in batches(epoch):
            def closure(opt=opt, model=model, inputs=inputs, labels=labels):
                opt.zero_grad()
                loss = F.cross_entropy(model(inputs), labels)
                loss.backward()
                return loss
            loss = opt.step(closure) if name == "SGD-HD" else None
            if loss is None:
                loss = closure()
                opt.step()
        trace.append(opt.param_groups[0]["lr"])
    print(f"{name}: loss {loss.item():.4f} lr trace", [round(v, 5) for v in trace])

# schedules built around the suggested rate
base = round(suggested, 4)


def run(make_opt, make_sched, epochs=3, per_batch=True, name=""):
    model = make_model()
    opt = make_opt(model.parameters())
    sched = make_sched(opt)
    lrs, moms = [], []
    for epoch in range(epochs):
        for inputs, labels in batches(epoch):
            opt.zero_grad()
            loss = F.cross_entropy(model(inputs), labels)
            loss.backward()
            opt.step()
            if per_batch:
                sched.step()
            g = opt.param_groups[0]
            lrs.append(sched.get_last_lr()[0])
            moms.append(g["momentum"] if "momentum" in g else g["betas"][0])
        if not per_batch:
            sched.step()
    print(f"{name:>12}: loss {loss.item():.4f} lr", [f"{v:.4g}" for v in lrs[::12]],
          "mom", [round(m, 4) for m in moms[::12]])
    return opt, sched


run(lambda ps: torch.optim.SGD(ps, lr=base, momentum=0.9),
    lambda o: CyclicLR(o, base_lr=base / 10, max_lr=base, step_size_up=8, step_size_down=4,
                       mode="exp_range", gamma=0.97, cycle_momentum=True, base_momentum=0.8,
                       max_momentum=0.95), name="CyclicLR sgd")
run(lambda ps: torch.optim.Adam(ps, lr=base / 10),
    lambda o: CyclicLR(o, base_lr=base / 20, max_lr=base / 5, step_size_up=6,
                       mode="triangular2", cycle_momentum=True, base_momentum=0.85,
                       max_momentum=0.9), name="CyclicLR adam")
run(lambda ps: torch.optim.AdamW(ps, lr=base, weight_decay=0.01),
    lambda o: OneCycleLR(o, max_lr=base, total_steps=48, pct_start=0.25,
                         anneal_strategy="linear", three_phase=True, div_factor=10,
                         final_div_factor=100), name="OneCycle 3ph")
run(lambda ps: torch.optim.SGD([{"params": ps}], lr=base, momentum=0.9, nesterov=True),
    lambda o: PolynomialLR(o, total_iters=5, power=2.0), per_batch=False, epochs=6,
    name="Polynomial")

# one lambda per parameter group (backbone warms up, head decays)
model = make_model()
opt = torch.optim.SGD([{"params": model[0].parameters()},
                       {"params": model[2].parameters(), "lr": base * 2}], lr=base)
sched = LambdaLR(opt, lr_lambda=[lambda e: min(1.0, (e + 1) / 3), lambda e: 0.8 ** e])
for epoch in range(4):
    opt.step()  # no gradients yet: a no-op that keeps the step order scheduler-friendly
    sched.step()
    print("LambdaLR groups", [round(v, 6) for v in sched.get_last_lr()])

# chained multiplicative + plateau, with a state_dict round trip of the chain
model = make_model()
opt = torch.optim.SGD(model.parameters(), lr=base, momentum=0.9)
mult = MultiplicativeLR(opt, lr_lambda=lambda e: 0.9)
poly = PolynomialLR(opt, total_iters=8, power=1.0)
chain = ChainedScheduler([mult, poly], optimizer=opt)
plateau = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1, threshold=0.05,
                            threshold_mode="abs", cooldown=1, min_lr=1e-4)
saved = None
for epoch in range(8):
    total = 0.0
    for inputs, labels in batches(epoch):
        opt.zero_grad()
        loss = F.cross_entropy(model(inputs), labels)
        loss.backward()
        opt.step()
        total += loss.item()
    chain.step()
    plateau.step(round(total / 16, 3))
    if epoch == 3:
        saved = (copy.deepcopy(chain.state_dict()), copy.deepcopy(plateau.state_dict()))
    print(f"epoch {epoch}: loss {total / 16:.4f} lr {opt.param_groups[0]['lr']:.6f} "
          f"plateau bad {plateau.num_bad_epochs} cooldown {plateau.cooldown_counter}")
print("chain state keys", sorted(saved[0]), "plateau best", round(saved[1]["best"], 4))
opt2 = torch.optim.SGD(make_model().parameters(), lr=base, momentum=0.9)
chain2 = ChainedScheduler([MultiplicativeLR(opt2, lr_lambda=lambda e: 0.9),
                           PolynomialLR(opt2, total_iters=8, power=1.0)], optimizer=opt2)
chain2.load_state_dict(saved[0])
print("restored last_epoch", [s.last_epoch for s in chain2._schedulers],
      "last lr", [round(v, 6) for v in chain2.get_last_lr()])
print("isclose", math.isclose(chain.get_last_lr()[0], opt.param_groups[0]["lr"]))
