"""Activation checkpointing as GPT trainers use it: torch.utils.checkpoint around each block
(reentrant and not), checkpoint_sequential, dropout inside a checkpoint replaying the same
mask, and the gradients matching an unchecked run."""
import warnings

import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint, checkpoint_sequential


def fill_(module, k):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            idx = torch.arange(p.numel(), dtype=torch.float32)
            p.copy_((torch.sin(idx * (k + 0.37 * i)) * 0.3).view_as(p))


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        return x + self.mlp(self.ln(x))


class Net(nn.Module):
    def __init__(self, d=8, n=3, mode=None):
        super().__init__()
        self.blocks = nn.ModuleList([Block(d) for _ in range(n)])
        self.head = nn.Linear(d, 1)
        self.mode = mode

    def forward(self, x):
        for block in self.blocks:
            if self.mode is None:
                x = block(x)
            else:
                x = checkpoint(block, x, use_reentrant=self.mode == "reentrant")
        return self.head(x)


x = torch.linspace(-1, 1, 4 * 8).view(4, 8)
results = {}
for mode in (None, "reentrant", "non-reentrant"):
    net = Net(mode=mode)
    fill_(net, 0.9)
    inp = x.clone().requires_grad_()
    out = net(inp)
    loss = out.pow(2).mean()
    loss.backward()
    grads = torch.cat([p.grad.flatten() for p in net.parameters()])
    results[mode] = (loss.item(), grads, inp.grad)
    print(f"{str(mode):>13}: loss {loss.item():.5f} |grad| {grads.abs().sum().item():.4f} "
          f"out.grad_fn {out.grad_fn.name()}")
base = results[None]
for mode in ("reentrant", "non-reentrant"):
    print(mode, torch.allclose(results[mode][1], base[1], atol=1e-6),
          torch.allclose(results[mode][2], base[2], atol=1e-6))

# the reentrant form without use_reentrant warns, and its node is CheckpointFunctionBackward
block = Block(8)
fill_(block, 0.4)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    y = checkpoint(block, x.clone().requires_grad_())
print([str(w.message)[:48] for w in caught], y.grad_fn.name())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    y = checkpoint(block, x, use_reentrant=True)  # no input requires grad
print([str(w.message) for w in caught], y.requires_grad)

# dropout inside a checkpoint: the recomputation replays the forward's mask
drop_block = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.Linear(8, 1))
fill_(drop_block, 1.3)
torch.manual_seed(0)
inp = x.clone().requires_grad_()
out = checkpoint(drop_block, inp, use_reentrant=True)
out.sum().backward()
g_ckpt = inp.grad.clone()
torch.manual_seed(0)
inp2 = x.clone().requires_grad_()
drop_block(inp2).sum().backward()
print(torch.allclose(g_ckpt, inp2.grad), torch.allclose(out, drop_block.eval()(x) * 0 + out))

# checkpoint_sequential over a Sequential in segments
seq = nn.Sequential(*[nn.Sequential(nn.Linear(8, 8), nn.Tanh()) for _ in range(4)])
fill_(seq, 0.7)
inp = x.clone().requires_grad_()
out = checkpoint_sequential(seq, 2, inp, use_reentrant=True)
out.sum().backward()
ref_inp = x.clone().requires_grad_()
seq(ref_inp).sum().backward()
print(out.shape, torch.allclose(inp.grad, ref_inp.grad, atol=1e-6))

# reentrant checkpoints refuse torch.autograd.grad
inp = x.clone().requires_grad_()
try:
    torch.autograd.grad(checkpoint(block, inp, use_reentrant=True).sum(), inp)
except RuntimeError as err:
    print("RuntimeError:", str(err)[:60])
(g,) = torch.autograd.grad(checkpoint(block, inp, use_reentrant=False).sum(), inp)
print(g.shape)
try:
    checkpoint(block, inp, use_reentrant=True, extra=1)
except ValueError as err:
    print("ValueError:", err)
