"""ESRGAN/Real-ESRGAN style training in miniature, following BasicSR's code: residual dense
blocks (dense ``torch.cat`` connections, ``nn.LeakyReLU(0.2, inplace=True)``, the 0.2 residual
scaling) inside RRDBs, ``default_init_weights`` (``kaiming_normal_`` scaled by 0.1 under
``torch.no_grad``), nearest-neighbour upsampling with ``F.interpolate``, a second-order
degradation pipeline (an isotropic gaussian blur built with ``torch.meshgrid`` applied per
channel by a grouped ``F.conv2d`` with ``padding='same'`` after ``F.pad(mode='reflect')``,
bicubic downsampling, seeded gaussian noise, ``clamp_``), and a spectral-normalised U-Net-ish
discriminator (``nn.utils.spectral_norm`` and ``nn.utils.parametrizations.spectral_norm``)
trained with the relativistic average GAN loss from ``BCEWithLogitsLoss``. Also ``AdamW``,
``MultiStepLR``, ``requires_grad_`` toggling of the discriminator, ``named_parameters`` filters
and an L1 pixel loss."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(2)

yy, xx = np.mgrid[0:16, 0:16] / 16.0
hr_np = np.stack([np.stack([0.5 + 0.45 * np.cos(2 * np.pi * (rng.uniform(1, 3) * xx
                                                               + rng.uniform(0, 2) * yy))
                            for _ in range(3)]) for _ in range(4)]).astype(np.float32)
gt = torch.from_numpy(hr_np)


def gaussian_kernel(size=5, sigma=1.2):
    ax = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    gy, gx = torch.meshgrid(ax, ax, indexing="ij")
    k = torch.exp(-(gx ** 2 + gy ** 2) / (2 * sigma ** 2))
    return k / k.sum()


def filter2d(img, kernel):
    c = img.size(1)
    pad = kernel.size(-1) // 2
    img = F.pad(img, (pad, pad, pad, pad), mode="reflect")
    weight = kernel.expand(c, 1, *kernel.shape)
    return F.conv2d(img, weight, groups=c, padding="same")[..., pad:-pad, pad:-pad]


def degrade(img, gen):
    out = filter2d(img, gaussian_kernel(5, 1.2))
    out = F.interpolate(out, scale_factor=0.75, mode="bicubic", align_corners=False)
    out = out + torch.randn(out.shape, generator=gen) * 0.02
    out = filter2d(out, gaussian_kernel(3, 0.6))
    out = F.interpolate(out, size=(8, 8), mode="bicubic", align_corners=False)
    return out.clamp_(0, 1)


gen = torch.Generator().manual_seed(123)
lq = degrade(gt, gen)
print("lq", tuple(lq.shape), round(lq.mean().item(), 4), round(lq.std().item(), 4),
      "kernel sum", round(gaussian_kernel().sum().item(), 6))


def default_init_weights(module_list, scale=1.0, bias_fill=0.0):
    if not isinstance(module_list, list):
        module_list = [module_list]
    for module in module_list:
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
                m.weight.data *= scale
                if m.bias is not None:
                    m.bias.data.fill_(bias_fill)


class ResidualDenseBlock(nn.Module):
    def __init__(self, nf=8, gc=4):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, nf, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        default_init_weights([self.conv1, self.conv2, self.conv3], 0.1)

    def forward(self, x):
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.conv3(torch.cat((x, x1, x2), 1))
        return x3 * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, nf):
        super().__init__()
        self.rdb1, self.rdb2 = ResidualDenseBlock(nf), ResidualDenseBlock(nf)

    def forward(self, x):
        return self.rdb2(self.rdb1(x)) * 0.2 + x


class RRDBNet(nn.Module):
    def __init__(self, nf=8, nb=2):
        super().__init__()
        self.conv_first = nn.Conv2d(3, nf, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(nf) for _ in range(nb)])
        self.conv_body = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, True)

    def forward(self, x):
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(feat)


class Discriminator(nn.Module):
    def __init__(self, nf=8):
        super().__init__()
        sn = nn.utils.spectral_norm
        self.conv0 = nn.Conv2d(3, nf, 3, 1, 1)
        self.conv1 = sn(nn.Conv2d(nf, nf * 2, 4, 2, 1, bias=False))
        self.conv2 = nn.utils.parametrizations.spectral_norm(nn.Conv2d(nf * 2, nf, 3, 1, 1))
        self.out = nn.Conv2d(nf, 1, 3, 1, 1)

    def forward(self, x):
        x0 = F.leaky_relu(self.conv0(x), 0.2, inplace=True)
        x1 = F.leaky_relu(self.conv1(x0), 0.2, inplace=True)
        x2 = F.leaky_relu(self.conv2(x1), 0.2, inplace=True)
        x2 = F.interpolate(x2, scale_factor=2, mode="bilinear", align_corners=False) + x0
        return self.out(x2)


net_g, net_d = RRDBNet(), Discriminator()
print("G params", sum(p.numel() for p in net_g.parameters()),
      "D params", sum(p.numel() for p in net_d.parameters()),
      "D names", sorted(n for n, _ in net_d.named_parameters() if "conv1" in n or "conv2" in n))
print("D buffers", sorted(n for n, _ in net_d.named_buffers()))
opt_g = torch.optim.AdamW(net_g.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0)
opt_d = torch.optim.AdamW(net_d.parameters(), lr=1e-3, betas=(0.9, 0.99))
sched_g = torch.optim.lr_scheduler.MultiStepLR(opt_g, milestones=[8], gamma=0.5)
bce = nn.BCEWithLogitsLoss()

for it in range(12):
    for p in net_d.parameters():
        p.requires_grad = False
    opt_g.zero_grad()
    out = net_g(lq)
    l_pix = F.l1_loss(out, gt)
    real_pred = net_d(gt).detach()
    fake_pred = net_d(out)
    l_real = bce(real_pred - torch.mean(fake_pred), torch.zeros_like(real_pred))
    l_fake = bce(fake_pred - torch.mean(real_pred), torch.ones_like(fake_pred))
    l_gan = (l_real + l_fake) / 2
    l_g = l_pix + 0.005 * l_gan
    l_g.backward()
    opt_g.step()
    sched_g.step()

    net_d.requires_grad_(True)
    opt_d.zero_grad()
    fake_d = net_d(out.detach())
    real_d = net_d(gt)
    l_d_real = bce(real_d - torch.mean(fake_d.detach()), torch.ones_like(real_d)) * 0.5
    l_d_real.backward()
    fake_d = net_d(out.detach())
    l_d_fake = bce(fake_d - torch.mean(real_d.detach()), torch.zeros_like(fake_d)) * 0.5
    l_d_fake.backward()
    opt_d.step()
    if it % 4 == 0 or it == 11:
        print(f"it {it:2d} l_pix {l_pix.item():.4f} l_gan {l_gan.item():.4f} "
              f"l_d {(l_d_real + l_d_fake).item():.4f} lr_g {sched_g.get_last_lr()[0]:.5f}")

net_g.eval()
with torch.no_grad():
    sr = net_g(lq).clamp(0, 1).double()
    mse = ((sr - gt.double()) ** 2).mean()
    print("PSNR", round(10 * math.log10(1.0 / mse.item()), 3),
          "u0 norm", round(net_d.conv1.weight_u.norm().item(), 4),
          "sigma ratio", round(torch.linalg.matrix_norm(
              net_d.conv2.weight.flatten(1), ord=2).item(), 2))
