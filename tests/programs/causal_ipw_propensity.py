"""Propensity-score weighting as causal-inference tutorials write it in plain PyTorch: a
logistic-regression propensity model fitted with L-BFGS on confounded synthetic data with a
known treatment effect, inverse-probability weights with clipping (``torch.clamp``), the
Horvitz-Thompson and Hajek (self-normalised) ATE estimators, the ATT with odds weights, the
effective sample size, covariate balance (standardised mean differences) before and after
weighting, and a bootstrap confidence interval drawn with a seeded ``torch.Generator``
(``torch.randint(generator=...)``, ``torch.quantile``)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)

n, d = 800, 4
X = torch.randn(n, d)
true_logit = 0.8 * X[:, 0] - 0.6 * X[:, 1] + 0.3 * X[:, 2]
T = torch.bernoulli(torch.sigmoid(true_logit))
tau = 2.0  # the true (constant) treatment effect
Y = 1.0 + tau * T + 1.5 * X[:, 0] + X[:, 1] - 0.5 * X[:, 3] + 0.5 * torch.randn(n)
print("treated share", round(T.mean().item(), 4))
naive = Y[T == 1].mean() - Y[T == 0].mean()
print("naive difference", round(naive.item(), 3))


class Propensity(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.linear = nn.Linear(d, 1)

    def forward(self, x):
        return self.linear(x).squeeze(-1)


model = Propensity(d)
opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=10,
                        line_search_fn="strong_wolfe")


def closure():
    opt.zero_grad()
    loss = F.binary_cross_entropy_with_logits(model(X), T)
    loss.backward()
    return loss


# One call of ten iterations: stopping on max_iter rather than on a float-noise tolerance.
loss = opt.step(closure)
print("propensity loss", round(loss.item(), 4))
print("coef", [round(v, 2) for v in model.linear.weight.detach().flatten().tolist()])

with torch.no_grad():
    e = torch.sigmoid(model(X))
print("propensity range", round(e.min().item(), 3), round(e.max().item(), 3))
e_clip = torch.clamp(e, 0.05, 0.95)
clipped = ((e < 0.05) | (e > 0.95)).sum().item()
print("clipped", clipped)


def ipw_ate(y, t, p):
    w1, w0 = t / p, (1 - t) / (1 - p)
    ht = (w1 * y).mean() - (w0 * y).mean()
    hajek = (w1 * y).sum() / w1.sum() - (w0 * y).sum() / w0.sum()
    return ht, hajek


ht, hajek = ipw_ate(Y, T, e_clip)
print("HT ATE", round(ht.item(), 3), "Hajek ATE", round(hajek.item(), 3))

odds = e_clip / (1 - e_clip)
w_att = torch.where(T == 1, torch.ones_like(T), odds)
att = Y[T == 1].mean() - (w_att * Y * (1 - T)).sum() / (w_att * (1 - T)).sum()
print("ATT", round(att.item(), 3))

w = T / e_clip + (1 - T) / (1 - e_clip)
ess = w.sum() ** 2 / (w ** 2).sum()
print("effective sample size", round(ess.item()))


def smd(x, t, weights=None):
    weights = torch.ones_like(t) if weights is None else weights
    m1 = torch.sum(weights[:, None] * t[:, None] * x, 0) / torch.sum(weights * t)
    m0 = torch.sum(weights[:, None] * (1 - t)[:, None] * x, 0) / torch.sum(weights * (1 - t))
    pooled = torch.sqrt((x[t == 1].var(0) + x[t == 0].var(0)) / 2)
    return (m1 - m0) / pooled


print("SMD raw", [round(v, 2) for v in smd(X, T).tolist()])
print("SMD weighted", [round(v, 2) for v in smd(X, T, w).tolist()])

g = torch.Generator().manual_seed(123)
boots = torch.empty(200)
for b in range(200):
    idx = torch.randint(0, n, (n,), generator=g)
    boots[b] = ipw_ate(Y[idx], T[idx], e_clip[idx])[1]
lo, hi = torch.quantile(boots, torch.tensor([0.025, 0.975])).tolist()
print("bootstrap se", round(boots.std().item(), 3), "CI", round(lo, 2), round(hi, 2))
print("covers truth", lo <= tau <= hi)
