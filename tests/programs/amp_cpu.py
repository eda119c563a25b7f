"""Automatic mixed precision recipe on the CPU: autocast to bfloat16, GradScaler, and what
runs in which dtype."""
import warnings

import numpy as np
import torch
import torch.nn as nn

device = "cpu"
rng = np.random.default_rng(0)
data = [torch.from_numpy(rng.standard_normal((16, 32)).astype(np.float32)) for _ in range(4)]
targets = [torch.from_numpy(rng.standard_normal((16, 8)).astype(np.float32)) for _ in range(4)]


def make_model():
    net = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                        nn.Linear(64, 8))
    with torch.no_grad():
        for i, p in enumerate(net.parameters()):
            idx = torch.arange(p.numel(), dtype=torch.float32)
            p.copy_((torch.sin(idx * (0.9 + i)) * 0.15).view_as(p))
    return net


# what autocast does to dtypes
a = torch.ones(4, 4)
b = torch.ones(4, 4)
with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
    c = a @ b
    d = torch.mm(a, b)
    e = c.float() + 1
    f = torch.nn.functional.linear(a, b)
    s = torch.softmax(c, dim=-1)
    l = torch.nn.functional.mse_loss(c, torch.zeros(4, 4))
    print(torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))
    with torch.autocast(device_type="cpu", enabled=False):
        g = a @ b
print(c.dtype, d.dtype, e.dtype, f.dtype, s.dtype, l.dtype, g.dtype)
print(torch.is_autocast_enabled("cpu"))

# default-precision training vs autocast training
net = make_model()
opt = torch.optim.SGD(net.parameters(), lr=0.05)
loss_fn = nn.MSELoss()
for epoch in range(3):
    for input, target in zip(data, targets):
        output = net(input)
        loss = loss_fn(output, target)
        loss.backward()
        opt.step()
        opt.zero_grad()
    print(f"float32 epoch {epoch} loss {loss.item():.4f}")

use_amp = True
net = make_model()
opt = torch.optim.SGD(net.parameters(), lr=0.05)
scaler = torch.amp.GradScaler("cpu", enabled=use_amp, init_scale=2.0 ** 10)
for epoch in range(3):
    for input, target in zip(data, targets):
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_amp):
            output = net(input)
            assert output.dtype is torch.bfloat16
            loss = loss_fn(output, target)
            assert loss.dtype is torch.float32
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=10.0)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
    print(f"bfloat16 epoch {epoch} loss {loss.item():.2f} scale {scaler.get_scale()}")
print(net[0].weight.dtype, net[0].weight.grad)

# GradScaler skips a step whose gradients overflow and backs off the scale
w = nn.Parameter(torch.tensor([1.0, 2.0]))
opt = torch.optim.SGD([w], lr=0.1)
scaler = torch.amp.GradScaler("cpu", init_scale=4.0, growth_interval=2)
for step, factor in enumerate([1.0, float("inf"), 1.0, 1.0, 1.0]):
    loss = (w * factor).sum()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    opt.zero_grad()
    print(step, w.detach(), scaler.get_scale())

checkpoint = {"model": net.state_dict(), "optimizer": opt.state_dict(),
              "scaler": scaler.state_dict()}
print(sorted(checkpoint["scaler"].items()))
scaler2 = torch.amp.GradScaler("cpu")
scaler2.load_state_dict(checkpoint["scaler"])
print(scaler2.get_scale(), scaler2.get_growth_interval(), scaler2.is_enabled())

# the old CUDA spelling warns and disables itself without CUDA
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    old = torch.cuda.amp.GradScaler()
print(old.is_enabled(), len(caught) > 0)
