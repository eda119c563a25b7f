"""Stereo matching with cost volumes, as PSMNet, GwcNet and GC-Net's reference code build them:
a shared 2-D feature extractor, a concatenation volume filled disparity by disparity into
``new_zeros`` with slice assignment, a group-wise correlation volume (``view`` into groups,
``mean``), a correlation volume from ``F.unfold`` patches and one from ``F.pad``+``torch.stack``,
3-D aggregation with ``nn.Conv3d``/``nn.BatchNorm3d``, trilinear ``F.interpolate`` up to full
resolution, disparity regression by soft-argmin (``F.softmax`` of the negated cost, expectation
with ``torch.arange(...).view(1, D, 1, 1)``), hard ``argmin`` for comparison, masked
``F.smooth_l1_loss`` and the EPE/D1 metrics; plus a left-right consistency check with
``torch.gather`` along the width."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(11)
B, H, W, MAXDISP = 2, 8, 24, 8

# left image and a right image shifted by an integer disparity map (two depth planes)
tex = rng.uniform(0, 1, size=(B, 3, H, W + MAXDISP)).astype(np.float32)
gt = np.where(np.arange(W)[None, None, :] < W // 2, 2, 5) * np.ones((B, H, 1), np.int64)
left_np = tex[..., MAXDISP:].copy()
# right(x - d) = left(x)
right_full = tex.copy()
for b in range(B):
    for y in range(H):
        for x in range(W):
            d = gt[b, y, x]
            right_full[b, :, y, MAXDISP + x - d] = left_np[b, :, y, x]
right_np = right_full[..., MAXDISP:]
left, right = torch.from_numpy(left_np), torch.from_numpy(right_np.copy())
gt_disp = torch.from_numpy(gt).float()


class Features(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                                 nn.LeakyReLU(0.1), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x):
        return self.net(x)


def concat_volume(fl, fr, maxdisp):
    b, c, h, w = fl.shape
    cost = fl.new_zeros([b, 2 * c, maxdisp, h, w])
    for i in range(maxdisp):
        if i > 0:
            cost[:, :c, i, :, i:] = fl[:, :, :, i:]
            cost[:, c:, i, :, i:] = fr[:, :, :, :-i]
        else:
            cost[:, :c, i, :, :] = fl
            cost[:, c:, i, :, :] = fr
    return cost.contiguous()


def groupwise_correlation(fea1, fea2, num_groups):
    b, c, h, w = fea1.shape
    cpg = c // num_groups
    return (fea1 * fea2).view([b, num_groups, cpg, h, w]).mean(dim=2)


def gwc_volume(fl, fr, maxdisp, num_groups):
    b, c, h, w = fl.shape
    volume = fl.new_zeros([b, num_groups, maxdisp, h, w])
    for i in range(maxdisp):
        if i > 0:
            volume[:, :, i, :, i:] = groupwise_correlation(fl[:, :, :, i:], fr[:, :, :, :-i],
                                                           num_groups)
        else:
            volume[:, :, i, :, :] = groupwise_correlation(fl, fr, num_groups)
    return volume.contiguous()


def unfold_correlation(fl, fr, maxdisp):
    """Correlation at every disparity from horizontal patches of the padded right features."""
    b, c, h, w = fl.shape
    padded = F.pad(fr, (maxdisp - 1, 0, 0, 0))
    patches = F.unfold(padded, kernel_size=(1, maxdisp)).view(b, c, maxdisp, h, w)
    return (fl.unsqueeze(2) * patches.flip(2)).mean(1)


def stack_correlation(fl, fr, maxdisp):
    shifted = [F.pad(fr, (d, 0, 0, 0))[..., :fr.shape[-1]] for d in range(maxdisp)]
    return torch.stack([(fl * s).mean(1) for s in shifted], dim=1)


def disparity_regression(x, maxdisp):
    disp_values = torch.arange(0, maxdisp, dtype=x.dtype, device=x.device)
    disp_values = disp_values.view(1, maxdisp, 1, 1)
    return torch.sum(x * disp_values, 1, keepdim=False)


class Aggregation(nn.Module):
    def __init__(self, c_in, c=8):
        super().__init__()
        self.net = nn.Sequential(nn.Conv3d(c_in, c, 3, padding=1, bias=False),
                                 nn.BatchNorm3d(c), nn.ReLU(inplace=True),
                                 nn.Conv3d(c, c, 3, padding=1, bias=False), nn.BatchNorm3d(c),
                                 nn.ReLU(inplace=True), nn.Conv3d(c, 1, 3, padding=1))

    def forward(self, v):
        return self.net(v)


class StereoNet(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.feat = Features()
        self.agg = Aggregation(16 if kind == "concat" else 4)

    def forward(self, l, r):
        fl, fr = self.feat(l), self.feat(r)
        half = MAXDISP // 2
        fl2, fr2 = F.avg_pool2d(fl, 2), F.avg_pool2d(fr, 2)
        if self.kind == "concat":
            vol = concat_volume(fl2, fr2, half)
        else:
            vol = gwc_volume(fl2, fr2, half, 4)
        cost = self.agg(vol)
        cost = F.interpolate(cost, [MAXDISP, H, W], mode="trilinear", align_corners=False)
        cost = torch.squeeze(cost, 1)
        pred = F.softmax(cost, dim=1)
        return disparity_regression(pred, MAXDISP), cost


# the hand-written correlation volumes agree with each other
with torch.no_grad():
    f = Features()
    fl, fr = f(left), f(right)
    c1 = unfold_correlation(fl, fr, MAXDISP)
    c2 = stack_correlation(fl, fr, MAXDISP)
    c3 = gwc_volume(fl, fr, MAXDISP, 1)[:, 0]
print("correlation volumes", tuple(c1.shape), torch.allclose(c1, c2, atol=1e-6),
      "valid region equal", torch.allclose(c1[..., MAXDISP:], c3[..., MAXDISP:], atol=1e-6))
wta = c1.argmax(1)
acc = (wta == gt_disp.long()).float()[..., MAXDISP:].mean()
print("winner-take-all accuracy", round(acc.item(), 3))

for kind in ("concat", "gwc"):
    torch.manual_seed(1)
    net = StereoNet(kind)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, betas=(0.9, 0.999))
    mask = (gt_disp < MAXDISP) & (gt_disp > 0)
    for step in range(12):
        net.train()
        pred, _ = net(left, right)
        loss = F.smooth_l1_loss(pred[mask], gt_disp[mask], reduction="mean")
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        pred, cost = net(left, right)
        hard = torch.argmin(-cost, dim=1)
        epe = (pred - gt_disp).abs()
        d1 = ((epe > 3) & (epe / gt_disp.abs() > 0.05)).float().mean()
    print(f"{kind:6s} last loss {loss.item():.4f} EPE {epe[mask].mean().item():.4f} "
          f"D1 {d1.item():.4f} hard-argmin EPE {(hard.float() - gt_disp).abs().mean().item():.4f}")

# left-right consistency: sample the right-view disparity at x - d with gather
disp_r = torch.zeros_like(gt_disp)
for x in range(W):
    d = gt_disp[..., x].long()
    ok = x - d >= 0
    cols = (x - d).clamp(min=0)
    disp_r.scatter_(2, cols.unsqueeze(-1), torch.where(ok, gt_disp[..., x], disp_r.gather(
        2, cols.unsqueeze(-1)).squeeze(-1)).unsqueeze(-1))
idx = (torch.arange(W).view(1, 1, W) - gt_disp.long()).clamp(0, W - 1)
back = torch.gather(disp_r, 2, idx)
print("lr-consistent pixels", int(((back - gt_disp).abs() < 1).sum()), "of", gt_disp.numel())
