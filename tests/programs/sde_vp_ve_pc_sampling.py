"""Score-based generative modelling through SDEs on 2-D toy data, after Song et al.'s
``score_sde_pytorch`` reference code and the "Score-based generative modeling" Colab: a VP SDE
and a VE SDE each train a time-conditional score network (Gaussian Fourier features of the
time, ``register_buffer`` for fixed random frequencies) by denoising score matching with
likelihood-style weighting; weights are tracked with an EMA from
``torch.optim.swa_utils.AveragedModel(..., multi_avg_fn=get_ema_multi_avg_fn(...))``; samples
come from Euler-Maruyama and from a predictor-corrector sampler (reverse-diffusion predictor,
Langevin corrector with a signal-to-noise step size). Samples are scored by the exact mixture
``log_prob`` of a ``MixtureSameFamily`` of ``MultivariateNormal`` components."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.distributions as D
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

torch.manual_seed(0)
torch.set_printoptions(precision=4)

angles = torch.arange(6, dtype=torch.float32) * (2 * math.pi / 6)
means = torch.stack([2.0 * torch.cos(angles), 2.0 * torch.sin(angles)], dim=1)
covs = torch.diag_embed(torch.full((6, 2), 0.04))
covs[:, 0, 1] = covs[:, 1, 0] = 0.01
gmm = D.MixtureSameFamily(D.Categorical(logits=torch.zeros(6)),
                          D.MultivariateNormal(means, covariance_matrix=covs))
data = gmm.sample((1024,))
print("data", tuple(data.shape), "std", data.std(0), "logp", f"{gmm.log_prob(data).mean():.4f}")


class VPSDE:
    def __init__(self, beta_min=0.1, beta_max=12.0, N=100):
        self.beta_0, self.beta_1, self.N = beta_min, beta_max, N
        self.T = 1.0

    def sde(self, x, t):
        beta_t = self.beta_0 + t * (self.beta_1 - self.beta_0)
        drift = -0.5 * beta_t[:, None] * x
        return drift, torch.sqrt(beta_t)

    def marginal_prob(self, x, t):
        log_mean_coeff = -0.25 * t ** 2 * (self.beta_1 - self.beta_0) - 0.5 * t * self.beta_0
        mean = torch.exp(log_mean_coeff)[:, None] * x
        std = torch.sqrt(1.0 - torch.exp(2.0 * log_mean_coeff))
        return mean, std

    def prior_sampling(self, shape, generator):
        return torch.randn(*shape, generator=generator)

    def discretize(self, x, t):
        timestep = (t * (self.N - 1) / self.T).long()
        betas = torch.linspace(self.beta_0 / self.N, self.beta_1 / self.N, self.N)
        beta = betas.to(x.device)[timestep]
        alpha = 1.0 - beta
        f = torch.sqrt(alpha)[:, None] * x - x
        return f, torch.sqrt(beta)


class VESDE:
    def __init__(self, sigma_min=0.01, sigma_max=4.0, N=100):
        self.sigma_min, self.sigma_max, self.N = sigma_min, sigma_max, N
        self.T = 1.0
        self.discrete_sigmas = torch.exp(torch.linspace(math.log(sigma_min), math.log(sigma_max),
                                                        N))

    def sde(self, x, t):
        sigma = self.sigma_min * (self.sigma_max / self.sigma_min) ** t
        diffusion = sigma * math.sqrt(2 * (math.log(self.sigma_max) - math.log(self.sigma_min)))
        return torch.zeros_like(x), diffusion

    def marginal_prob(self, x, t):
        return x, self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def prior_sampling(self, shape, generator):
        return torch.randn(*shape, generator=generator) * self.sigma_max

    def discretize(self, x, t):
        timestep = (t * (self.N - 1) / self.T).long()
        sigma = self.discrete_sigmas[timestep]
        adjacent = torch.where(timestep == 0, torch.zeros_like(t),
                               self.discrete_sigmas[(timestep - 1).clamp(min=0)])
        f = torch.zeros_like(x)
        g = torch.sqrt(sigma ** 2 - adjacent ** 2)
        return f, g


class GaussianFourierProjection(nn.Module):
    def __init__(self, embed_dim=32, scale=4.0):
        super().__init__()
        self.register_buffer("W", torch.randn(embed_dim // 2) * scale)

    def forward(self, x):
        x_proj = x[:, None] * self.W[None, :] * 2 * np.pi
        return torch.cat([torch.sin(x_proj), torch.cos(x_proj)], dim=-1)


class ScoreNet(nn.Module):
    def __init__(self, marginal_std, hidden=64, embed_dim=32):
        super().__init__()
        self.marginal_std = marginal_std
        self.embed = nn.Sequential(GaussianFourierProjection(embed_dim),
                                   nn.Linear(embed_dim, hidden))
        self.inp = nn.Linear(2, hidden)
        self.blocks = nn.ModuleList([nn.Linear(hidden, hidden) for _ in range(2)])
        self.norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, 2)

    def forward(self, x, t):
        h = self.inp(x) + self.embed(t)
        for block in self.blocks:
            h = h + F.silu(block(F.silu(h)))
        h = self.out(self.norm(h))
        return h / self.marginal_std(t)[:, None]


def dsm_loss(model, sde, x, eps=1e-3):
    t = torch.rand(x.shape[0]) * (sde.T - eps) + eps
    z = torch.randn_like(x)
    mean, std = sde.marginal_prob(x, t)
    perturbed = mean + std[:, None] * z
    score = model(perturbed, t)
    losses = torch.square(score * std[:, None] + z)
    return torch.mean(0.5 * torch.sum(losses, dim=-1))


@torch.no_grad()
def euler_maruyama(model, sde, n, generator, eps=1e-3):
    x = sde.prior_sampling((n, 2), generator)
    timesteps = torch.linspace(sde.T, eps, sde.N)
    dt = -1.0 / sde.N
    for i in range(sde.N):
        t = torch.full((n,), timesteps[i].item())
        drift, diffusion = sde.sde(x, t)
        drift = drift - diffusion[:, None] ** 2 * model(x, t)
        x_mean = x + drift * dt
        x = x_mean + diffusion[:, None] * math.sqrt(-dt) * torch.randn(x.shape, generator=generator)
    return x_mean


@torch.no_grad()
def predictor_corrector(model, sde, n, generator, snr=0.16, eps=1e-3):
    x = sde.prior_sampling((n, 2), generator)
    timesteps = torch.linspace(sde.T, eps, sde.N)
    for i in range(sde.N):
        t = torch.ones(n) * timesteps[i]
        # Langevin corrector
        grad = model(x, t)
        noise = torch.randn(x.shape, generator=generator)
        grad_norm = torch.norm(grad.reshape(n, -1), dim=-1).mean()
        noise_norm = torch.linalg.vector_norm(noise.reshape(n, -1), dim=-1).mean()
        step_size = (snr * noise_norm / grad_norm) ** 2 * 2
        x = x + step_size * grad + torch.sqrt(step_size * 2) * noise
        # reverse-diffusion predictor
        f, G = sde.discretize(x, t)
        rev_f = f - G[:, None] ** 2 * model(x, t)
        x_mean = x - rev_f
        x = x_mean + G[:, None] * torch.randn(x.shape, generator=generator)
    return x_mean


def train(name, sde, steps=240):
    torch.manual_seed(1)
    model = ScoreNet(lambda t: sde.marginal_prob(torch.zeros_like(t)[:, None], t)[1])
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.99))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=128,
                                         shuffle=True, drop_last=True)
    step = 0
    while step < steps:
        total, count = 0.0, 0
        for (xb,) in loader:
            loss = dsm_loss(model, sde, xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
            sched.step()
            ema.update_parameters(model)
            total, count, step = total + loss.item(), count + 1, step + 1
        if step % 60 == 0 or step >= steps:
            print(f"{name} step {step:3d} loss {total / count:.4f} gradnorm {gn.item():.4f} "
                  f"lr {sched.get_last_lr()[0]:.5f}")
    print(name, "ema n_averaged", ema.n_averaged.item(), "buffer W equal",
          torch.equal(ema.module.embed[0].W, model.embed[0].W))
    return model, ema


for name, sde in [("vp", VPSDE()), ("ve", VESDE())]:
    model, ema = train(name, sde)
    ema.eval()
    g = torch.Generator().manual_seed(7)
    for sampler in (euler_maruyama, predictor_corrector):
        x = sampler(ema.module, sde, 128, g)
        logp = gmm.log_prob(x)
        radius = x.norm(dim=1)
        print(f"{name} {sampler.__name__:20s} mean logp {logp.mean():.2f} "
              f"frac(logp>-3) {(logp > -3).float().mean():.3f} radius {radius.mean():.3f} "
              f"+- {radius.std():.3f}")
    with torch.no_grad():
        t = torch.full((4,), 0.5)
        xs = data[:4]
        s_model, s_ema = model(xs, t), ema(xs, t)
        print(name, "score diff model vs ema", f"{(s_model - s_ema).abs().max():.3f}")
