"""HiPPO and the Linear Recurrent Unit, as the HiPPO/S4 papers' reference code and LRU
re-implementations write them: the HiPPO-LegS matrix, its normal-plus-low-rank form
diagonalised with torch.linalg.eigh (the S4D-LegS initialisation), bilinear and zero-order-hold
discretisation (torch.linalg.solve, torch.linalg.matrix_exp), online function approximation
reconstructed with torch.special.legendre_polynomial_p; then an LRU layer with complex
nn.Parameters (B, C), a stable exponential parametrisation of its eigenvalues, and the
recurrence computed three ways (loop, complex FFT convolution, doubling scan), trained with
AdamW on a delayed-recall regression, with a hook on the complex hidden state and a
state_dict round trip through torch.save/torch.load."""
import io
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


def hippo_legs(N):
    """A_nk = -sqrt(2n+1) sqrt(2k+1) below the diagonal, -(n+1) on it; B_n = sqrt(2n+1)."""
    n = torch.arange(N, dtype=torch.float64)
    s = torch.sqrt(2 * n + 1)
    A = torch.tril(s[:, None] * s[None, :], diagonal=-1) + torch.diag(n + 1)
    return -A, s[:, None].clone()


N = 8
A, B = hippo_legs(N)
print("A[:3,:3]", A[:3, :3])
print("eigvals of A (triangular):", torch.linalg.eigvals(A).real.sort().values.tolist())

# normal plus low rank: S = A + P P^T is -1/2 I plus a skew-symmetric matrix
P = torch.sqrt(torch.arange(N, dtype=torch.float64) + 0.5)
S = A + P[:, None] * P[None, :]
# (6 decimals: torch's float64 sqrt on MKL CPUs may differ from NumPy's in the last bit)
print("diag(S)", torch.diagonal(S).round(decimals=6).unique().tolist(),
      "skew:", torch.allclose(S + 0.5 * torch.eye(N, dtype=torch.float64),
                              -(S + 0.5 * torch.eye(N, dtype=torch.float64)).T))
S_skew = S + 0.5 * torch.eye(N, dtype=torch.float64)
w, V = torch.linalg.eigh(S_skew * -1j)
Lambda = -0.5 + 1j * w
print("Lambda", Lambda.dtype, "imag parts", [round(v, 4) for v in Lambda.imag[N // 2:].tolist()])
S_rec = V @ torch.diag_embed(Lambda) @ V.mH
print("V diag(Lambda) V^H == S:", torch.allclose(S_rec.real, S, atol=1e-10),
      "imag residue < 1e-10:", S_rec.imag.abs().max().item() < 1e-10)
print("V unitary:", torch.allclose(V.mH @ V, torch.eye(N, dtype=torch.cdouble), atol=1e-10))

# discretisation of dx/dt = A x + B u with step dt
dt = 0.1
I = torch.eye(N, dtype=torch.float64)
dA_bil = torch.linalg.solve(I - dt / 2 * A, I + dt / 2 * A)
dB_bil = torch.linalg.solve(I - dt / 2 * A, dt * B)
M = torch.zeros(N + 1, N + 1, dtype=torch.float64)
M[:N, :N] = A
M[:N, N:] = B
E = torch.linalg.matrix_exp(M * dt)
dA_zoh, dB_zoh = E[:N, :N], E[:N, N:]
print("bilinear vs zoh |dA| diff", f"{(dA_bil - dA_zoh).abs().max().item():.5f}",
      "spectral radius", f"{torch.linalg.eigvals(dA_bil).abs().max().item():.5f}")
C = torch.randn(1, N, dtype=torch.float64)
L = 16
K_powers = torch.stack([(C @ torch.linalg.matrix_power(dA_bil, k) @ dB_bil).squeeze()
                        for k in range(L)])
K_scan, x = [], dB_bil
for k in range(L):
    K_scan.append((C @ x).squeeze())
    x = dA_bil @ x
print("kernel by matrix_power == by repeated products:",
      torch.allclose(K_powers, torch.stack(K_scan)), [round(v, 4) for v in K_powers[:4].tolist()])

# online approximation: c_k = (I - A/2k)^-1 ((I + A/2k) c_{k-1} + B f_k / k)
T = 200
t = torch.linspace(0, 1, T, dtype=torch.float64)
f = torch.sin(4 * t) + 0.5 * torch.cos(9 * t)
c = torch.zeros(N, 1, dtype=torch.float64)
for k in range(1, T + 1):
    At = A / k
    c = torch.linalg.solve(I - At / 2, (I + At / 2) @ c + B / k * f[k - 1])
s = torch.linspace(-1, 1, T, dtype=torch.float64)
basis = torch.special.legendre_polynomial_p(s, torch.arange(N)[:, None])     # (N, T)
recon = (c.squeeze() * torch.sqrt(2 * torch.arange(N, dtype=torch.float64) + 1)) @ basis
err = (recon - f).abs()
print("legendre basis", tuple(basis.shape), basis.dtype,
      "reconstruction error mean", f"{err.mean().item():.4f}", "end", f"{err[-1].item():.4f}")


# ---- Linear Recurrent Unit ----
def scan_doubling(a, x):
    """h_t = a_t h_{t-1} + x_t along dim 1 (complex or real), log2(L) steps."""
    k = 1
    while k < x.size(1):
        x = x + a * torch.cat([torch.zeros_like(x[:, :k]), x[:, :-k]], dim=1)
        a = a * torch.cat([torch.ones_like(a[:, :k]), a[:, :-k]], dim=1)
        k *= 2
    return x


class LRU(nn.Module):
    def __init__(self, d_model, d_hidden, r_min=0.5, r_max=0.95, max_phase=math.pi / 4):
        super().__init__()
        u1 = torch.rand(d_hidden)
        u2 = torch.rand(d_hidden)
        self.nu_log = nn.Parameter(torch.log(-0.5 * torch.log(u1 * (r_max ** 2 - r_min ** 2)
                                                              + r_min ** 2)))
        self.theta_log = nn.Parameter(torch.log(max_phase * u2))
        lambda_abs = torch.exp(-torch.exp(self.nu_log.detach()))
        self.gamma_log = nn.Parameter(torch.log(torch.sqrt(1 - lambda_abs ** 2)))
        B_re, B_im = torch.randn(d_hidden, d_model), torch.randn(d_hidden, d_model)
        self.B = nn.Parameter(torch.complex(B_re, B_im) / math.sqrt(2 * d_model))
        self.C = nn.Parameter(torch.randn(d_model, d_hidden, dtype=torch.cfloat)
                              / math.sqrt(d_hidden))
        self.D = nn.Parameter(torch.randn(d_model))
        self.mode = "scan"

    def eigenvalues(self):
        return torch.exp(-torch.exp(self.nu_log) + 1j * torch.exp(self.theta_log))

    def forward(self, x):                              # (batch, L, d_model), real
        lam = self.eigenvalues()
        Bu = x.to(torch.cfloat) @ (self.B * torch.exp(self.gamma_log)[:, None]).T
        if self.mode == "loop":
            h = torch.zeros_like(Bu[:, 0])
            hs = []
            for step in range(x.size(1)):
                h = lam * h + Bu[:, step]
                hs.append(h)
            hs = torch.stack(hs, dim=1)
        elif self.mode == "fft":                       # h = K * Bu with K_k = lam^k
            Lx = x.size(1)
            K = lam[None, :] ** torch.arange(Lx)[:, None]          # (L, H) complex
            n = 2 * Lx
            hs = torch.fft.ifft(torch.fft.fft(K, n=n, dim=0) * torch.fft.fft(Bu, n=n, dim=1),
                                dim=1)[:, :Lx]
        else:
            hs = scan_doubling(lam.expand_as(Bu), Bu)
        self.last_hidden = hs
        return (hs @ self.C.T).real + x * self.D


lru = LRU(3, 8)
print("complex parameters:", [(n, p.dtype) for n, p in lru.named_parameters() if p.is_complex()])
print("|lambda| in", f"{lru.eigenvalues().abs().min().item():.4f}",
      f"{lru.eigenvalues().abs().max().item():.4f}")
x = torch.randn(2, 10, 3)
outs = {}
for mode in ("loop", "fft", "scan"):
    lru.mode = mode
    outs[mode] = lru(x)
print("fft == loop:", torch.allclose(outs["fft"], outs["loop"], atol=1e-5),
      "scan == loop:", torch.allclose(outs["scan"], outs["loop"], atol=1e-5),
      f"{outs['loop'].std().item():.4f}")
grads = {}
for mode in ("loop", "scan"):
    lru.mode = mode
    lru.zero_grad()
    lru(x).pow(2).mean().backward()
    grads[mode] = [p.grad.clone() for p in lru.parameters()]
print("grads scan == loop:", all(torch.allclose(a, b, atol=1e-5)
                                 for a, b in zip(grads["scan"], grads["loop"])),
      "B.grad", lru.B.grad.dtype, f"{lru.B.grad.abs().sum().item():.4f}")


class Model(nn.Module):
    def __init__(self, d_model=16, d_hidden=32):
        super().__init__()
        self.enc = nn.Linear(1, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.lru = LRU(d_model, d_hidden)
        self.mlp = nn.Sequential(nn.Linear(d_model, 2 * d_model), nn.GLU())
        self.dec = nn.Linear(d_model, 1)

    def forward(self, u):
        x = self.enc(u)
        x = x + self.mlp(F.gelu(self.lru(self.norm(x))))
        return self.dec(x)


def batch(n, length=24, delay=4):
    u = torch.randn(n, length, 1)
    target = F.pad(u, (0, 0, delay, 0))[:, :length]     # u delayed by 4 steps
    return u, target


model = Model()
hidden_grads = []
ssm_params = {"nu_log", "theta_log", "gamma_log"}
groups = [
    {"params": [p for n, p in model.named_parameters() if n.split(".")[-1] in ssm_params],
     "weight_decay": 0.0, "lr": 5e-3},
    {"params": [p for n, p in model.named_parameters() if n.split(".")[-1] not in ssm_params]},
]
opt = torch.optim.AdamW(groups, lr=1e-2, weight_decay=0.05)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.5)
for step in range(50):
    u, target = batch(16)
    pred = model(u)
    model.lru.last_hidden.register_hook(lambda g: hidden_grads.append(g))
    loss = F.mse_loss(pred, target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if step % 10 == 0 or step == 49:
        print(f"step {step:2d} loss {loss.item():.4f} lr {sched.get_last_lr()}")
print("hidden grad", hidden_grads[-1].dtype, tuple(hidden_grads[-1].shape),
      "complex exp_avg:", opt.state[model.lru.B]["exp_avg"].dtype)
with torch.no_grad():
    u, target = batch(64)
    print("eval mse", f"{F.mse_loss(model(u), target).item():.4f}",
          "baseline", f"{target.pow(2).mean().item():.4f}")
    print("eigenvalues after training |lambda| max",
          f"{model.lru.eigenvalues().abs().max().item():.4f}")

buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
state = torch.load(buffer)
print("saved dtypes", sorted({str(v.dtype) for v in state.values()}))
clone = Model()
print(clone.load_state_dict(state))
with torch.no_grad():
    print("reloaded model agrees:", torch.equal(clone(u), model(u)))
