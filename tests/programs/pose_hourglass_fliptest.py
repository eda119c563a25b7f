"""A two-stack hourglass for keypoint heatmaps with intermediate supervision, written as the
stacked-hourglass reference implementations write it: a recursive ``Hourglass`` with
``nn.MaxPool2d`` down, ``F.interpolate(mode='nearest', scale_factor=2)`` up and skip adds, a
``Residual`` bottleneck, ``nn.ModuleList`` of stacks with merge convs. Inference does the
flip test (``torch.flip`` on the width, swapping left/right joints by an index list, shifting
the flipped map by one pixel), peak finding by ``F.max_pool2d`` NMS and ``torch.topk``, and
the COCO OKS score with per-keypoint sigmas. Also ``state_dict`` round trip through
``torch.save``/``torch.load`` on a BytesIO, ``torch.no_grad``, ``Tensor.index_select``,
``torch.gather`` and ``nn.utils.clip_grad_norm_``."""
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(1)
N, J, S = 8, 6, 16
FLIP_PAIRS = [(1, 2), (3, 4)]        # joint 0 and 5 are on the midline
FLIP_INDEX = [0, 2, 1, 4, 3, 5]
SIGMAS = torch.tensor([0.26, 0.79, 0.79, 0.72, 0.72, 1.07]) / 10.0

kps = rng.uniform(3, 12, size=(N, J, 2)).astype(np.float32)
yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
maps = np.exp(-((xx[None, None] - kps[..., 0, None, None]) ** 2
                + (yy[None, None] - kps[..., 1, None, None]) ** 2) / 2.0)
img = np.stack([maps[:, :3].sum(1), maps[:, 3:].sum(1), maps.max(1)], 1)
img = img + 0.05 * rng.standard_normal(img.shape).astype(np.float32)
images, target, keypoints = map(torch.from_numpy, (img, maps.astype(np.float32), kps))


class Residual(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        mid = c_out // 2
        self.bn = nn.BatchNorm2d(c_in)
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(c_in, mid, 1)
        self.conv2 = nn.Conv2d(mid, mid, 3, padding=1)
        self.conv3 = nn.Conv2d(mid, c_out, 1)
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x):
        out = self.conv1(self.relu(self.bn(x)))
        out = self.conv3(F.relu(self.conv2(out)))
        return out + self.skip(x)


class Hourglass(nn.Module):
    def __init__(self, depth, c):
        super().__init__()
        self.up1 = Residual(c, c)
        self.pool = nn.MaxPool2d(2, 2)
        self.low1 = Residual(c, c)
        self.low2 = Hourglass(depth - 1, c) if depth > 1 else Residual(c, c)
        self.low3 = Residual(c, c)

    def forward(self, x):
        up1 = self.up1(x)
        low = self.low3(self.low2(self.low1(self.pool(x))))
        return up1 + F.interpolate(low, scale_factor=2, mode="nearest")


class StackedHourglass(nn.Module):
    def __init__(self, nstack=2, c=16, depth=2):
        super().__init__()
        self.pre = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                                 nn.ReLU())
        self.hgs = nn.ModuleList([Hourglass(depth, c) for _ in range(nstack)])
        self.outs = nn.ModuleList([nn.Conv2d(c, J, 1) for _ in range(nstack)])
        self.merge_feat = nn.ModuleList([nn.Conv2d(c, c, 1) for _ in range(nstack - 1)])
        self.merge_pred = nn.ModuleList([nn.Conv2d(J, c, 1) for _ in range(nstack - 1)])
        self.nstack = nstack

    def forward(self, x):
        x = self.pre(x)
        preds = []
        for i in range(self.nstack):
            feat = self.hgs[i](x)
            pred = self.outs[i](feat)
            preds.append(pred)
            if i < self.nstack - 1:
                x = x + self.merge_pred[i](pred) + self.merge_feat[i](feat)
        return torch.stack(preds, 1)


model = StackedHourglass()
print("params", sum(p.numel() for p in model.parameters()),
      "modules", len([m for m in model.modules() if isinstance(m, Residual)]))
opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9)
for step in range(20):
    preds = model(images)
    loss = sum(F.mse_loss(preds[:, i], target) for i in range(preds.shape[1])) * 100
    opt.zero_grad()
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
    opt.step()
    if step % 5 == 0 or step == 19:
        print(f"step {step:2d} loss {loss.item():.2f} grad norm {norm.item():.0f}")

# state_dict round trip
buf = io.BytesIO()
torch.save(model.state_dict(), buf)
buf.seek(0)
clone = StackedHourglass()
missing = clone.load_state_dict(torch.load(buf))
print("reload", missing, len(model.state_dict()),
      sorted({k.split(".")[-1] for k in model.state_dict()}))
model.eval()
clone.eval()


def flip_back(hm):
    """Mirror heatmaps back and swap left/right joint channels."""
    hm = torch.flip(hm, dims=[3])
    return hm.index_select(1, torch.tensor(FLIP_INDEX))


with torch.no_grad():
    out = model(images)[:, -1]
    out_c = clone(images)[:, -1]
    flipped = flip_back(model(images.flip(3))[:, -1])
    flipped[:, :, :, 1:] = flipped.clone()[:, :, :, 0:-1]   # the one-pixel shift
    fused = (out + flipped) * 0.5
print("clone equal", torch.allclose(out, out_c), "flip swap check",
      torch.equal(torch.tensor(FLIP_INDEX)[torch.tensor(FLIP_INDEX)], torch.arange(J)))
for a, b in FLIP_PAIRS:
    print(f"pair {a}-{b}: mean diff {(out[:, a] - flipped[:, b]).abs().mean().item():.4f}")


def nms_peaks(hm, k=3):
    maxm = F.max_pool2d(hm, 3, stride=1, padding=1)
    keep = (maxm == hm).float() * hm
    scores, idx = keep.flatten(2).topk(k, dim=-1)
    return scores, torch.stack([idx % S, idx // S], -1).float()


def oks(pred, gt, area, visible):
    d2 = ((pred - gt) ** 2).sum(-1)
    e = d2 / (2 * (2 * SIGMAS) ** 2 * (area[:, None] + np.spacing(1)) * 2)
    e = torch.exp(-e) * visible
    return e.sum(-1) / visible.sum(-1).clamp(min=1)


area = (keypoints.amax(1) - keypoints.amin(1)).prod(-1)
visible = torch.ones(N, J)
for name, hm in (("plain", out), ("flip", fused)):
    scores, peaks = nms_peaks(hm)
    best = peaks[:, :, 0]
    conf = torch.gather(scores, 2, torch.zeros(N, J, 1, dtype=torch.long)).squeeze(2)
    o = oks(best, keypoints, area, visible)
    print(f"{name:5s} OKS mean {o.mean().item():.3f} AP50 {(o > 0.5).float().mean().item():.3f} "
          f"conf {conf.mean().item():.3f} peaks/map {int((scores > 0.1).sum()) / (N * J):.2f}")
