"""An S4D layer as the state-spaces repository writes it (models/s4/s4d.py): the complex
diagonal state matrix and output projection are stored as real parameters (log of the real
part, imaginary part, and C through torch.view_as_real), rebuilt each forward with
torch.complex / torch.view_as_complex, discretised with exp of a complex product, and turned
into a convolution kernel applied with torch.fft.rfft/irfft. The SSM parameters get their own
optimizer group (lower lr, no weight decay) as S4's `register` hook asks; the model trains on
a sequence-classification toy (is the running sum ever above a threshold) with a cosine
schedule, and complex tensors are printed as torch prints them."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)

# ---- complex construction and printing ----
mag = torch.tensor([1.0, 0.5, 2.0])
ang = torch.tensor([0.0, math.pi / 2, -math.pi / 4])
z = torch.polar(mag, ang)
print("polar", z.dtype, torch.view_as_real(z).round(decimals=4).tolist())
w = torch.complex(torch.tensor([1.0, -2.0]), torch.tensor([0.5, 3.0]))
print(w)
print("abs", w.abs(), "angle", w.angle())
print("conj", w.conj(), "is_conj", w.conj().is_conj(), "resolved", w.conj().resolve_conj())
print("real/imag", w.real, w.imag, "is_complex", w.is_complex(), torch.is_complex(mag))
print("view_as_real shape", tuple(torch.view_as_real(w).shape),
      "back", torch.equal(torch.view_as_complex(torch.view_as_real(w)), w))
print("exp(i*pi)+1 small:", (torch.exp(torch.tensor(1j * math.pi)) + 1).abs().item() < 1e-6)
try:
    torch.view_as_complex(torch.ones(3, 3))
except RuntimeError as e:
    print("view_as_complex error:", str(e).splitlines()[0])
try:
    torch.complex(torch.ones(2), torch.ones(2, dtype=torch.float64))
except RuntimeError as e:
    print("complex error:", str(e).splitlines()[0])


class S4DKernel(nn.Module):
    """Generates the convolution kernel from diagonal SSM parameters."""

    def __init__(self, d_model, N=16, dt_min=0.001, dt_max=0.1, lr=None):
        super().__init__()
        H = d_model
        log_dt = torch.rand(H) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        C = torch.randn(H, N // 2, dtype=torch.cfloat)
        self.C = nn.Parameter(torch.view_as_real(C))
        self.register("log_dt", log_dt, lr)
        log_A_real = torch.log(0.5 * torch.ones(H, N // 2))
        A_imag = math.pi * torch.arange(N // 2).repeat(H, 1)
        self.register("log_A_real", log_A_real, lr)
        self.register("A_imag", A_imag, lr)

    def forward(self, L):
        dt = torch.exp(self.log_dt)                       # (H)
        C = torch.view_as_complex(self.C)                 # (H N)
        A = -torch.exp(self.log_A_real) + 1j * self.A_imag
        dtA = A * dt.unsqueeze(-1)
        K = dtA.unsqueeze(-1) * torch.arange(L, device=A.device)   # (H N L)
        C = C * (torch.exp(dtA) - 1.) / A
        K = 2 * torch.einsum('hn, hnl -> hl', C, torch.exp(K)).real
        return K

    def register(self, name, tensor, lr=None):
        """Register a tensor with a configurable learning rate and 0 weight decay."""
        if lr == 0.0:
            self.register_buffer(name, tensor)
        else:
            self.register_parameter(name, nn.Parameter(tensor))
            optim = {"weight_decay": 0.0}
            if lr is not None:
                optim["lr"] = lr
            getattr(self, name)._optim = optim


class S4D(nn.Module):
    def __init__(self, d_model, d_state=16, dropout=0.0, transposed=True, **kernel_args):
        super().__init__()
        self.h = d_model
        self.n = d_state
        self.transposed = transposed
        self.D = nn.Parameter(torch.randn(self.h))
        self.kernel = S4DKernel(self.h, N=self.n, **kernel_args)
        self.activation = nn.GELU()
        self.dropout = nn.Dropout1d(dropout) if dropout > 0.0 else nn.Identity()
        self.output_linear = nn.Sequential(
            nn.Conv1d(self.h, 2 * self.h, kernel_size=1),
            nn.GLU(dim=-2),
        )

    def forward(self, u):
        if not self.transposed:
            u = u.transpose(-1, -2)
        L = u.size(-1)
        k = self.kernel(L=L)
        k_f = torch.fft.rfft(k, n=2 * L)
        u_f = torch.fft.rfft(u, n=2 * L)
        y = torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L]
        y = y + u * self.D.unsqueeze(-1)
        y = self.dropout(self.activation(y))
        y = self.output_linear(y)
        if not self.transposed:
            y = y.transpose(-1, -2)
        return y, None


# kernel check: the FFT convolution equals a direct causal convolution with F.conv1d
layer = S4D(4, d_state=8, lr=1e-3)
u = torch.randn(2, 4, 20)
k = layer.kernel(L=20)
direct = F.conv1d(F.pad(u, (19, 0)), k.flip(-1).unsqueeze(1), groups=4)
L = 20
fft_y = torch.fft.irfft(torch.fft.rfft(u, n=2 * L) * torch.fft.rfft(k, n=2 * L), n=2 * L)[..., :L]
print("fft conv == direct conv:", torch.allclose(fft_y, direct, atol=1e-5),
      "kernel norm", f"{k.norm().item():.4f}")
print("rfft shape", tuple(torch.fft.rfft(k, n=40).shape), torch.fft.rfft(k, n=40).dtype,
      "ortho round trip:", torch.allclose(
          torch.fft.irfft(torch.fft.rfft(k, norm="ortho"), n=20, norm="ortho"), k, atol=1e-6))

# gradients through the complex path reach the real parameters
y, _ = layer(u)
y.pow(2).mean().backward()
for name, p in layer.kernel.named_parameters():
    print("grad", name, tuple(p.grad.shape), f"{p.grad.norm().item():.4f}",
          getattr(p, "_optim", None))


class S4Model(nn.Module):
    def __init__(self, d_input, d_output=2, d_model=16, n_layers=2, dropout=0.0, lr=1e-3):
        super().__init__()
        self.encoder = nn.Linear(d_input, d_model)
        self.s4_layers = nn.ModuleList()
        self.norms = nn.ModuleList()
        for _ in range(n_layers):
            self.s4_layers.append(S4D(d_model, d_state=16, dropout=dropout, lr=lr))
            self.norms.append(nn.LayerNorm(d_model))
        self.decoder = nn.Linear(d_model, d_output)

    def forward(self, x):
        x = self.encoder(x)                               # (B, L, d_model)
        x = x.transpose(-1, -2)
        for layer, norm in zip(self.s4_layers, self.norms):
            z, _ = layer(x)
            x = z + x
            x = norm(x.transpose(-1, -2)).transpose(-1, -2)
        x = x.transpose(-1, -2).mean(dim=1)
        return self.decoder(x)


def setup_optimizer(model, lr, weight_decay, epochs):
    """S4's example.py: general parameters in one group, each special hyperparameter set in
    its own group."""
    all_parameters = list(model.parameters())
    params = [p for p in all_parameters if not hasattr(p, "_optim")]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    hps = [p._optim for p in all_parameters if hasattr(p, "_optim")]
    hps = [dict(s) for s in sorted(list(dict.fromkeys(frozenset(hp.items()) for hp in hps)))]
    for hp in hps:
        params = [p for p in all_parameters if getattr(p, "_optim", None) == hp]
        optimizer.add_param_group({"params": params, **hp})
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    for i, g in enumerate(optimizer.param_groups):
        group_hps = {k: g[k] for k in ["lr", "weight_decay"]}
        print(f"Optimizer group {i}", f"{len(g['params'])} tensors", group_hps)
    return optimizer, scheduler


# data: does the running sum of a +-1 walk ever exceed 3
Lseq, n = 32, 256
steps = torch.from_numpy(rng.choice([-1.0, 1.0], size=(n, Lseq)).astype(np.float32))
labels = (steps.cumsum(1).amax(1) > 3).long()
print("class balance", torch.bincount(labels).tolist())
data = torch.utils.data.TensorDataset(steps.unsqueeze(-1), labels)
loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True,
                                     generator=torch.Generator().manual_seed(1))

model = S4Model(1, lr=1e-3)
optimizer, scheduler = setup_optimizer(model, lr=1e-2, weight_decay=0.01, epochs=6)
for epoch in range(6):
    model.train()
    total, correct, loss_sum = 0, 0, 0.0
    for x, t in loader:
        optimizer.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, t)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * t.size(0)
        correct += out.argmax(1).eq(t).sum().item()
        total += t.size(0)
    scheduler.step()
    print(f"epoch {epoch} loss {loss_sum / total:.3f} acc {correct / total:.3f} "
          f"lr {scheduler.get_last_lr()[0]:.5f} ssm_lr {optimizer.param_groups[1]['lr']:.6f}")

with torch.no_grad():
    dt = torch.exp(model.s4_layers[0].kernel.log_dt)
    A = -torch.exp(model.s4_layers[0].kernel.log_A_real) + 1j * model.s4_layers[0].kernel.A_imag
    print("dt range", f"{dt.min().item():.4f}", f"{dt.max().item():.4f}",
          "max |exp(dtA)|", f"{torch.exp(A * dt[:, None]).abs().max().item():.4f}")
