"""Memory-frugal training loop in the style of large-batch recipes (timm / nanoGPT / HF Trainer):
gradient accumulation with the loss divided by the number of micro-batches, the global gradient
norm clipped with ``clip_grad_norm_`` (foreach and per-tensor paths, ``error_if_nonfinite`` on a
poisoned batch), the two-step ``get_total_norm`` + ``clip_grads_with_norm_`` form, AdamW param
groups without weight decay on biases and norms, a linear warmup (``LambdaLR``) chained into a
cosine decay with ``SequentialLR``, and an exponential moving average of the weights kept with
``torch._foreach_*`` ops."""
import math
import warnings

import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, SequentialLR

warnings.simplefilter("ignore")
torch.manual_seed(0)
print("cudnn defaults:", torch.backends.cudnn.enabled, torch.backends.cudnn.deterministic,
      torch.backends.cudnn.allow_tf32, torch.backends.cudnn.conv.fp32_precision,
      torch.backends.cudnn.rnn.fp32_precision)
torch.set_float32_matmul_precision("high")
print("matmul precision:", torch.get_float32_matmul_precision())
torch.backends.cudnn.benchmark = False
torch.backends.cuda.matmul.allow_tf32 = False
print("tf32 matmul:", torch.backends.cuda.matmul.allow_tf32,
      "cudnn.benchmark:", torch.backends.cudnn.benchmark)
device = "cuda" if torch.cuda.is_available() else "cpu"


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 2 * dim)
        self.fc2 = nn.Linear(2 * dim, dim)

    def forward(self, x):
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.norm(x))))


model = nn.Sequential(nn.Linear(8, 16), Block(16), Block(16), nn.LayerNorm(16),
                      nn.Linear(16, 3)).to(device)
n_params = sum(p.numel() for p in model.parameters())
n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
print("params:", n_params, "trainable:", n_train)

# parameter groups: the usual "no decay on biases and norm weights" split
decay, no_decay = [], []
for name, p in model.named_parameters():
    (no_decay if p.ndim < 2 or "norm" in name else decay).append(p)
groups = [{"params": decay, "weight_decay": 0.05},
          {"params": no_decay, "weight_decay": 0.0}]
opt = torch.optim.AdamW(groups, lr=3e-3, betas=(0.9, 0.95), eps=1e-8)
print("groups:", [len(g["params"]) for g in opt.param_groups],
      [g["weight_decay"] for g in opt.param_groups])

warmup_steps, total_steps = 3, 10
warmup = LambdaLR(opt, lambda s: (s + 1) / warmup_steps)
cosine = CosineAnnealingLR(opt, T_max=total_steps - warmup_steps, eta_min=1e-4)
sched = SequentialLR(opt, [warmup, cosine], milestones=[warmup_steps])

# EMA of the weights with foreach ops (how timm's ModelEmaV3 / nanoGPT forks do it)
ema = [p.detach().clone() for p in model.parameters()]

data = torch.randn(10 * 4 * 6, 8)
target = (data[:, :3] * 2 - data[:, 3:6]).argmax(dim=1)
accum = 4
micro = 6
step_norms = []
for step in range(total_steps):
    opt.zero_grad(set_to_none=True)
    total = 0.0
    for k in range(accum):
        i = (step * accum + k) * micro
        xb, yb = data[i:i + micro].to(device), target[i:i + micro].to(device)
        loss = nn.functional.cross_entropy(model(xb), yb, label_smoothing=0.1) / accum
        loss.backward()
        total += loss.item()
    foreach = step % 2 == 0
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5, foreach=foreach)
    step_norms.append(norm.item())
    opt.step()
    sched.step()
    with torch.no_grad():
        params = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(ema, params, 0.2)
    print(f"step {step} loss {total:.4f} gnorm {norm.item():.4f} "
          f"lr {sched.get_last_lr()[0]:.6f} {opt.param_groups[1]['lr']:.6f}")

# after clipping, the global norm is at most max_norm
clipped = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])
print("norm after clip <= 0.5:", clipped.item() <= 0.5 + 1e-6)

# the same clip, split in two so the norm can be logged or all-reduced in between
grads = [p.grad.clone() for p in model.parameters()]
opt.zero_grad()
out = model(data[:16])
(out.pow(2).mean() * 50).backward()
total_norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()], norm_type=2.0)
inf_norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()],
                                         norm_type=math.inf)
torch.nn.utils.clip_grads_with_norm_(model.parameters(), max_norm=1.0, total_norm=total_norm)
after = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])
print(f"two-step clip: {total_norm.item():.4f} inf {inf_norm.item():.4f} -> {after.item():.4f}")

# clip by value and an inf-norm clip
torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.01)
print("max |grad| after value clip:",
      max(p.grad.abs().max().item() for p in model.parameters()))
n_inf = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.005, norm_type="inf")
print(f"inf norm {n_inf.item():.4f} ->",
      round(max(p.grad.abs().max().item() for p in model.parameters()), 5))

# a poisoned gradient: error_if_nonfinite raises, otherwise the nan propagates
model[0].weight.grad[0, 0] = float("inf")
try:
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
except RuntimeError as e:
    print("RuntimeError:", str(e).splitlines()[0])
bad = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
print("nonfinite norm:", bad.item(), torch.isfinite(model[0].weight.grad).all().item())

# foreach utilities on their own
a = [torch.ones(2) * 3, torch.full((3,), -4.0)]
print("foreach norm:", [round(t.item(), 4) for t in torch._foreach_norm(a)])
torch._foreach_mul_(a, 0.5)
torch._foreach_add_(a, [torch.ones(2), torch.ones(3)], alpha=2.0)
print("foreach mul/add:", [t.tolist() for t in a])
b = torch._foreach_maximum(a, 0.0)
print("foreach maximum:", [t.tolist() for t in b])
print("foreach sqrt:", [[round(v, 4) for v in t.tolist()]
                        for t in torch._foreach_sqrt(torch._foreach_abs(a))])

# evaluate raw vs EMA weights
with torch.no_grad():
    x_eval, y_eval = data[:60], target[:60]
    acc_raw = (model(x_eval).argmax(1) == y_eval).float().mean().item()
    backup = [p.detach().clone() for p in model.parameters()]
    torch._foreach_copy_([p.data for p in model.parameters()], ema)
    acc_ema = (model(x_eval).argmax(1) == y_eval).float().mean().item()
    torch._foreach_copy_([p.data for p in model.parameters()], backup)
print(f"acc raw {acc_raw:.4f} ema {acc_ema:.4f}")
print("ema norm:", round(torch.stack(torch._foreach_norm(ema)).norm().item(), 3))
