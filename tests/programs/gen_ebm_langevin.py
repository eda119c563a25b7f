"""Energy-based model and noise-conditional score network on 2-D data, in the style of the
"Implicit Generation and Modeling with EBMs" (Du & Mordatch) and NCSN (Song & Ermon) PyTorch
repositories and the UvA deep-learning EBM tutorial: SGLD sampling with ``torch.autograd.grad``
inside ``@torch.enable_grad`` under an outer ``torch.no_grad``, a replay buffer refreshed with
``torch.cat``/``torch.randperm`` and ``clamp_``, contrastive-divergence loss with an energy
regulariser; then denoising score matching over a geometric noise schedule from
``torch.logspace`` and annealed Langevin dynamics. The data density comes from a
``MixtureSameFamily`` of Gaussians, so samples are scored by its exact ``log_prob``."""
import math

import torch
import torch.nn as nn
import torch.distributions as D

torch.manual_seed(0)

mix = D.Categorical(torch.tensor([0.3, 0.4, 0.3]))
comp = D.Independent(D.Normal(torch.tensor([[-1.5, 0.0], [0.0, 1.5], [1.5, 0.0]]),
                              torch.full((3, 2), 0.25)), 1)
gmm = D.MixtureSameFamily(mix, comp)
data = gmm.sample((512,))
print("data", tuple(data.shape), "mean", [round(v, 3) for v in data.mean(0).tolist()],
      "true logp", round(gmm.log_prob(data).mean().item(), 3))


class EnergyNet(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                 nn.SiLU(), nn.Linear(hidden, 1))
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.net(x).squeeze(-1)


class ReplaySampler:
    """SGLD from a buffer of past samples, 5% of each batch restarted from uniform noise."""

    def __init__(self, model, size=256, steps=20, step_size=0.05, noise=0.01):
        self.model, self.steps, self.step_size, self.noise = model, steps, step_size, noise
        self.buffer = torch.rand(size, 2) * 6 - 3

    @torch.enable_grad()
    def langevin(self, x):
        was_training = self.model.training
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        x = x.clone().requires_grad_(True)
        for _ in range(self.steps):
            x.data.add_(self.noise * torch.randn_like(x))
            x.data.clamp_(min=-3.0, max=3.0)
            energy = self.model(x)
            grad, = torch.autograd.grad(energy.sum(), x)
            x.data.add_(-self.step_size * grad.clamp(-0.1, 0.1))
            x.data.clamp_(min=-3.0, max=3.0)
        for p in self.model.parameters():
            p.requires_grad_(True)
        self.model.train(was_training)
        return x.detach()

    def sample(self, n):
        n_new = max(1, int(0.05 * n))
        fresh = torch.rand(n_new, 2) * 6 - 3
        old = self.buffer[torch.randperm(self.buffer.size(0))[:n - n_new]]
        with torch.no_grad():
            x = self.langevin(torch.cat([fresh, old], dim=0))
        self.buffer = torch.cat([x, self.buffer], dim=0)[:self.buffer.size(0)]
        return x


ebm = EnergyNet()
sampler = ReplaySampler(ebm)
opt = torch.optim.Adam(ebm.parameters(), lr=1e-3, betas=(0.0, 0.999))
for it in range(30):
    real = data[torch.randint(0, data.size(0), (64,))]
    real = real + 0.005 * torch.randn_like(real)
    fake = sampler.sample(64)
    e_real, e_fake = ebm(torch.cat([real, fake])).chunk(2, dim=0)
    reg = 0.1 * (e_real ** 2 + e_fake ** 2).mean()
    cd = e_real.mean() - e_fake.mean()
    loss = cd + reg
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(ebm.parameters(), 1.0)
    opt.step()
    if it % 10 == 9:
        print("ebm it", it + 1, "cd", round(cd.item(), 3), "reg", round(reg.item(), 3),
              "buffer logp", round(gmm.log_prob(sampler.buffer).mean().item(), 2))

# ---- noise-conditional score network with denoising score matching ----
sigmas = torch.logspace(math.log10(1.0), math.log10(0.05), steps=6)
print("sigmas", [round(s, 4) for s in sigmas.tolist()])
geo = torch.logspace(0, -3, 4, base=2.0)
print("base-2 schedule", geo.tolist(), geo.dtype)


class ScoreNet(nn.Module):
    def __init__(self, n_sigmas, hidden=64):
        super().__init__()
        self.embed = nn.Embedding(n_sigmas, hidden)
        self.inp = nn.Linear(2, hidden)
        self.body = nn.Sequential(nn.Softplus(), nn.Linear(hidden, hidden), nn.Softplus(),
                                  nn.Linear(hidden, 2))

    def forward(self, x, idx, sigma):
        h = self.inp(x) + self.embed(idx)
        return self.body(h) / sigma.view(-1, 1)     # the score scales like 1 / sigma


score = ScoreNet(len(sigmas))
opt = torch.optim.Adam(score.parameters(), lr=3e-3)
for it in range(150):
    x = data[torch.randint(0, data.size(0), (128,))]
    idx = torch.randint(0, len(sigmas), (x.size(0),))
    sigma = sigmas[idx].view(-1, 1)
    noise = torch.randn_like(x) * sigma
    target = -noise / sigma ** 2
    s = score(x + noise, idx, sigma)
    loss = 0.5 * ((s - target) ** 2).sum(dim=-1).mul(sigma.squeeze(1) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if it % 50 == 49:
        print("dsm it", it + 1, "loss", round(loss.item(), 3))


@torch.no_grad()
def annealed_langevin(n, steps_each=10, eps=2e-3):
    x = torch.rand(n, 2) * 6 - 3
    for i, sigma in enumerate(sigmas):
        idx = torch.full((n,), i, dtype=torch.long)
        alpha = eps * (sigma / sigmas[-1]) ** 2
        for _ in range(steps_each):
            step = 0.5 * alpha * score(x, idx, sigma.expand(n))
            x = x + step + alpha.sqrt() * torch.randn_like(x)
        print("  sigma", round(sigma.item(), 3), "logp", round(gmm.log_prob(x).mean().item(), 2))
    return x


samples = annealed_langevin(256)
counts = torch.bincount(gmm.component_distribution.log_prob(samples.unsqueeze(1)).argmax(1),
                        minlength=3)
print("samples per mode", counts.tolist(), "mean", [round(v, 2) for v in samples.mean(0).tolist()])
