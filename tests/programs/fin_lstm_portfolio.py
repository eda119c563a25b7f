"""Forecasting and allocation as in quant-finance notebooks: multi-asset returns turned into
supervised windows with Tensor.unfold, a seq2seq LSTM forecaster (nn.LSTM encoder, nn.LSTMCell
decoder) trained with scheduled teacher forcing and Huber loss, then a long-only portfolio with
softmax weights maximising a Sharpe ratio (minus a turnover penalty) under a cosine schedule,
reported with torch.cov/corrcoef, cumulative wealth by cumprod, drawdowns by cummax, and
volatility regimes with torch.bucketize."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(5)
T, A = 300, 4
factor = rng.normal(scale=0.01, size=T)
betas = np.array([0.6, 1.0, 1.3, 0.2])
drift = np.array([2e-4, 4e-4, 5e-4, 1e-4])
noise = rng.normal(size=(T, A)) * np.array([0.006, 0.01, 0.015, 0.003])
returns = torch.tensor(drift + factor[:, None] * betas + noise, dtype=torch.float32)
print("cov (x1e4):\n", (torch.cov(returns.T) * 1e4).round(decimals=2))
print("corr:\n", torch.corrcoef(returns.T).round(decimals=2))

# supervised windows: 20 days in, 5 days out, for asset 1
lookback, horizon = 20, 5
series = returns[:, 1]
mu, sd = series[:200].mean(), series[:200].std()
z = (series - mu) / sd
win = z.unfold(0, lookback + horizon, 1)  # (T - 24, 25)
x_all, y_all = win[:, :lookback].unsqueeze(-1), win[:, lookback:]
split = 180
x_train, y_train, x_test, y_test = x_all[:split], y_all[:split], x_all[split:], y_all[split:]
print("windows:", tuple(x_train.shape), tuple(y_train.shape), tuple(x_test.shape))


class Seq2Seq(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.encoder = nn.LSTM(1, hidden, batch_first=True)
        self.decoder = nn.LSTMCell(1, hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x, target=None, teacher_prob=0.0, gen=None):
        _, (h, c) = self.encoder(x)
        h, c = h[0], c[0]
        step_in = x[:, -1]
        outs = []
        for t in range(horizon):
            h, c = self.decoder(step_in, (h, c))
            pred = self.head(h)
            outs.append(pred)
            use_truth = target is not None and torch.rand(1, generator=gen).item() < teacher_prob
            step_in = target[:, t:t + 1] if use_truth else pred
        return torch.cat(outs, dim=1)


model = Seq2Seq()
opt = torch.optim.Adam(model.parameters(), lr=0.01)
gen = torch.Generator().manual_seed(42)
batches = torch.randperm(split, generator=gen).split(60)
for epoch in range(6):
    teacher = max(0.0, 1.0 - epoch / 4)  # scheduled sampling: anneal teacher forcing to 0
    for idx in batches:
        opt.zero_grad()
        pred = model(x_train[idx], y_train[idx], teacher_prob=teacher, gen=gen)
        loss = F.huber_loss(pred, y_train[idx], delta=1.0)
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 1.0)
        opt.step()
    if epoch % 2 == 1:
        with torch.no_grad():
            test = F.mse_loss(model(x_test), y_test)
        print(f"epoch {epoch} teacher {teacher:.2f} train {loss.item():.4f} test {test.item():.4f}")

with torch.no_grad():
    fc = model(x_test[:2]) * sd + mu
print("forecast (bp):", (fc * 1e4).round(decimals=1))
print("naive mse:", f"{F.mse_loss(torch.zeros_like(y_test), y_test).item():.4f}")

# portfolio: softmax weights, maximise annualised Sharpe with a turnover penalty
train_r, test_r = returns[:200], returns[200:]
logits = torch.zeros(A, requires_grad=True)
popt = torch.optim.SGD([logits], lr=0.5, momentum=0.9, nesterov=True)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(popt, T_max=60, eta_min=0.01)
w_prev = torch.full((A,), 1.0 / A)
for step in range(60):
    popt.zero_grad()
    w = torch.softmax(logits, dim=0)
    port = train_r @ w
    sharpe = port.mean() / port.std() * math.sqrt(252)
    loss = -sharpe + 0.1 * (w - w_prev).abs().sum()
    loss.backward()
    popt.step()
    sched.step()
    if step % 20 == 0:
        print(f"step {step:2d} sharpe {sharpe.item():.3f} lr {sched.get_last_lr()[0]:.4f} "
              f"w {[round(v, 3) for v in w.tolist()]}")

with torch.no_grad():
    w = logits.softmax(0)
    print("weights:", w.round(decimals=3), "sum", f"{w.sum().item():.4f}")
    for name, weights in (("equal", torch.full((A,), 0.25)), ("sharpe", w)):
        port = test_r @ weights
        wealth = torch.cumprod(1 + port, dim=0)
        peak = wealth.cummax(dim=0).values
        drawdown = 1 - wealth / peak
        print(f"{name:6s} test sharpe {port.mean() / port.std() * math.sqrt(252):.3f} "
              f"final wealth {wealth[-1].item():.4f} max dd {drawdown.max().item():.4f} "
              f"at day {drawdown.argmax().item()}")
    vol = returns.unfold(0, 20, 5).std(-1).mean(-1)
    edges = torch.quantile(vol, torch.tensor([1 / 3, 2 / 3]))
    regime = torch.bucketize(vol, edges)
    print("regimes:", regime[:12], "counts", torch.bincount(regime, minlength=3))
    top = torch.topk(returns.sum(0), k=2)
    print("top assets:", top.indices, top.values.mul(100).round(decimals=2))
try:
    torch.cumprod(returns.to(torch.int64), dim=2)
except IndexError as e:
    print("IndexError:", e)
