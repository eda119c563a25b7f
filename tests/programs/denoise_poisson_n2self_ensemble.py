"""Poisson-Gaussian denoising pipeline as restoration repositories assemble it: a random-crop
Dataset with rot90/flip augmentation served by a DataLoader, Poisson-Gaussian noise with
torch.poisson and a generator, the Anscombe variance-stabilising transform, a median-filter
baseline built from Tensor.unfold, a noise-level estimate from the finest FFT band, Noise2Self
J-invariant grid masking (interpolated replacement by a donut conv), ReduceLROnPlateau on
validation PSNR, an EMA model from swa_utils, x8 self-ensemble at test time, and 8-bit
quantisation of the result."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, Dataset, random_split

torch.manual_seed(4)
rng = np.random.default_rng(21)

# ground truth: smooth random field upsampled with bicubic interpolation
low = torch.from_numpy(rng.random((1, 1, 6, 6))).float()
gt = F.interpolate(low, size=(24, 24), mode="bicubic", align_corners=False).clamp(0, 1)[0]
peak, read_sigma = 30.0, 0.02
photons = torch.poisson(gt * peak, generator=torch.Generator().manual_seed(0))
observed = photons / peak + read_sigma * torch.randn(gt.shape)
print("gt", tuple(gt.shape), f"mean {gt.mean():.4f}", "photons dtype", photons.dtype)
print(f"observed range [{observed.min():.3f}, {observed.max():.3f}]")


def anscombe(x):
    return 2.0 * torch.sqrt(torch.clamp(x + 3.0 / 8.0, min=0.0))


def inverse_anscombe(y):
    return (y / 2.0) ** 2 - 3.0 / 8.0


def psnr(a, b):
    return 10 * torch.log10(1.0 / F.mse_loss(a.clamp(0, 1), b))


stab = anscombe(photons)
print(f"anscombe std of residual {(stab - anscombe(gt * peak)).std():.4f}")
print(f"inverse roundtrip err {(inverse_anscombe(anscombe(photons)) - photons).abs().max():.2e}")


def median_filter(img, k=3):
    pad = k // 2
    padded = F.pad(img.unsqueeze(0), (pad, pad, pad, pad), mode="reflect")[0]
    windows = padded.unfold(-2, k, 1).unfold(-2, k, 1)
    return windows.contiguous().view(*img.shape, k * k).median(dim=-1).values


med = median_filter(observed)
print(f"psnr noisy {psnr(observed, gt):.3f} median {psnr(med, gt):.3f}")

# noise level from the highest-frequency part of the spectrum
spec = torch.fft.fftshift(torch.fft.fft2(observed[0]))
yy, xx = torch.meshgrid(torch.arange(24) - 12, torch.arange(24) - 12, indexing="ij")
high = torch.hypot(yy.float(), xx.float()) > 9
sigma_est = spec[high].abs().pow(2).mean().sqrt() / 24
print(f"fft noise estimate {sigma_est.item():.4f} (true ~{observed.sub(gt).std().item():.4f})")


class CropDataset(Dataset):
    def __init__(self, noisy, size=8, n=24):
        self.noisy, self.size, self.n = noisy, size, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(100 + i)
        top, left = torch.randint(0, self.noisy.shape[-1] - self.size + 1, (2,), generator=g)
        crop = self.noisy[:, top:top + self.size, left:left + self.size]
        k = int(torch.randint(0, 4, (1,), generator=g))
        crop = torch.rot90(crop, k, dims=(1, 2))
        if torch.rand(1, generator=g).item() < 0.5:
            crop = crop.flip(-1)
        return crop


train_set, val_set = random_split(CropDataset(observed), [0.75, 0.25],
                                  generator=torch.Generator().manual_seed(2))
print("split", len(train_set), len(val_set), "val idx", sorted(val_set.indices))
loader = DataLoader(train_set, batch_size=6, shuffle=True,
                    generator=torch.Generator().manual_seed(5))
first = next(iter(loader))
print("batch", first.shape, f"{first.sum().item():.3f}")

# Noise2Self: a grid of masked pixels replaced by the mean of their 4 neighbours
donut = torch.tensor([[0.0, 0.25, 0.0], [0.25, 0.0, 0.25], [0.0, 0.25, 0.0]]).view(1, 1, 3, 3)


def grid_mask(shape, phase, width=3):
    h, w = shape[-2:]
    rows = (torch.arange(h) % width == phase // width).unsqueeze(1)
    cols = (torch.arange(w) % width == phase % width).unsqueeze(0)
    return (rows & cols).to(torch.float32).expand(shape)


def mask_input(x, mask):
    interp = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), donut)
    return x * (1 - mask) + interp * mask


net = nn.Sequential(nn.Conv2d(1, 12, 3, padding=1), nn.SiLU(),
                    nn.Conv2d(12, 12, 3, padding=2, dilation=2), nn.SiLU(),
                    nn.Conv2d(12, 1, 1))
ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.9))
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=0)
val_batch = torch.stack([val_set[i] for i in range(len(val_set))])
step = 0
for epoch in range(8):
    for batch in loader:
        mask = grid_mask(batch.shape, step % 9)
        out = net(mask_input(batch, mask))
        loss = F.mse_loss(out * mask, batch * mask, reduction="sum") / mask.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema.update_parameters(net)
        step += 1
    with torch.no_grad():
        val_loss = F.mse_loss(net(val_batch), val_batch)
    plateau.step(-val_loss)
    print(f"epoch {epoch} loss {loss.item():.5f} val {val_loss.item():.5f} "
          f"lr {opt.param_groups[0]['lr']:.5f} ema n {ema.n_averaged.item()}")


def self_ensemble(model, img):
    outs = []
    for flip in (False, True):
        for k in range(4):
            aug = torch.rot90(img.flip(-1) if flip else img, k, dims=(-2, -1))
            out = torch.rot90(model(aug), -k, dims=(-2, -1))
            outs.append(out.flip(-1) if flip else out)
    return torch.stack(outs).mean(dim=0)


with torch.no_grad():
    single = net(observed.unsqueeze(0))[0]
    ens = self_ensemble(ema.module, observed.unsqueeze(0))[0]
print(f"psnr single {psnr(single, gt):.3f} ema x8 {psnr(ens, gt):.3f}")
q = ens.clamp(0, 1).mul(255).round().to(torch.uint8)
print("uint8", q.dtype, q.shape, q.min().item(), q.max().item())
print(q[0, :3, :6])
print(f"psnr after quantisation {psnr(q.float() / 255, gt):.3f}")
try:
    F.pad(observed.unsqueeze(0), (30, 30, 0, 0), mode="reflect")
except RuntimeError as e:
    print("RuntimeError:", e)
