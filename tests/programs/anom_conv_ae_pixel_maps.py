"""Reconstruction-based defect segmentation as the MVTec-style baselines write it: a small
convolutional autoencoder trained on defect-free textures, per-pixel anomaly maps from the
squared error and from a patch-wise SSIM built with ``avg_pool2d``, Gaussian smoothing with a
depthwise ``conv2d``, a patch-level score from ``F.unfold``/``F.fold`` (overlap-averaged),
image-level scores by max and top-k mean, and image and pixel AUROC by hand (rank statistic
and trapezoid rule), plus a threshold chosen on the normal validation maps."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)  # long OneCycle runs drift in float32
rng = np.random.default_rng(0)
S = 16


def texture(n):
    yy, xx = np.meshgrid(np.arange(S), np.arange(S), indexing="ij")
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    freq = rng.uniform(0.6, 0.9, size=(n, 1, 1))
    img = 0.5 + 0.3 * np.sin(freq * xx[None] + phase) * np.cos(0.4 * yy[None])
    return img + 0.03 * rng.standard_normal((n, S, S))


good = texture(160)
test_good = texture(20)
test_bad = texture(20)
masks = np.zeros((20, S, S))
for i in range(20):
    r, c = rng.integers(2, S - 6, size=2)
    h, w = rng.integers(3, 6, size=2)
    test_bad[i, r : r + h, c : c + w] = rng.uniform(0.0, 1.0)
    masks[i, r : r + h, c : c + w] = 1

x_train = torch.from_numpy(good).to(torch.get_default_dtype()).unsqueeze(1)
x_test = (
    torch.from_numpy(np.concatenate([test_good, test_bad]))
    .to(torch.get_default_dtype())
    .unsqueeze(1)
)
y_test = torch.cat([torch.zeros(20), torch.ones(20)]).long()
m_test = torch.from_numpy(np.concatenate([np.zeros((20, S, S)), masks])).bool().unsqueeze(1)
print("test pixels anomalous:", int(m_test.sum()), "of", m_test.numel())

train_ds, val_ds = random_split(
    TensorDataset(x_train), [0.875, 0.125], generator=torch.Generator().manual_seed(42)
)
print("split", len(train_ds), len(val_ds))
loader = DataLoader(
    train_ds,
    batch_size=20,
    shuffle=True,
    generator=torch.Generator().manual_seed(7),
    drop_last=True,
)


class ConvAE(nn.Module):
    def __init__(self, z=16):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1),
            nn.BatchNorm2d(8),
            nn.LeakyReLU(0.2),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),
            nn.BatchNorm2d(16),
            nn.LeakyReLU(0.2),
            nn.Conv2d(16, z, 4, stride=1, padding=0),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(z, 16, 4, stride=1, padding=0),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 4, stride=2, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        z = self.encoder(x)
        return self.decoder(z), z


model = ConvAE()
for m in model.modules():
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.kaiming_normal_(m.weight, a=0.2, mode="fan_out", nonlinearity="leaky_relu")
        nn.init.zeros_(m.bias)
print("params", sum(p.numel() for p in model.parameters() if p.requires_grad))


def ssim_map(a, b, win=5, c1=0.01**2, c2=0.03**2):
    pad = win // 2
    mu_a = F.avg_pool2d(a, win, 1, pad, count_include_pad=False)
    mu_b = F.avg_pool2d(b, win, 1, pad, count_include_pad=False)
    saa = F.avg_pool2d(a * a, win, 1, pad, count_include_pad=False) - mu_a**2
    sbb = F.avg_pool2d(b * b, win, 1, pad, count_include_pad=False) - mu_b**2
    sab = F.avg_pool2d(a * b, win, 1, pad, count_include_pad=False) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2))


opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, total_steps=10 * len(loader))
for epoch in range(10):
    model.train()
    tot = 0.0
    for (xb,) in loader:
        rec, _ = model(xb)
        loss = F.mse_loss(rec, xb) + 0.5 * (1 - ssim_map(rec, xb).mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        opt.step()
        sched.step()
        tot += loss.item()
    if epoch % 2 == 1:
        print(f"epoch {epoch + 1:2d} loss {tot / len(loader):.4f} lr {sched.get_last_lr()[0]:.5f}")


def gaussian_kernel(sigma=1.0, size=5):
    ax = torch.arange(size, dtype=torch.get_default_dtype()) - (size - 1) / 2
    g = torch.exp(-(ax**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g).expand(1, 1, size, size)


def anomaly_maps(x):
    with torch.no_grad():
        rec, z = model(x)
    err = (x - rec).pow(2)
    sm = 1 - ssim_map(x, rec)
    amap = 0.5 * err / err.amax(dim=(2, 3), keepdim=True).clamp_min(1e-8) + 0.5 * sm.clamp(0, 2) / 2
    k = gaussian_kernel()
    smooth = F.conv2d(F.pad(amap, (2, 2, 2, 2), mode="reflect"), k)
    return smooth, rec, z


def auroc(scores, labels):
    scores, labels = scores.flatten().double(), labels.flatten().bool()
    ranks = torch.empty_like(scores)
    ranks[torch.argsort(scores)] = torch.arange(1, scores.numel() + 1, dtype=torch.float64)
    n_pos, n_neg = labels.sum().item(), (~labels).sum().item()
    return ((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)).item()


def roc_trapz(scores, labels, n_thr=50):
    thr = torch.linspace(scores.max().item(), scores.min().item(), n_thr)
    pos = labels.bool()
    tpr = torch.stack([(scores[pos] >= t).to(scores.dtype).mean() for t in thr])
    fpr = torch.stack([(scores[~pos] >= t).to(scores.dtype).mean() for t in thr])
    return torch.trapz(tpr, fpr).item()


model.eval()
maps, rec, z = anomaly_maps(x_test)
print(
    "maps",
    tuple(maps.shape),
    "latent",
    tuple(z.shape),
    f"rec err {F.l1_loss(rec, x_test).item():.4f}",
)

# patch scores: mean over 4x4 windows (stride 2), folded back with overlap averaging
cols = F.unfold(maps, kernel_size=4, stride=2)
patch_score = cols.mean(dim=1, keepdim=True).expand_as(cols)
folded = F.fold(patch_score, output_size=(S, S), kernel_size=4, stride=2)
norm = F.fold(torch.ones_like(cols), output_size=(S, S), kernel_size=4, stride=2)
patch_map = folded / norm
print("unfold", tuple(cols.shape), "coverage min/max", norm.min().item(), norm.max().item())

img_max = maps.flatten(1).max(dim=1).values
img_topk = maps.flatten(1).topk(10, dim=1).values.mean(1)
print(
    f"image AUROC  max {auroc(img_max, y_test):.4f}  top10 {auroc(img_topk, y_test):.4f}  "
    f"trapz {roc_trapz(img_max, y_test):.4f}"
)
print(f"pixel AUROC  smooth {auroc(maps, m_test):.4f}  patch {auroc(patch_map, m_test):.4f}")

val_x = torch.stack([val_ds[i][0] for i in range(len(val_ds))])
val_maps, _, _ = anomaly_maps(val_x)
thr = torch.quantile(val_maps.flatten(), 0.99).item()
pred = maps > thr
inter = (pred & m_test).sum().item()
union = (pred | m_test).sum().item()
print(f"threshold {thr:.4f} IoU {inter / union:.4f} predicted {int(pred.sum())}")
per_img = pred.flatten(1).any(1)
print(
    "detected defective",
    int(per_img[y_test == 1].sum()),
    "flagged good",
    int(per_img[y_test == 0].sum()),
)
worst = torch.argmax(img_max).item()
rows = maps[worst, 0, ::4, ::4]
print("worst image", worst, [[round(v, 3) for v in r] for r in rows.tolist()])
print(f"psnr good {10 * math.log10(1 / F.mse_loss(rec[:20], x_test[:20]).item()):.3f}")
