"""Sizing a model before training it, as efficiency write-ups do (the FlopCounterMode recipe,
nanoGPT's MFU estimate, activation-checkpointing guides): parameter counts by module,
``torch.utils.flop_counter.FlopCounterMode`` over forward and forward+backward of a small
transformer whose attention is written with ``torch.einsum``, the extra forward FLOPs that
activation checkpointing (``torch.utils.checkpoint.checkpoint`` / ``checkpoint_sequential``,
``use_reentrant=False``) spends recomputing, gradients identical with and without it (dropout
included, thanks to ``preserve_rng_state``), and memory statistics behind
``torch.cuda.is_available()`` guards."""
import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint, checkpoint_sequential
from torch.utils.flop_counter import FlopCounterMode

warnings.simplefilter("ignore")
torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class EinsumAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).unbind(2)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(d // self.heads)
        mask = torch.ones(t, t, dtype=torch.bool).tril()
        attn = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        out = torch.einsum("bhqk,bkhd->bhqd", attn, v).transpose(1, 2).reshape(b, t, d)
        return self.proj(out)


class Block(nn.Module):
    def __init__(self, dim, heads, p=0.1):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = EinsumAttention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim),
                                 nn.Dropout(p))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyGPT(nn.Module):
    def __init__(self, vocab=32, dim=16, heads=2, layers=3, ctx=8, use_ckpt=False):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.zeros(ctx, dim))
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.use_ckpt = use_ckpt

    def forward(self, idx):
        x = self.tok(idx) + self.pos[: idx.shape[1]]
        for block in self.blocks:
            if self.use_ckpt:
                x = checkpoint(block, x, use_reentrant=False, preserve_rng_state=True)
            else:
                x = block(x)
        return self.head(self.ln(x))


model = TinyGPT().to(device)
print("total params:", sum(p.numel() for p in model.parameters()))
print("non-embedding params:", sum(p.numel() for p in model.parameters())
      - model.tok.weight.numel() - model.pos.numel())
for name, child in model.named_children():
    print(f"  {name:7s} {sum(p.numel() for p in child.parameters()):6d}")
print("bytes (fp32):", sum(p.numel() * p.element_size() for p in model.parameters()))

idx = torch.randint(0, 32, (4, 8), device=device)
targets = torch.randint(0, 32, (4, 8), device=device)


def flops_by_op(counter, module="Global"):
    return {str(op): n for op, n in sorted(counter.get_flop_counts()[module].items(),
                                           key=lambda kv: str(kv[0]))}


model.eval()
with FlopCounterMode(display=False) as fc:
    model(idx)
fwd = fc.get_total_flops()
print("forward flops:", fwd, flops_by_op(fc))
print("attn flops (block 0):", flops_by_op(fc, "TinyGPT.blocks.0.attn"))
print("mlp flops (block 0):", sum(fc.get_flop_counts()["TinyGPT.blocks.0.mlp"].values()))
print("modules counted:", sorted(k for k in fc.get_flop_counts() if k.count(".") <= 1))

model.train()
with FlopCounterMode(display=False) as fc:
    F.cross_entropy(model(idx).flatten(0, 1), targets.flatten()).backward()
train_flops = fc.get_total_flops()
print("train step flops:", train_flops, "ratio to forward:", round(train_flops / fwd, 3))
print("by op:", flops_by_op(fc))
# the 6*N*T rule of thumb against the count
tokens = idx.numel()
n_matmul = sum(p.numel() for n, p in model.named_parameters()
               if p.dim() == 2 and "tok" not in n and n != "pos")
print("6NT estimate:", 6 * n_matmul * tokens)


def grads_of(m):
    return {n: p.grad.detach().clone() for n, p in m.named_parameters() if p.grad is not None}


# activation checkpointing: same loss and gradients, more FLOPs (a second forward)
torch.manual_seed(1)
plain = TinyGPT().to(device)
ckpt = TinyGPT(use_ckpt=True).to(device)
ckpt.load_state_dict(plain.state_dict())
results = {}
for tag, m in (("plain", plain), ("ckpt", ckpt)):
    torch.manual_seed(123)  # same dropout masks in both runs
    with FlopCounterMode(display=False) as fc:
        loss = F.cross_entropy(m(idx).flatten(0, 1), targets.flatten())
        loss.backward()
    results[tag] = (loss.item(), fc.get_total_flops(), grads_of(m))
    print(f"{tag}: loss {loss.item():.5f} flops {fc.get_total_flops()}")
extra = results["ckpt"][1] - results["plain"][1]
print("recompute flops:", extra, "= 3 blocks' forward:", extra % 3 == 0)
max_diff = max((results["plain"][2][n] - results["ckpt"][2][n]).abs().max().item()
               for n in results["plain"][2])
print("max grad diff < 1e-6:", max_diff < 1e-6, "grads:", len(results["ckpt"][2]))

# checkpoint_sequential over an nn.Sequential in segments
torch.manual_seed(2)
seq = nn.Sequential(*[nn.Sequential(nn.Linear(12, 12), nn.Tanh()) for _ in range(6)])
x = torch.randn(5, 12, requires_grad=True)
ref = seq(x)
ref.pow(2).sum().backward()
ref_grad = x.grad.clone()
w_grad = seq[0][0].weight.grad.clone()
seq.zero_grad()
x.grad = None
for segments in (2, 3):
    with FlopCounterMode(display=False) as fc:
        out = checkpoint_sequential(seq, segments, x, use_reentrant=False)
        out.pow(2).sum().backward()
    print(f"segments {segments}: out equal {torch.allclose(out, ref)}, "
          f"x.grad equal {torch.allclose(x.grad, ref_grad, atol=1e-6)}, "
          f"w.grad equal {torch.allclose(seq[0][0].weight.grad, w_grad, atol=1e-6)}, "
          f"flops {fc.get_total_flops()}")
    seq.zero_grad()
    x.grad = None

# a checkpointed function with non-tensor arguments and keyword arguments
def gated(a, b, scale, *, bias):
    return torch.sigmoid(a * scale) * b + bias


a = torch.randn(3, 4, requires_grad=True)
b = torch.randn(3, 4, requires_grad=True)
y = checkpoint(gated, a, b, 0.5, bias=1.0, use_reentrant=False)
y.sum().backward()
print("gated grads:", round(a.grad.sum().item(), 4), round(b.grad.sum().item(), 4))

# memory statistics exist only on CUDA: the usual guards
if torch.cuda.is_available():
    torch.cuda.reset_peak_memory_stats()
    print("peak MiB:", torch.cuda.max_memory_allocated() / 2**20)
else:
    print("cuda available:", torch.cuda.is_available(), "devices:", torch.cuda.device_count())
act_bytes = sum(t.numel() * t.element_size() for t in (idx, targets))
print("input bytes:", act_bytes)
