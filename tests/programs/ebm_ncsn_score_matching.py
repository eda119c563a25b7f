"""Noise-conditional score network (NCSN, Song & Ermon 2019; NCSNv2 tricks from "Improved
Techniques for Training Score-Based Generative Models") on a 2-D ring of Gaussians, in the style
of the score_sde / ncsn PyTorch repositories: a geometric noise ladder from
``torch.exp(torch.linspace(log sigma_max, log sigma_min))``, a score network conditioned on
``log sigma`` through Fourier features and whose output is divided by ``sigma``, denoising score
matching weighted by ``sigma**2``, an exponential moving average of the weights
(``torch.optim.swa_utils.AveragedModel``), annealed Langevin dynamics with the NCSNv2 step
size, and checks against the true score of the data mixture (``autograd.grad`` of a
``MixtureSameFamily`` log density) and exact (Hyvarinen) score matching with the Jacobian trace
from ``torch.func.jacrev``."""
import math

import torch
import torch.nn as nn
import torch.distributions as D
from torch.func import jacrev, vmap
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

n_modes = 6
angles = torch.arange(n_modes) * (2 * math.pi / n_modes)
means = 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
mixture = D.MixtureSameFamily(D.Categorical(logits=torch.zeros(n_modes)),
                              D.MultivariateNormal(means, 0.1 * torch.eye(2).expand(n_modes,
                                                                                    2, 2)))
data = mixture.sample((256,))
loader = DataLoader(TensorDataset(data), batch_size=128, shuffle=True,
                    generator=torch.Generator().manual_seed(1), drop_last=True)
print("data", data.shape, "batches", len(loader))

sigma_max, sigma_min, n_sigmas = 3.0, 0.1, 8
sigmas = torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), n_sigmas))
print("sigmas", sigmas)
print("ratio", (sigmas[1:] / sigmas[:-1]).mean().item().__round__(4),
      "logspace match", torch.allclose(sigmas, torch.logspace(math.log10(sigma_max),
                                                              math.log10(sigma_min), n_sigmas)))


class FourierFeatures(nn.Module):
    def __init__(self, dim, scale=1.0):
        super().__init__()
        self.register_buffer("freqs", torch.randn(dim // 2) * scale)

    def forward(self, t):
        proj = t[:, None] * self.freqs[None, :] * 2 * math.pi
        return torch.cat([proj.sin(), proj.cos()], dim=-1)


class ScoreNet(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.embed = nn.Sequential(FourierFeatures(32), nn.Linear(32, hidden))
        self.inp = nn.Linear(2, hidden)
        self.mid = nn.Sequential(nn.ELU(), nn.Linear(hidden, hidden), nn.ELU())
        self.out = nn.Linear(hidden, 2)

    def forward(self, x, sigma):
        h = self.inp(x) + self.embed(sigma.log())
        return self.out(self.mid(h)) / sigma[:, None]


def dsm_loss(model, x, sigma_idx):
    sigma = sigmas[sigma_idx]
    noise = torch.randn_like(x)
    perturbed = x + sigma[:, None] * noise
    target = -noise / sigma[:, None]
    score = model(perturbed, sigma)
    return 0.5 * ((score - target) ** 2).sum(-1).mul(sigma ** 2).mean()


model = ScoreNet()
ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100, eta_min=1e-3)
for epoch in range(100):
    total, norms = 0.0, []
    for (x,) in loader:
        idx = torch.randint(0, n_sigmas, (x.size(0),))
        loss = dsm_loss(model, x, idx)
        opt.zero_grad()
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0))
        opt.step()
        ema.update_parameters(model)
        total += loss.item()
    sched.step()
    if epoch % 50 == 49:
        print("epoch {} dsm {:.4f} grad norm max {:.3f} ema updates {} lr {:.5f}".format(
            epoch + 1, total / len(loader), torch.stack(norms).max().item(),
            ema.n_averaged.item(), sched.get_last_lr()[0]))

# ---- compare with the true score of the noised mixture at the smallest noise levels ----
ema.eval()


def true_score(x, sigma):
    noised = D.MixtureSameFamily(
        mixture.mixture_distribution,
        D.MultivariateNormal(means, (0.1 + sigma ** 2) * torch.eye(2).expand(n_modes, 2, 2)))
    x = x.clone().requires_grad_(True)
    s, = torch.autograd.grad(noised.log_prob(x).sum(), x)
    return s


probe = mixture.sample((256,))
for i in (0, n_sigmas // 2, n_sigmas - 1):
    sigma = sigmas[i]
    with torch.no_grad():
        learned = ema(probe, sigma.expand(probe.size(0)))
    truth = true_score(probe, sigma)
    cos = nn.functional.cosine_similarity(learned, truth, dim=-1).mean()
    rel = (learned - truth).norm(dim=-1).div(truth.norm(dim=-1) + 1e-3).median()
    print("sigma {:.3f} cosine {:.3f} rel err {:.3f}".format(sigma.item(), cos.item(), rel.item()))

# ---- exact (Hyvarinen) score matching objective at the smallest sigma ----
sig = sigmas[-1:]
score_one = lambda x: ema.module(x[None], sig)[0]  # noqa: E731
jac = vmap(jacrev(score_one))(probe[:64])
trace = jac.diagonal(dim1=-2, dim2=-1).sum(-1)
with torch.no_grad():
    sq = 0.5 * ema.module(probe[:64], sig.expand(64)).pow(2).sum(-1)
print("jacobian", jac.shape, "ESM objective {:.3f}".format((trace + sq).mean().item()))
print("trace via autograd.functional", torch.allclose(
    torch.autograd.functional.jacobian(score_one, probe[0]).trace(), trace[0], atol=1e-4))


# ---- annealed Langevin dynamics (NCSNv2 step size eps * sigma_i^2 / sigma_L^2) ----
@torch.no_grad()
def annealed_langevin(net, n, steps_each=10, eps=2e-3, denoise=True):
    x = torch.empty(n, 2).uniform_(-4, 4)
    for sigma in sigmas:
        step = eps * (sigma / sigmas[-1]) ** 2
        labels = sigma.expand(n)
        for _ in range(steps_each):
            grad = net(x, labels)
            x += step * grad + (2 * step).sqrt() * torch.randn_like(x)
    if denoise:  # Tweedie: one extra step of size sigma_min^2 without noise
        x = x + sigmas[-1] ** 2 * net(x, sigmas[-1].expand(n))
    return x


samples = annealed_langevin(ema, 300)
modes = torch.cdist(samples, means).argmin(1)
print("samples per mode", torch.bincount(modes, minlength=n_modes).tolist())
print("radius mean {:.3f} std {:.3f}".format(samples.norm(dim=1).mean().item(),
                                             samples.norm(dim=1).std().item()))
print("data log-likelihood of samples {:.3f} (data itself {:.3f})".format(
    mixture.log_prob(samples).mean().item(), mixture.log_prob(data).mean().item()))


def mmd(a, b, bandwidth=0.5):
    k = lambda u, v: torch.exp(-torch.cdist(u, v).pow(2) / (2 * bandwidth ** 2))  # noqa: E731
    return k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean()


print("MMD samples {:.4f} uniform {:.4f}".format(
    mmd(samples, data).item(), mmd(torch.empty(300, 2).uniform_(-3, 3), data).item()))
