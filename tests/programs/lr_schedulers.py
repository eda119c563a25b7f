"""Learning-rate schedulers as training scripts use them: per-epoch and per-batch stepping."""
import math
import warnings

import torch.nn as nn
from torch.optim import SGD, Adam
from torch.optim.lr_scheduler import (ChainedScheduler, ConstantLR, CosineAnnealingLR,
                                      CosineAnnealingWarmRestarts, CyclicLR, ExponentialLR,
                                      LambdaLR, LinearLR, MultiplicativeLR, MultiStepLR,
                                      OneCycleLR, PolynomialLR, ReduceLROnPlateau, SequentialLR,
                                      StepLR)

warnings.simplefilter("ignore")


def make_opt(cls=SGD, **kw):
    model = nn.Linear(2, 1)
    return cls(model.parameters(), lr=0.1, **kw)


def trace(name, make_sched, steps=8, cls=SGD, **kw):
    opt = make_opt(cls, **kw)
    sched = make_sched(opt)
    lrs = []
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(f"{opt.param_groups[0]['lr']:.5g}")
    print(f"{name:>18}: {' '.join(lrs)} | last {sched.get_last_lr()[0]:.5g}")


trace("StepLR", lambda o: StepLR(o, step_size=3, gamma=0.5))
trace("MultiStepLR", lambda o: MultiStepLR(o, milestones=[2, 5], gamma=0.1))
trace("ExponentialLR", lambda o: ExponentialLR(o, gamma=0.9))
trace("CosineAnnealingLR", lambda o: CosineAnnealingLR(o, T_max=6, eta_min=0.001))
trace("WarmRestarts", lambda o: CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2))
trace("LambdaLR", lambda o: LambdaLR(o, lr_lambda=lambda epoch: 0.95 ** epoch))
trace("MultiplicativeLR", lambda o: MultiplicativeLR(o, lr_lambda=lambda epoch: 0.8))
trace("LinearLR", lambda o: LinearLR(o, start_factor=0.25, total_iters=4))
trace("ConstantLR", lambda o: ConstantLR(o, factor=0.5, total_iters=3))
trace("PolynomialLR", lambda o: PolynomialLR(o, total_iters=6, power=2.0))
trace("OneCycleLR", lambda o: OneCycleLR(o, max_lr=1.0, total_steps=8), cls=SGD, momentum=0.9)
trace("CyclicLR", lambda o: CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2),
      momentum=0.9)
trace("SequentialLR", lambda o: SequentialLR(
    o, schedulers=[LinearLR(o, start_factor=0.1, total_iters=3), ExponentialLR(o, gamma=0.8)],
    milestones=[3]))
trace("ChainedScheduler", lambda o: ChainedScheduler(
    [ConstantLR(o, factor=0.5, total_iters=2), ExponentialLR(o, gamma=0.9)]))

# warmup then cosine, the GPT recipe, written as a LambdaLR
warmup, total = 3, 10


def lr_lambda(step):
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


trace("warmup+cosine", lambda o: LambdaLR(o, lr_lambda), steps=10, cls=Adam)

# ReduceLROnPlateau on a validation loss that stalls
opt = make_opt()
plateau = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1, threshold=0.01)
for epoch, val_loss in enumerate([1.0, 0.9, 0.9, 0.9, 0.89, 0.89, 0.5, 0.5, 0.5]):
    plateau.step(val_loss)
    print(epoch, val_loss, f"{opt.param_groups[0]['lr']:.4g}", plateau.num_bad_epochs)

# scheduler state round trip
opt = make_opt()
sched = StepLR(opt, step_size=2, gamma=0.5)
for _ in range(3):
    opt.step()
    sched.step()
state = sched.state_dict()
print(sorted(state), state["last_epoch"], state["_last_lr"])
opt2 = make_opt()
sched2 = StepLR(opt2, step_size=2, gamma=0.5)
sched2.load_state_dict(state)
print(sched2.last_epoch, sched2.get_last_lr())
print(opt.param_groups[0]["initial_lr"], "initial_lr" in opt2.param_groups[0])
