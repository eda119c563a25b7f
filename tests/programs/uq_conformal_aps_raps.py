"""Split conformal prediction (Angelopoulos & Bates' "Gentle Introduction" notebooks): a
softmax classifier, then LAC, APS and RAPS prediction sets (randomised, with ``sort`` /
``cumsum`` / ``gather`` / ``scatter``) calibrated with the finite-sample ``torch.quantile``
level; class-conditional (Mondrian) thresholds; for regression, absolute-residual conformal
with every ``quantile`` interpolation mode and conformalised quantile regression (CQR) with a
pinball-loss network; coverage and set sizes per class with ``bincount``."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
alpha = 0.1

# ---------------------------------------------------------------- classification
n_cls, dim = 6, 10
protos = rng.standard_normal((n_cls, dim))
lab = rng.integers(0, n_cls, 1500)
feat = protos[lab] + rng.standard_normal((1500, dim)) * 1.4
# float64 throughout: set membership compares cumulative probabilities with a threshold
# taken from the same kind of sums, where float32 rounding could decide ties
X = torch.from_numpy(feat)
Y = torch.from_numpy(lab)
perm = torch.randperm(1500)
tr, cal, te = perm[:600], perm[600:1100], perm[1100:]

clf = nn.Sequential(nn.Linear(dim, 32), nn.ReLU(), nn.Dropout(0.1),
                    nn.Linear(32, n_cls)).double()
opt = torch.optim.SGD(clf.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
for epoch in range(60):
    clf.train()
    loss = F.cross_entropy(clf(X[tr]), Y[tr], label_smoothing=0.05)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if epoch % 20 == 19:
        print(f"epoch {epoch + 1} loss {loss.item():.4f}")
clf.eval()
with torch.no_grad():
    p_cal = clf(X[cal]).softmax(-1)
    p_te = clf(X[te]).softmax(-1)
y_cal, y_te = Y[cal], Y[te]
n = len(cal)
print(f"test acc {(p_te.argmax(1) == y_te).double().mean().item():.4f}")

q_level = math.ceil((n + 1) * (1 - alpha)) / n
print(f"n_cal {n} q_level {q_level:.4f}")

# LAC: score 1 - p_y
cal_scores = 1 - p_cal.gather(1, y_cal[:, None]).squeeze(1)
qhat = torch.quantile(cal_scores, q_level, interpolation="higher")
lac_sets = p_te >= (1 - qhat)


def summarize(name, sets):
    cover = sets.gather(1, y_te[:, None]).squeeze(1)
    sizes = sets.sum(1)
    per_class = torch.bincount(y_te, weights=cover.double(), minlength=n_cls) / \
        torch.bincount(y_te, minlength=n_cls)
    size_hist = torch.bincount(sizes, minlength=n_cls + 1)
    print(f"{name:8s} coverage {cover.double().mean().item():.4f} avg size "
          f"{sizes.double().mean().item():.4f} sizes {size_hist.tolist()}")
    print(f"         class coverage {[round(v, 3) for v in per_class.tolist()]}")


print(f"LAC qhat {qhat.item():.4f}")
summarize("LAC", lac_sets)

# APS: sort descending, cumulative mass up to and including the true label
order = p_cal.argsort(dim=1, descending=True)
sorted_p = p_cal.gather(1, order)
cum = sorted_p.cumsum(dim=1)
rank_of_true = order.argsort(dim=1).gather(1, y_cal[:, None]).squeeze(1)
aps_scores = cum.gather(1, rank_of_true[:, None]).squeeze(1)
qhat_aps = torch.quantile(aps_scores, q_level, interpolation="higher")
te_sorted, te_order = p_te.sort(dim=1, descending=True, stable=True)
te_cum = te_sorted.cumsum(1)
keep_sorted = te_cum - te_sorted < qhat_aps  # include the class that crosses qhat
aps_sets = torch.zeros_like(keep_sorted).scatter(1, te_order, keep_sorted)
print(f"APS qhat {qhat_aps.item():.4f}")
summarize("APS", aps_sets)

# RAPS: rank penalty lambda beyond k_reg, randomised inclusion of the boundary class
lam, k_reg = 0.05, 2
gen = torch.Generator().manual_seed(7)
penalty = torch.zeros(n_cls, dtype=torch.float64)
penalty[k_reg:] = lam
pen_cum = penalty.cumsum(0)
u_cal = torch.rand(n, generator=gen, dtype=torch.float64)
reg_cum = cum + pen_cum
raps_scores = reg_cum.gather(1, rank_of_true[:, None]).squeeze(1) \
    - u_cal * sorted_p.gather(1, rank_of_true[:, None]).squeeze(1)
qhat_raps = torch.quantile(raps_scores, q_level, interpolation="higher")
u_te = torch.rand(len(te), 1, generator=gen, dtype=torch.float64)
te_reg = te_cum + pen_cum
keep = te_reg - u_te * te_sorted <= qhat_raps
keep[:, 0] = True  # never an empty set
raps_sets = torch.zeros_like(keep).scatter_(1, te_order, keep)
print(f"RAPS qhat {qhat_raps.item():.4f}")
summarize("RAPS", raps_sets)

# Mondrian (class-conditional) LAC: one threshold per class
class_q = torch.empty(n_cls, dtype=torch.float64)
for k in torch.unique(y_cal).tolist():
    s = cal_scores[y_cal == k]
    nk = s.numel()
    class_q[k] = torch.quantile(s, min(1.0, math.ceil((nk + 1) * (1 - alpha)) / nk),
                                interpolation="higher")
print("class qhat", [f"{v:.3f}" for v in class_q.tolist()])
summarize("Mondrian", p_te >= (1 - class_q))

# ---------------------------------------------------------------- regression
xr = rng.uniform(0, 4, 900)
yr = np.sin(2 * xr) * xr + rng.standard_normal(900) * (0.1 + 0.25 * xr)
# float64: the pinball loss's gradient jumps where a residual changes sign, so float32
# rounding would steer a long Adam run
XR = torch.from_numpy(xr[:, None])
YR = torch.from_numpy(yr)
rtr, rcal, rte = torch.arange(0, 400), torch.arange(400, 650), torch.arange(650, 900)
quantiles = torch.tensor([alpha / 2, 0.5, 1 - alpha / 2], dtype=torch.float64)


def pinball(pred, y, qs):
    diff = y[:, None] - pred
    return torch.maximum(qs * diff, (qs - 1) * diff).mean()


qnet = nn.Sequential(nn.Linear(1, 48), nn.Tanh(), nn.Linear(48, 48), nn.Tanh(),
                     nn.Linear(48, 3)).double()
qopt = torch.optim.Adam(qnet.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.StepLR(qopt, step_size=100, gamma=0.3)
for it in range(200):
    loss = pinball(qnet(XR[rtr]), YR[rtr], quantiles)
    qopt.zero_grad()
    loss.backward()
    qopt.step()
    sched.step()
    if it % 50 == 49:
        print(f"qr iter {it + 1} pinball {loss.item():.4f}")
with torch.no_grad():
    q_cal, q_te = qnet(XR[rcal]), qnet(XR[rte])
q_cal, _ = q_cal.sort(dim=1)  # fix quantile crossing
q_te = q_te.sort(dim=1).values
y_c, y_t = YR[rcal], YR[rte]
nr = len(rcal)
lvl = min(1.0, math.ceil((nr + 1) * (1 - alpha)) / nr)

# absolute residual around the median head, every interpolation mode
resid = (y_c - q_cal[:, 1]).abs()
for mode in ("linear", "lower", "higher", "midpoint", "nearest"):
    qh = torch.quantile(resid, lvl, interpolation=mode)
    cov = ((y_t - q_te[:, 1]).abs() <= qh).float().mean()
    print(f"resid {mode:8s} qhat {qh.item():.4f} coverage {cov.item():.4f}")
k = math.ceil((nr + 1) * (1 - alpha))
kth = torch.kthvalue(resid, k).values
print(f"kthvalue k={k} {kth.item():.4f} equals higher-quantile "
      f"{torch.equal(kth, torch.quantile(resid, lvl, interpolation='higher'))}")
with_nan = torch.cat([resid, torch.tensor([float("nan")], dtype=resid.dtype)])
print("nanquantile with nan", f"{torch.nanquantile(with_nan, 0.5).item():.4f}",
      "quantile with nan", torch.quantile(torch.tensor([1.0, float("nan")]), 0.5).item())
multi = torch.quantile(resid, torch.tensor([0.25, 0.5, 0.75], dtype=resid.dtype), keepdim=True)
print("multi q shape", tuple(multi.shape), [f"{v:.4f}" for v in multi.flatten().tolist()])

# CQR: E = max(lo - y, y - hi), then widen both ends by its conformal quantile
E = torch.maximum(q_cal[:, 0] - y_c, y_c - q_cal[:, 2])
qh_cqr = torch.quantile(E, lvl, interpolation="higher")
lo, hi = q_te[:, 0] - qh_cqr, q_te[:, 2] + qh_cqr
cov = ((y_t >= lo) & (y_t <= hi)).float().mean()
raw = ((y_t >= q_te[:, 0]) & (y_t <= q_te[:, 2])).float().mean()
print(f"CQR qhat {qh_cqr.item():+.4f} raw coverage {raw.item():.4f} conformal coverage "
      f"{cov.item():.4f} mean width {(hi - lo).mean().item():.4f}")
bins = torch.bucketize(XR[rte].squeeze(1), torch.tensor([1.0, 2.0, 3.0], dtype=XR.dtype))
width_by_bin = torch.zeros(4, dtype=lo.dtype).index_add_(0, bins, hi - lo) \
    / torch.bincount(bins, minlength=4)
print("width by x-bin", [f"{v:.3f}" for v in width_by_bin.tolist()])
