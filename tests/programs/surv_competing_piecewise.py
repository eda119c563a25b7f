"""Tabular survival with competing risks and a piecewise-exponential model, as tabular-data
tutorials and survival texts write them in PyTorch: missing values imputed with
``torch.nanmedian``/``nanmean`` and flagged, quantile bins from ``torch.quantile`` +
``bucketize``, categorical columns through ``nn.Embedding``; the data expanded to
person-period rows (``repeat_interleave``, exposure per interval) and fitted as a Poisson GLM with
``F.poisson_nll_loss(log_input=True)`` and a ``log(exposure)`` offset; cause-specific hazards for
two competing events by a multi-head network with ``log_softmax`` over {no event, cause 1, cause
2}; the Aalen-Johansen cumulative incidence from ``cumprod``/``cumsum``; K-fold evaluation with
``torch.randperm(generator=)`` and ``chunk``; ``random_split``."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import TensorDataset, random_split

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)   # float32 sums round differently in the last bits
n = 240
age = torch.rand(n) * 40 + 40
lab = torch.randn(n)
lab[torch.rand(n) < 0.15] = float("nan")
group = torch.randint(0, 3, (n,))
print("missing lab", int(lab.isnan().sum()), "nanmedian", round(torch.nanmedian(lab).item(), 4),
      "nanmean", round(lab.nanmean().item(), 4))
lab_missing = lab.isnan().float()
lab_filled = torch.nan_to_num(lab, nan=torch.nanmedian(lab).item())
age_std = (age - age.mean()) / age.std()
age_bins = torch.bucketize(age, torch.quantile(age, torch.tensor([0.25, 0.5, 0.75])))
print("age bin counts", torch.bincount(age_bins).tolist())

# two competing causes from latent exponentials
rate1 = 0.10 * torch.exp(0.6 * age_std + 0.3 * (group == 1).float())
rate2 = 0.05 * torch.exp(-0.4 * lab_filled + 0.5 * (group == 2).float())
t1 = torch.distributions.Exponential(rate1).sample()
t2 = torch.distributions.Exponential(rate2).sample()
tc = torch.full((n,), 8.0)
time = torch.stack([t1, t2, tc], 1).min(1)
cause = time.indices.clone()
cause[cause == 2] = -1
cause = cause + 1                                 # 0 censored, 1 and 2 causes
time = time.values
print("cause counts", torch.bincount(cause, minlength=3).tolist())

cuts = torch.tensor([0.0, 1.0, 2.0, 4.0, 8.0])
n_int = len(cuts) - 1
last = (torch.bucketize(time, cuts, right=True) - 1).clamp(max=n_int - 1)


# ---------------------------------------------------------------- person-period expansion
reps = last + 1
pid = torch.repeat_interleave(torch.arange(n), reps)
interval = torch.cat([torch.arange(r) for r in reps.tolist()])
start, end = cuts[interval], cuts[interval + 1]
exposure = torch.minimum(time[pid], end) - start
died = ((interval == last[pid]) & (cause[pid] == 1)).float()
print("person-periods", len(pid), "events", int(died.sum()), "exposure",
      round(exposure.sum().item(), 3))
features = torch.stack([age_std, lab_filled, lab_missing], 1)


class PiecewiseExp(nn.Module):
    def __init__(self):
        super().__init__()
        self.baseline = nn.Embedding(n_int, 1)
        self.group = nn.Embedding(3, 1)
        self.linear = nn.Linear(3, 1, bias=False)
        nn.init.zeros_(self.baseline.weight)
        nn.init.zeros_(self.group.weight)
        nn.init.zeros_(self.linear.weight)

    def forward(self, x, g, k):
        return (self.baseline(k) + self.group(g) + self.linear(x)).squeeze(-1)


pem = PiecewiseExp()
opt = torch.optim.LBFGS(pem.parameters(), lr=1, max_iter=60, line_search_fn="strong_wolfe")


def closure():
    opt.zero_grad()
    log_rate = pem(features[pid], group[pid], interval)
    loss = F.poisson_nll_loss(log_rate + torch.log(exposure), died, log_input=True,
                              reduction="sum")
    loss.backward()
    return loss


final = opt.step(closure)
print("pem loss", round(closure().item(), 3), "baseline rates",
      [round(v, 4) for v in pem.baseline.weight.exp().squeeze(1).tolist()])
print("coefs", [round(v, 3) for v in pem.linear.weight.squeeze(0).tolist()], "group",
      [round(v, 3) for v in (pem.group.weight - pem.group.weight[0]).squeeze(1).tolist()])
print("full poisson nll", round(F.poisson_nll_loss(torch.zeros(3), torch.tensor([0., 1., 3.]),
                                                   full=True).item(), 4))

# ---------------------------------------------------------------- cause-specific network
status = torch.zeros(len(pid), dtype=torch.long)
is_last = interval == last[pid]
status[is_last] = cause[pid][is_last]


class CauseSpecific(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(3, 2)
        self.body = nn.Sequential(nn.Linear(3 + 2 + n_int, 16), nn.ELU())
        self.head = nn.Linear(16, 3)

    def forward(self, x, g, k):
        z = torch.cat([x, self.emb(g), F.one_hot(k, n_int).float()], 1)
        return F.log_softmax(self.head(self.body(z)), dim=-1)


def fit_cs(idx_people, epochs=30):
    torch.manual_seed(3)
    net = CauseSpecific()
    opt = torch.optim.Adam(net.parameters(), lr=0.03)
    rows = torch.isin(pid, idx_people)
    for _ in range(epochs):
        opt.zero_grad()
        logp = net(features[pid][rows], group[pid][rows], interval[rows])
        loss = F.nll_loss(logp, status[rows])
        loss.backward()
        opt.step()
    return net, loss.item()


def cumulative_incidence(net, x, g):
    k = torch.arange(n_int).repeat(len(x))
    xi = x.repeat_interleave(n_int, 0)
    gi = g.repeat_interleave(n_int)
    with torch.no_grad():
        haz = net(xi, gi, k).exp().view(len(x), n_int, 3)
    surv = torch.cumprod(haz[..., 0], 1)
    prev = torch.cat([torch.ones(len(x), 1), surv[:, :-1]], 1)
    return surv, torch.cumsum(prev[..., None] * haz[..., 1:], 1)


gen = torch.Generator().manual_seed(4)
folds = torch.randperm(n, generator=gen).chunk(4)
for i, test_idx in enumerate(folds):
    train_idx = torch.cat([f for j, f in enumerate(folds) if j != i])
    net, loss = fit_cs(train_idx)
    surv, cif = cumulative_incidence(net, features[test_idx], group[test_idx])
    total = surv[:, -1] + cif[:, -1].sum(-1)
    print(f"fold {i}: n {len(test_idx)} loss {loss:.4f} CIF@8 cause1 {cif[:, -1, 0].mean():.4f} "
          f"cause2 {cif[:, -1, 1].mean():.4f} "
          f"S+CIF=1 {torch.allclose(total, torch.ones_like(total), atol=1e-5)}")

# Aalen-Johansen from the data (no covariates)
times, inv = torch.unique(time, return_inverse=True)
d1 = torch.zeros_like(times).index_add_(0, inv, (cause == 1).to(times.dtype))
d2 = torch.zeros_like(times).index_add_(0, inv, (cause == 2).to(times.dtype))
at_risk = torch.bincount(inv, minlength=len(times)).flip(0).cumsum(0).flip(0).double()
s = torch.cumprod(1 - (d1 + d2) / at_risk, 0)
s_prev = torch.cat([torch.ones(1), s[:-1]])
aj1 = torch.cumsum(s_prev * d1 / at_risk, 0)
aj2 = torch.cumsum(s_prev * d2 / at_risk, 0)
print("Aalen-Johansen at end", round(aj1[-1].item(), 4), round(aj2[-1].item(), 4),
      "sum with S", round((aj1[-1] + aj2[-1] + s[-1]).item(), 4))
train_ds, test_ds = random_split(TensorDataset(features, time, cause), [0.75, 0.25],
                                 generator=torch.Generator().manual_seed(5))
print("random_split", len(train_ds), len(test_ds), sorted(test_ds.indices)[:5])
