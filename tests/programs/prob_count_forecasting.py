"""Probabilistic count forecasting (demand / web-traffic style): an autoregressive net emitting
Poisson or NegativeBinomial likelihoods, a zero-inflated mixture built with MixtureSameFamily,
quantile forecasts from sample paths, plus the shape/validation API a forecasting library leans
on: ``batch_shape``/``event_shape``, ``expand``, ``sample((n,))``, ``enumerate_support``,
``cdf``/``icdf`` and ``validate_args`` errors.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import (Poisson, NegativeBinomial, Binomial, Categorical, Geometric,
                                 Bernoulli, OneHotCategorical, MixtureSameFamily, Normal, Gamma,
                                 Independent, Distribution)

torch.manual_seed(0)
Distribution.set_default_validate_args(True)


def r(x, d=4):
    return [round(v, d) for v in torch.as_tensor(x).detach().reshape(-1).tolist()]


# --- synthetic weekly-seasonal counts ------------------------------------------------------------
T, S, CTX = 120, 6, 14
t = torch.arange(T, dtype=torch.float32)
rate = 4.0 + 3.0 * torch.sin(2 * torch.pi * t / 7) + torch.linspace(0, 3, S)[:, None]
counts = Gamma(torch.full_like(rate, 5.0), 5.0 / rate).sample()       # over-dispersed
counts = Poisson(counts).sample()
print("data", tuple(counts.shape), "mean", round(counts.mean().item(), 2),
      "var/mean", round((counts.var() / counts.mean()).item(), 2))


def windows(series):
    xs, ys = [], []
    for i in range(CTX, series.shape[1]):
        xs.append(series[:, i - CTX:i])
        ys.append(series[:, i])
    return torch.log1p(torch.cat(xs)), torch.cat(ys)


X, Y = windows(counts[:, :T - 20])
print("windows", tuple(X.shape), tuple(Y.shape))


class CountNet(nn.Module):
    def __init__(self, family):
        super().__init__()
        self.family = family
        self.body = nn.Sequential(nn.Linear(CTX, 32), nn.Tanh())
        self.head = nn.Linear(32, 2)

    def forward(self, x):
        h = self.head(self.body(x))
        mu = F.softplus(h[:, 0]) + 1e-3
        if self.family == "poisson":
            return Poisson(mu)
        alpha = F.softplus(h[:, 1]) + 1e-3               # dispersion: var = mu + alpha mu^2
        total = 1.0 / alpha
        return NegativeBinomial(total_count=total, probs=mu / (mu + total))


for family in ("poisson", "negbin"):
    torch.manual_seed(3)
    net = CountNet(family)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for epoch in range(60):
        d = net(X)
        loss = -d.log_prob(Y).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    d = net(X)
    print(family, "nll", round(loss.item(), 3), "mean", r(d.mean[:4], 2),
          "var", r(d.variance[:4], 2))

# --- sample-path forecast with quantiles ----------------------------------------------------
torch.manual_seed(5)
hist = counts[:, T - 20 - CTX:T - 20]
paths = []
with torch.no_grad():
    ctx = hist.unsqueeze(0).expand(100, S, CTX).reshape(-1, CTX)
    for h in range(7):
        step = net(torch.log1p(ctx)).sample()
        paths.append(step)
        ctx = torch.cat([ctx[:, 1:], step[:, None]], 1)
paths = torch.stack(paths, -1).reshape(100, S, 7)
q = torch.quantile(paths, torch.tensor([0.1, 0.5, 0.9]), dim=0)
print("forecast paths", tuple(paths.shape), "q shape", tuple(q.shape))
print("median series0", r(q[1, 0], 1))
future = counts[:, T - 20:T - 13]
inside = (future >= q[0]) & (future <= q[2])
print("80% coverage", round(inside.float().mean().item(), 2))

# --- zero-inflated negative binomial via MixtureSameFamily ----------------------------------
pi = torch.tensor([0.3, 0.7])
zinb = MixtureSameFamily(Categorical(probs=pi.expand(3, 2)),
                         NegativeBinomial(total_count=torch.tensor([[50.0, 3.0]]).expand(3, 2),
                                          probs=torch.tensor([[1e-4, 0.6]]).expand(3, 2)))
k = torch.tensor([0.0, 2.0, 7.0])
print("zinb batch/event", tuple(zinb.batch_shape), tuple(zinb.event_shape))
print("zinb log_prob", r(zinb.log_prob(k)), "mean", r(zinb.mean), "var", r(zinb.variance, 2))
print("zinb samples", tuple(zinb.sample((10,)).shape))
gmm = MixtureSameFamily(Categorical(logits=torch.tensor([0.0, 1.0])),
                        Independent(Normal(torch.tensor([[0.0, 0.0], [3.0, 1.0]]),
                                           torch.tensor([[1.0, 0.5], [0.4, 1.0]])), 1))
print("gmm", tuple(gmm.batch_shape), tuple(gmm.event_shape), r(gmm.mean), r(gmm.variance))
print("gmm log_prob", r(gmm.log_prob(torch.tensor([[0.5, 0.1], [2.8, 1.1]]))))
print("gmm cdf", r(MixtureSameFamily(Categorical(probs=torch.tensor([0.5, 0.5])),
                                     Normal(torch.tensor([0.0, 2.0]), 1.0)).cdf(
    torch.tensor([0.0, 1.0, 2.0]))))

# --- shapes, expand, enumerate_support -------------------------------------------------------
nb = NegativeBinomial(total_count=torch.tensor(5.0), logits=torch.tensor([0.1, -0.4]))
print("nb", nb.batch_shape, nb.event_shape, r(nb.mean), r(nb.mode),
      r(nb.log_prob(torch.tensor(3.0))))
e = nb.expand(torch.Size([4, 2]))
print("expanded", e.batch_shape, tuple(e.sample((3,)).shape), type(e).__name__)
print("poisson expand", Poisson(torch.tensor(2.0)).expand((3,)).batch_shape)
b = Binomial(total_count=3, probs=torch.tensor([0.2, 0.7]))
sup = b.enumerate_support()
print("binomial support", tuple(sup.shape), r(sup), r(b.log_prob(sup).exp()))
print("binomial support expand=False", tuple(b.enumerate_support(expand=False).shape))
print("has_enumerate_support", Bernoulli.has_enumerate_support, Poisson.has_enumerate_support)
oh = OneHotCategorical(probs=torch.tensor([0.2, 0.5, 0.3]))
print("onehot support", r(oh.enumerate_support()), oh.event_shape)
g = Geometric(probs=torch.tensor(0.3))
print("geometric", r(g.log_prob(torch.arange(4.0))), r(g.mean), r(g.entropy()))
print("poisson cdf-like", r(Poisson(torch.tensor(3.0)).log_prob(torch.arange(6.0)).exp().cumsum(0)))
print("sample dtypes", Poisson(2.0).sample().dtype, Categorical(torch.ones(3)).sample().dtype)
print("sample shapes", tuple(Poisson(torch.ones(2, 3)).sample((4, 5)).shape),
      tuple(Normal(torch.zeros(2), 1.0).rsample(torch.Size([7])).shape))
print("normal icdf", r(Normal(1.0, 2.0).icdf(torch.tensor([0.025, 0.5, 0.975]))))

# --- validate_args -------------------------------------------------------------------------------
for make in (lambda: Poisson(torch.tensor([-1.0])),
             lambda: NegativeBinomial(total_count=torch.tensor(2.0), probs=torch.tensor(1.5)),
             lambda: Poisson(torch.tensor(2.0)).log_prob(torch.tensor(1.5)),
             lambda: Binomial(total_count=3, probs=torch.tensor(0.5)).log_prob(torch.tensor(4.0)),
             lambda: Categorical(probs=torch.tensor([0.5, 0.5])).log_prob(torch.tensor(2))):
    try:
        make()
        print("no error")
    except ValueError as err:
        print("ValueError:", err)
print("lenient", Poisson(torch.tensor(2.0), validate_args=False).log_prob(torch.tensor(1.5)).item()
      == Poisson(torch.tensor(2.0), validate_args=False).log_prob(torch.tensor(1.5)).item())
try:
    Poisson(torch.tensor(2.0)).cdf(torch.tensor(1.0))
except NotImplementedError as err:
    print("NotImplementedError", type(err).__name__)
Distribution.set_default_validate_args(False)
