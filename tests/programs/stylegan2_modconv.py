"""A StyleGAN2-style synthesis network in miniature, following the structure of the official
and rosinality StyleGAN2 repositories: a mapping MLP with equalized learning rate (weights drawn
from N(0, 1) and scaled by ``1/sqrt(fan_in)`` at run time, ``lr_mul`` on the mapping layers),
modulated/demodulated 3x3 convolutions computed as one grouped ``F.conv2d`` over the batch
(per-sample weights reshaped to ``(B * out, in, k, k)`` with ``groups=B``), per-pixel noise
injection with a learned strength, ``F.interpolate`` upsampling between resolutions, ``toRGB``
skip outputs summed across scales, and bias + ``leaky_relu(0.2) * sqrt(2)``. A few steps of the
non-saturating logistic loss train it against a tiny discriminator, with the lazy R1 penalty
and the path-length regulariser computed by ``torch.autograd.grad(create_graph=True)``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class EqualLinear(nn.Module):
    def __init__(self, cin, cout, bias_init=0.0, lr_mul=1.0, activate=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(cin)
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x):
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(out, 0.2) * math.sqrt(2) if self.activate else out


class ModulatedConv2d(nn.Module):
    def __init__(self, cin, cout, k, style_dim, demodulate=True, upsample=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, cout, cin, k, k))
        self.scale = 1 / math.sqrt(cin * k * k)
        self.modulation = EqualLinear(style_dim, cin, bias_init=1.0)
        self.demodulate, self.upsample, self.pad = demodulate, upsample, k // 2
        self.cin, self.cout, self.k = cin, cout, k

    def forward(self, x, style):
        b = x.shape[0]
        s = self.modulation(style).view(b, 1, self.cin, 1, 1)
        w = self.scale * self.weight * s                       # (B, out, in, k, k)
        if self.demodulate:
            d = torch.rsqrt(w.pow(2).sum([2, 3, 4]) + 1e-8)
            w = w * d.view(b, self.cout, 1, 1, 1)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        h, wd = x.shape[-2:]
        x = x.reshape(1, b * self.cin, h, wd)
        w = w.view(b * self.cout, self.cin, self.k, self.k)
        out = F.conv2d(x, w, padding=self.pad, groups=b)
        return out.view(b, self.cout, h, wd)


class NoiseInjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x, noise=None):
        if noise is None:
            b, _, h, w = x.shape
            noise = x.new_empty(b, 1, h, w).normal_()
        return x + self.weight * noise


class StyledConv(nn.Module):
    def __init__(self, cin, cout, style_dim, upsample=False):
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, 3, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.bias = nn.Parameter(torch.zeros(1, cout, 1, 1))

    def forward(self, x, style, noise=None):
        out = self.noise(self.conv(x, style), noise)
        return F.leaky_relu(out + self.bias, 0.2) * math.sqrt(2)


class ToRGB(nn.Module):
    def __init__(self, cin, style_dim):
        super().__init__()
        self.conv = ModulatedConv2d(cin, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x, style, skip=None):
        out = self.conv(x, style) + self.bias
        if skip is not None:
            out = out + F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
        return out


class Generator(nn.Module):
    def __init__(self, style_dim=16, ch=8, n_mlp=3):
        super().__init__()
        layers = [EqualLinear(style_dim, style_dim, lr_mul=0.01, activate=True)
                  for _ in range(n_mlp)]
        self.style = nn.Sequential(*layers)
        self.input = nn.Parameter(torch.randn(1, ch, 4, 4))
        self.conv1 = StyledConv(ch, ch, style_dim)
        self.to_rgb1 = ToRGB(ch, style_dim)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        for _ in range(2):                                      # 4 -> 8 -> 16
            self.convs.append(StyledConv(ch, ch, style_dim, upsample=True))
            self.convs.append(StyledConv(ch, ch, style_dim))
            self.to_rgbs.append(ToRGB(ch, style_dim))
        self.style_dim = style_dim

    def forward(self, z, return_latents=False):
        z = z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8)   # PixelNorm
        w = self.style(z)
        x = self.conv1(self.input.repeat(z.shape[0], 1, 1, 1), w)
        skip = self.to_rgb1(x, w)
        for up, conv, to_rgb in zip(self.convs[::2], self.convs[1::2], self.to_rgbs):
            x = conv(up(x, w), w)
            skip = to_rgb(x, w, skip)
        return (skip, w) if return_latents else skip


class Discriminator(nn.Module):
    def __init__(self, ch=8):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, ch, 3, padding=1), nn.LeakyReLU(0.2),
            nn.AvgPool2d(2),
            nn.Conv2d(ch, ch, 3, padding=1), nn.LeakyReLU(0.2),
            nn.AvgPool2d(2), nn.Flatten(), nn.Linear(ch * 16, 1))

    def forward(self, x):
        return self.net(x)


G, D = Generator(), Discriminator()
print("G params", sum(p.numel() for p in G.parameters()),
      "mapping scale", round(G.style[0].scale, 6))

# the grouped convolution is the same as one convolution per sample
mc = G.convs[1].conv
x = torch.randn(3, 8, 8, 8)
style = torch.randn(3, 16)
grouped = mc(x, style)
per_sample = []
for i in range(3):
    s = mc.modulation(style[i:i + 1]).view(1, 1, 8, 1, 1)
    wi = mc.scale * mc.weight * s
    wi = wi * torch.rsqrt(wi.pow(2).sum([2, 3, 4]) + 1e-8).view(1, 8, 1, 1, 1)
    per_sample.append(F.conv2d(x[i:i + 1], wi[0], padding=1))
print("grouped == per-sample:", torch.allclose(grouped, torch.cat(per_sample), atol=1e-5))
print("demodulated output std", round(grouped.std().item(), 4))

# real images: smooth colour gradients
yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
phase = torch.rand(64, 3, 1, 1) * math.pi
real = torch.sin(2 * xx + phase) * torch.cos(yy - phase)

opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.0, 0.99))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.0, 0.99))
mean_path_length = torch.zeros(())
for step in range(6):
    batch = real[torch.randint(0, 64, (8,))]
    fake = G(torch.randn(8, 16))
    loss_d = F.softplus(D(fake.detach())).mean() + F.softplus(-D(batch)).mean()
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    r1 = torch.zeros(())
    if step % 2 == 0:                       # lazy R1 regularisation
        batch.requires_grad_(True)
        (grad_real,) = torch.autograd.grad(D(batch).sum(), batch, create_graph=True)
        r1 = grad_real.pow(2).reshape(8, -1).sum(1).mean()
        opt_d.zero_grad()
        (5.0 * r1 * 2).backward()
        opt_d.step()
    loss_g = F.softplus(-D(G(torch.randn(8, 16)))).mean()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    pl = torch.zeros(())
    if step % 2 == 1:                       # lazy path-length regularisation
        img, lat = G(torch.randn(4, 16), return_latents=True)
        noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (grad_w,) = torch.autograd.grad((img * noise).sum(), lat, create_graph=True)
        lengths = grad_w.pow(2).sum(1).sqrt()
        mean_path_length = mean_path_length + 0.01 * (lengths.mean().detach() - mean_path_length)
        pl = (lengths - mean_path_length).pow(2).mean()
        opt_g.zero_grad()
        (2.0 * 2 * pl).backward()
        opt_g.step()
    print(f"step {step} D {loss_d.item():.4f} G {loss_g.item():.4f} r1 {r1.item():.4f} "
          f"pl {pl.item():.4f} noise w {G.conv1.noise.weight.item():.4f}")

with torch.no_grad():
    torch.manual_seed(1)
    img = G(torch.randn(2, 16))
print("sample", tuple(img.shape), [round(v, 3) for v in img.mean((0, 2, 3)).tolist()],
      "mean path length", round(mean_path_length.item(), 4))
