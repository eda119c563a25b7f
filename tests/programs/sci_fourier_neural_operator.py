"""Fourier Neural Operator on a periodic Poisson problem, the way the neuraloperator reference
code (Li et al., ``fourier_2d.py`` / ``fourier_1d.py``) writes it: ``SpectralConv2d`` holds
complex weights as ``nn.Parameter(scale * torch.rand(..., dtype=torch.cfloat))``, multiplies the
lowest Fourier modes with ``torch.einsum("bixy,ioxy->boxy", ...)`` on complex tensors, and goes
back with ``torch.fft.irfft2(out_ft, s=...)``; a 1-D variant keeps its weights real and views
them as complex (``torch.view_as_complex``). Inputs get grid features from
``torch.linspace``/``meshgrid``. Training data come from a spectral Poisson solver
(``fft2``/``ifft2``, ``fftfreq``), the loss is the relative L2 ``LpLoss``, and Adam with weight
decay, gradient clipping and ``StepLR`` train the complex parameters."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
S = 16                       # grid points per side
modes = 5


def random_fields(n, size, alpha=2.0):
    """Gaussian random fields on the torus: white noise coloured by (1 + |k|^2)^(-alpha/2)."""
    k = torch.fft.fftfreq(size, d=1.0 / size)
    kx, ky = torch.meshgrid(k, k, indexing="ij")
    decay = (1.0 + kx ** 2 + ky ** 2) ** (-alpha / 2)
    noise = torch.randn(n, size, size, dtype=torch.cfloat)
    field = torch.fft.ifft2(noise * decay).real * size
    return field - field.mean(dim=(-2, -1), keepdim=True)


def poisson_solve(f):
    """Solve -Laplace(u) = f with periodic boundaries on [0, 1)^2 (zero-mean u)."""
    size = f.shape[-1]
    k = 2 * math.pi * torch.fft.fftfreq(size, d=1.0 / size)
    kx, ky = torch.meshgrid(k, k, indexing="ij")
    k2 = kx ** 2 + ky ** 2
    k2[0, 0] = 1.0                      # the mean mode: set to zero below
    u_hat = torch.fft.fft2(f) / k2
    u_hat[..., 0, 0] = 0
    return torch.fft.ifft2(u_hat).real


f_train, f_test = random_fields(48, S), random_fields(8, S)
u_train, u_test = poisson_solve(f_train), poisson_solve(f_test)
u_scale = u_train.std()             # the operator is learned on unit-scale outputs
print("data", tuple(f_train.shape), f_train.dtype, "u range",
      round(u_train.min().item(), 4), round(u_train.max().item(), 4))

# check the solver: the finite-difference Laplacian of u gives back f (up to O(h^2))
h = 1.0 / S
lap = (torch.roll(u_train, 1, -1) + torch.roll(u_train, -1, -1) + torch.roll(u_train, 1, -2)
       + torch.roll(u_train, -1, -2) - 4 * u_train) / h ** 2
print("solver residual (relative)", round(((-lap - f_train).norm() / f_train.norm()).item(), 3))


class SpectralConv2d(nn.Module):
    def __init__(self, in_channels, out_channels, modes1, modes2):
        super().__init__()
        self.modes1, self.modes2 = modes1, modes2
        self.scale = 1 / (in_channels * out_channels)
        self.weights1 = nn.Parameter(self.scale * torch.rand(
            in_channels, out_channels, modes1, modes2, dtype=torch.cfloat))
        self.weights2 = nn.Parameter(self.scale * torch.rand(
            in_channels, out_channels, modes1, modes2, dtype=torch.cfloat))

    def compl_mul2d(self, inp, weights):
        return torch.einsum("bixy,ioxy->boxy", inp, weights)

    def forward(self, x):
        batchsize = x.shape[0]
        x_ft = torch.fft.rfft2(x)
        out_ft = torch.zeros(batchsize, self.weights1.size(1), x.size(-2), x.size(-1) // 2 + 1,
                             dtype=torch.cfloat, device=x.device)
        out_ft[:, :, :self.modes1, :self.modes2] = self.compl_mul2d(
            x_ft[:, :, :self.modes1, :self.modes2], self.weights1)
        out_ft[:, :, -self.modes1:, :self.modes2] = self.compl_mul2d(
            x_ft[:, :, -self.modes1:, :self.modes2], self.weights2)
        return torch.fft.irfft2(out_ft, s=(x.size(-2), x.size(-1)))


class FNO2d(nn.Module):
    def __init__(self, modes1, modes2, width):
        super().__init__()
        self.fc0 = nn.Linear(3, width)           # input: f(x, y), x, y
        self.convs = nn.ModuleList(SpectralConv2d(width, width, modes1, modes2)
                                   for _ in range(3))
        self.ws = nn.ModuleList(nn.Conv2d(width, width, 1) for _ in range(3))
        self.fc1 = nn.Linear(width, 32)
        self.fc2 = nn.Linear(32, 1)

    def get_grid(self, shape, device):
        batchsize, size_x, size_y = shape[0], shape[1], shape[2]
        gridx = torch.linspace(0, 1, size_x, dtype=torch.float)
        gridx = gridx.reshape(1, size_x, 1, 1).repeat([batchsize, 1, size_y, 1])
        gridy = torch.linspace(0, 1, size_y, dtype=torch.float)
        gridy = gridy.reshape(1, 1, size_y, 1).repeat([batchsize, size_x, 1, 1])
        return torch.cat((gridx, gridy), dim=-1).to(device)

    def forward(self, x):
        grid = self.get_grid(x.shape, x.device)
        x = torch.cat((x, grid), dim=-1)
        x = self.fc0(x).permute(0, 3, 1, 2)
        for i, (conv, w) in enumerate(zip(self.convs, self.ws)):
            x = conv(x) + w(x)
            if i < len(self.convs) - 1:
                x = F.gelu(x)
        x = x.permute(0, 2, 3, 1)
        return self.fc2(F.gelu(self.fc1(x)))


class LpLoss:
    """Relative Lp error, averaged over the batch (the neuraloperator utility)."""

    def __init__(self, p=2, size_average=True):
        self.p, self.size_average = p, size_average

    def __call__(self, x, y):
        num_examples = x.size()[0]
        diff_norms = torch.norm(x.reshape(num_examples, -1) - y.reshape(num_examples, -1),
                                self.p, 1)
        y_norms = torch.norm(y.reshape(num_examples, -1), self.p, 1)
        ratio = diff_norms / y_norms
        return torch.mean(ratio) if self.size_average else torch.sum(ratio)


model = FNO2d(modes, modes, width=8)
complex_params = [n for n, p in model.named_parameters() if p.is_complex()]
print("parameters", sum(p.numel() for p in model.parameters()), "complex tensors",
      len(complex_params), complex_params[0], model.convs[0].weights1.dtype)
print("weights1[0,0,0,:2]", [(round(z.real, 4), round(z.imag, 4))
                             for z in model.convs[0].weights1[0, 0, 0, :2].tolist()])

optimizer = torch.optim.Adam(model.parameters(), lr=4e-3, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
myloss = LpLoss(size_average=False)
x_train, y_train = f_train.unsqueeze(-1), (u_train / u_scale).unsqueeze(-1)
x_test, y_test = f_test.unsqueeze(-1), (u_test / u_scale).unsqueeze(-1)
batch_size = 16
for ep in range(30):
    model.train()
    train_l2 = 0.0
    perm = torch.randperm(x_train.size(0))
    for i in range(0, x_train.size(0), batch_size):
        idx = perm[i:i + batch_size]
        x, y = x_train[idx], y_train[idx]
        optimizer.zero_grad()
        out = model(x)
        loss = myloss(out.view(len(idx), -1), y.view(len(idx), -1))
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        train_l2 += loss.item()
    scheduler.step()
    if ep % 10 == 9:
        model.eval()
        with torch.no_grad():
            test_l2 = myloss(model(x_test), y_test).item()
        print(f"epoch {ep + 1:2d} train {train_l2 / x_train.size(0):.3f} "
              f"test {test_l2 / x_test.size(0):.3f} grad-norm {gnorm.item():.1f} "
              f"lr {scheduler.get_last_lr()[0]:.5f}")

w = model.convs[0].weights1
print("weights stay complex:", w.dtype, w.grad.dtype, "Adam state", optimizer.state[w]["exp_avg"]
      .dtype, optimizer.state[w]["exp_avg_sq"].dtype)
print("|weights1| mean", round(w.detach().abs().mean().item(), 3))
# discretisation invariance: the same operator evaluated on a finer grid
f_fine = random_fields(2, 2 * S)
with torch.no_grad():
    u_fine = (poisson_solve(f_fine) / u_scale).unsqueeze(-1)
    rel = myloss(model(f_fine.unsqueeze(-1)), u_fine).item() / 2
print("zero-shot error on a 32x32 grid", round(rel, 2))


# the 1-D variant: real weights viewed as complex (view_as_complex of a (..., 2) parameter)
class SpectralConv1d(nn.Module):
    def __init__(self, in_channels, out_channels, modes1):
        super().__init__()
        self.modes1 = modes1
        scale = 1 / (in_channels * out_channels)
        self.weights = nn.Parameter(scale * torch.randn(in_channels, out_channels, modes1, 2))

    def forward(self, x):
        x_ft = torch.fft.rfft(x, norm="ortho")
        weights = torch.view_as_complex(self.weights)
        out_ft = torch.zeros(x.size(0), weights.size(1), x.size(-1) // 2 + 1,
                             dtype=torch.cfloat)
        out_ft[:, :, :self.modes1] = torch.einsum("bix,iox->box", x_ft[:, :, :self.modes1],
                                                  weights)
        return torch.fft.irfft(out_ft, n=x.size(-1), norm="ortho")


# learn the 1-D heat semigroup u(t=0.02) from u(0): a diagonal operator in Fourier space
n1 = 32
xs = torch.linspace(0, 1, n1 + 1)[:-1]
coef = torch.randn(64, 4)
u0 = sum(coef[:, j:j + 1] * torch.sin(2 * math.pi * (j + 1) * xs) for j in range(4))
decay = torch.exp(-(2 * math.pi * torch.fft.rfftfreq(n1, d=1.0 / n1)) ** 2 * 0.002)
u1 = torch.fft.irfft(torch.fft.rfft(u0) * decay, n=n1)
layer = SpectralConv1d(1, 1, 6)
opt1 = torch.optim.Adam(layer.parameters(), lr=0.05)
for step in range(60):
    opt1.zero_grad()
    loss = F.mse_loss(layer(u0.unsqueeze(1)).squeeze(1), u1)
    loss.backward()
    opt1.step()
print("1-D spectral layer mse", f"{loss.item():.2e}", "grad shape",
      tuple(layer.weights.grad.shape))
learned = torch.view_as_complex(layer.weights.detach())[0, 0, 1:5]
print("learned multipliers", [round(v, 2) for v in learned.real.tolist()],
      "true", [round(v, 2) for v in decay[1:5].tolist()])

# the same multipliers as a complex parameter fitted by L-BFGS (complex entries are searched
# over their real and imaginary parts)
multiplier = nn.Parameter(torch.zeros(6, dtype=torch.cfloat))
spec0, spec1 = torch.fft.rfft(u0)[:, :6], torch.fft.rfft(u1)[:, :6]
lbfgs = torch.optim.LBFGS([multiplier], lr=1.0, max_iter=30, line_search_fn="strong_wolfe")


def closure():
    lbfgs.zero_grad()
    loss = (spec0 * multiplier - spec1).abs().pow(2).mean()
    loss.backward()
    return loss


lbfgs.step(closure)
print("L-BFGS multipliers", [round(v, 3) for v in multiplier.detach()[1:5].real.tolist()],
      "imag ~ 0:", multiplier.detach()[1:5].imag.abs().max().item() < 1e-3,
      "evals", lbfgs.state[multiplier]["func_evals"])
