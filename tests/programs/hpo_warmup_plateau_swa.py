"""Training-loop utilities of fine-tuning recipes (timm, torchvision's reference scripts, the
PyTorch docs' scheduler examples): linear warmup then cosine decay via ``SequentialLR`` of
``LinearLR`` and ``CosineAnnealingLR``, ``ChainedScheduler`` of ``ConstantLR`` and
``ExponentialLR``, gradual unfreezing where the backbone's parameters join later through
``optimizer.add_param_group`` (and a scheduler built after it), ``ReduceLROnPlateau`` in
``min``/``max`` mode with ``threshold_mode``, ``cooldown`` and per-group ``min_lr``,
checkpoint/resume of optimizer + scheduler ``state_dict``s mid-warmup, discriminative learning
rates per group, ``torch.optim.swa_utils`` (``AveragedModel``, ``SWALR``, ``update_bn``, EMA with
``get_ema_multi_avg_fn``) and ``clip_grad_norm_(error_if_nonfinite=...)`` /
``clip_grad_value_``."""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import lr_scheduler
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn

rng = np.random.default_rng(2)
X = torch.from_numpy(rng.normal(size=(192, 10)))
W = torch.from_numpy(rng.normal(size=(10,)))
y = ((X @ W).tanh() + 0.1 * torch.from_numpy(rng.normal(size=192))).unsqueeze(1)
batches = [(X[i:i + 24], y[i:i + 24]) for i in range(0, 192, 24)]
Xv, yv = X[:48] + 0.05, y[:48]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.ReLU(),
                                      nn.Linear(32, 16), nn.ReLU())
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        return self.head(self.backbone(x))


def fresh(seed=0):
    torch.manual_seed(seed)
    return Net().double()


def epoch(model, opt, sched=None, per_batch=False):
    model.train()
    for xb, yb in batches:
        loss = F.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if per_batch and sched is not None:
            sched.step()
    model.eval()
    with torch.no_grad():
        return F.mse_loss(model(Xv), yv).item()


def lrs(opt):
    return [f"{g['lr']:.5f}" for g in opt.param_groups]


# ---------------------------------------------------------------- warmup + cosine
model = fresh()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
warm = lr_scheduler.LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=3)
cos = lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=1e-3)
sched = lr_scheduler.SequentialLR(opt, schedulers=[warm, cos], milestones=[3])
for ep in range(8):
    vl = epoch(model, opt)
    print(f"warmup-cosine epoch {ep} val {vl:.4f} lr {lrs(opt)} last {sched.get_last_lr()[0]:.5f}")
    sched.step()
    if ep == 2:
        ckpt = copy.deepcopy({"model": model.state_dict(), "opt": opt.state_dict(),
                              "sched": sched.state_dict()})

# resume from the checkpoint taken at the end of warmup
model2 = fresh(seed=1)
opt2 = torch.optim.SGD(model2.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
sched2 = lr_scheduler.SequentialLR(opt2, [lr_scheduler.LinearLR(opt2, 0.1, total_iters=3),
                                          lr_scheduler.CosineAnnealingLR(opt2, 5, eta_min=1e-3)],
                                   milestones=[3])
model2.load_state_dict(ckpt["model"])
opt2.load_state_dict(ckpt["opt"])
sched2.load_state_dict(ckpt["sched"])
print("resumed at", sched2.last_epoch, "lr", lrs(opt2),
      "momentum buffers", len(opt2.state_dict()["state"]))
for ep in range(3, 8):
    vl2 = epoch(model2, opt2)
    sched2.step()
print(f"resumed run final val {vl2:.4f} same as uninterrupted {abs(vl2 - vl) < 1e-9}")

# ---------------------------------------------------------------- chained scheduler
model = fresh()
opt = torch.optim.Adam(model.parameters(), lr=0.01)
chain = lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(opt, factor=0.25, total_iters=2),
                                       lr_scheduler.ExponentialLR(opt, gamma=0.8)])
for ep in range(4):
    vl = epoch(model, opt)
    chain.step()
    print(f"chained epoch {ep} val {vl:.4f} lr {chain.get_last_lr()[0]:.6f}")

# ---------------------------------------------------------------- gradual unfreezing
model = fresh()
for p in model.backbone.parameters():
    p.requires_grad_(False)
opt = torch.optim.AdamW([{"params": model.head.parameters(), "lr": 3e-3}], weight_decay=0.01)
plateau = lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=0,
                                         threshold=0.07, threshold_mode="rel", min_lr=1e-4)
for ep in range(6):
    if ep == 2:
        for p in model.backbone.parameters():
            p.requires_grad_(True)
        opt.add_param_group({"params": model.backbone.parameters(), "lr": 3e-4,
                             "weight_decay": 0.0})
    vl = epoch(model, opt)
    plateau.step(vl)
    print(f"unfreeze epoch {ep} groups {len(opt.param_groups)} val {vl:.4f} lr {lrs(opt)} "
          f"bad epochs {plateau.num_bad_epochs}")
print("group keys", sorted(opt.param_groups[1].keys())[:6], "betas", opt.param_groups[1]["betas"])

# ---------------------------------------------------------------- plateau modes on a fixed curve
curve = [1.0, 0.8, 0.79, 0.795, 0.79, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69]
for mode, tmode, thr in [("min", "rel", 0.05), ("min", "abs", 0.005), ("max", "rel", 0.01)]:
    o = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                         {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.5}], lr=1.0)
    s = lr_scheduler.ReduceLROnPlateau(o, mode=mode, patience=2, factor=0.3, cooldown=1,
                                       threshold=thr, threshold_mode=tmode, min_lr=[0.05, 0.1])
    hist = []
    for v in curve:
        s.step(v if mode == "min" else -v)
        hist.append("/".join(f"{g['lr']:.3f}" for g in o.param_groups))
    print(f"plateau {mode}-{tmode}", hist[1::2], "best", round(s.best, 3))
print("plateau state keys", sorted(s.state_dict().keys())[:6])

# ---------------------------------------------------------------- SWA and EMA
model = fresh()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
swa_model = AveragedModel(model)
ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
swa_sched = SWALR(opt, swa_lr=0.01, anneal_epochs=2, anneal_strategy="linear")
base = lr_scheduler.CosineAnnealingLR(opt, T_max=4)
swa_start = 3
for ep in range(6):
    vl = epoch(model, opt)
    ema_model.update_parameters(model)
    if ep >= swa_start:
        swa_model.update_parameters(model)
        swa_sched.step()
    else:
        base.step()
    print(f"swa epoch {ep} val {vl:.4f} lr {opt.param_groups[0]['lr']:.5f} "
          f"n_averaged {swa_model.n_averaged.item()}")
update_bn([xb for xb, _ in batches], swa_model)
swa_model.eval()
ema_model.eval()
with torch.no_grad():
    print("swa val", round(F.mse_loss(swa_model(Xv), yv).item(), 4),
          "ema val", round(F.mse_loss(ema_model(Xv), yv).item(), 4),
          "bn batches", swa_model.module.backbone[1].num_batches_tracked.item())
print("swa keys", list(swa_model.state_dict().keys())[:3])

# ---------------------------------------------------------------- gradient clipping
model = fresh()
loss = F.mse_loss(model(X[:24]) * 100, y[:24])
loss.backward()
total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0, norm_type=2.0)
after = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))
print("clip norm before", round(total.item(), 3), "after", round(after.item(), 4))
nn.utils.clip_grad_value_(model.parameters(), clip_value=0.01)
print("max |grad| after value clip", max(p.grad.abs().max().item() for p in model.parameters()))
model.head.weight.grad[0, 0] = float("inf")
try:
    nn.utils.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
except RuntimeError as e:
    print("nonfinite:", str(e).split(".")[0])
print("inf-norm", nn.utils.clip_grad_norm_(model.parameters(), 1.0, norm_type="inf").item())
