"""A RealNVP normalizing flow on 2-D two-moons data: affine coupling layers with alternating
masks, scale from a tanh-bounded network, the log-determinant summed over couplings, a
MultivariateNormal base distribution from torch.distributions, maximum-likelihood training,
then sampling by inverting the flow and checking the inverse round-trips."""
import math

import numpy as np
import torch
import torch.nn as nn
from torch import distributions

rng = np.random.default_rng(3)


def make_moons(n, noise):
    n_out = n // 2
    n_in = n - n_out
    outer = np.stack([np.cos(np.linspace(0, np.pi, n_out)),
                      np.sin(np.linspace(0, np.pi, n_out))], 1)
    inner = np.stack([1 - np.cos(np.linspace(0, np.pi, n_in)),
                      1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5], 1)
    x = np.concatenate([outer, inner]) + rng.normal(scale=noise, size=(n, 2))
    return x.astype(np.float32)


data = torch.from_numpy(make_moons(256, 0.05))
data = (data - data.mean(0)) / data.std(0)
print("data", tuple(data.shape), "mean", [round(v, 3) + 0.0 for v in data.mean(0).tolist()])


class RealNVP(nn.Module):
    def __init__(self, nets, nett, mask, prior):
        super(RealNVP, self).__init__()
        self.prior = prior
        self.mask = nn.Parameter(mask, requires_grad=False)
        self.t = torch.nn.ModuleList([nett() for _ in range(len(mask))])
        self.s = torch.nn.ModuleList([nets() for _ in range(len(mask))])

    def g(self, z):
        x = z
        for i in range(len(self.t)):
            x_ = x * self.mask[i]
            s = self.s[i](x_) * (1 - self.mask[i])
            t = self.t[i](x_) * (1 - self.mask[i])
            x = x_ + (1 - self.mask[i]) * (x * torch.exp(s) + t)
        return x

    def f(self, x):
        log_det_J, z = x.new_zeros(x.shape[0]), x
        for i in reversed(range(len(self.t))):
            z_ = self.mask[i] * z
            s = self.s[i](z_) * (1 - self.mask[i])
            t = self.t[i](z_) * (1 - self.mask[i])
            z = (1 - self.mask[i]) * (z - t) * torch.exp(-s) + z_
            log_det_J -= s.sum(dim=1)
        return z, log_det_J

    def log_prob(self, x):
        z, logp = self.f(x)
        return self.prior.log_prob(z) + logp

    def sample(self, z):
        return self.g(z)


hidden = 32
nets = lambda: nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden),
                             nn.LeakyReLU(), nn.Linear(hidden, 2), nn.Tanh())
nett = lambda: nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden),
                             nn.LeakyReLU(), nn.Linear(hidden, 2))
masks = torch.from_numpy(np.array([[0, 1], [1, 0]] * 3).astype(np.float32))
prior = distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
flow = RealNVP(nets, nett, masks, prior)

g = np.random.default_rng(0)
with torch.no_grad():
    for name, p in flow.named_parameters():
        if name == "mask":
            continue
        bound = 0.5 / math.sqrt(p.shape[-1])
        p.copy_(torch.from_numpy(g.uniform(-bound, bound, tuple(p.shape)).astype(np.float32)))
print("couplings:", len(flow.t), "trainable parameters:",
      sum(p.numel() for p in flow.parameters() if p.requires_grad),
      "mask trainable:", flow.mask.requires_grad)
print("prior:", prior, "entropy {:.4f}".format(prior.entropy().item()))

optimizer = torch.optim.Adam([p for p in flow.parameters() if p.requires_grad], lr=2e-3)
batches = [rng.choice(len(data), 64, replace=False) for _ in range(150)]
for t, idx in enumerate(batches):
    x = data[torch.from_numpy(idx)]
    loss = -flow.log_prob(x).mean()
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(flow.parameters(), 5.0)
    optimizer.step()
    if t % 30 == 0 or t == len(batches) - 1:
        print("iter {:3d}: nll = {:.2f}".format(t, loss.item()))

with torch.no_grad():
    nll = -flow.log_prob(data).mean().item()
    base_nll = -prior.log_prob(data).mean().item()
    print("full-data nll {:.2f} (standard normal alone: {:.2f})".format(nll, base_nll))
    z, logdet = flow.f(data)
    x_back = flow.g(z)
    print("inverse round trip max error < 1e-4:", (x_back - data).abs().max().item() < 1e-4)
    print("latent mean/std:", [round(v, 1) + 0.0 for v in z.mean(0).tolist()],
          [round(v, 1) for v in z.std(0).tolist()])
    z_fixed = torch.from_numpy(rng.normal(size=(512, 2)).astype(np.float32))
    samples = flow.sample(z_fixed)
    print("sample mean/std:", [round(v, 1) + 0.0 for v in samples.mean(0).tolist()],
          [round(v, 1) for v in samples.std(0).tolist()])

# change of variables by hand for one point: log p(x) = log N(f(x)) + log|det df/dx|
x0 = data[:1].clone().requires_grad_(True)
z0, _ = flow.f(x0)
jac = torch.stack([torch.autograd.grad(z0[0, k], x0, retain_graph=True)[0][0] for k in range(2)])
manual = prior.log_prob(z0.detach())[0] + torch.log(torch.abs(torch.linalg.det(jac)))
print("log-det matches autograd Jacobian:",
      abs(manual.item() - flow.log_prob(x0).item()) < 1e-3)
