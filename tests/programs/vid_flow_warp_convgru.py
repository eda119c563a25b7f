"""Self-supervised optical flow and next-frame prediction on tiny synthetic videos, in the
manner of PWC-Net / UnFlow / PredRNN reference code: a pixel grid from
``torch.meshgrid(indexing="xy")``, backward warping with ``F.grid_sample(align_corners=True,
padding_mode="border")`` and a validity mask, a local correlation cost volume built from
``F.pad`` + shifted slices (``torch.stack`` over displacements), a small flow estimator trained
with a Charbonnier photometric loss, an SSIM term (``avg_pool2d``) and edge-aware smoothness
(``torch.diff``, ``torch.exp``); end-point error against the true flow; a ConvGRU cell unrolled
over frames (``torch.sigmoid``/``tanh`` gates, ``split``) predicting the next frame, PSNR via
``torch.log10``, ``torch.gradient`` image gradients; float64."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(5)
N, H, W = 4, 12, 12


def texture(n):
    base = rng.standard_normal((n, 1, H // 3, W // 3))
    return F.interpolate(torch.from_numpy(base), size=(H, W), mode="bicubic", align_corners=True)


def make_grid(n, h, w, dtype=torch.float64):
    xs, ys = torch.meshgrid(torch.arange(w, dtype=dtype), torch.arange(h, dtype=dtype),
                            indexing="xy")
    return torch.stack([xs, ys], dim=0).expand(n, 2, h, w)


def warp(img, flow):
    """Sample img at (x + u, y + v): backward warping, border padding, and a validity mask."""
    n, _, h, w = img.shape
    coords = make_grid(n, h, w) + flow
    gx = 2.0 * coords[:, 0] / (w - 1) - 1.0
    gy = 2.0 * coords[:, 1] / (h - 1) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    out = F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=True)
    valid = ((gx.abs() <= 1) & (gy.abs() <= 1)).unsqueeze(1).to(img.dtype)
    return out, valid


frame0 = texture(N)
true_flow = torch.from_numpy(rng.uniform(-1.5, 1.5, (N, 2, 1, 1))).expand(N, 2, H, W)
frame1, _ = warp(frame0, -true_flow)                     # frame1(x) = frame0(x - flow)
check, valid = warp(frame1, true_flow)
print("frames", frame0.shape, frame0.dtype, "warp back error",
      round(((check - frame0).abs() * valid).sum().item() / valid.sum().item(), 4),
      "valid", valid.mean().round(decimals=3).item())


def cost_volume(f1, f2, max_disp=2):
    padded = F.pad(f2, [max_disp] * 4)
    costs = []
    for dy in range(2 * max_disp + 1):
        for dx in range(2 * max_disp + 1):
            shifted = padded[:, :, dy:dy + f1.shape[2], dx:dx + f1.shape[3]]
            costs.append((f1 * shifted).mean(1))
    return torch.stack(costs, dim=1)


class FlowNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.feat = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.LeakyReLU(0.1))
        self.est = nn.Sequential(nn.Conv2d(25 + 8, 16, 3, padding=1), nn.LeakyReLU(0.1),
                                 nn.Conv2d(16, 2, 3, padding=1))

    def forward(self, a, b):
        fa, fb = self.feat(a), self.feat(b)
        return self.est(torch.cat([F.leaky_relu(cost_volume(fa, fb), 0.1), fa], 1))


def charbonnier(x, eps=1e-3, alpha=0.45):
    return ((x ** 2 + eps ** 2) ** alpha).mean()


def ssim(x, y, c1=0.01 ** 2, c2=0.03 ** 2):
    mu_x, mu_y = F.avg_pool2d(x, 3, 1, 1), F.avg_pool2d(y, 3, 1, 1)
    sx = F.avg_pool2d(x * x, 3, 1, 1) - mu_x ** 2
    sy = F.avg_pool2d(y * y, 3, 1, 1) - mu_y ** 2
    sxy = F.avg_pool2d(x * y, 3, 1, 1) - mu_x * mu_y
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sx + sy + c2))
    return torch.clamp((1 - s) / 2, 0, 1).mean()


def smoothness(flow, img, edge=10.0):
    dfx, dfy = torch.diff(flow, dim=3).abs(), torch.diff(flow, dim=2).abs()
    wx = torch.exp(-edge * torch.diff(img, dim=3).abs().mean(1, keepdim=True))
    wy = torch.exp(-edge * torch.diff(img, dim=2).abs().mean(1, keepdim=True))
    return (dfx * wx).mean() + (dfy * wy).mean()


net = FlowNet().double()
opt = torch.optim.Adam(net.parameters(), lr=5e-3)
for step in range(14):
    flow = net(frame0, frame1)                          # flow from frame0 to frame1
    warped, valid = warp(frame1, flow)
    photo = charbonnier((warped - frame0) * valid) + 0.5 * ssim(warped, frame0)
    loss = photo + 0.05 * smoothness(flow, frame0)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 5 == 0 or step == 13:
        epe = (flow - true_flow).pow(2).sum(1).sqrt().mean()
        print(f"step {step} loss {loss.item():.4f} EPE {epe.item():.4f}")


class ConvGRUCell(nn.Module):
    def __init__(self, cin, ch, k=3):
        super().__init__()
        self.ch = ch
        self.gates = nn.Conv2d(cin + ch, 2 * ch, k, padding=k // 2)
        self.cand = nn.Conv2d(cin + ch, ch, k, padding=k // 2)

    def forward(self, x, h):
        if h is None:
            h = x.new_zeros(x.shape[0], self.ch, *x.shape[2:])
        z, r = torch.sigmoid(self.gates(torch.cat([x, h], 1))).split(self.ch, dim=1)
        n = torch.tanh(self.cand(torch.cat([x, r * h], 1)))
        return (1 - z) * h + z * n


video = [frame0]
for t in range(4):
    video.append(warp(video[-1], -true_flow)[0])
video = torch.stack(video, dim=1)                         # (N, T, 1, H, W)
cell, readout = ConvGRUCell(1, 6).double(), nn.Conv2d(6, 1, 1).double()
params = list(cell.parameters()) + list(readout.parameters())
opt2 = torch.optim.RMSprop(params, lr=3e-3, alpha=0.9)
for step in range(6):
    h, preds = None, []
    for t in range(video.shape[1] - 1):
        h = cell(video[:, t], h)
        preds.append(readout(h))
    preds = torch.stack(preds, 1)
    mse = F.mse_loss(preds, video[:, 1:])
    opt2.zero_grad()
    mse.backward()
    opt2.step()
psnr = 10 * torch.log10(video.pow(2).amax() / mse.detach())
gy, gx = torch.gradient(preds[0, -1, 0].detach())
print("convgru mse", round(mse.item(), 5), "PSNR", round(psnr.item(), 3),
      "grad energy", round((gx ** 2 + gy ** 2).mean().item(), 5), math.isfinite(psnr.item()))
