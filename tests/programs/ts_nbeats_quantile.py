"""N-BEATS (Oreshkin et al., 2020) with interpretable trend and seasonality stacks, as in the
ServiceNow N-BEATS and pytorch-forecasting NBeats models, trained as a multi-quantile forecaster
with the pinball (quantile) loss. Inputs are sliding windows made by ``Tensor.unfold`` (with
gradients flowing through the window view), the baselines are a seasonal-naive forecast from
``torch.roll`` and a differenced series (``torch.diff``/``cumsum``). Training uses AdamW with
``amsgrad`` and ``ReduceLROnPlateau`` in ``"max"`` mode with cooldown and ``min_lr``, whose
state is saved and restored; evaluation reports sMAPE, MASE, quantile crossings (``cummax``
repairs them) and interval coverage. Everything is drawn from ``torch.manual_seed``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(1)

# --- data: trend + two seasonalities + heteroscedastic noise --------------------------------
n_series, length, period = 8, 160, 12
t = torch.arange(length, dtype=torch.float32)
slope = torch.rand(n_series, 1) * 0.05
amp = 1.0 + torch.rand(n_series, 1)
series = (10.0 + slope * t + amp * torch.sin(2 * math.pi * t / period)
          + 0.5 * torch.cos(2 * math.pi * t / 4) + 0.3 * torch.randn(n_series, length)
          * (1 + 0.5 * torch.sin(t / 20)))
print("series", tuple(series.shape), "mean", round(series.mean().item(), 4),
      "std", round(series.std().item(), 4))

# differencing and its inverse
d1 = torch.diff(series, dim=1)
rebuilt = torch.cat([series[:, :1], series[:, :1] + torch.cumsum(d1, dim=1)], dim=1)
print("diff", tuple(d1.shape), "rebuild err", round((rebuilt - series).abs().max().item(), 3))
d12 = torch.diff(series, n=1, dim=1, prepend=series[:, :period])[:, period:]
print("seasonal diff std", round(d12.std().item(), 4),
      "diff n=2", tuple(torch.diff(series, n=2).shape))

# a fine float64 time grid, as used to resample irregular timestamps: how even is it?
grid = torch.linspace(-50.0, 50.0, 10007, dtype=torch.float64)
steps = torch.diff(grid)
print("grid steps distinct", steps.unique().numel(),
      "spread", steps.max().item() - steps.min().item(),
      "midpoint", grid[5003].item())
hours = torch.arange(0.0, 24.0, 0.1, dtype=torch.float64)
print("hours", hours.numel(), hours[-1].item(),
      "distinct steps", torch.diff(hours).unique().numel(),
      "on the 0.1 grid", int((hours * 10 == torch.round(hours * 10)).sum().item()))

backcast_len, horizon = 36, 12
train_end = length - horizon
train = series[:, :train_end]
windows = train.unfold(-1, backcast_len + horizon, 2)
print("windows", tuple(windows.shape), windows.stride())


def trend_basis(degree, n, offset):
    grid = (torch.arange(n, dtype=torch.float32) + offset) / backcast_len
    return torch.stack([grid ** p for p in range(degree + 1)])  # (degree + 1, n)


def fourier_basis(harmonics, n, offset):
    grid = (torch.arange(n, dtype=torch.float32) + offset) / period
    freqs = torch.arange(1, harmonics + 1, dtype=torch.float32).unsqueeze(1)
    return torch.cat([torch.cos(2 * math.pi * freqs * grid), torch.sin(2 * math.pi * freqs * grid)])


class Block(nn.Module):
    def __init__(self, basis_back, basis_fore, hidden=64, n_quantiles=3):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(backcast_len, hidden), nn.ReLU(),
                                nn.Linear(hidden, hidden), nn.ReLU())
        self.register_buffer("basis_back", basis_back)
        self.register_buffer("basis_fore", basis_fore)
        k = basis_back.shape[0]
        self.theta_b = nn.Linear(hidden, k, bias=False)
        self.theta_f = nn.Linear(hidden, k * n_quantiles, bias=False)
        self.nq = n_quantiles

    def forward(self, x):
        h = self.fc(x)
        back = self.theta_b(h) @ self.basis_back
        theta_f = self.theta_f(h).unflatten(-1, (self.nq, -1))
        fore = torch.einsum("bqk,kh->bqh", theta_f, self.basis_fore)
        return back, fore


class NBeats(nn.Module):
    def __init__(self):
        super().__init__()
        blocks = []
        for _ in range(2):
            blocks.append(Block(trend_basis(2, backcast_len, 0),
                                trend_basis(2, horizon, backcast_len)))
        for _ in range(2):
            blocks.append(Block(fourier_basis(4, backcast_len, 0),
                                fourier_basis(4, horizon, backcast_len)))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        residual, forecast = x, 0.0
        for block in self.blocks:
            back, fore = block(residual)
            residual = residual - back
            forecast = forecast + fore
        return forecast, residual


quantiles = torch.tensor([0.1, 0.5, 0.9])


def pinball(pred, target):
    # pred (batch, q, horizon), target (batch, horizon)
    err = target.unsqueeze(1) - pred
    q = quantiles.view(1, -1, 1)
    return torch.maximum(q * err, (q - 1) * err).mean()


model = NBeats()
print("params", sum(p.numel() for p in model.parameters()),
      "buffers", [tuple(b.shape) for b in model.buffers()][:4:2])
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4, amsgrad=True)
sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.3, patience=1,
                                                   cooldown=1, min_lr=5e-4,
                                                   threshold=0.01, threshold_mode="abs")

flat = windows.reshape(-1, backcast_len + horizon)
level = flat[:, :backcast_len].mean(dim=1, keepdim=True)
x_all = flat[:, :backcast_len] - level
y_all = flat[:, backcast_len:] - level
val_x = (series[:, train_end - backcast_len:train_end]
         - series[:, train_end - backcast_len:train_end].mean(1, keepdim=True))
val_level = series[:, train_end - backcast_len:train_end].mean(1, keepdim=True)
val_y = series[:, train_end:]

for epoch in range(8):
    perm = torch.randperm(x_all.shape[0])
    for b in range(0, x_all.shape[0], 64):
        idx = perm[b:b + 64]
        pred, _ = model(x_all[idx])
        loss = pinball(pred, y_all[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred, _ = model(val_x)
        pred = pred + val_level.unsqueeze(1)
        inside = ((val_y >= pred[:, 0]) & (val_y <= pred[:, 2])).float().mean()
        score = -pinball(pred, val_y).item()
    sched.step(score)
    print("epoch", epoch, "train", round(loss.item(), 3), "val score", round(score, 3),
          "coverage", round(inside.item(), 3), "lr", round(opt.param_groups[0]["lr"], 6),
          "bad", sched.num_bad_epochs)

state = sched.state_dict()
restored = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max")
restored.load_state_dict(state)
print("restored best", round(restored.best, 3), "cooldown", restored.cooldown,
      "min_lrs", restored.min_lrs, "mode", restored.mode)

# --- gradients flow through the unfold view --------------------------------------------------
raw = series[:1, :60].clone().requires_grad_(True)
w = raw.unfold(1, backcast_len, 6)
out, _ = model(w[0] - w[0].mean(1, keepdim=True))
out[:, 1].sum().backward()
print("unfold grad", tuple(raw.grad.shape), round(raw.grad.abs().sum().item(), 3),
      "windows covering t=30", int((raw.grad[0, 30] != 0).item()))

# --- evaluation: crossings, sMAPE, MASE against a seasonal-naive baseline --------------------
with torch.no_grad():
    pred, residual = model(val_x)
    pred = pred + val_level.unsqueeze(1)
crossed = (pred[:, 0] > pred[:, 1]) | (pred[:, 1] > pred[:, 2])
fixed = pred.cummax(dim=1).values
print("crossings", int(crossed.sum().item()), "after cummax",
      int(((fixed[:, 0] > fixed[:, 1]) | (fixed[:, 1] > fixed[:, 2])).sum().item()),
      "cummax idx max", int(pred.cummax(dim=1).indices.max().item()))
median = pred[:, 1]
smape = (2 * (median - val_y).abs() / (median.abs() + val_y.abs())).mean() * 100
naive = torch.roll(series, shifts=period, dims=1)[:, train_end:]
insample_naive = (train[:, period:] - train[:, :-period]).abs().mean(dim=1, keepdim=True)
mase = ((median - val_y).abs() / insample_naive).mean()
mase_naive = ((naive - val_y).abs() / insample_naive).mean()
print("sMAPE", round(smape.item(), 3), "MASE", round(mase.item(), 3),
      "naive MASE", round(mase_naive.item(), 3))
print("roll 2d", torch.roll(torch.arange(6).view(2, 3), shifts=(1, -1), dims=(0, 1)).tolist(),
      "flat", torch.roll(torch.arange(5), 2).tolist())
print("backcast residual", round(residual.abs().mean().item(), 3),
      "huber", round(nn.HuberLoss(delta=0.5)(median, val_y).item(), 4),
      "smooth l1", round(F.smooth_l1_loss(median, val_y, beta=0.5).item(), 4))
# blend the model with the naive forecast
blend = torch.lerp(naive, median, 0.7)
print("blend mae", round((blend - val_y).abs().mean().item(), 4),
      "lerp tensor w", round(torch.lerp(naive, median, torch.full_like(naive, 0.7))
                              .sub(blend).abs().max().item(), 5))
print("quantile of errors", [round(v, 3) for v in
                             torch.quantile((median - val_y).abs().flatten(),
                                            torch.tensor([0.5, 0.95]),
                                            interpolation="nearest").tolist()])
# quantile levels given in percent by mistake: torch.quantile refuses them
for levels in (90.0, torch.tensor([0.5, 90.0])):
    try:
        torch.quantile(median, levels)
    except RuntimeError as err:
        print("RuntimeError:", err)
