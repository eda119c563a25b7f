"""A denoising diffusion model (DDPM, Ho et al. 2020) on a 2-D two-moons data set, in the style
of the minimal diffusion repositories: a linear beta schedule with ``cumprod``, the closed-form
forward process q(x_t | x_0), a sinusoidal timestep embedding, an MLP that predicts the noise,
and ancestral sampling. Training uses gradient accumulation over micro-batches,
``clip_grad_norm_``, AdamW with a linear warm-up (``LambdaLR``) and an exponential moving
average of the weights through ``AveragedModel(multi_avg_fn=get_ema_multi_avg_fn(...))``.
Everything is drawn from ``torch.manual_seed``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

torch.manual_seed(0)


def two_moons(n, noise=0.05):
    t = torch.rand(n) * math.pi
    upper = torch.rand(n) < 0.5
    x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
    data = torch.stack([x, y], dim=1) + noise * torch.randn(n, 2)
    return (data - data.mean(0)) / data.std(0)


data = two_moons(1024)
print("data", tuple(data.shape), "range", [round(v, 4) for v in data.min(0).values.tolist()],
      [round(v, 4) for v in data.max(0).values.tolist()])

# noise schedule
T = 50
betas = torch.linspace(1e-4, 0.2, T)
alphas = 1.0 - betas
alphas_cumprod = torch.cumprod(alphas, dim=0)
alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
sqrt_alphas_cumprod = alphas_cumprod.sqrt()
sqrt_one_minus_alphas_cumprod = (1.0 - alphas_cumprod).sqrt()
posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
print("alpha_bar first/mid/last", round(alphas_cumprod[0].item(), 5),
      round(alphas_cumprod[T // 2].item(), 5), round(alphas_cumprod[-1].item(), 6))


def extract(a, t, x_shape):
    """Gather a[t] for a batch of timesteps and reshape to broadcast against x."""
    out = a.gather(-1, t)
    return out.reshape(t.shape[0], *((1,) * (len(x_shape) - 1)))


def q_sample(x_start, t, noise):
    return (extract(sqrt_alphas_cumprod, t, x_start.shape) * x_start
            + extract(sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)


class SinusoidalPositionEmbeddings(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, time):
        half_dim = self.dim // 2
        scale = math.log(10000) / (half_dim - 1)
        freqs = torch.exp(torch.arange(half_dim, device=time.device) * -scale)
        args = time[:, None].float() * freqs[None, :]
        return torch.cat((args.sin(), args.cos()), dim=-1)


class Denoiser(nn.Module):
    def __init__(self, hidden=64, time_dim=16):
        super().__init__()
        self.time_mlp = nn.Sequential(SinusoidalPositionEmbeddings(time_dim),
                                      nn.Linear(time_dim, hidden), nn.GELU())
        self.inp = nn.Linear(2, hidden)
        self.blocks = nn.ModuleList([nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden),
                                                   nn.SiLU()) for _ in range(2)])
        self.out = nn.Linear(hidden, 2)

    def forward(self, x, t):
        h = self.inp(x) + self.time_mlp(t)
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)


model = Denoiser()
ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.95))
print("parameters", sum(p.numel() for p in model.parameters()),
      "ema n_averaged", int(ema.n_averaged))
emb = SinusoidalPositionEmbeddings(8)(torch.tensor([0, 10, 49]))
print("time embedding row 1", [round(v, 4) for v in emb[1].tolist()])

optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
warmup = 10
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
micro_batch, accumulation_steps, epochs = 32, 2, 10
grad_norms = []
step = 0
for epoch in range(epochs):
    perm = torch.randperm(len(data))
    total, count = 0.0, 0
    optimizer.zero_grad(set_to_none=True)
    for i in range(len(data) // micro_batch):
        x0 = data[perm[i * micro_batch:(i + 1) * micro_batch]]
        t = torch.randint(0, T, (micro_batch,))
        noise = torch.randn_like(x0)
        loss = F.mse_loss(model(q_sample(x0, t, noise), t), noise)
        (loss / accumulation_steps).backward()
        total += loss.item()
        count += 1
        if (i + 1) % accumulation_steps == 0:
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            grad_norms.append(norm.item())
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            ema.update_parameters(model)
            step += 1
    print(f"epoch {epoch}: loss {total / count:.4f} optimizer steps {step} "
          f"lr {scheduler.get_last_lr()[0]:.5f} last grad norm {grad_norms[-1]:.4f}")

print("ema n_averaged", int(ema.n_averaged))
with torch.no_grad():
    drift = max((pe - pm).abs().max().item()
                for pe, pm in zip(ema.module.parameters(), model.parameters()))
    print("max |ema - model| weight", round(drift, 4))


@torch.no_grad()
def p_sample_loop(net, n, generator):
    x = torch.randn(n, 2, generator=generator)
    for i in reversed(range(T)):
        t = torch.full((n,), i, dtype=torch.long)
        eps = net(x, t)
        coef = extract(betas, t, x.shape) / extract(sqrt_one_minus_alphas_cumprod, t, x.shape)
        mean = (x - coef * eps) / extract(alphas, t, x.shape).sqrt()
        if i > 0:
            noise = torch.randn(x.shape, generator=generator)
            x = mean + extract(posterior_variance, t, x.shape).sqrt() * noise
        else:
            x = mean
    return x


model.eval()
ema.eval()
for name, net in (("model", model), ("ema", ema)):
    g = torch.Generator().manual_seed(123)
    samples = p_sample_loop(net, 500, g)
    # distance of each sample to its nearest training point
    nearest = torch.cdist(samples, data).min(dim=1).values
    print(f"{name}: sample mean {[round(v, 3) for v in samples.mean(0).tolist()]} "
          f"std {[round(v, 3) for v in samples.std(0).tolist()]} "
          f"median nearest {nearest.median().item():.3f}")
