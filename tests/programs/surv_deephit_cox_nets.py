"""Neural survival models as pycox/DeepHit/Nnet-survival/torchsurv write them: a DeepSurv-style
Cox network trained on the negative partial log-likelihood (sort by time descending,
``torch.logcumsumexp``; the Breslow form cross-checked with an explicit risk-set mask), a
discrete-time logistic-hazard (Nnet-survival / pycox LogisticHazard) network on a time grid made
with ``torch.linspace`` + ``torch.bucketize``, survival curves from ``cumprod(1 - hazard)`` and
``exp(-cumsum(softplus))``, a DeepHit PMF head with its likelihood (``log_softmax``, ``gather``,
``log1p``/``logsumexp`` of the tail) and ranking loss (``torch.exp(-diff / sigma)``), and the
time-dependent concordance of the predicted curves. Data: a ``TensorDataset`` with a
``WeightedRandomSampler`` that oversamples events."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

torch.manual_seed(0)
n, p = 256, 5
x = torch.randn(n, p)
risk_true = 0.8 * x[:, 0] - 0.5 * x[:, 1] + 0.4 * x[:, 2] * x[:, 3]
t_event = torch.distributions.Exponential(0.3 * torch.exp(risk_true)).sample()
t_cens = torch.rand(n) * 6
time = torch.minimum(t_event, t_cens)
event = (t_event <= t_cens).float()
print("events", int(event.sum()), "time range", round(time.min().item(), 4),
      round(time.max().item(), 4))


def cox_ph_loss(log_h, t, e):
    order = torch.argsort(t, descending=True)
    log_h, e = log_h[order], e[order]
    log_risk = torch.logcumsumexp(log_h, dim=0)
    return -((log_h - log_risk) * e).sum() / e.sum().clamp_min(1)


def cox_ph_loss_mask(log_h, t, e):
    at_risk = (t[None, :] >= t[:, None]).float()
    log_risk = torch.log((at_risk * log_h.exp()[None, :]).sum(1))
    return -((log_h - log_risk) * e).sum() / e.sum()


def net(out):
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(p, 32), nn.ReLU(), nn.BatchNorm1d(32), nn.Dropout(0.1),
                         nn.Linear(32, out))


def c_index(risk, t, e):
    comparable = (t[:, None] < t[None, :]) & (e[:, None] == 1)
    conc = ((risk[:, None] > risk[None, :]) & comparable).sum() + \
        0.5 * ((risk[:, None] == risk[None, :]) & comparable).sum()
    return (conc / comparable.sum()).item()


weights = torch.where(event == 1, 1.0, 2.0 * event.mean())
sampler = WeightedRandomSampler(weights, num_samples=n, replacement=True,
                                generator=torch.Generator().manual_seed(3))
print("sampler draws events", round(event[list(sampler)].mean().item(), 3))
ds = TensorDataset(x, time, event)

# ---------------------------------------------------------------- DeepSurv
cox = net(1)
h = cox[:2](x[:40]).detach()
lh = torch.randn(40, dtype=torch.float64)
print("logcumsumexp == mask form",
      torch.allclose(cox_ph_loss(lh, time[:40].double(), event[:40].double()),
                     cox_ph_loss_mask(lh, time[:40].double(), event[:40].double())))
opt = torch.optim.AdamW(cox.parameters(), lr=1e-2, weight_decay=1e-3)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
loader = DataLoader(ds, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(4))
for epoch in range(10):
    cox.train()
    for xb, tb, eb in loader:
        opt.zero_grad()
        loss = cox_ph_loss(cox(xb).squeeze(-1), tb, eb)
        loss.backward()
        opt.step()
    sched.step()
cox.eval()
with torch.no_grad():
    log_h = cox(x).squeeze(-1)
print("deepsurv loss", round(cox_ph_loss(log_h, time, event).item(), 4), "c-index",
      round(c_index(log_h, time, event), 4), "lr", sched.get_last_lr())

# ---------------------------------------------------------------- discrete time
n_bins = 10
cuts = torch.linspace(0, time.max().item(), n_bins + 1)
idx = (torch.bucketize(time, cuts, right=False) - 1).clamp(0, n_bins - 1)
print("bin counts", torch.bincount(idx, minlength=n_bins).tolist())


def logistic_hazard_loss(phi, idx, e):
    y = torch.zeros_like(phi).scatter(1, idx[:, None], e[:, None])
    bce = F.binary_cross_entropy_with_logits(phi, y, reduction="none")
    keep = torch.arange(phi.shape[1])[None, :] <= idx[:, None]
    return (bce * keep).sum(1).mean()


def deephit_loss(logits, idx, e, t, alpha=0.5, sigma=0.1):
    pad = torch.cat([logits, torch.zeros_like(logits[:, :1])], 1)
    logp = F.log_softmax(pad, 1)
    lik_event = logp.gather(1, idx[:, None]).squeeze(1)
    tail = torch.logsumexp(logp[:, :-1].masked_fill(
        torch.arange(n_bins)[None, :] <= idx[:, None], float("-inf")), 1)
    tail = torch.logaddexp(tail, logp[:, -1])
    nll = -(e * lik_event + (1 - e) * tail).mean()
    cif = logp[:, :-1].exp().cumsum(1)
    diag = cif.gather(1, idx[:, None])
    rank_mat = ((t[:, None] < t[None, :]) & (e[:, None] == 1)).float()
    diff = diag - cif[:, idx].T        # F_i(t_i) - F_j(t_i)
    rank = (rank_mat * torch.exp(-diff / sigma)).sum() / rank_mat.sum()
    return alpha * nll + (1 - alpha) * rank, nll


for kind in ("logistic-hazard", "deephit"):
    model = net(n_bins)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for epoch in range(12):
        model.train()
        for xb, tb, eb in DataLoader(ds, batch_size=64, sampler=None, shuffle=False):
            ib = (torch.bucketize(tb, cuts) - 1).clamp(0, n_bins - 1)
            opt.zero_grad()
            if kind == "logistic-hazard":
                loss = logistic_hazard_loss(model(xb), ib, eb)
            else:
                loss, _ = deephit_loss(model(xb), ib, eb, tb)
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        out = model(x)
        if kind == "logistic-hazard":
            hazard = torch.sigmoid(out)
            surv = torch.cumprod(1 - hazard, 1)
            surv2 = torch.exp(-torch.cumsum(F.softplus(out), 1))
            print("  cumprod == exp(-cumsum softplus)", torch.allclose(surv, surv2, atol=1e-5))
        else:
            pmf = F.softmax(torch.cat([out, torch.zeros_like(out[:, :1])], 1), 1)[:, :-1]
            surv = 1 - pmf.cumsum(1)
            print("  deephit nll", round(deephit_loss(out, idx, event, time)[1].item(), 4))
    risk = -surv.sum(1)     # restricted mean survival time, negated
    print(f"{kind}: final loss {loss.item():.4f} monotone {bool((surv.diff(dim=1) <= 1e-6).all())} "
          f"S(t) at bins 2/5/9 {[round(v, 4) for v in surv.mean(0)[[2, 5, 9]].tolist()]} "
          f"c-index {c_index(risk, time, event):.4f}")
    print("  log1p(-S) tail", round(torch.log1p(-surv[:, -1].clamp(max=0.999)).mean().item(), 4))
