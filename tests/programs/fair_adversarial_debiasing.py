"""Fair classification as the fairness toolkits' PyTorch recipes write it: a synthetic
credit-scoring table where a protected attribute leaks into the features; group fairness
metrics computed with ``bincount``/``index_add_``/``scatter_reduce`` (demographic parity,
equal opportunity, equalized odds, per-group AUC by ranking, calibration by ``bucketize``d
score bins); Kamiran-Calders reweighing from a ``torch.unique`` cross-tab; adversarial
debiasing (Zhang et al.) with the predictor's gradient projected away from the adversary's
(``torch.autograd.grad`` with ``retain_graph``); a differentiable demographic-parity penalty;
post-processing with group thresholds found by ``torch.searchsorted`` on sorted scores."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Bernoulli

torch.manual_seed(0)
# float64: 150 Adam steps on a flat optimum would otherwise amplify summation-order rounding
torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(0)

n = 1200
a = rng.binomial(1, 0.4, n)                   # protected attribute
income = rng.normal(0.0, 1.0, n) + 0.7 * a    # proxy feature correlated with the group
history = rng.normal(0.0, 1.0, n)
debt = rng.normal(0.0, 1.0, n) - 0.3 * a
logit = 1.2 * history - 0.8 * debt + 0.6 * income + 0.8 * a - 0.3
y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
zip_code = (a + (rng.random(n) < 0.2)) % 2   # noisy copy of the protected attribute
X = np.stack([income, history, debt, zip_code], 1)
X = torch.from_numpy(X)
Y = torch.from_numpy(y)
A = torch.from_numpy(a).long()
X = (X - X.mean(0)) / X.std(0)
perm = torch.randperm(n)
tr, te = perm[:800], perm[800:]
print("base rates by group", [round(v, 4) for v in
                              (torch.bincount(A, weights=Y) / torch.bincount(A)).tolist()],
      "group sizes", torch.bincount(A).tolist())


def group_rates(pred, y, a, n_groups=2):
    """Selection rate, TPR and FPR per group with index_add_."""
    ones = torch.ones_like(pred)
    sel = torch.zeros(n_groups).index_add_(0, a, pred)
    sel = sel / torch.zeros(n_groups).index_add_(0, a, ones)
    pos = torch.zeros(n_groups).index_add_(0, a, y)
    tp = torch.zeros(n_groups).index_add_(0, a, pred * y)
    neg = torch.zeros(n_groups).index_add_(0, a, 1 - y)
    fp = torch.zeros(n_groups).index_add_(0, a, pred * (1 - y))
    return sel, tp / pos, fp / neg


def auc(score, y):
    order = torch.argsort(score)
    ranks = torch.arange(1, len(score) + 1, dtype=score.dtype)
    ranks = torch.empty_like(score).scatter_(0, order, ranks)
    n_pos = y.sum()
    n_neg = len(y) - n_pos
    return ((ranks * y).sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def calibration(score, y, bins=5):
    edges = torch.linspace(0, 1, bins + 1)[1:-1]
    idx = torch.bucketize(score, edges)
    cnt = torch.bincount(idx, minlength=bins).float()
    mean_score = torch.zeros(bins).scatter_reduce(0, idx, score, reduce="mean", include_self=False)
    frac_pos = torch.zeros(bins).scatter_reduce(0, idx, y, reduce="mean", include_self=False)
    ece = ((mean_score - frac_pos).abs() * cnt).sum() / cnt.sum()
    return ece, cnt


def report(name, score, y, a, threshold=0.5):
    if torch.is_tensor(threshold):
        pred = (score >= threshold[a]).to(score.dtype)
    else:
        pred = (score >= threshold).to(score.dtype)
    sel, tpr, fpr = group_rates(pred, y, a)
    acc = (pred == y).float().mean().item()
    aucs = [auc(score[a == g], y[a == g]).item() for g in range(2)]
    ece, _ = calibration(score, y)
    print(f"{name}: acc {acc:.4f} auc {auc(score, y).item():.4f} DP gap "
          f"{(sel[1] - sel[0]).abs().item():.4f} EOpp gap {(tpr[1] - tpr[0]).abs().item():.4f} "
          f"EOdds gap {torch.maximum((tpr[1] - tpr[0]).abs(), (fpr[1] - fpr[0]).abs()).item():.4f}"
          f" ECE {ece.item():.4f}")
    print(f"  selection {[round(v, 4) for v in sel.tolist()]} group AUC "
          f"{[round(v, 4) for v in aucs]}")


class Predictor(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.1), nn.Linear(16, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def fit(mode, epochs=150, weights=None):
    torch.manual_seed(2)
    model = Predictor()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    adv = nn.Linear(3, 1)  # sees the logit, and logit * y, (equalized-odds adversary)
    adv_opt = torch.optim.Adam(adv.parameters(), lr=0.02)
    xb, yb, ab = X[tr], Y[tr], A[tr].float()
    for epoch in range(epochs):
        logits = model(xb)
        per_ex = F.binary_cross_entropy_with_logits(logits, yb, reduction="none")
        loss = (per_ex * weights).sum() / weights.sum() if weights is not None else per_ex.mean()
        if mode == "dp_penalty":
            p = torch.sigmoid(logits)
            gap = p[ab == 1].mean() - p[ab == 0].mean()
            loss = loss + 2.0 * gap.pow(2)
        if mode == "adversarial":
            alpha = (epoch + 1) ** 0.5
            adv_in = torch.stack([logits, logits * yb, logits * (1 - yb)], 1)
            adv_loss = F.binary_cross_entropy_with_logits(adv(adv_in).squeeze(1), ab)
            params = list(model.parameters())
            g_pred = torch.autograd.grad(loss, params, retain_graph=True)
            g_adv = torch.autograd.grad(adv_loss, params, retain_graph=True)
            for p_, gp, ga in zip(params, g_pred, g_adv):
                unit = ga / (ga.norm() + 1e-8)
                proj = (gp * unit).sum() * unit
                p_.grad = gp - proj - alpha * ga
            opt.step()
            # adversary step on detached predictions
            adv_opt.zero_grad()
            adv_in = torch.stack([logits.detach(), logits.detach() * yb,
                                  logits.detach() * (1 - yb)], 1)
            F.binary_cross_entropy_with_logits(adv(adv_in).squeeze(1), ab).backward()
            adv_opt.step()
            extra = adv_loss.item()
        else:
            opt.zero_grad()
            loss.backward()
            opt.step()
            extra = 0.0
        if epoch % 50 == 49:
            print(f"  {mode} epoch {epoch + 1} loss {loss.item():.4f} adv {extra:.4f}")
    return model


# Kamiran & Calders reweighing: w(a, y) = P(a) P(y) / P(a, y)
ya = A[tr] * 2 + Y[tr].long()
cells, inverse, cell_counts = torch.unique(ya, return_inverse=True, return_counts=True)
p_a = torch.bincount(A[tr], minlength=2).float() / len(tr)
p_y = torch.bincount(Y[tr].long(), minlength=2).float() / len(tr)
p_ay = cell_counts.float() / len(tr)
w_cell = p_a[cells // 2] * p_y[cells % 2] / p_ay
reweigh = w_cell[inverse]
print("cells", cells.tolist(), "counts", cell_counts.tolist(), "weights",
      [round(v, 4) for v in w_cell.tolist()])

models = {}
for mode in ["erm", "reweigh", "dp_penalty", "adversarial"]:
    models[mode] = fit("erm" if mode == "reweigh" else mode,
                       weights=reweigh if mode == "reweigh" else None)
    with torch.no_grad():
        score = torch.sigmoid(models[mode](X[te]))
    report(mode, score, Y[te], A[te])

# post-processing: per-group thresholds that equalise the selection rate at the overall one
with torch.no_grad():
    score_tr = torch.sigmoid(models["erm"](X[tr]))
    score_te = torch.sigmoid(models["erm"](X[te]))
target_rate = (score_tr >= 0.5).float().mean()
thresholds = torch.empty(2)
for g in range(2):
    s_sorted, _ = torch.sort(score_tr[A[tr] == g])
    k = int(round((1 - target_rate.item()) * len(s_sorted)))
    thresholds[g] = s_sorted[min(k, len(s_sorted) - 1)]
    below = torch.searchsorted(s_sorted, thresholds[g]).item()
    print(f"group {g} threshold {thresholds[g].item():.4f} below {below} of {len(s_sorted)}")
report("post-processed", score_te, Y[te], A[te], threshold=thresholds)

# randomized classifier: sample decisions from Bernoulli(score)
dist = Bernoulli(probs=score_te)
torch.manual_seed(9)
draws = dist.sample((200,))
sel_rates = torch.stack([draws[:, A[te] == g].mean() for g in range(2)])
print("randomized selection", [round(v, 4) for v in sel_rates.tolist()],
      "entropy", round(dist.entropy().mean().item(), 4),
      "log_prob", round(dist.log_prob(Y[te]).mean().item(), 4))
