"""Uplift modelling with meta-learners (Kuenzel et al., "Metalearners for estimating
heterogeneous treatment effects") as uplift tutorials write them in plain PyTorch: an S-learner
(one network with the treatment as a feature), a T-learner (one network per arm) and an
X-learner (imputed effects regressed per arm, blended with a propensity), on a randomised
campaign with a known heterogeneous uplift. Each is scored with a Qini curve and its area
(``argsort(descending=True)``, ``torch.cumsum``, ``torch.trapezoid``) and with uplift per
decile (``torch.quantile``, ``torch.bucketize``, ``scatter_add_``)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)

n, d = 1000, 4
X = torch.rand(n, d) * 2 - 1
T = (torch.rand(n) < 0.5).float()  # randomised treatment, e = 0.5
uplift = 0.5 * (X[:, 0] > 0).float() + 0.3 * X[:, 1]
Y = 0.5 * X[:, 2] + X[:, 3] ** 2 + uplift * T + 0.2 * torch.randn(n)
n_tr = 700
tr, te = slice(0, n_tr), slice(n_tr, n)
print("true ATE", round(uplift.mean().item(), 4))


def mlp(inp):
    return nn.Sequential(nn.Linear(inp, 32), nn.SiLU(), nn.Linear(32, 32), nn.SiLU(),
                         nn.Linear(32, 1))


def regress(inputs, target, seed, epochs=150):
    torch.manual_seed(seed)
    net = mlp(inputs.shape[1])
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=1e-3)
    loss_fn = nn.HuberLoss(delta=1.0)
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(net(inputs).squeeze(-1), target)
        loss.backward()
        opt.step()
    return net.eval()


Xtr, Ttr, Ytr = X[tr], T[tr], Y[tr]
# S-learner: the treatment is one more input column.
s_net = regress(torch.cat([Xtr, Ttr[:, None]], 1), Ytr, seed=1)
with torch.no_grad():
    ones, zeros = torch.ones(n - n_tr, 1), torch.zeros(n - n_tr, 1)
    s_pred = (s_net(torch.cat([X[te], ones], 1)) - s_net(torch.cat([X[te], zeros], 1))).squeeze(-1)

# T-learner: one outcome model per arm.
m1 = regress(Xtr[Ttr == 1], Ytr[Ttr == 1], seed=2)
m0 = regress(Xtr[Ttr == 0], Ytr[Ttr == 0], seed=3)
with torch.no_grad():
    t_pred = (m1(X[te]) - m0(X[te])).squeeze(-1)

# X-learner: imputed individual effects, one effect model per arm, blended with e(x) = 0.5.
with torch.no_grad():
    d1 = Ytr[Ttr == 1] - m0(Xtr[Ttr == 1]).squeeze(-1)
    d0 = m1(Xtr[Ttr == 0]).squeeze(-1) - Ytr[Ttr == 0]
tau1 = regress(Xtr[Ttr == 1], d1, seed=4)
tau0 = regress(Xtr[Ttr == 0], d0, seed=5)
e = torch.full((n - n_tr,), 0.5)
with torch.no_grad():
    x_pred = (e * tau0(X[te]).squeeze(-1) + (1 - e) * tau1(X[te]).squeeze(-1))


def qini_curve(score, y, t):
    order = torch.argsort(score, descending=True)
    y, t = y[order], t[order]
    n_t = torch.cumsum(t, 0)
    n_c = torch.cumsum(1 - t, 0)
    y_t = torch.cumsum(y * t, 0)
    y_c = torch.cumsum(y * (1 - t), 0)
    ratio = torch.where(n_c > 0, n_t / n_c.clamp_min(1), torch.zeros_like(n_t))
    q = y_t - y_c * ratio
    return torch.cat([torch.zeros(1), q])


def qini_coefficient(score, y, t):
    q = qini_curve(score, y, t)
    x = torch.linspace(0, 1, q.numel())
    random_line = x * q[-1]
    return (torch.trapezoid(q, x) - torch.trapezoid(random_line, x)).item()


def decile_uplift(score, y, t, bins=5):
    edges = torch.quantile(score, torch.linspace(0, 1, bins + 1)[1:-1])
    b = torch.bucketize(score, edges)
    counts_t = torch.zeros(bins).scatter_add_(0, b, t)
    counts_c = torch.zeros(bins).scatter_add_(0, b, 1 - t)
    sum_t = torch.zeros(bins).scatter_add_(0, b, y * t)
    sum_c = torch.zeros(bins).scatter_add_(0, b, y * (1 - t))
    return (sum_t / counts_t - sum_c / counts_c).flip(0)


yte, tte, true_te = Y[te], T[te], uplift[te]
oracle = qini_coefficient(true_te, yte, tte)
print("oracle qini", round(oracle, 2))
for name, pred in [("S-learner", s_pred), ("T-learner", t_pred), ("X-learner", x_pred)]:
    pehe = torch.sqrt(F.mse_loss(pred, true_te)).item()
    rank = torch.corrcoef(torch.stack([pred, true_te]))[0, 1].item()
    print(f"{name} ATE {pred.mean().item():.2f} PEHE {pehe:.2f} corr {rank:.2f} "
          f"qini {qini_coefficient(pred, yte, tte):.1f}")
    print("  uplift by quintile (top first)",
          [round(v, 1) for v in decile_uplift(pred, yte, tte).tolist()])
random_score = torch.rand(n - n_tr, generator=torch.Generator().manual_seed(5))
print("random qini", round(qini_coefficient(random_score, yte, tte), 1))
