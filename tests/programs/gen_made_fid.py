"""MADE (Germain et al. 2015), following karpathy's pytorch-made: masked ``nn.Linear`` layers
whose masks live in registered buffers and are rebuilt from ``torch.randperm`` orderings
(order-agnostic, connectivity-agnostic training), an ensemble over orderings at test time,
a Jacobian check of the autoregressive property, and ancestral sampling in the drawn order with
``torch.distributions.Bernoulli``. The samples are then compared with the data by a
Frechet-distance (FID-style) statistic on random features: means, ``torch.cov``, a matrix
square root through ``torch.linalg.eigh`` and the trace of ``sqrtm(S1 S2)`` from
``torch.linalg.eigvals``."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Bernoulli

torch.manual_seed(0)
D = 12


def make_data(n):
    """Binary strings built from a few prototypes with 5% flipped bits."""
    protos = (torch.rand(4, D) < 0.5).float()
    x = protos[torch.randint(0, 4, (n,))]
    flips = torch.rand(n, D) < 0.05
    return torch.where(flips, 1 - x, x)


data = make_data(600)
train, test = data[:500], data[500:]
print("bit means", [round(v, 2) for v in train.mean(0).tolist()])


class MaskedLinear(nn.Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        self.register_buffer("mask", torch.ones(out_features, in_features))

    def set_mask(self, mask):
        self.mask.data.copy_(mask.T)

    def forward(self, x):
        return F.linear(x, self.mask * self.weight, self.bias)


class MADE(nn.Module):
    def __init__(self, nin, hidden_sizes, num_masks=1, natural_ordering=False):
        super().__init__()
        self.nin, self.hidden_sizes = nin, hidden_sizes
        layers, sizes = [], [nin] + hidden_sizes + [nin]
        for h0, h1 in zip(sizes, sizes[1:]):
            layers.extend([MaskedLinear(h0, h1), nn.ReLU()])
        self.net = nn.Sequential(*layers[:-1])
        self.natural_ordering, self.num_masks, self.seed = natural_ordering, num_masks, 0
        self.m = {}
        self.update_masks()

    def update_masks(self):
        if self.m and self.num_masks == 1:
            return
        g = torch.Generator().manual_seed(self.seed)
        self.seed = (self.seed + 1) % self.num_masks
        L = len(self.hidden_sizes)
        self.m[-1] = (torch.arange(self.nin) if self.natural_ordering
                      else torch.randperm(self.nin, generator=g))
        for l in range(L):
            low = int(self.m[l - 1].min())
            self.m[l] = torch.randint(low, self.nin - 1, (self.hidden_sizes[l],), generator=g)
        masks = [self.m[l - 1][:, None] <= self.m[l][None, :] for l in range(L)]
        masks.append(self.m[L - 1][:, None] < self.m[-1][None, :])
        for layer, mask in zip([m for m in self.net if isinstance(m, MaskedLinear)], masks):
            layer.set_mask(mask.float())

    def forward(self, x):
        return self.net(x)


model = MADE(D, [64, 64], num_masks=4)
print("first ordering", model.m[-1].tolist())
opt = torch.optim.Adam(model.parameters(), lr=5e-3, weight_decay=1e-4)


def nll(x, resample_every=1, samples=1):
    total = torch.zeros(x.size(0), D)
    for s in range(samples):
        if s % resample_every == 0:
            model.update_masks()
        total += model(x)
    return F.binary_cross_entropy_with_logits(total / samples, x, reduction="sum") / x.size(0)


for epoch in range(10):
    model.train()
    perm = torch.randperm(train.size(0))
    for i in range(0, train.size(0), 100):
        loss = nll(train[perm[i:i + 100]])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        test_nll = nll(test, samples=4)
    if epoch % 3 == 0 or epoch == 9:
        print("epoch", epoch, "train nll", round(loss.item(), 3),
              "test nll (4-mask ensemble)", round(test_nll.item(), 3))

# autoregressive check: d output_k / d x_j is zero unless order(j) < order(k)
model.seed = 0
model.update_masks()
jac = torch.autograd.functional.jacobian(lambda v: model(v), torch.rand(D))
order = model.m[-1]
allowed = order[None, :] < order[:, None]
print("jacobian nonzeros", int((jac != 0).sum()), "violations", int(((jac != 0) & ~allowed).sum()),
      "max allowed", int(allowed.sum()))

# ancestral sampling in the drawn order
torch.manual_seed(7)
with torch.no_grad():
    x = torch.zeros(300, D)
    for k in torch.argsort(order).tolist():
        x[:, k] = Bernoulli(logits=model(x)[:, k]).sample()
    logp = Bernoulli(logits=model(x)).log_prob(x).sum(1)
print("sample bit means", [round(v, 2) for v in x.mean(0).tolist()])
print("sample mean log p", round(logp.mean().item(), 3))
uniq, counts = torch.unique(x, dim=0, return_counts=True)
print("distinct samples", uniq.size(0), "most common count", counts.max().item())


def sqrtm_psd(a):
    vals, vecs = torch.linalg.eigh(a)
    return vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T


def frechet(f1, f2):
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = torch.cov(f1.T), torch.cov(f2.T)
    via_eigvals = torch.linalg.eigvals(s1 @ s2).sqrt().real.sum()
    r1 = sqrtm_psd(s1)
    via_eigh = torch.trace(sqrtm_psd(r1 @ s2 @ r1))
    fid = (mu1 - mu2).square().sum() + torch.trace(s1) + torch.trace(s2) - 2 * via_eigh
    return fid, via_eigvals, via_eigh


proj = torch.randn(D, 6, dtype=torch.float64)
feat = lambda b: torch.tanh(b.double() @ proj)
fid, t1, t2 = frechet(feat(test), feat(x))
print("FID samples vs test", round(fid.item(), 3), "tr sqrt agree", bool(torch.isclose(t1, t2)))
fid_noise, _, _ = frechet(feat(test), feat((torch.rand(300, D) < 0.5).float()))
print("FID uniform noise vs test", round(fid_noise.item(), 3))
print("cov weighted", [round(v, 4) for v in torch.cov(feat(test)[:5, :2].T,
                                                      fweights=torch.arange(1, 6),
                                                      aweights=torch.rand(5).double()).flatten().tolist()])
