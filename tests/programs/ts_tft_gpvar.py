"""A Temporal Fusion Transformer-style forecaster (Lim et al., 2021, as in pytorch-forecasting's
TFT) with a multivariate likelihood head in the style of GPVar (Salinas et al., 2019): gated
residual networks with ``F.glu``, a variable selection network (softmax weights over the input
variables), a causal, dilated, weight-normalised ``Conv1d`` encoder (left padding with
``F.pad``), interpretable multi-head attention under a causal mask, and a
``LowRankMultivariateNormal`` over the series of one time step. A heteroscedastic
``GaussianNLLLoss`` head and a full-covariance ``MultivariateNormal(scale_tril=...)`` built
from ``torch.tril``/``diag_embed`` are trained beside it; CRPS from ``Normal.cdf`` and KL
divergences compare them. Everything is drawn from ``torch.manual_seed``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import (LowRankMultivariateNormal, MultivariateNormal, Normal,
                                 kl_divergence)
from torch.nn.utils.parametrizations import weight_norm

torch.manual_seed(3)

# --- data: 4 correlated series driven by a shared factor, plus 3 known covariates ------------
n_series, length, n_cov = 4, 200, 3
t = torch.arange(length, dtype=torch.float32)
factor = torch.sin(2 * math.pi * t / 25) + 0.3 * torch.randn(length).cumsum(0) / 10
loadings = torch.tensor([1.0, 0.8, -0.5, 0.3])
covs = torch.stack([torch.sin(2 * math.pi * t / 7), torch.cos(2 * math.pi * t / 7),
                    t / length], dim=1)
noise = 0.2 * torch.randn(length, n_series)
series = factor[:, None] * loadings + covs[:, :1] * 0.3 + noise
print("series", tuple(series.shape), "corr(0,2)",
      round(torch.corrcoef(series.T)[0, 2].item(), 4))

lookback = 24
x_all = torch.cat([series, covs], dim=1)  # (time, 7 variables)
windows = x_all.unfold(0, lookback + 1, 1).permute(0, 2, 1)  # (n, lookback + 1, 7)
inputs, target = windows[:, :-1], windows[:, -1, :n_series]
future_cov = windows[:, -1, n_series:]
print("windows", tuple(windows.shape), "targets", tuple(target.shape))


class GRN(nn.Module):
    """Gated residual network: ELU MLP, GLU gate, residual, LayerNorm."""
    def __init__(self, d_in, d_hidden, d_out, d_context=None):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.ctx = nn.Linear(d_context, d_hidden, bias=False) if d_context else None
        self.fc2 = nn.Linear(d_hidden, 2 * d_out)
        self.skip = nn.Linear(d_in, d_out) if d_in != d_out else nn.Identity()
        self.norm = nn.LayerNorm(d_out)

    def forward(self, x, context=None):
        h = self.fc1(x)
        if self.ctx is not None and context is not None:
            h = h + self.ctx(context)
        h = F.glu(self.fc2(F.elu(h)), dim=-1)
        return self.norm(self.skip(x) + h)


class VariableSelection(nn.Module):
    def __init__(self, n_vars, d_model):
        super().__init__()
        self.embed = nn.ModuleList([nn.Linear(1, d_model) for _ in range(n_vars)])
        self.weights = GRN(n_vars, d_model, n_vars)
        self.per_var = nn.ModuleList([GRN(d_model, d_model, d_model) for _ in range(n_vars)])

    def forward(self, x):
        w = torch.softmax(self.weights(x), dim=-1)  # (..., n_vars)
        emb = torch.stack([g(e(x[..., i:i + 1])) for i, (e, g) in
                           enumerate(zip(self.embed, self.per_var))], dim=-2)
        return (w.unsqueeze(-1) * emb).sum(-2), w


class CausalConv(nn.Module):
    def __init__(self, channels, kernel, dilation):
        super().__init__()
        self.left = (kernel - 1) * dilation
        self.conv = weight_norm(nn.Conv1d(channels, channels, kernel, dilation=dilation))

    def forward(self, x):  # (batch, channels, time)
        return self.conv(F.pad(x, (self.left, 0)))


class InterpretableAttention(nn.Module):
    """Heads have their own queries and keys but share one value projection (TFT)."""
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.h, self.dk = n_heads, d_model // n_heads
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_model, d_model)
        self.v = nn.Linear(d_model, self.dk)
        self.out = nn.Linear(self.dk, d_model)

    def forward(self, x):
        b, n, _ = x.shape
        q = self.q(x).view(b, n, self.h, self.dk).transpose(1, 2)
        k = self.k(x).view(b, n, self.h, self.dk).transpose(1, 2)
        v = self.v(x).unsqueeze(1)
        mask = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.dk)
        attn = scores.masked_fill(mask, float("-inf")).softmax(-1)
        return self.out((attn @ v).mean(1)), attn.mean(1)


class TFTGPVar(nn.Module):
    def __init__(self, n_vars=7, d_model=16, rank=2):
        super().__init__()
        self.select = VariableSelection(n_vars, d_model)
        self.tcn = nn.Sequential(CausalConv(d_model, 3, 1), nn.GELU(), CausalConv(d_model, 3, 2))
        self.attn = InterpretableAttention(d_model, 4)
        self.post = GRN(d_model, d_model, d_model, d_context=n_cov)
        self.loc = nn.Linear(d_model, n_series)
        self.factor = nn.Linear(d_model, n_series * rank)
        self.diag = nn.Linear(d_model, n_series)
        self.rank = rank

    def forward(self, x, fut):
        h, var_w = self.select(x)
        h = h + self.tcn(h.transpose(1, 2)).transpose(1, 2)
        a, attn = self.attn(h)
        z = self.post(h[:, -1] + a[:, -1], context=fut)
        loc = self.loc(z)
        cov_factor = self.factor(z).view(-1, n_series, self.rank)
        cov_diag = F.softplus(self.diag(z)) + 1e-3
        return LowRankMultivariateNormal(loc, cov_factor, cov_diag), var_w, attn


model = TFTGPVar()
print("params", sum(p.numel() for p in model.parameters()),
      "weight_norm", sorted(n for n, _ in model.tcn[0].named_parameters()))
n_train = 140
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
for epoch in range(6):
    perm = torch.randperm(n_train)
    for b in range(0, n_train, 35):
        idx = perm[b:b + 35]
        dist, var_w, attn = model(inputs[idx], future_cov[idx])
        loss = -dist.log_prob(target[idx]).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    print("epoch", epoch, "nll", round(loss.item(), 3))

model.eval()
with torch.no_grad():
    dist, var_w, attn = model(inputs[n_train:], future_cov[n_train:])
    test_y = target[n_train:]
    print("test nll", round(-dist.log_prob(test_y).mean().item(), 3),
          "batch", tuple(dist.batch_shape), "event", tuple(dist.event_shape))
    print("variable importance", [round(v, 3) for v in var_w.mean((0, 1)).tolist()])
    print("attention rows sum", round(attn.sum(-1).mean().item(), 4),
          "future masked", bool((attn.triu(1) == 0).all()))
    cov = dist.covariance_matrix
    std = cov.diagonal(dim1=-2, dim2=-1).sqrt()
    learned_corr = cov / (std.unsqueeze(-1) * std.unsqueeze(-2))
    print("learned corr(0,2)", round(learned_corr[:, 0, 2].mean().item(), 2),
          "precision check", round((dist.precision_matrix @ cov - torch.eye(n_series))
                                   .abs().max().item(), 3))
    print("entropy", round(dist.entropy().mean().item(), 3), "scale_tril diag>0",
          bool((dist.scale_tril.diagonal(dim1=-2, dim2=-1) > 0).all()))
    paths = dist.sample((200,))
    print("sample", tuple(paths.shape), "sample corr(0,2)",
          round(torch.corrcoef(paths[:, 0].T)[0, 2].item(), 2))
    full = MultivariateNormal(dist.loc, scale_tril=dist.scale_tril)
    diag = MultivariateNormal(dist.loc, covariance_matrix=torch.diag_embed(dist.variance))
    print("kl(lowrank||full)", round(kl_divergence(dist, full).abs().max().item(), 3),
          "kl(lowrank||diag)", round(kl_divergence(dist, diag).mean().item(), 3),
          "kl(full||lowrank)", round(kl_divergence(full, dist).abs().max().item(), 3))

# --- independent heteroscedastic head with GaussianNLLLoss, and a full-covariance head -------
feats = inputs[:, -4:, :].flatten(1)
head = nn.Linear(feats.shape[1], 2 * n_series)
gnll = nn.GaussianNLLLoss(full=True, eps=1e-4)
opt2 = torch.optim.Adam(head.parameters(), lr=1e-2)
for it in range(150):
    mean, raw = head(feats[:n_train]).chunk(2, dim=-1)
    loss = gnll(mean, target[:n_train], F.softplus(raw))
    opt2.zero_grad()
    loss.backward()
    opt2.step()
with torch.no_grad():
    mean, raw = head(feats[n_train:]).chunk(2, dim=-1)
    var = F.softplus(raw)
    normal = Normal(mean, var.sqrt())
    print("gaussian nll", round(gnll(mean, test_y, var).item(), 3), "vs Normal.log_prob",
          round(-normal.log_prob(test_y).mean().item(), 3))
    print("shared variance", round(F.gaussian_nll_loss(mean, test_y, var.mean(-1, keepdim=True))
                                   .item(), 3),
          "sum", round(F.gaussian_nll_loss(mean, test_y, var, reduction="sum").item(), 1))
    # closed-form CRPS of a Gaussian: sigma * (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi))
    std_normal = Normal(0.0, 1.0)
    zs = (test_y - mean) / normal.scale
    crps = normal.scale * (zs * (2 * std_normal.cdf(zs) - 1) + 2 * std_normal.log_prob(zs).exp()
                           - 1 / math.sqrt(math.pi))
    print("CRPS", round(crps.mean().item(), 4), "PIT mean", round(normal.cdf(test_y).mean().item(),
                                                                  3),
          "90% quantile", [round(v, 2) for v in normal.icdf(torch.tensor(0.9))[0].tolist()])

tril_head = nn.Linear(feats.shape[1], n_series + n_series * (n_series + 1) // 2)
rows, cols = torch.tril_indices(n_series, n_series)
opt3 = torch.optim.Adam(tril_head.parameters(), lr=1e-2)
for it in range(100):
    out = tril_head(feats[:n_train])
    loc, entries = out[:, :n_series], out[:, n_series:]
    L = torch.zeros(n_train, n_series, n_series)
    L[:, rows, cols] = entries
    L = torch.tril(L, -1) + torch.diag_embed(F.softplus(L.diagonal(dim1=-2, dim2=-1)) + 1e-3)
    mvn = MultivariateNormal(loc, scale_tril=L)
    loss = -mvn.log_prob(target[:n_train]).mean()
    opt3.zero_grad()
    loss.backward()
    opt3.step()
print("scale_tril head nll", round(loss.item(), 3), "mahalanobis",
      round(torch.linalg.solve_triangular(L, (target[:n_train] - loc).unsqueeze(-1), upper=False)
            .square().sum((-2, -1)).mean().item(), 2))
print("mvn var", [round(v, 3) for v in mvn.variance.mean(0).tolist()],
      "rsample", tuple(mvn.rsample((3,)).shape))
