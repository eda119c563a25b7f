"""Patch-based colour denoising with the metric code restoration repositories copy around: SSIM
from a separable Gaussian window applied with conv2d(groups=C) (pytorch-ssim style), PSNR,
F.unfold to cut overlapping patches, a small patch network, F.fold to put them back with the
overlap counted by folding ones (averaging), a pixel_unshuffle/pixel_shuffle U-shaped denoiser
trained with an SSIM+L1 loss, CosineAnnealingLR, and bad fold arguments caught and printed."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(1)
rng = np.random.default_rng(5)


def gaussian(window_size, sigma):
    gauss = torch.Tensor([math.exp(-(x - window_size // 2) ** 2 / float(2 * sigma**2))
                          for x in range(window_size)])
    return gauss / gauss.sum()


def create_window(window_size, channel):
    _1d = gaussian(window_size, 1.5).unsqueeze(1)
    _2d = _1d.mm(_1d.t()).float().unsqueeze(0).unsqueeze(0)
    return _2d.expand(channel, 1, window_size, window_size).contiguous()


def ssim(img1, img2, window_size=7, size_average=True):
    channel = img1.size(1)
    window = create_window(window_size, channel).type_as(img1)
    pad = window_size // 2
    mu1 = F.conv2d(img1, window, padding=pad, groups=channel)
    mu2 = F.conv2d(img2, window, padding=pad, groups=channel)
    mu1_sq, mu2_sq, mu1_mu2 = mu1.pow(2), mu2.pow(2), mu1 * mu2
    sigma1_sq = F.conv2d(img1 * img1, window, padding=pad, groups=channel) - mu1_sq
    sigma2_sq = F.conv2d(img2 * img2, window, padding=pad, groups=channel) - mu2_sq
    sigma12 = F.conv2d(img1 * img2, window, padding=pad, groups=channel) - mu1_mu2
    C1, C2 = 0.01**2, 0.03**2
    ssim_map = ((2 * mu1_mu2 + C1) * (2 * sigma12 + C2)) / (
        (mu1_sq + mu2_sq + C1) * (sigma1_sq + sigma2_sq + C2))
    if size_average:
        return ssim_map.mean()
    return ssim_map.mean(1).mean(1).mean(1)


def psnr(x, y):
    mse = F.mse_loss(x, y, reduction="none").mean(dim=[1, 2, 3])
    return 20 * torch.log10(1.0 / torch.sqrt(mse))


# synthetic RGB images: smooth blobs plus edges
H = W = 16
yy, xx = torch.meshgrid(torch.arange(H).float(), torch.arange(W).float(), indexing="ij")
centers = torch.from_numpy(rng.uniform(3, 13, size=(4, 3, 2))).float()
clean = torch.exp(-((xx - centers[..., 0, None, None]) ** 2
                    + (yy - centers[..., 1, None, None]) ** 2) / 18.0)
clean[:, :, :, W // 2:] += 0.2
clean = clean.clamp(0, 1)
noisy = (clean + 0.1 * torch.randn(clean.shape)).clamp(0, 1)
print("window\n", torch.round(create_window(7, 3)[0, 0, 3], decimals=4))
print(f"ssim(clean, clean) {ssim(clean, clean).item():.4f}")
print(f"ssim(noisy, clean) {ssim(noisy, clean).item():.4f}")
print("per-image ssim", [f"{v:.4f}" for v in ssim(noisy, clean, size_average=False).tolist()])
print("psnr", psnr(noisy, clean).numpy().round(3))

# --- overlapping patches: unfold -> per-patch model -> fold with averaging ---
k, stride = 6, 2
patches = F.unfold(noisy, kernel_size=k, stride=stride)
print("unfold", tuple(patches.shape))
L = patches.shape[-1]
patch_vecs = patches.transpose(1, 2).reshape(-1, 3, k, k)
counts = F.fold(torch.ones_like(patches), (H, W), kernel_size=k, stride=stride)
print("overlap counts min/max", counts.min().item(), counts.max().item())
recon = F.fold(patches, (H, W), kernel_size=k, stride=stride) / counts
print("fold(unfold(x))/counts == x:", torch.allclose(recon, noisy, atol=1e-6))

patch_net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.PReLU(8),
                          nn.Conv2d(8, 3, 3, padding=1))
opt = torch.optim.AdamW(patch_net.parameters(), lr=1e-2, weight_decay=1e-4)
clean_patches = F.unfold(clean, k, stride=stride).transpose(1, 2).reshape(-1, 3, k, k)
for it in range(5):
    idx = torch.randperm(patch_vecs.shape[0])[:32]
    out = patch_vecs[idx] - patch_net(patch_vecs[idx])
    loss = F.l1_loss(out, clean_patches[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"patch net l1 {loss.item():.4f}")
with torch.no_grad():
    den = patch_vecs - patch_net(patch_vecs)
    den_cols = den.reshape(4, L, 3 * k * k).transpose(1, 2)
    merged = F.fold(den_cols, output_size=(H, W), kernel_size=k, stride=stride) / counts
print(f"merged psnr {psnr(merged, clean).mean().item():.3f} ssim {ssim(merged, clean).item():.4f}")

try:
    F.fold(patches, output_size=(H, W), kernel_size=5, stride=stride)
except RuntimeError as e:
    print("RuntimeError:", str(e)[:60])


# --- pixel_unshuffle / pixel_shuffle denoiser ---
class ShuffleDenoiser(nn.Module):
    def __init__(self, ch=3, feats=16, r=2):
        super().__init__()
        self.down = nn.PixelUnshuffle(r)
        self.body = nn.Sequential(
            nn.Conv2d(ch * r * r, feats, 3, padding=1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(feats, feats, 3, padding=1, padding_mode="reflect"),
            nn.GELU(), nn.Conv2d(feats, ch * r * r, 1))
        self.up = nn.PixelShuffle(r)

    def forward(self, x):
        return x + self.up(self.body(self.down(x)))


net = ShuffleDenoiser()
x = torch.arange(32.0).reshape(1, 8, 2, 2)
print("pixel_shuffle\n", F.pixel_shuffle(x, 2)[0, 0])
print("roundtrip", torch.equal(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2), x))
opt = torch.optim.Adam(net.parameters(), lr=2e-3, betas=(0.9, 0.99))
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=1e-4)
for it in range(6):
    out = net(noisy)
    loss = 0.84 * (1 - ssim(out, clean)) + 0.16 * F.l1_loss(out, clean)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if it % 2 == 1:
        print(f"it {it} loss {loss.item():.4f} lr {opt.param_groups[0]['lr']:.6f}")
net.eval()
with torch.inference_mode():
    restored = net(noisy).clamp_(0, 1)
print(f"restored psnr {psnr(restored, clean).mean().item():.3f} "
      f"ssim {ssim(restored, clean).item():.4f}")
print("requires_grad", restored.requires_grad, "is_inference", restored.is_inference())
try:
    F.pixel_shuffle(torch.zeros(1, 6, 2, 2), 2)
except RuntimeError as e:
    print("RuntimeError:", e)
