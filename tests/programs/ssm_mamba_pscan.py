"""A Mamba block in the manner of mamba.py and mamba-minimal: input-dependent delta/B/C with
softplus step sizes (bias initialised through the inverse softplus), a depthwise causal Conv1d,
and the selective scan written three ways that must agree in value and gradient: a Python loop
over time with einsum, a log-depth doubling scan, and mamba.py's Blelloch parallel scan as a
torch.autograd.Function that works in place on strided views (checked with gradcheck). Then
torch.func shows the scan is causal, step-by-step decoding with a rolling conv cache must
reproduce the full forward, and a two-layer model learns a selective-copying task."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


def selective_scan_loop(u, delta, A, B, C, D):
    """u, delta: (b, l, d); A: (d, n); B, C: (b, l, n); D: (d)."""
    deltaA = torch.exp(torch.einsum("bld,dn->bldn", delta, A))
    deltaB_u = torch.einsum("bld,bln,bld->bldn", delta, B, u)
    h = torch.zeros(u.size(0), u.size(2), A.size(1))
    ys = []
    for t in range(u.size(1)):
        h = deltaA[:, t] * h + deltaB_u[:, t]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, t]))
    return torch.stack(ys, dim=1) + u * D


def scan_doubling(a, x):
    """h_t = a_t h_{t-1} + x_t along dim 1 in ceil(log2 L) out-of-place steps."""
    k = 1
    while k < x.size(1):
        x_prev = F.pad(x[:, :-k], (0, 0, 0, 0, k, 0))
        a_prev = F.pad(a[:, :-k], (0, 0, 0, 0, k, 0), value=1.0)
        x = x + a * x_prev
        a = a * a_prev
        k *= 2
    return x


def npo2(length):
    return 2 ** math.ceil(math.log2(length))


def pad_npo2(X):
    return F.pad(X, (0, 0, 0, 0, 0, npo2(X.size(1)) - X.size(1)), "constant", 0)


def pscan_(A, X):
    """Blelloch scan in place along dim 2 of (B, D, L, N) tensors, L a power of two."""
    Bsz, Dm, L, N = A.size()
    num_steps = int(math.log2(L))
    Aa, Xa = A, X
    for _ in range(num_steps):                       # up-sweep
        T = Xa.size(2)
        Aa = Aa.view(Bsz, Dm, T // 2, 2, N)
        Xa = Xa.view(Bsz, Dm, T // 2, 2, N)
        Xa[:, :, :, 1].add_(Aa[:, :, :, 1].mul(Xa[:, :, :, 0]))
        Aa[:, :, :, 1].mul_(Aa[:, :, :, 0])
        Aa = Aa[:, :, :, 1]
        Xa = Xa[:, :, :, 1]
    for k in range(num_steps - 2, -1, -1):           # down-sweep
        Aa = A[:, :, 2**k - 1:L:2**k]
        Xa = X[:, :, 2**k - 1:L:2**k]
        T = Xa.size(2)
        Aa = Aa.view(Bsz, Dm, T // 2, 2, N)
        Xa = Xa.view(Bsz, Dm, T // 2, 2, N)
        Xa[:, :, 1:, 0].add_(Aa[:, :, 1:, 0].mul(Xa[:, :, :-1, 1]))
        Aa[:, :, 1:, 0].mul_(Aa[:, :, :-1, 1])


class PScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, A_in, X_in):
        L = X_in.size(1)
        A = A_in.clone() if L == npo2(L) else pad_npo2(A_in)
        X = X_in.clone() if L == npo2(L) else pad_npo2(X_in)
        A = A.transpose(2, 1)                        # (B, D, L, N), not contiguous
        X = X.transpose(2, 1)
        pscan_(A, X)
        ctx.save_for_backward(A_in, X)
        return X.transpose(2, 1)[:, :L]

    @staticmethod
    def backward(ctx, grad_output_in):
        A_in, X = ctx.saved_tensors
        L = grad_output_in.size(1)
        grad_output = pad_npo2(grad_output_in).transpose(2, 1)
        A_in = pad_npo2(A_in).transpose(2, 1)
        A = F.pad(A_in[:, :, 1:], (0, 0, 0, 1))      # a_{t+1}, zero past the end
        # the reverse scan is the forward scan on flipped copies
        A_rev = A.flip(2).contiguous()
        G_rev = grad_output.flip(2).contiguous()
        pscan_(A_rev, G_rev)
        grad_output = G_rev.flip(2)
        Q = torch.zeros_like(X)
        Q[:, :, 1:].add_(X[:, :, :-1] * grad_output[:, :, 1:])
        return Q.transpose(2, 1)[:, :L], grad_output.transpose(2, 1)[:, :L]


pscan = PScan.apply

# ---- three scans agree, forward and backward ----
b, l, d, n = 2, 11, 3, 4
a = torch.rand(b, l, d, n).mul(0.5).add(0.45).requires_grad_()
x = torch.randn(b, l, d, n, requires_grad=True)
h = torch.zeros(b, d, n)
loop = []
for t in range(l):
    h = a[:, t] * h + x[:, t]
    loop.append(h)
loop = torch.stack(loop, 1)
dbl = scan_doubling(a, x)
par = pscan(a, x)
print("doubling == loop:", torch.allclose(dbl, loop, atol=1e-5),
      "pscan == loop:", torch.allclose(par, loop, atol=1e-5), "shape", tuple(par.shape))
w = torch.randn_like(loop)
g_loop = torch.autograd.grad((loop * w).sum(), (a, x))
g_par = torch.autograd.grad((par * w).sum(), (a, x))
g_dbl = torch.autograd.grad((dbl * w).sum(), (a, x))
print("grads pscan == loop:", all(torch.allclose(p, q, atol=1e-4) for p, q in zip(g_par, g_loop)),
      "doubling == loop:", all(torch.allclose(p, q, atol=1e-4) for p, q in zip(g_dbl, g_loop)))
print("dL/da norm", f"{g_loop[0].norm():.4f}", "dL/dx norm", f"{g_loop[1].norm():.4f}")
print("pscan grad_fn:", type(par.grad_fn).__name__, par.is_contiguous())

a64 = torch.rand(1, 5, 2, 2, dtype=torch.double).add(0.2).requires_grad_()
x64 = torch.randn(1, 5, 2, 2, dtype=torch.double, requires_grad=True)
print("gradcheck PScan:", torch.autograd.gradcheck(pscan, (a64, x64)))
try:
    v = torch.randn(2, 4, 3).transpose(1, 2)
    v.view(2, 12)
except RuntimeError as e:
    print("view error:", str(e)[:60])


class MambaBlock(nn.Module):
    def __init__(self, d_model, d_state=4, d_conv=4, expand=2, dt_rank=None,
                 dt_min=0.001, dt_max=0.1, dt_init_floor=1e-4, dt_scale=1.0, use_pscan=False):
        super().__init__()
        self.d_inner = expand * d_model
        self.dt_rank = dt_rank or math.ceil(d_model / 16)
        self.d_state = d_state
        self.use_pscan = use_pscan
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=False)
        self.conv1d = nn.Conv1d(self.d_inner, self.d_inner, kernel_size=d_conv, bias=True,
                                groups=self.d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
        dt_init_std = self.dt_rank ** -0.5 * dt_scale
        nn.init.uniform_(self.dt_proj.weight, -dt_init_std, dt_init_std)
        dt = torch.exp(torch.rand(self.d_inner) * (math.log(dt_max) - math.log(dt_min))
                       + math.log(dt_min)).clamp(min=dt_init_floor)
        inv_dt = dt + torch.log(-torch.expm1(-dt))      # inverse of softplus
        with torch.no_grad():
            self.dt_proj.bias.copy_(inv_dt)
        A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))
        self.A_log._no_weight_decay = True
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.D._no_weight_decay = True
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    def ssm(self, x):
        A = -torch.exp(self.A_log.float())
        deltaBC = self.x_proj(x)
        delta, B, C = torch.split(deltaBC, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(delta))
        if not self.use_pscan:
            return selective_scan_loop(x, delta, A, B, C, self.D)
        deltaA = torch.exp(delta.unsqueeze(-1) * A)
        BX = (delta.unsqueeze(-1) * B.unsqueeze(2)) * x.unsqueeze(-1)
        hs = pscan(deltaA, BX)
        return (hs @ C.unsqueeze(-1)).squeeze(3) + self.D * x

    def forward(self, x):
        _, L, _ = x.shape
        xz = self.in_proj(x)
        x, z = xz.chunk(2, dim=-1)
        x = self.conv1d(x.transpose(1, 2))[:, :, :L].transpose(1, 2)
        x = F.silu(x)
        y = self.ssm(x)
        return self.out_proj(y * F.silu(z))

    def step(self, x, cache):
        """One token (b, d_model); cache = (h (b, d_inner, n), conv_state (b, d_inner, k-1))."""
        h, inputs = cache
        xz = self.in_proj(x)
        x, z = xz.chunk(2, dim=1)
        x_cache = x.unsqueeze(2)
        x = self.conv1d(torch.cat([inputs, x_cache], dim=2))[:, :, self.conv1d.kernel_size[0] - 1]
        x = F.silu(x)
        A = -torch.exp(self.A_log.float())
        delta, B, C = torch.split(self.x_proj(x), [self.dt_rank, self.d_state, self.d_state], -1)
        delta = F.softplus(self.dt_proj(delta))
        deltaA = torch.exp(delta.unsqueeze(-1) * A)
        BX = (delta.unsqueeze(-1) * B.unsqueeze(1)) * x.unsqueeze(-1)
        h = deltaA * h + BX
        y = (h @ C.unsqueeze(-1)).squeeze(2) + self.D * x
        out = self.out_proj(y * F.silu(z))
        inputs = torch.cat([inputs[:, :, 1:], x_cache], dim=2)
        return out, (h, inputs)


block = MambaBlock(8)
print("dt bias -> softplus recovers dt in [1e-3, 1e-1]:",
      bool(((F.softplus(block.dt_proj.bias) >= 1e-3 - 1e-6)
            & (F.softplus(block.dt_proj.bias) <= 0.1 + 1e-6)).all()))
print("conv1d", block.conv1d, "weight", tuple(block.conv1d.weight.shape))
u = torch.randn(2, 9, 8)
with torch.no_grad():
    y_loop = block(u)
    block.use_pscan = True
    y_par = block(u)
    block.use_pscan = False
print("block loop == pscan:", torch.allclose(y_loop, y_par, atol=1e-5),
      f"{y_loop.abs().mean().item():.4f}")

# decoding one token at a time with the caches reproduces the full forward
with torch.no_grad():
    cache = (torch.zeros(2, block.d_inner, block.d_state),
             torch.zeros(2, block.d_inner, block.conv1d.kernel_size[0] - 1))
    outs = []
    for t in range(u.size(1)):
        o, cache = block.step(u[:, t], cache)
        outs.append(o)
print("step decode == forward:", torch.allclose(torch.stack(outs, 1), y_loop, atol=1e-5))

# causality: the Jacobian of output t w.r.t. input s vanishes for s > t
from torch.func import functional_call, jacrev, vmap  # noqa: E402

params = {k: v.detach() for k, v in block.named_parameters()}


def single(seq):
    return functional_call(block, params, (seq.unsqueeze(0),)).squeeze(0).sum(-1)


jac = jacrev(single)(u[0, :6])                                  # (6, 6, 8)
influence = jac.abs().sum(-1)
print("jacobian shape", tuple(jac.shape), "future influence:",
      influence.triu(1).max().item(), "self influence > 0:", bool((influence.diagonal() > 0).all()))
batched = vmap(single)(u[:, :6])
print("vmap == batch forward:", torch.allclose(batched, y_loop[:, :6].sum(-1), atol=1e-5))


# ---- selective copying: remember the 3 coloured tokens among noise, emit them in order ----
class Model(nn.Module):
    def __init__(self, vocab, d_model=16, n_layers=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d_model)
        self.layers = nn.ModuleList([MambaBlock(d_model, use_pscan=True) for _ in range(n_layers)])
        self.norms = nn.ModuleList([nn.RMSNorm(d_model, eps=1e-5) for _ in range(n_layers)])
        self.norm_f = nn.RMSNorm(d_model, eps=1e-5)
        self.lm_head = nn.Linear(d_model, vocab, bias=False)
        self.lm_head.weight = self.embedding.weight            # tied
        nn.init.normal_(self.embedding.weight, std=0.02)
        for name, p in self.named_parameters():
            if name.endswith("out_proj.weight"):
                with torch.no_grad():
                    p /= math.sqrt(n_layers)

    def forward(self, idx):
        x = self.embedding(idx)
        for layer, norm in zip(self.layers, self.norms):
            x = x + layer(norm(x))
        return self.lm_head(self.norm_f(x))


def selective_copy_batch(batch, length=12, n_tokens=3, n_colors=4, gen=None):
    """Tokens 0 = noise, 1..n_colors = colours, n_colors+1 = marker; the targets follow it."""
    noise = torch.zeros(batch, length, dtype=torch.long)
    pos = torch.rand(batch, length, generator=gen).argsort(dim=1)[:, :n_tokens].sort(1).values
    colors = torch.randint(1, n_colors + 1, (batch, n_tokens), generator=gen)
    noise.scatter_(1, pos, colors)
    marker = torch.full((batch, 1), n_colors + 1)
    inputs = torch.cat([noise, marker, torch.zeros(batch, n_tokens - 1, dtype=torch.long)], 1)
    return inputs, colors


gen = torch.Generator().manual_seed(5)
model = Model(vocab=6)
print("parameters", sum(p.numel() for p in model.parameters()),
      "tied:", model.lm_head.weight is model.embedding.weight)
decay = [p for nm, p in model.named_parameters()
         if p.dim() >= 2 and not getattr(p, "_no_weight_decay", False)]
no_decay = [p for nm, p in model.named_parameters()
            if p.dim() < 2 or getattr(p, "_no_weight_decay", False)]
print("param groups", len(decay), len(no_decay))
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                         {"params": no_decay, "weight_decay": 0.0}], lr=2e-2, betas=(0.9, 0.95))
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 5))
stats = {}
model.layers[0].dt_proj.register_forward_hook(
    lambda m, inp, out: stats.__setitem__("delta", F.softplus(out).mean().item()))
for step in range(40):
    inputs, colors = selective_copy_batch(32, gen=gen)
    logits = model(inputs)[:, -3:]
    loss = F.cross_entropy(logits.reshape(-1, 6), colors.reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    gnorm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    if step % 10 == 0 or step == 39:
        print(f"step {step:2d} loss {loss.item():.3f} grad_norm {gnorm.item():.3f} "
              f"lr {sched.get_last_lr()[0]:.4f} mean delta {stats['delta']:.4f}")
model.eval()
with torch.no_grad():
    inputs, colors = selective_copy_batch(64, gen=gen)
    pred = model(inputs)[:, -3:].argmax(-1)
print("token accuracy", f"{(pred == colors).float().mean().item():.3f}")
print(pred[:2])
