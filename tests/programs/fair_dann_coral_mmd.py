"""Unsupervised domain adaptation as the DANN / Deep CORAL / DAN reference code writes it: a
gradient-reversal layer as a ``torch.autograd.Function`` whose coefficient follows Ganin's
``2 / (1 + exp(-10 p)) - 1`` schedule, a domain discriminator trained through it; the Deep
CORAL loss (feature covariances, squared Frobenius distance); a multi-kernel Gaussian MMD
built on ``torch.cdist`` with bandwidths around the median heuristic; source-only vs adapted
accuracy on a rotated and shifted target domain; ``LambdaLR`` annealing and
``clip_grad_norm_``; an A-distance proxy from a linear domain classifier."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)

n_cls, d_in = 3, 2


def make_domain(n, angle, shift):
    y = rng.integers(0, n_cls, n)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    x = centers[y] + 0.55 * rng.standard_normal((n, d_in))
    c, s = math.cos(angle), math.sin(angle)
    x = x @ np.array([[c, -s], [s, c]]).T + np.array(shift)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))


xs, ys = make_domain(240, 0.0, [0.0, 0.0])
xt, yt = make_domain(240, 0.6, [0.8, -0.4])
print("source", tuple(xs.shape), torch.bincount(ys).tolist(),
      "target", tuple(xt.shape), torch.bincount(yt, minlength=n_cls).tolist())
print("mean gap", [round(v, 4) for v in (xt.mean(0) - xs.mean(0)).tolist()])


class GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.alpha = alpha
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.neg() * ctx.alpha, None


def grad_reverse(x, alpha=1.0):
    return GradReverse.apply(x, alpha)


x_probe = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
y_probe = grad_reverse(x_probe, 0.5)
(y_probe * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
print("GRL forward", y_probe.tolist(), "grad", x_probe.grad.tolist(),
      type(y_probe.grad_fn).__name__)


class FeatureNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d_in, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh())

    def forward(self, x):
        return self.body(x)


def coral_loss(fs, ft):
    d = fs.size(1)
    def cov(f):
        f = f - f.mean(0, keepdim=True)
        return f.t() @ f / (f.size(0) - 1)
    return (cov(fs) - cov(ft)).pow(2).sum() / (4 * d * d)


def mk_mmd(fs, ft, kernel_mul=2.0, kernel_num=5):
    n = fs.size(0)
    total = torch.cat([fs, ft], dim=0)
    dist = torch.cdist(total, total, p=2).pow(2)
    bandwidth = dist.detach().sum() / (total.size(0) ** 2 - total.size(0))
    bandwidth = bandwidth / (kernel_mul ** (kernel_num // 2))
    kernels = sum(torch.exp(-dist / (bandwidth * kernel_mul ** i)) for i in range(kernel_num))
    xx, yy = kernels[:n, :n], kernels[n:, n:]
    xy, yx = kernels[:n, n:], kernels[n:, :n]
    return (xx + yy - xy - yx).mean()


f_s = torch.randn(40, 16)
f_t = torch.randn(40, 16) * 1.3 + 0.2
print("probe coral", round(coral_loss(f_s, f_t).item(), 5), "mmd",
      round(mk_mmd(f_s, f_t).item(), 5), "mmd same", round(mk_mmd(f_s, f_s).item(), 5))


def accuracy(feat, clf, x, y):
    with torch.no_grad():
        return (clf(feat(x)).argmax(1) == y).float().mean().item()


def train(method, epochs=12, lam=1.0):
    torch.manual_seed(1)
    feat = FeatureNet()
    clf = nn.Linear(16, n_cls)
    disc = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
    params = list(feat.parameters()) + list(clf.parameters())
    if method == "dann":
        params += list(disc.parameters())
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-4)
    src = DataLoader(TensorDataset(xs, ys), batch_size=40, shuffle=True, drop_last=True)
    tgt = DataLoader(TensorDataset(xt), batch_size=40, shuffle=True, drop_last=True)
    total_steps = epochs * len(src)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 1.0 / (1.0 + 10 * step / total_steps) ** 0.75)
    step = 0
    for epoch in range(epochs):
        tot_cls, tot_dom = 0.0, 0.0
        for (xb, yb), (xtb,) in zip(src, tgt):
            p = step / total_steps
            alpha = 2.0 / (1.0 + math.exp(-10 * p)) - 1.0
            fs, ft = feat(xb), feat(xtb)
            cls_loss = F.cross_entropy(clf(fs), yb)
            if method == "dann":
                f_all = torch.cat([fs, ft])
                d_lab = torch.cat([torch.ones(fs.size(0), 1), torch.zeros(ft.size(0), 1)])
                dom_loss = F.binary_cross_entropy_with_logits(disc(grad_reverse(f_all, alpha)),
                                                              d_lab)
            elif method == "coral":
                dom_loss = coral_loss(fs, ft) * 10
            elif method == "mmd":
                dom_loss = mk_mmd(fs, ft)
            else:
                dom_loss = torch.zeros(())
            loss = cls_loss + lam * dom_loss
            opt.zero_grad()
            loss.backward()
            norm = nn.utils.clip_grad_norm_(params, max_norm=5.0)
            opt.step()
            sched.step()
            step += 1
            tot_cls += cls_loss.item()
            tot_dom += dom_loss.item()
        if epoch % 4 == 3:
            print(f"  {method} epoch {epoch + 1} cls {tot_cls / len(src):.4f} "
                  f"dom {tot_dom / len(src):.4f} lr {sched.get_last_lr()[0]:.5f} "
                  f"alpha {alpha:.4f} norm {norm.item():.3f}")
    return feat, clf


results = {}
for method in ["source_only", "dann", "coral", "mmd"]:
    feat, clf = train(method)
    results[method] = (accuracy(feat, clf, xs, ys), accuracy(feat, clf, xt, yt))
    with torch.no_grad():
        fs, ft = feat(xs), feat(xt)
        gap_mmd = mk_mmd(fs[:120], ft[:120]).item()
        gap_coral = coral_loss(fs, ft).item()
    print(f"{method}: src acc {results[method][0]:.4f} tgt acc {results[method][1]:.4f} "
          f"mmd {gap_mmd:.4f} coral {gap_coral:.5f}")

    # proxy A-distance: a linear domain classifier on frozen features
    dom_x = torch.cat([fs, ft])
    dom_y = torch.cat([torch.zeros(len(fs)), torch.ones(len(ft))])
    probe = nn.Linear(16, 1)
    popt = torch.optim.Adam(probe.parameters(), lr=0.05)
    for _ in range(60):
        popt.zero_grad()
        ploss = F.binary_cross_entropy_with_logits(probe(dom_x).squeeze(1), dom_y)
        ploss.backward()
        popt.step()
    with torch.no_grad():
        err = ((probe(dom_x).squeeze(1) > 0).float() != dom_y).float().mean().item()
    print(f"  proxy A-distance {2 * (1 - 2 * err):.3f}")

best = max(results, key=lambda k: results[k][1])
print("best target method", best)
