"""Deep ensembles for regression (Lakshminarayanan et al. 2017): each member predicts a mean
and a variance (softplus head) trained with ``F.gaussian_nll_loss`` plus FGSM adversarial
examples; the ensemble's predictive is the uniform Gaussian mixture
(``MixtureSameFamily(Categorical, Normal)``) with its moments, log-likelihood, CDF (PIT
histogram, central-interval coverage from quantiles found by bisection), the closed-form
Gaussian CRPS, epistemic vs aleatoric variance, and ``nn.GaussianNLLLoss`` broadcasting forms.
The members are also run as one with ``torch.func.stack_module_state`` + ``vmap``."""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical, MixtureSameFamily, Normal
from torch.func import functional_call, stack_module_state, vmap
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)


def target_fn(x):
    return np.sin(3 * x) + 0.3 * x ** 2


x_tr = np.concatenate([rng.uniform(-2.0, -0.4, 90), rng.uniform(0.4, 2.0, 90)])
y_tr = target_fn(x_tr) + rng.standard_normal(180) * (0.08 + 0.12 * np.abs(x_tr))
x_te = np.linspace(-3.0, 3.0, 61)
y_te = target_fn(x_te) + rng.standard_normal(61) * (0.08 + 0.12 * np.abs(x_te))
X = torch.from_numpy(x_tr[:, None].astype(np.float32))
Y = torch.from_numpy(y_tr[:, None].astype(np.float32))
Xt = torch.from_numpy(x_te[:, None].astype(np.float32))
Yt = torch.from_numpy(y_te[:, None].astype(np.float32))


class GaussianMLP(nn.Module):
    def __init__(self, hidden=40):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(1, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                  nn.SiLU())
        self.head = nn.Linear(hidden, 2)

    def forward(self, x):
        mean, raw = self.head(self.body(x)).chunk(2, dim=-1)
        return mean, F.softplus(raw) + 1e-6


def train_member(seed, epochs=40, eps_adv=0.02):
    torch.manual_seed(seed)
    net = GaussianMLP()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=1e-3)
    loader = DataLoader(TensorDataset(X, Y), batch_size=45, shuffle=True,
                        generator=torch.Generator().manual_seed(100 + seed))
    for _ in range(epochs):
        total = 0.0
        for xb, yb in loader:
            xb = xb.clone().requires_grad_(True)
            mu, var = net(xb)
            loss = F.gaussian_nll_loss(mu, yb, var, full=True)
            # FGSM: x_adv = x + eps * sign(grad_x loss), the paper's proper-scoring smoothing
            (gx,) = torch.autograd.grad(loss, xb, retain_graph=True)
            x_adv = (xb + eps_adv * gx.sign()).detach()
            mu_a, var_a = net(x_adv)
            loss = loss + F.gaussian_nll_loss(mu_a, yb, var_a, full=True)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), max_norm=5.0)
            opt.step()
            total += loss.item() * len(xb)
        sched.step()
    return net, total / len(X)


members = []
for m in range(4):
    net, final = train_member(m)
    members.append(net)
    with torch.no_grad():
        mu, var = net(Xt)
        nll = F.gaussian_nll_loss(mu, Yt, var, full=True)
    print(f"member {m} final train loss {final:.4f} test nll {nll.item():.4f} "
          f"rmse {F.mse_loss(mu, Yt).sqrt().item():.4f}")

with torch.no_grad():
    mus, vars_ = zip(*[net(Xt) for net in members])
    mus = torch.stack(mus).squeeze(-1)  # (M, N)
    vars_ = torch.stack(vars_).squeeze(-1)

# the same with the members stacked into one functional model
params, buffers = stack_module_state(members)
base = copy.deepcopy(members[0]).to("meta")


def fmodel(p, b, x):
    return functional_call(base, (p, b), (x,))


v_mu, v_var = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, Xt)
print("vmap shapes", tuple(v_mu.shape), tuple(v_var.shape),
      "allclose", torch.allclose(v_mu.squeeze(-1), mus, atol=1e-5),
      torch.allclose(v_var.squeeze(-1), vars_, atol=1e-5))

ens_mean = mus.mean(0)
aleatoric = vars_.mean(0)
epistemic = mus.var(0, unbiased=False)
ens_var = aleatoric + epistemic
mix = MixtureSameFamily(Categorical(logits=torch.zeros(Xt.shape[0], len(members))),
                        Normal(mus.T, vars_.T.sqrt()))
print("mixture batch", tuple(mix.batch_shape), "event", tuple(mix.event_shape),
      "mean ok", torch.allclose(mix.mean, ens_mean, atol=1e-5),
      "var ok", torch.allclose(mix.variance, ens_var, atol=1e-4))
y_flat = Yt.squeeze(-1)
mix_nll = -mix.log_prob(y_flat).mean()
gauss_nll = F.gaussian_nll_loss(ens_mean, y_flat, ens_var, full=True)
print(f"ensemble mixture nll {mix_nll.item():.4f} gaussian-approx nll {gauss_nll.item():.4f} "
      f"rmse {(ens_mean - y_flat).pow(2).mean().sqrt().item():.4f}")

inside = Xt.squeeze(-1).abs() <= 2.0
print(f"epistemic std in-range {epistemic[inside].sqrt().mean().item():.4f} "
      f"out-of-range {epistemic[~inside].sqrt().mean().item():.4f}")
print(f"aleatoric std in-range {aleatoric[inside].sqrt().mean().item():.4f} "
      f"out-of-range {aleatoric[~inside].sqrt().mean().item():.4f}")

# PIT: the mixture CDF at the observation should look uniform when calibrated
pit = mix.cdf(y_flat)
hist = torch.histc(pit, bins=5, min=0.0, max=1.0)
print("PIT histogram", hist.long().tolist(), f"mean {pit.mean().item():.4f}")


def mixture_quantile(q, lo=-10.0, hi=10.0, iters=40):
    """Per-point quantile of the mixture by bisection on its (monotone) CDF."""
    lo = torch.full_like(ens_mean, lo)
    hi = torch.full_like(ens_mean, hi)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        below = mix.cdf(mid) < q
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    return 0.5 * (lo + hi)


for level in (0.5, 0.8, 0.95):
    a = (1 - level) / 2
    lo_q, hi_q = mixture_quantile(a), mixture_quantile(1 - a)
    covered = ((y_flat >= lo_q) & (y_flat <= hi_q)).float().mean()
    z = Normal(0.0, 1.0).icdf(torch.tensor(1 - a))
    g_cov = ((y_flat - ens_mean).abs() <= z * ens_var.sqrt()).float().mean()
    print(f"level {level:.2f} mixture cover {covered.item():.4f} width "
          f"{(hi_q - lo_q).mean().item():.4f} | gaussian z {z.item():.4f} cover "
          f"{g_cov.item():.4f}")


def gaussian_crps(mu, sigma, y):
    z = (y - mu) / sigma
    std = Normal(torch.zeros_like(z), torch.ones_like(z))
    return sigma * (z * (2 * std.cdf(z) - 1) + 2 * std.log_prob(z).exp() - 1 / math.sqrt(math.pi))


crps = gaussian_crps(ens_mean, ens_var.sqrt(), y_flat)
print(f"gaussian crps {crps.mean().item():.4f} max {crps.max().item():.4f} "
      f"at x={Xt[crps.argmax()].item():.2f}")

# nn.GaussianNLLLoss: homoscedastic (one variance per sample / one for all), reductions
crit = nn.GaussianNLLLoss(full=False, eps=1e-6, reduction="none")
per = crit(mus[0][:, None].expand(-1, 3), Yt.expand(-1, 3), vars_[0][:, None])
print("per-sample shape", tuple(per.shape), f"first {per[0, 0].item():.4f}")
one_var = torch.full((Yt.shape[0], 1), 0.25)
print(f"shared var nll {nn.GaussianNLLLoss()(mus[0][:, None], Yt, one_var).item():.4f} "
      f"sum {nn.GaussianNLLLoss(reduction='sum')(mus[0][:, None], Yt, one_var).item():.3f}")
tiny = torch.tensor([1e-9, 0.5])
print("eps clamp", [f"{v:.4f}" for v in
                    F.gaussian_nll_loss(torch.zeros(2), torch.ones(2), tiny, eps=1e-3,
                                        reduction="none").tolist()])
try:
    F.gaussian_nll_loss(torch.zeros(2), torch.ones(2), torch.tensor([-1.0, 1.0]))
except ValueError as e:
    print("ValueError:", e)
try:
    F.gaussian_nll_loss(torch.zeros(4, 2), torch.ones(4, 2), torch.ones(4, 3))
except ValueError as e:
    print("ValueError:", e)
