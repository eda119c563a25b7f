"""DeepAR (Salinas et al., 2020) on intermittent count series, as in the GluonTS and
pytorch-forecasting DeepAR models: an autoregressive LSTM (with ``proj_size``) reads lagged
targets and a covariate, emits the parameters of a ``NegativeBinomial`` (``total_count`` from a
softplus, ``logits`` from the mean) and is trained by negative log-likelihood on windows cut
with ``Tensor.unfold``. The decoder is trained with teacher forcing and scheduled sampling (the
previous target is replaced by the model's own mean with a growing probability); forecasts are
ancestral samples summarised by ``torch.quantile``. A ``PoissonNLLLoss`` baseline and a
``StudentT`` head on the log-scale series are trained beside it, the scheduler is
``ReduceLROnPlateau``. Everything is drawn from ``torch.manual_seed``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import NegativeBinomial, Poisson, StudentT

torch.manual_seed(0)

# --- data: 6 weekly-seasonal count series, 120 steps, rate modulated by a covariate ----------
n_series, length = 6, 120
t = torch.arange(length, dtype=torch.float32)
season = 1.0 + 0.6 * torch.sin(2 * math.pi * t / 7)
level = torch.linspace(2.0, 6.0, n_series).unsqueeze(1)
covariate = torch.cos(2 * math.pi * t / 30).expand(n_series, length)
rate = level * season * torch.exp(0.3 * covariate)
counts = Poisson(rate).sample()
print("counts", counts.shape, "total", int(counts.sum().item()),
      "zeros", int((counts == 0).sum().item()))

# sliding windows (context 21, horizon 7, step 4) cut with unfold on the time dimension
context, horizon, step = 21, 7, 4
window = context + horizon
train_part = counts[:, :100]
cov_part = covariate[:, :100]
y_win = train_part.unfold(1, window, step)  # (series, n_windows, window)
c_win = cov_part.unfold(1, window, step)
print("unfold", tuple(y_win.shape), y_win.stride(), y_win.is_contiguous())
y_win = y_win.reshape(-1, window)
c_win = c_win.reshape(-1, window)
# DeepAR scales every window by its context mean (+1, counts can be all zero)
scale = y_win[:, :context].mean(dim=1, keepdim=True) + 1.0
print("windows", tuple(y_win.shape), "scale range", round(scale.min().item(), 4),
      round(scale.max().item(), 4))


class DeepAR(nn.Module):
    def __init__(self, hidden=24, proj=12):
        super().__init__()
        self.rnn = nn.LSTM(input_size=3, hidden_size=hidden, num_layers=2, batch_first=True,
                           proj_size=proj)
        self.mu = nn.Linear(proj, 1)
        self.alpha = nn.Linear(proj, 1)

    def step(self, y_prev, cov, state):
        # inputs: scaled previous target, covariate, log of the window scale
        log_scale = self.log_scale.expand(-1, y_prev.shape[1], 1)
        out, state = self.rnn(torch.cat([y_prev, cov, log_scale], dim=-1), state)
        mu = F.softplus(self.mu(out)) * self.scale.unsqueeze(1)
        alpha = F.softplus(self.alpha(out)) + 1e-3
        return mu.squeeze(-1), alpha.squeeze(-1), state

    def distribution(self, mu, alpha):
        # NB with mean mu and dispersion alpha: total_count = 1/alpha, p = mu alpha / (1 + mu alpha)
        total_count = 1.0 / alpha
        logits = torch.log(mu * alpha + 1e-8)
        return NegativeBinomial(total_count=total_count, logits=logits)

    def forward(self, y, cov, scale, teacher_prob=1.0):
        self.scale = scale
        self.log_scale = torch.log(scale).unsqueeze(1)
        y_in = (y / scale).unsqueeze(-1)
        c_in = cov.unsqueeze(-1)
        # encoder: the whole context in one call
        out_mu, out_alpha, state = self.step(y_in[:, :context - 1], c_in[:, 1:context], None)
        mus, alphas = [out_mu], [out_alpha]
        prev = y_in[:, context - 1:context]
        for k in range(horizon):
            mu, alpha, state = self.step(prev, c_in[:, context + k:context + k + 1], state)
            mus.append(mu)
            alphas.append(alpha)
            truth = y_in[:, context + k:context + k + 1]
            if teacher_prob >= 1.0:
                prev = truth
            else:
                # scheduled sampling: per series, keep the truth with probability teacher_prob
                keep = torch.bernoulli(torch.full_like(truth, teacher_prob))
                prev = keep * truth + (1 - keep) * (mu.detach().unsqueeze(-1) / scale.unsqueeze(1))
        return torch.cat(mus, dim=1), torch.cat(alphas, dim=1)


model = DeepAR()
print("lstm weights", [tuple(p.shape) for n, p in model.rnn.named_parameters() if "l0" in n])
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1,
                                                     threshold=1e-3)
targets = y_win[:, 1:]
for epoch in range(8):
    teacher_prob = max(0.5, 1.0 - 0.1 * epoch)
    perm = torch.randperm(y_win.shape[0])
    total = 0.0
    for b in range(0, y_win.shape[0], 32):
        idx = perm[b:b + 32]
        mu, alpha = model(y_win[idx], c_win[idx], scale[idx], teacher_prob)
        nb = model.distribution(mu, alpha)
        loss = -nb.log_prob(targets[idx]).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        total += loss.item() * len(idx)
    epoch_loss = total / y_win.shape[0]
    plateau.step(epoch_loss)
    print("epoch", epoch, "teacher", round(teacher_prob, 2), "nll", round(epoch_loss, 3),
          "lr", opt.param_groups[0]["lr"])

# --- the distribution itself: moments and log_prob against the formula --------------------
with torch.no_grad():
    mu, alpha = model(y_win[:4], c_win[:4], scale[:4])
    nb = model.distribution(mu, alpha)
    print("nb batch", tuple(nb.batch_shape), "mean err",
          round((nb.mean - mu).abs().max().item(), 3))
    print("nb var/mean", round((nb.variance / nb.mean).mean().item(), 3))
    k = targets[:4]
    r, p = nb.total_count, torch.sigmoid(nb.logits)
    by_hand = (torch.lgamma(k + r) - torch.lgamma(r) - torch.lgamma(k + 1)
               + r * torch.log1p(-p) + k * torch.log(p))
    print("log_prob vs formula", round((nb.log_prob(k) - by_hand).abs().max().item(), 3))
    print("nb probs", [round(v, 4) for v in nb.probs[0, -3:].tolist()])

# --- forecast: ancestral sampling over the horizon from the last context --------------------
test_y = counts[:, 100 - context:100 + horizon]
test_c = covariate[:, 100 - context:100 + horizon]
test_scale = test_y[:, :context].mean(dim=1, keepdim=True) + 1.0
n_paths = 50
with torch.no_grad():
    model.scale = test_scale.repeat(n_paths, 1)
    model.log_scale = torch.log(model.scale).unsqueeze(1)
    y_rep = (test_y / test_scale).repeat(n_paths, 1).unsqueeze(-1)
    c_rep = test_c.repeat(n_paths, 1).unsqueeze(-1)
    _, _, state = model.step(y_rep[:, :context - 1], c_rep[:, 1:context], None)
    prev = y_rep[:, context - 1:context]
    paths = []
    for k in range(horizon):
        mu, alpha, state = model.step(prev, c_rep[:, context + k:context + k + 1], state)
        draw = model.distribution(mu, alpha).sample()
        paths.append(draw)
        prev = (draw / model.scale).unsqueeze(-1)
    paths = torch.cat(paths, dim=1).view(n_paths, n_series, horizon)
qs = torch.quantile(paths, torch.tensor([0.1, 0.5, 0.9]), dim=0)
truth = test_y[:, context:]
coverage = ((truth >= qs[0]) & (truth <= qs[2])).float().mean()
print("forecast quantiles", tuple(qs.shape), "median series0", qs[1, 0].tolist())
print("80% interval coverage", round(coverage.item(), 4),
      "sample mean", round(paths.mean().item(), 3), "truth mean", round(truth.mean().item(), 3))

# --- baselines: PoissonNLLLoss on a linear autoregression, StudentT on log1p counts ----------
x_lag = y_win[:, context - 7:context]
y_next = y_win[:, context]
lin = nn.Linear(7, 1)
poisson_loss = nn.PoissonNLLLoss(log_input=True, full=True)
opt2 = torch.optim.SGD(lin.parameters(), lr=0.01, momentum=0.9)
for it in range(60):
    log_rate = lin(torch.log1p(x_lag)).squeeze(-1)
    loss = poisson_loss(log_rate, y_next)
    opt2.zero_grad()
    loss.backward()
    opt2.step()
print("poisson AR nll", round(loss.item(), 4))
manual = (torch.exp(log_rate) - y_next * log_rate).mean()
stirling = y_next * torch.log(y_next) - y_next + 0.5 * torch.log(2 * math.pi * y_next)
manual = manual + torch.where(y_next > 1, stirling, torch.zeros_like(y_next)).mean()
print("PoissonNLLLoss(full) vs formula", round(abs(loss.item() - manual.item()), 5))
print("functional no-log", round(F.poisson_nll_loss(torch.exp(log_rate), y_next, log_input=False,
                                                  reduction="sum").item(), 2))

z = torch.log1p(y_win[:, context - 7:context + 1])
head = nn.Linear(7, 3)
opt3 = torch.optim.Adam(head.parameters(), lr=0.05)
for it in range(80):
    out = head(z[:, :7])
    df = 2.0 + F.softplus(out[:, 0])
    st = StudentT(df, out[:, 1], F.softplus(out[:, 2]) + 1e-3)
    loss = -st.log_prob(z[:, 7]).mean()
    opt3.zero_grad()
    loss.backward()
    opt3.step()
print("studentT nll", round(loss.item(), 4), "mean df", round(st.df.mean().item(), 3),
      "entropy", round(st.entropy().mean().item(), 4))
print("studentT var", round(st.variance.mean().item(), 4))
