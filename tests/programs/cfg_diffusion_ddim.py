"""Classifier-free guidance diffusion with DDIM sampling, in the style of the conditional
diffusion repositories built on the DDPM U-Net (lucidrains' denoising-diffusion-pytorch,
the "minimal diffusion" tutorials): a small U-Net with sinusoidal time embeddings, residual
blocks with ``GroupNorm`` + ``SiLU`` and a time/class projection, a self-attention block
over the spatial positions (``F.scaled_dot_product_attention``), an ``nn.Embedding`` class
table with an extra "null" class that replaces the label with probability 0.2 during training
(``torch.where`` on a ``torch.rand`` mask), the cosine noise schedule (betas from the closed-form
alphas_bar, then ``torch.cumprod`` back), an EMA copy of the weights via
``torch.optim.swa_utils.AveragedModel``, and deterministic DDIM sampling (eta = 0) with the
guided noise ``eps_uncond + w * (eps_cond - eps_uncond)``. The data are 8x8 images of two
classes (horizontal or vertical stripes)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

torch.manual_seed(0)
T = 100


def cosine_alphas_bar(steps, s=0.008):
    t = torch.linspace(0, steps, steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, dim=0).float()


alphas_bar = cosine_alphas_bar(T)
print("alphas_bar", [round(v, 4) for v in alphas_bar[[0, 24, 49, 74, 99]].tolist()])


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb_dim, groups=4):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * cout)                 # scale and shift
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(F.silu(h))


class SelfAttention(nn.Module):
    def __init__(self, ch, heads=2):
        super().__init__()
        self.norm = nn.GroupNorm(4, ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)
        self.heads = heads

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2),
                                             v.transpose(-1, -2))
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class UNet(nn.Module):
    def __init__(self, ch=8, n_classes=2, emb_dim=32):
        super().__init__()
        self.emb_dim = emb_dim
        self.time_mlp = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(),
                                      nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(n_classes + 1, emb_dim)   # last index = "no label"
        self.inc = nn.Conv2d(1, ch, 3, padding=1)
        self.down = ResBlock(ch, ch, emb_dim)
        self.pool = nn.Conv2d(ch, 2 * ch, 3, stride=2, padding=1)
        self.mid = ResBlock(2 * ch, 2 * ch, emb_dim)
        self.attn = SelfAttention(2 * ch)
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                nn.Conv2d(2 * ch, ch, 3, padding=1))
        self.dec = ResBlock(2 * ch, ch, emb_dim)
        self.out = nn.Sequential(nn.GroupNorm(4, ch), nn.SiLU(), nn.Conv2d(ch, 1, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x, t, y):
        emb = self.time_mlp(timestep_embedding(t, self.emb_dim)) + self.class_emb(y)
        h1 = self.down(self.inc(x), emb)
        h = self.attn(self.mid(self.pool(h1), emb))
        h = self.dec(torch.cat([self.up(h), h1], dim=1), emb)
        return self.out(h)


def make_images(labels):
    """Class 0: horizontal stripes, class 1: vertical stripes, random phase and contrast."""
    coord = torch.arange(8).float()
    phase = torch.randint(0, 2, (len(labels), 1, 1)).float()
    amp = 0.6 + 0.4 * torch.rand(len(labels), 1, 1)
    rows = torch.cos(math.pi * (coord[:, None] + phase)).expand(-1, 8, 8)
    img = torch.where(labels[:, None, None] == 0, rows, rows.transpose(1, 2)) * amp
    return img[:, None]


model = UNet()
ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
print("params", sum(p.numel() for p in model.parameters()))
opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)
NULL = 2
for step in range(40):
    y = torch.randint(0, 2, (16,))
    x0 = make_images(y)
    t = torch.randint(0, T, (16,))
    noise = torch.randn_like(x0)
    ab = alphas_bar[t].view(-1, 1, 1, 1)
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
    y_in = torch.where(torch.rand(16) < 0.2, torch.full_like(y, NULL), y)
    loss = F.mse_loss(model(xt, t, y_in), noise)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    ema.update_parameters(model)
    if step % 8 == 0 or step == 39:
        print(f"step {step:2d} loss {loss.item():.4f} grad norm {grad_norm.item():.4f}")
print("ema steps", ema.n_averaged.item())


@torch.no_grad()
def ddim_sample(net, labels, guidance, n_steps=10):
    x = torch.randn(len(labels), 1, 8, 8)
    times = torch.linspace(T - 1, 0, n_steps).long()
    null = torch.full_like(labels, NULL)
    for i, t in enumerate(times.tolist()):
        tt = torch.full((len(labels),), t, dtype=torch.long)
        eps_pair = net(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([labels, null]))
        eps_c, eps_u = eps_pair.chunk(2)
        eps = eps_u + guidance * (eps_c - eps_u)
        ab = alphas_bar[t]
        ab_prev = alphas_bar[times[i + 1]] if i + 1 < len(times) else torch.tensor(1.0)
        x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
        x = ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps
    return x


def stripe_score(img):
    """Positive for horizontal stripes (rows differ), negative for vertical ones."""
    dy = (img[..., 1:, :] - img[..., :-1, :]).abs().mean((1, 2, 3))
    dx = (img[..., :, 1:] - img[..., :, :-1]).abs().mean((1, 2, 3))
    return dy - dx


labels = torch.tensor([0, 0, 1, 1])
for w in (0.0, 3.0):
    torch.manual_seed(7)
    samples = ddim_sample(ema.module, labels, w)
    print(f"guidance {w}: stripe scores", [round(v, 3) for v in stripe_score(samples).tolist()],
          "std", round(samples.std().item(), 3))
