"""Heatmap regression for 2-D keypoints, the way SimpleBaseline/HRNet reference code and the
integral-regression papers write it: gaussian target heatmaps from ``torch.meshgrid`` and
``torch.exp`` with per-joint visibility weights, a ``JointsMSELoss`` with ``target_weight``,
argmax decoding with ``torch.max`` over flattened maps plus the quarter-pixel shift toward the
higher neighbour, soft-argmax (``F.softmax`` over ``flatten(2)``, expectation with
``torch.arange``), and a PCK@0.2 metric normalised by the torso size. Also ``torch.where`` on
visibility, ``unravel`` with ``//`` and ``%`` on int64, ``clamp``/``sign``, ``Tensor.scatter_``
one-hot maps and ``torch.optim.lr_scheduler.MultiStepLR``."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
N, J, H, W = 12, 5, 16, 16
SIGMA = 1.5

# synthetic "images": blobs at joint positions drawn on a noisy background
joints = rng.uniform(2, 13, size=(N, J, 2))            # (x, y) in heatmap pixels
vis = (rng.uniform(size=(N, J)) > 0.15).astype(np.float32)
yy, xx = np.mgrid[0:H, 0:W]
imgs = np.zeros((N, J, H, W), np.float32)
for n in range(N):
    for j in range(J):
        imgs[n, j] = np.exp(-((xx - joints[n, j, 0]) ** 2 + (yy - joints[n, j, 1]) ** 2) / 4.0)
imgs = imgs.sum(1, keepdims=True) + 0.05 * rng.standard_normal((N, 1, H, W)).astype(np.float32)
images = torch.from_numpy(np.concatenate([imgs, imgs ** 2, np.abs(imgs)], 1))
joints_t = torch.from_numpy(joints).float()
vis_t = torch.from_numpy(vis)


def make_targets(kp, visible, sigma=SIGMA):
    """Gaussian heatmaps (N, J, H, W) and a (N, J, 1) weight; invisible joints get zero."""
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32),
                            torch.arange(W, dtype=torch.float32), indexing="ij")
    mu_x = kp[..., 0, None, None]
    mu_y = kp[..., 1, None, None]
    g = torch.exp(-((xs - mu_x) ** 2 + (ys - mu_y) ** 2) / (2 * sigma ** 2))
    weight = visible.unsqueeze(-1)
    return g * weight[..., None], weight


target, target_weight = make_targets(joints_t, vis_t)
print("targets", tuple(target.shape), tuple(target_weight.shape),
      round(target.sum().item(), 3), round(target.amax().item(), 4))


class JointsMSELoss(nn.Module):
    def __init__(self, use_target_weight=True):
        super().__init__()
        self.criterion = nn.MSELoss(reduction="mean")
        self.use_target_weight = use_target_weight

    def forward(self, output, target, target_weight):
        batch_size, num_joints = output.size(0), output.size(1)
        heatmaps_pred = output.reshape((batch_size, num_joints, -1)).split(1, 1)
        heatmaps_gt = target.reshape((batch_size, num_joints, -1)).split(1, 1)
        loss = 0
        for idx in range(num_joints):
            pred = heatmaps_pred[idx].squeeze()
            gt = heatmaps_gt[idx].squeeze()
            if self.use_target_weight:
                loss += 0.5 * self.criterion(pred.mul(target_weight[:, idx]),
                                             gt.mul(target_weight[:, idx]))
            else:
                loss += 0.5 * self.criterion(pred, gt)
        return loss / num_joints


class TinyPoseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(inplace=True))
        self.body = nn.Sequential(nn.Conv2d(16, 16, 3, padding=2, dilation=2), nn.ReLU(),
                                  nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.final = nn.Conv2d(16, J, kernel_size=1)

    def forward(self, x):
        x = self.stem(x)
        return self.final(x + self.body(x))


def get_max_preds(heatmaps):
    """argmax decoding (SimpleBaseline): coords (N, J, 2) and maxvals (N, J, 1)."""
    n, j = heatmaps.shape[:2]
    flat = heatmaps.reshape(n, j, -1)
    maxvals, idx = torch.max(flat, 2)
    maxvals, idx = maxvals.unsqueeze(-1), idx.unsqueeze(-1)
    preds = torch.cat([idx % W, idx // W], dim=2).float()
    mask = (maxvals > 0.0).float().repeat(1, 1, 2)
    return preds * mask, maxvals


def refine(preds, heatmaps):
    """Quarter-pixel shift toward the higher neighbour."""
    out = preds.clone()
    for n in range(preds.shape[0]):
        for j in range(preds.shape[1]):
            hm = heatmaps[n, j]
            px, py = int(preds[n, j, 0] + 0.5), int(preds[n, j, 1] + 0.5)
            if 1 < px < W - 1 and 1 < py < H - 1:
                diff = torch.tensor([hm[py, px + 1] - hm[py, px - 1],
                                     hm[py + 1, px] - hm[py - 1, px]])
                out[n, j] += torch.sign(diff) * 0.25
    return out


def soft_argmax(heatmaps, beta=20.0):
    n, j = heatmaps.shape[:2]
    prob = F.softmax(heatmaps.flatten(2) * beta, dim=-1).view(n, j, H, W)
    px = prob.sum(dim=2)                      # marginal over rows -> (n, j, W)
    py = prob.sum(dim=3)
    xs = torch.arange(W, dtype=heatmaps.dtype)
    ys = torch.arange(H, dtype=heatmaps.dtype)
    return torch.stack([(px * xs).sum(-1), (py * ys).sum(-1)], dim=-1)


def pck(pred, gt, visible, thr=0.2):
    torso = torch.linalg.vector_norm(gt[:, 0] - gt[:, 3], dim=-1).clamp(min=1.0)
    dist = torch.linalg.norm(pred - gt, dim=-1) / torso[:, None]
    hit = torch.where(visible > 0, (dist < thr).float(), torch.zeros_like(dist))
    return (hit.sum() / visible.sum()).item(), dist


# sanity: decoding the targets recovers the joints
preds, maxv = get_max_preds(target)
err = (preds - joints_t).abs().mul(vis_t[..., None]).max().item()
print("argmax on targets: max err", round(err, 3),
      "maxvals", maxv.squeeze(-1)[0].tolist() == [float(v > 0) * maxv[0, i, 0].item()
                                                   for i, v in enumerate(vis[0])])
sa = soft_argmax(target.double(), beta=8.0)
print("soft-argmax on targets dtype", sa.dtype, "err",
      round(((sa.float() - joints_t).norm(dim=-1) * vis_t).mean().item(), 3))

# one-hot maps via scatter_, and the nearest integer argmax for them
onehot = torch.zeros(N, J, H * W)
flat_idx = (joints_t[..., 1].round().long() * W + joints_t[..., 0].round().long())
onehot.scatter_(2, flat_idx.unsqueeze(-1), 1.0)
print("one-hot argmax matches", torch.equal(onehot.argmax(-1), flat_idx),
      "count", int(onehot.sum()))

model = TinyPoseNet()
criterion = JointsMSELoss(use_target_weight=True)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[20, 30], gamma=0.3)
for step in range(36):
    model.train()
    out = model(images)
    loss = criterion(out * 10, target * 10, target_weight)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    if step % 10 == 0 or step == 35:
        print(f"step {step:2d} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.5f}")

model.eval()
with torch.no_grad():
    hm = model(images)
    p_arg, maxvals = get_max_preds(hm)
    p_ref = refine(p_arg, hm)
    p_soft = soft_argmax(hm.double(), beta=30.0).float()
for name, p in (("argmax", p_arg), ("refined", p_ref), ("soft", p_soft)):
    score, dist = pck(p, joints_t, vis_t)
    print(f"PCK@0.2 {name:7s} {score:.3f} mean dist {dist[vis_t > 0].mean().item():.3f}")
print("maxvals range", round(maxvals.min().item(), 2), round(maxvals.max().item(), 2))
