"""Single-image super-resolution as the ESPCN/EDSR/BasicSR reference code trains it: an ESPCN
with ``nn.PixelShuffle`` (and a ``nn.PixelUnshuffle`` round trip), an EDSR-style residual
block body with ``res_scale`` and a ``MeanShift`` built from a frozen 1x1 conv, L1 and
Charbonnier losses, PSNR in float64 on the Y channel (RGB->YCbCr with a matrix), bicubic
baselines with ``F.interpolate(mode='bicubic', align_corners=False, antialias=...)`` for both
down- and upsampling, an EMA of the weights with ``torch.optim.swa_utils.AveragedModel``
(``get_ema_multi_avg_fn``, ``use_buffers=True``), ``nn.utils.clip_grad_norm_`` and
``clip_grad_value_``, ``CosineAnnealingLR`` and ``torch.clamp``/``round`` quantisation of the
output to 8-bit."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

torch.manual_seed(0)
rng = np.random.default_rng(7)
SCALE = 2

# smooth synthetic HR images (sums of sinusoids) and their bicubic-antialiased LR versions
yy, xx = np.mgrid[0:24, 0:24] / 24.0
hr_np = np.zeros((6, 3, 24, 24), np.float32)
for i in range(6):
    for c in range(3):
        f = rng.uniform(1, 4, size=2)
        hr_np[i, c] = 0.5 + 0.4 * np.sin(2 * np.pi * (f[0] * xx + f[1] * yy) + rng.uniform(0, 6))
hr = torch.from_numpy(hr_np)
lr = F.interpolate(hr, scale_factor=1 / SCALE, mode="bicubic", align_corners=False,
                   antialias=True).clamp(0, 1)
print("lr", tuple(lr.shape), "hr", tuple(hr.shape), round(lr.mean().item(), 4))

RGB2Y = torch.tensor([65.481, 128.553, 24.966], dtype=torch.float64) / 255.0


def psnr_y(sr, gt, border=SCALE):
    sr, gt = sr.double(), gt.double()
    y_sr = torch.einsum("nchw,c->nhw", sr, RGB2Y) + 16 / 255.0
    y_gt = torch.einsum("nchw,c->nhw", gt, RGB2Y) + 16 / 255.0
    diff = (y_sr - y_gt)[:, border:-border, border:-border]
    mse = diff.pow(2).mean(dim=(1, 2))
    return (10 * torch.log10(1.0 / mse)).mean().item()


for aa in (False, True):
    up = F.interpolate(lr, scale_factor=SCALE, mode="bicubic", align_corners=False, antialias=aa)
    print(f"bicubic x{SCALE} antialias={aa}: PSNR-Y {psnr_y(up.clamp(0, 1), hr):.4f}")
for mode in ("nearest", "bilinear", "nearest-exact", "area"):
    up = F.interpolate(lr, size=hr.shape[-2:], mode=mode)
    print(f"{mode:13s} PSNR-Y {psnr_y(up, hr):.4f}")

x = torch.arange(2 * 8 * 4 * 4, dtype=torch.float32).view(2, 8, 4, 4)
shuffled = nn.PixelShuffle(2)(x)
print("pixel shuffle", tuple(shuffled.shape), "round trip",
      torch.equal(nn.PixelUnshuffle(2)(shuffled), x), shuffled[0, 0, :2, :4].tolist())


class MeanShift(nn.Conv2d):
    def __init__(self, rgb_mean=(0.45, 0.44, 0.40), sign=-1):
        super().__init__(3, 3, kernel_size=1)
        self.weight.data = torch.eye(3).view(3, 3, 1, 1)
        self.bias.data = sign * torch.Tensor(rgb_mean)
        for p in self.parameters():
            p.requires_grad = False


class ResBlock(nn.Module):
    def __init__(self, c, res_scale=0.1):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(True),
                                  nn.Conv2d(c, c, 3, padding=1))
        self.res_scale = res_scale

    def forward(self, x):
        return x + self.body(x).mul(self.res_scale)


class ESPCN(nn.Module):
    def __init__(self, scale=SCALE, c=16, n_blocks=2):
        super().__init__()
        self.sub_mean, self.add_mean = MeanShift(sign=-1), MeanShift(sign=1)
        self.head = nn.Conv2d(3, c, 5, padding=2)
        self.body = nn.Sequential(*[ResBlock(c) for _ in range(n_blocks)])
        self.tail = nn.Sequential(nn.Conv2d(c, 3 * scale ** 2, 3, padding=1),
                                  nn.PixelShuffle(scale))
        for m in self.modules():
            if isinstance(m, nn.Conv2d) and m.weight.requires_grad:
                std = math.sqrt(2 / (m.out_channels * m.weight[0][0].numel()))
                nn.init.normal_(m.weight, 0.0, std)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.sub_mean(x)
        h = self.head(x)
        h = self.body(h) + h
        return self.add_mean(self.tail(h))


def charbonnier(pred, target, eps=1e-3):
    return torch.mean(torch.sqrt((pred - target) ** 2 + eps ** 2))


model = ESPCN()
ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
trainable = [p for p in model.parameters() if p.requires_grad]
print("trainable", sum(p.numel() for p in trainable), "frozen",
      sum(p.numel() for p in model.parameters() if not p.requires_grad))
opt = torch.optim.Adam(trainable, lr=2e-3, betas=(0.9, 0.99))
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30, eta_min=1e-4)
for it in range(30):
    idx = torch.randperm(6)[:4]
    sr = model(lr[idx])
    loss = F.l1_loss(sr, hr[idx]) if it < 15 else charbonnier(sr, hr[idx])
    opt.zero_grad()
    loss.backward()
    total = nn.utils.clip_grad_norm_(trainable, max_norm=0.5, norm_type=2.0)
    nn.utils.clip_grad_value_(trainable, clip_value=0.05)
    opt.step()
    sched.step()
    ema.update_parameters(model)
    if it % 10 == 0 or it == 29:
        print(f"it {it:2d} loss {loss.item():.5f} gnorm {total.item():.4f} "
              f"lr {sched.get_last_lr()[0]:.6f}")

print("ema n_averaged", int(ema.n_averaged), "keys", len(ema.state_dict()),
      sorted(ema.state_dict())[:2])
model.eval()
with torch.no_grad():
    for name, net in (("model", model), ("ema", ema)):
        sr = net(lr).clamp(0, 1)
        q = torch.round(sr * 255) / 255
        print(f"{name:5s} PSNR-Y {psnr_y(sr, hr):.4f} quantised {psnr_y(q, hr):.4f} "
              f"8-bit max {int((sr * 255).round().to(torch.uint8).max())}")
