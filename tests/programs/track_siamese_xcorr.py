"""Siamese trackers: SiamFC's cross-correlation and SiamRPN++'s depth-wise correlation.

Follows the SiamFC / SiamRPN++ PyTorch implementations (pysot, siamfc-pytorch): a shared
backbone embeds an exemplar patch z and a larger search region x; the response map is the
cross-correlation of the two, computed for the whole batch with one grouped ``F.conv2d``
(batch folded into channels, ``groups=batch``); the depth-wise variant uses
``groups=batch*channels``. Training uses the balanced logistic loss on a label map of
positives near the centre, SGD with momentum, nesterov and weight decay and an
``ExponentialLR`` schedule; inference upsamples the response (bicubic), applies a Hann
cosine window and a scale penalty, and locates the peak with ``torch.unravel_index``.
"""

import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(3)


class Backbone(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, c, 3), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 1),
            nn.Conv2d(c, c, 3, groups=2), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3),
        )

    def forward(self, x):
        return self.features(x)


def xcorr_fast(z, x):
    """SiamFC: one response channel per pair, batch folded into groups."""
    b = z.size(0)
    out = F.conv2d(x.view(1, -1, x.size(2), x.size(3)), z, groups=b)
    return out.view(b, -1, out.size(-2), out.size(-1))


def xcorr_depthwise(x, kernel):
    """SiamRPN++: channel-by-channel correlation."""
    batch, channel = kernel.size(0), kernel.size(1)
    x = x.view(1, batch * channel, x.size(2), x.size(3))
    kernel = kernel.view(batch * channel, 1, kernel.size(2), kernel.size(3))
    out = F.conv2d(x, kernel, groups=batch * channel)
    return out.view(batch, channel, out.size(2), out.size(3))


class SiamFC(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.adjust = nn.BatchNorm2d(1)
        self.head = nn.Sequential(nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU(), nn.Conv2d(8, 2, 1))

    def forward(self, z, x):
        fz, fx = self.backbone(z), self.backbone(x)
        fc = self.adjust(xcorr_fast(fz, fx)) * 0.1
        dw = self.head(xcorr_depthwise(fx, fz))
        return fc, dw


def make_pair(shift):
    """A bright blob on noise; the search region shows it moved by ``shift``."""
    yy, xx = np.mgrid[0:31, 0:31]
    cy, cx = 15 + shift[0], 15 + shift[1]
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 8.0)
    search = blob + 0.1 * rng.standard_normal((31, 31))
    exemplar = np.exp(-((yy[:15, :15] - 7) ** 2 + (xx[:15, :15] - 7) ** 2) / 8.0)
    exemplar = exemplar + 0.1 * rng.standard_normal((15, 15))
    return exemplar.astype(np.float32), search.astype(np.float32)


shifts = [(0, 0), (2, -1), (-3, 2), (1, 3), (-2, -2), (3, 0), (0, -3), (-1, 1)]
pairs = [make_pair(s) for s in shifts]
z = torch.from_numpy(np.stack([p[0] for p in pairs]))[:, None]
x = torch.from_numpy(np.stack([p[1] for p in pairs]))[:, None]
target = torch.tensor(shifts, dtype=torch.float32)

model = SiamFC()
fc, dw = model(z, x)
print("exemplar feat", tuple(model.backbone(z).shape),
      "search feat", tuple(model.backbone(x).shape))
print("response", tuple(fc.shape), "depthwise head", tuple(dw.shape))
R = fc.shape[-1]


def logistic_labels(size, radius, shifts, stride=1):
    ys = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    grid_y, grid_x = torch.meshgrid(ys, ys, indexing="ij")
    dist = torch.sqrt((grid_y[None] - shifts[:, 0, None, None] / stride) ** 2
                      + (grid_x[None] - shifts[:, 1, None, None] / stride) ** 2)
    labels = torch.where(dist <= radius, torch.ones_like(dist), torch.zeros_like(dist))
    return labels.unsqueeze(1)


labels = logistic_labels(R, 1.5, target)
pos_num = labels.sum(dim=(1, 2, 3), keepdim=True)
neg_num = (1 - labels).sum(dim=(1, 2, 3), keepdim=True)
weights = torch.where(labels == 1, 0.5 / pos_num, 0.5 / neg_num)
print("positives per pair:", pos_num.flatten().int().tolist())

optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                            weight_decay=5e-4)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
model.train()
for epoch in range(8):
    optimizer.zero_grad(set_to_none=True)
    fc, dw = model(z, x)
    loss_fc = F.binary_cross_entropy_with_logits(fc, labels, weight=weights, reduction="sum") / 8
    cls = dw[:, :1]
    loss_dw = F.binary_cross_entropy_with_logits(
        F.interpolate(cls, size=(R, R), mode="nearest"), labels, pos_weight=torch.tensor(3.0))
    loss = loss_fc + 0.5 * loss_dw
    loss.backward()
    gnorm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
    optimizer.step()
    scheduler.step()
    print(f"epoch {epoch} loss_fc {loss_fc.item():.4f} loss_dw {loss_dw.item():.4f} "
          f"|g| {gnorm.item():.3f} lr {scheduler.get_last_lr()[0]:.4f}")

# ---- inference: SiamFC's tracking step over three scales ----
model.eval()
window = torch.hann_window(R * 4, periodic=False)
hann = torch.outer(window, window)
hann = hann / hann.sum()
scale_factors = 1.0375 ** torch.linspace(-1, 1, 3)
scale_penalty = torch.tensor([0.9745, 1.0, 0.9745])
with torch.no_grad():
    z0 = z[:1]
    for k in range(4):
        scaled = [F.interpolate(x[k:k + 1], scale_factor=float(s), mode="bilinear",
                                align_corners=False, recompute_scale_factor=False)[..., :31, :31]
                  for s in scale_factors]
        xs = torch.cat([F.pad(t, (0, 31 - t.shape[-1], 0, 31 - t.shape[-2]), mode="replicate")
                        for t in scaled])
        resp, _ = model(z0.expand(3, -1, -1, -1), xs)
        resp = F.interpolate(resp, scale_factor=4, mode="bicubic", align_corners=False)
        resp = resp.squeeze(1) * scale_penalty[:, None, None]
        best_scale = int(resp.flatten(1).amax(1).argmax())
        r = resp[best_scale]
        r = r - r.min()
        r = r / (r.sum() + 1e-16)
        r = 0.824 * r + 0.176 * hann
        peak = torch.unravel_index(r.argmax(), r.shape)
        disp = (torch.stack(peak).float() - (r.shape[-1] - 1) / 2) / 4
        print(f"pair {k}: scale {best_scale} peak {tuple(int(p) for p in peak)} "
              f"displacement {[round(v, 2) for v in disp.tolist()]} true {shifts[k]}")

# smoothing a response with a 2x2 box filter keeps its size with padding="same"
box = torch.full((1, 1, 2, 2), 0.25)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    smoothed = F.conv2d(fc[:2].detach(), box, padding="same")
    smoothed = F.conv2d(fc[:2].detach(), box, padding="same")
print("smoothed", tuple(smoothed.shape), [w.category.__name__ for w in caught],
      str(caught[0].message)[:70] if caught else None)

# ---- a correlation-filter baseline (MOSSE) on the same search regions, in the Fourier domain
def gaussian_response(size, sigma, shift=(0, 0)):
    ys = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-((ys[:, None] - shift[0]) ** 2 + (ys[None, :] - shift[1]) ** 2) / (2 * sigma**2))
    return torch.fft.ifftshift(g)


cos_window = torch.outer(torch.hann_window(31), torch.hann_window(31))
G = torch.fft.fft2(gaussian_response(31, 2.0))
F_x = torch.fft.fft2(x[0, 0] * cos_window)
power = F_x * F_x.conj()
print("power spectrum imag == 0:", bool((power.imag == 0).all()), power.dtype)
H_conj = (G * F_x.conj()) / (power + 0.01)
for k in range(1, 4):
    resp = torch.fft.ifft2(H_conj * torch.fft.fft2(x[k, 0] * cos_window)).real
    peak = torch.unravel_index(torch.fft.fftshift(resp).argmax(), resp.shape)
    moved = [int(p) - 15 for p in peak]
    true = tuple(a - b for a, b in zip(shifts[k], shifts[0]))
    print(f"MOSSE pair {k}: peak shift {moved} (true {true}) "
          f"psr {((resp.max() - resp.mean()) / resp.std()).item():.2f}")

# shape errors a tracker author meets
try:
    xcorr_fast(z[:3], x)
except RuntimeError as err:
    print("RuntimeError:", str(err).split("\n")[0][:90])
print(fc[0, 0, :3, :3])
