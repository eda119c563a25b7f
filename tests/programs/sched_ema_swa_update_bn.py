"""Weight averaging as timm/torchvision recipes do it: EMA with get_ema_multi_avg_fn over
parameters and buffers, SWA with SWALR after a cosine phase, update_bn to recompute BatchNorm
statistics, and the averaged model checkpointed and restored.
"""
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import (SWALR, AveragedModel, get_ema_avg_fn, get_ema_multi_avg_fn,
                                   get_swa_avg_fn, get_swa_multi_avg_fn, update_bn)
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(5)
X = torch.from_numpy(rng.standard_normal((48, 4)).astype(np.float32))
labels = torch.from_numpy((X[:, 0].numpy() + X[:, 1].numpy() > 0).astype(np.int64))
loader = DataLoader(TensorDataset(X, labels), batch_size=12, shuffle=True,
                    generator=torch.Generator().manual_seed(0))


def make_net():
    torch.manual_seed(2)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def evaluate(model):
    model.eval()
    with torch.no_grad():
        logits = model(X)
        loss = F.cross_entropy(logits, labels)
        acc = (logits.argmax(1) == labels).float().mean()
    model.train()
    return f"loss {loss.item():.4f} acc {acc.item():.3f}"


# EMA over parameters and buffers, updated every step (timm's ModelEmaV3 style)
net = make_net()
ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
opt = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9, weight_decay=5e-4)
for epoch in range(3):
    for xb, yb in loader:
        opt.zero_grad()
        F.cross_entropy(net(xb), yb).backward()
        opt.step()
        ema.update_parameters(net)
    print(f"epoch {epoch} net {evaluate(net)} | ema {evaluate(ema)} "
          f"n_averaged {ema.n_averaged.item()}")
print("ema running_mean", ema.module[1].running_mean[:4])
print("net running_mean", net[1].running_mean[:4])
print("num_batches_tracked", ema.module[1].num_batches_tracked, net[1].num_batches_tracked)
print("ema keys", list(ema.state_dict())[:3], len(ema.state_dict()))

# the same EMA, one tensor at a time, matches the multi-tensor version
ema_single = AveragedModel(make_net(), avg_fn=get_ema_avg_fn(0.9), use_buffers=True)
net2 = make_net()
ema_multi = AveragedModel(net2, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
opt2 = torch.optim.SGD(net2.parameters(), lr=0.2)
for xb, yb in loader:
    opt2.zero_grad()
    F.cross_entropy(net2(xb), yb).backward()
    opt2.step()
    ema_single.update_parameters(net2)
    ema_multi.update_parameters(net2)
diff = max((a - b).abs().max().item()
           for a, b in zip(ema_single.parameters(), ema_multi.parameters()))
print("single vs multi EMA agree:", diff < 1e-6)

# SWA: cosine phase, then SWALR holds a constant lr and weights are averaged per epoch
net = make_net()
swa = AveragedModel(net, multi_avg_fn=get_swa_multi_avg_fn())
opt = torch.optim.SGD(net.parameters(), lr=0.3, momentum=0.9)
cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
swa_sched = SWALR(opt, swa_lr=0.05, anneal_epochs=2, anneal_strategy="linear")
swa_start = 3
for epoch in range(6):
    for xb, yb in loader:
        opt.zero_grad()
        F.cross_entropy(net(xb), yb).backward()
        opt.step()
    if epoch >= swa_start:
        swa.update_parameters(net)
        swa_sched.step()
    else:
        cosine.step()
    print(f"epoch {epoch} lr {opt.param_groups[0]['lr']:.4f} swa_lr "
          f"{swa_sched.get_last_lr()[0]:.4f} n_averaged {swa.n_averaged.item()}")

print("before update_bn", swa.module[1].running_var[:3], evaluate(swa))
update_bn(loader, swa)
print("after update_bn ", swa.module[1].running_var[:3], evaluate(swa))
print("momentum restored", swa.module[1].momentum)

# avg_fn one tensor at a time: the plain SWA mean equals the by-hand mean of snapshots
snapshots = []
manual = AveragedModel(make_net(), avg_fn=get_swa_avg_fn())
for k in range(3):
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * (k + 1))
    snapshots.append([p.detach().clone() for p in net.parameters()])
    manual.update_parameters(net)
by_hand = [torch.stack(ps).mean(0) for ps in zip(*snapshots)]
print("SWA mean == by-hand mean:",
      all(torch.allclose(a, b, atol=1e-6) for a, b in zip(manual.parameters(), by_hand)))

# checkpoint the averaged model and load it into a fresh wrapper
buffer = io.BytesIO()
torch.save(swa.state_dict(), buffer)
buffer.seek(0)
restored = AveragedModel(make_net())
restored.load_state_dict(torch.load(buffer))
print("restored n_averaged", restored.n_averaged, evaluate(restored))
print(restored.module[0].weight.round(decimals=3)[:2])

# SWALR argument checks
for kwargs in [dict(swa_lr=0.05, anneal_strategy="step"), dict(swa_lr=0.05, anneal_epochs=-1)]:
    try:
        SWALR(opt, **kwargs)
    except ValueError as err:
        print("ValueError:", err)
