"""State-space sequence models, in the manner of S4D and Mamba reference code: a diagonal
complex SSM discretised with zero-order hold, its convolution kernel computed with
Vandermonde products and applied as a long convolution through torch.fft.rfft/irfft (checked
against the step-by-step recurrence); a selective (input-dependent) scan written three ways
(a Python loop, a closed form with cumsum of log decays, and a log-space scan with
torch.logcumsumexp) that must agree; and a small Mamba-style block (depthwise causal Conv1d,
SiLU gate, softplus step sizes) trained on a copy-after-delay task."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)

# ---- S4D: diagonal state matrix, zero-order hold, kernel via Vandermonde ----
H, N, L = 4, 8, 64                           # channels, state size (complex pairs), length
log_dt = torch.linspace(math.log(1e-2), math.log(1e-1), H)
A = -0.5 + 1j * math.pi * torch.arange(N).float()          # S4D-Lin initialisation
A = A.unsqueeze(0).expand(H, N)
B = torch.ones(H, N, dtype=torch.cfloat)
C = torch.randn(H, N, dtype=torch.cfloat)
print("A", A.dtype, tuple(A.shape), "C", C.dtype, round(C.abs().mean().item(), 4))

dt = torch.exp(log_dt).unsqueeze(-1)                        # (H, 1)
dtA = A * dt
A_bar = torch.exp(dtA)
B_bar = (A_bar - 1) / A * B
powers = torch.exp(dtA.unsqueeze(-1) * torch.arange(L))     # (H, N, L)
K = 2 * torch.einsum("hn,hnl->hl", C * B_bar, powers).real  # real kernel (conjugate pairs)
print("kernel", tuple(K.shape), K.dtype, [round(v, 4) for v in K[0, :4].tolist()])

u = torch.randn(2, H, L)
n_fft = 2 * L
y_fft = torch.fft.irfft(torch.fft.rfft(u, n=n_fft) * torch.fft.rfft(K, n=n_fft), n=n_fft)[..., :L]

# the same output by running the recurrence x_k = A_bar x_{k-1} + B_bar u_k, y_k = 2 Re(C x_k)
x = torch.zeros(2, H, N, dtype=torch.cfloat)
ys = []
for k in range(L):
    x = A_bar * x + B_bar * u[..., k:k + 1]
    ys.append(2 * (C * x).sum(-1).real)
y_rec = torch.stack(ys, dim=-1)
print("fft convolution vs recurrence max diff < 1e-4:",
      (y_fft - y_rec).abs().max().item() < 1e-4, round(y_fft.std().item(), 4))

# ---- selective scan: h_t = a_t * h_{t-1} + b_t, three implementations ----
T = 12
a = torch.sigmoid(torch.randn(3, T, 5))                     # decays in (0, 1)
b = torch.randn(3, T, 5)
h = torch.zeros(3, 5)
loop = []
for t in range(T):
    h = a[:, t] * h + b[:, t]
    loop.append(h)
loop = torch.stack(loop, dim=1)

log_a = torch.log(a)
cum = torch.cumsum(log_a, dim=1)                            # log prod_{s<=t} a_s
# h_t = sum_{s<=t} exp(cum_t - cum_s) b_s, masked to s <= t
diff = cum.unsqueeze(2) - cum.unsqueeze(1)                  # (B, t, s, D)
mask = torch.tril(torch.ones(T, T, dtype=torch.bool)).unsqueeze(0).unsqueeze(-1)
weights = torch.exp(diff.masked_fill(~mask, float("-inf")))
closed = (weights * b.unsqueeze(1)).sum(2)
print("closed form vs loop:", torch.allclose(closed, loop, atol=1e-5))

# log-space (Heinsen) scan for positive inputs: log h_t = cum_t + logcumsumexp(log b - cum)
b_pos = b.abs() + 0.1
h = torch.zeros(3, 5)
pos_loop = []
for t in range(T):
    h = a[:, t] * h + b_pos[:, t]
    pos_loop.append(h)
pos_loop = torch.stack(pos_loop, dim=1)
log_h = cum + torch.logcumsumexp(torch.log(b_pos) - cum, dim=1)
print("logcumsumexp scan vs loop:", torch.allclose(log_h.exp(), pos_loop, rtol=1e-4),
      round(log_h[0, -1, 0].item(), 4))
print("cumprod of decays matches exp(cumsum log):",
      torch.allclose(torch.cumprod(a, dim=1), cum.exp(), rtol=1e-5))

# gradients flow through logcumsumexp and cumsum
z = torch.randn(2, 6, requires_grad=True)
torch.logcumsumexp(z, dim=1).sum().backward()
print("logcumsumexp grad row sums", [round(v, 4) for v in z.grad.sum(1).tolist()])


# ---- a small Mamba-style block ----
class SelectiveSSM(nn.Module):
    def __init__(self, d_model, d_state=4, d_conv=3, expand=2):
        super().__init__()
        d_inner = expand * d_model
        self.in_proj = nn.Linear(d_model, 2 * d_inner)
        self.conv = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(d_inner, 1 + 2 * d_state)
        self.dt_proj = nn.Linear(1, d_inner)
        A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model)
        self.d_state = d_state

    def forward(self, x):                                  # (B, L, d_model)
        L = x.shape[1]
        xz = self.in_proj(x)
        xs, z = xz.chunk(2, dim=-1)
        xs = self.conv(xs.transpose(1, 2))[..., :L].transpose(1, 2)   # causal depthwise conv
        xs = F.silu(xs)
        dt_in, Bm, Cm = torch.split(self.x_proj(xs), [1, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(dt_in))            # (B, L, d_inner)
        A = -torch.exp(self.A_log)                         # (d_inner, d_state)
        dA = torch.exp(delta.unsqueeze(-1) * A)            # (B, L, d_inner, d_state)
        dBx = delta.unsqueeze(-1) * Bm.unsqueeze(2) * xs.unsqueeze(-1)
        h = torch.zeros_like(dA[:, 0])
        outs = []
        for t in range(L):
            h = dA[:, t] * h + dBx[:, t]
            outs.append(torch.einsum("bdn,bn->bd", h, Cm[:, t]))
        y = torch.stack(outs, dim=1) + xs * self.D
        return self.out_proj(y * F.silu(z))


class Model(nn.Module):
    def __init__(self, vocab=6, d=16):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.norm = nn.LayerNorm(d)
        self.ssm = SelectiveSSM(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, idx):
        x = self.emb(idx)
        x = x + self.ssm(self.norm(x))
        return self.head(x)


delay, seqlen = 3, 16
model = Model()
print("depthwise conv weight", tuple(model.ssm.conv.weight.shape),
      "groups", model.ssm.conv.groups,
      "parameters", sum(p.numel() for p in model.parameters()))
opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
for step in range(40):
    src = torch.randint(1, 6, (16, seqlen))
    tgt = torch.cat([torch.zeros(16, delay, dtype=torch.long), src[:, :-delay]], dim=1)
    loss = F.cross_entropy(model(src).reshape(-1, 6), tgt.reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 10 == 0 or step == 39:
        print("step", step, "loss", round(loss.item(), 3))
with torch.no_grad():
    src = torch.randint(1, 6, (32, seqlen))
    tgt = torch.cat([torch.zeros(32, delay, dtype=torch.long), src[:, :-delay]], dim=1)
    acc = (model(src).argmax(-1) == tgt)[:, delay:].float().mean().item()
print("copy accuracy after delay", round(acc, 2))
