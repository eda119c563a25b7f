"""Randomized smoothing certification (Cohen, Rosenfeld & Kolter 2019, the ``core.py`` of the
official code): a base classifier trained with Gaussian noise augmentation, then
``Smooth.certify`` (n0 noisy samples to select the top class, n samples to estimate it, noise
drawn in batches from a seeded ``torch.Generator``, counts with ``bincount``), a one-sided
Clopper-Pearson lower bound on p_A (found by bisection on the Binomial tail, as
``torch.distributions.Beta`` has no ``icdf``), the certified radius ``sigma * ndtri(p_A)``, and
``Smooth.predict`` with its exact two-sided binomial test; abstentions are -1."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Binomial, Normal

torch.manual_seed(3)
dtype = torch.float64  # argmax counts over thousands of noisy inputs: no float32 near-ties

n_cls, dim, sigma = 3, 6, 0.5
means = 0.8 * torch.randn(n_cls, dim, dtype=dtype)
y_train = torch.randint(0, n_cls, (150,))
x_train = means[y_train] + 0.35 * torch.randn(150, dim, dtype=dtype)
y_test = torch.arange(n_cls).repeat(3)
x_test = means[y_test] + 0.35 * torch.randn(len(y_test), dim, dtype=dtype)

base = nn.Sequential(nn.Linear(dim, 32), nn.ReLU(), nn.Linear(32, n_cls)).to(dtype)
opt = torch.optim.SGD(base.parameters(), lr=0.1, momentum=0.9)
for epoch in range(30):
    noisy = x_train + torch.randn_like(x_train) * sigma  # Gaussian data augmentation
    loss = F.cross_entropy(base(noisy), y_train)
    opt.zero_grad()
    loss.backward()
    opt.step()
print("train loss", round(loss.item(), 4))


def binom_upper_tail(k, n, p):
    """P[Binomial(n, p) >= k] for a tensor of probabilities p."""
    ks = torch.arange(k, n + 1, dtype=dtype)
    logp = Binomial(total_count=n, probs=p[:, None]).log_prob(ks)
    return torch.logsumexp(logp, dim=1).exp()


def lower_confidence_bound(n_a, n, alpha, iters=40):
    """One-sided (1 - alpha) Clopper-Pearson lower bound: the p where P[X >= n_a] = alpha."""
    if n_a == 0:
        return 0.0
    lo, hi = torch.zeros(1, dtype=dtype), torch.ones(1, dtype=dtype)
    for _ in range(iters):
        mid = (lo + hi) / 2
        too_high = binom_upper_tail(n_a, n, mid) > alpha
        hi = torch.where(too_high, mid, hi)
        lo = torch.where(too_high, lo, mid)
    return lo.item()


def binom_test(k, n, p=0.5):
    """Exact two-sided binomial test: total probability of outcomes no likelier than k."""
    pmf = Binomial(total_count=n, probs=torch.tensor(p, dtype=dtype)).log_prob(
        torch.arange(n + 1, dtype=dtype)).exp()
    return pmf[pmf <= pmf[k] * (1 + 1e-7)].sum().clamp(max=1.0).item()


class Smooth:
    ABSTAIN = -1

    def __init__(self, base_classifier, num_classes, sigma):
        self.base_classifier, self.num_classes, self.sigma = base_classifier, num_classes, sigma

    def _sample_noise(self, x, num, batch_size, generator):
        with torch.no_grad():
            counts = torch.zeros(self.num_classes, dtype=torch.long)
            remaining = num
            while remaining > 0:
                this_batch = min(batch_size, remaining)
                remaining -= this_batch
                batch = x.repeat((this_batch, 1))
                noise = torch.randn(batch.shape, generator=generator, dtype=dtype) * self.sigma
                predictions = self.base_classifier(batch + noise).argmax(1)
                counts += torch.bincount(predictions, minlength=self.num_classes)
            return counts

    def certify(self, x, n0, n, alpha, batch_size, generator):
        self.base_classifier.eval()
        counts_selection = self._sample_noise(x, n0, batch_size, generator)
        c_a = counts_selection.argmax().item()
        counts_estimation = self._sample_noise(x, n, batch_size, generator)
        n_a = counts_estimation[c_a].item()
        p_a = lower_confidence_bound(n_a, n, alpha)
        if p_a < 0.5:
            return Smooth.ABSTAIN, 0.0, p_a
        radius = self.sigma * torch.special.ndtri(torch.tensor(p_a, dtype=dtype)).item()
        return c_a, radius, p_a

    def predict(self, x, n, alpha, batch_size, generator):
        self.base_classifier.eval()
        counts = self._sample_noise(x, n, batch_size, generator)
        top2 = counts.topk(2)
        count1, count2 = top2.values.tolist()
        if binom_test(count1, count1 + count2, 0.5) > alpha:
            return Smooth.ABSTAIN
        return top2.indices[0].item()


g = torch.Generator().manual_seed(1234)
print("generator seed", g.initial_seed())
state = g.get_state()
first = torch.randn(3, generator=g, dtype=dtype)
g.set_state(state)
print("replayed noise equal", torch.equal(first, torch.randn(3, generator=g, dtype=dtype)))

print("clopper-pearson 90/100 @0.05", round(lower_confidence_bound(90, 100, 0.05), 5))
print("binom_test(60, 100)", round(binom_test(60, 100), 5))
smoothed = Smooth(base, n_cls, sigma)
g.manual_seed(0)
rows = []
for i in range(len(y_test)):
    pred, radius, p_a = smoothed.certify(x_test[i], n0=50, n=400, alpha=0.001, batch_size=128,
                                         generator=g)
    correct = int(pred == y_test[i].item())
    rows.append((pred, radius, correct))
    print(f"{i}\tlabel {y_test[i].item()}\tpredict {pred}\tradius {radius:.4f}\t"
          f"pA {p_a:.4f}\tcorrect {correct}")
radii = torch.tensor([r for _, r, c in rows], dtype=dtype)
correct = torch.tensor([c for _, _, c in rows], dtype=torch.bool)
for r in [0.0, 0.25, 0.5, 0.75]:
    acc = (correct & (radii >= r)).double().mean().item()
    print(f"certified acc @ r={r:.2f}: {acc:.4f}")
preds = [smoothed.predict(x_test[i], n=200, alpha=0.001, batch_size=64, generator=g)
         for i in range(4)]
print("predict", preds)
std = Normal(torch.tensor(0.0, dtype=dtype), torch.tensor(1.0, dtype=dtype))
q = torch.tensor([0.6, 0.9, 0.999], dtype=dtype)
print("ndtri vs Normal.icdf", [round(v, 5) for v in torch.special.ndtri(q).tolist()],
      bool(torch.allclose(torch.special.ndtri(q), std.icdf(q))))
print("erfinv check", round((math.sqrt(2) * torch.erfinv(2 * q - 1)).sum().item(), 5))
