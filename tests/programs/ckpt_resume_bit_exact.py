"""Checkpoint mid-epoch and resume: model, optimizer, scheduler, GradScaler, RNG and sampler state.

The resumed run must equal an uninterrupted one bit for bit.
"""
import io
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

rng = np.random.default_rng(0)
X = torch.from_numpy(rng.standard_normal((48, 6)).astype(np.float32))
Y = torch.from_numpy(rng.integers(0, 3, 48))
dataset = TensorDataset(X, Y)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x))))


def make_everything():
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=3)
    gen = torch.Generator().manual_seed(123)
    sampler = RandomSampler(dataset, generator=gen)
    loader = DataLoader(dataset, batch_size=8, sampler=sampler)
    return model, opt, sched, scaler, gen, loader


def train_step(model, opt, sched, scaler, xb, yb):
    noise = torch.randn_like(xb) * 0.01  # consumes the global RNG, like augmentation would
    jitter = random.random() * 0.01 + np.random.rand() * 0.01
    loss = F.cross_entropy(model(xb + noise + jitter), yb)
    opt.zero_grad()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    sched.step()
    return loss.item()


def run(stop_at=None, resume_from=None):
    random.seed(0)
    np.random.seed(0)
    model, opt, sched, scaler, gen, loader = make_everything()
    losses = []
    start_epoch, skip = 0, 0
    if resume_from is not None:
        ckpt = torch.load(resume_from, weights_only=False)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        start_epoch, skip = ckpt["epoch"], ckpt["batch"]
        losses = ckpt["losses"]
    step = len(losses)
    for epoch in range(start_epoch, 3):
        model.train()
        if resume_from is not None and epoch == start_epoch:
            gen.set_state(ckpt["epoch_gen"])  # replay this epoch's permutation
        epoch_gen = gen.get_state()
        batches = enumerate(loader)  # iter() draws a base seed from the global RNG
        if resume_from is not None and epoch == start_epoch:
            torch.set_rng_state(ckpt["torch_rng"])
            np.random.set_state(ckpt["numpy_rng"])
            random.setstate(ckpt["python_rng"])
        for i, (xb, yb) in batches:
            if epoch == start_epoch and i < skip:
                continue
            losses.append(train_step(model, opt, sched, scaler, xb, yb))
            step += 1
            if step == stop_at:
                buf = io.BytesIO()
                torch.save({
                    "model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "scaler": scaler.state_dict(),
                    "epoch": epoch, "batch": i + 1, "epoch_gen": epoch_gen,
                    "torch_rng": torch.get_rng_state(),
                    "numpy_rng": np.random.get_state(), "python_rng": random.getstate(),
                    "losses": list(losses),
                }, buf)
                return buf, losses
        skip = 0
    return model, losses


full_model, full_losses = run()
print("uninterrupted losses:", " ".join(f"{v:.4f}" for v in full_losses))

buf, partial = run(stop_at=9)
print("checkpoint bytes > 0:", buf.getbuffer().nbytes > 0, "steps done:", len(partial))
buf.seek(0)
ckpt = torch.load(buf, weights_only=False)
print("checkpoint keys:", sorted(ckpt))
print("rng state:", ckpt["torch_rng"].dtype, tuple(ckpt["torch_rng"].shape))
print("optimizer state keys:", sorted(ckpt["optimizer"]["state"][0]))
print("param_groups lr:", [round(g["lr"], 6) for g in ckpt["optimizer"]["param_groups"]])
sched_state = ckpt["scheduler"]
print("scheduler:", {k: v for k, v in sched_state.items() if k != "_get_lr_called_within_step"})
print("scaler:", ckpt["scaler"])

buf.seek(0)
resumed_model, resumed_losses = run(resume_from=buf)
print("resumed losses:    ", " ".join(f"{v:.4f}" for v in resumed_losses))
print("losses identical:", resumed_losses == full_losses)
same = all(torch.equal(a, b) for a, b in zip(full_model.state_dict().values(),
                                             resumed_model.state_dict().values()))
print("weights bit-identical:", same)
print(resumed_model.fc2.bias)

# RNG state round trip on the global generator and on a Generator
state = torch.get_rng_state()
a = torch.rand(3)
torch.set_rng_state(state)
print("global replay equal:", torch.equal(a, torch.rand(3)))
g = torch.Generator().manual_seed(5)
print("generator seed:", g.initial_seed())
s = g.get_state()
b = torch.randint(0, 100, (4,), generator=g)
g.set_state(s)
print("generator replay:", b.tolist(), torch.randint(0, 100, (4,), generator=g).tolist())
try:
    torch.set_rng_state(torch.zeros(3))
except Exception as e:
    print(type(e).__name__)
