"""Self-supervised stereo depth training losses as Monodepth/Monodepth2 write them: an ``SSIM``
module built from ``nn.AvgPool2d(3, 1)`` after ``nn.ReflectionPad2d(1)``, the 0.85 SSIM + 0.15
L1 photometric error, edge-aware disparity smoothness from image gradients by slicing
(``torch.mean(..., 1, keepdim=True)``, ``torch.exp``), mean-normalised disparity, right-to-left
warping with ``F.grid_sample`` (bilinear/nearest/bicubic, ``padding_mode`` zeros/border/
reflection, ``align_corners`` both ways) on a base grid from ``torch.linspace``/``repeat``,
per-pixel minimum reprojection with auto-masking (``torch.min`` over a ``torch.cat``), a tiny
encoder-decoder predicting disparity via ``sigmoid``, ``disp_to_depth`` and the
scale-invariant log (SILog) loss and depth metrics (abs rel, sq rel, RMSE log, delta < 1.25)
with median scaling (``torch.median``); a per-pixel aleatoric variance shared by the colour
channels, fitted with ``F.gaussian_nll_loss`` (var of shape (N, 1, H, W) against (N, 3, H, W))."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(5)
B, H, W = 2, 12, 20

# a textured left image and a right image shifted by a known, smooth disparity (in pixels)
base = rng.uniform(0, 1, size=(B, 3, H, W + 8)).cumsum(-1)
base = (np.sin(base) * 0.5 + 0.5).astype(np.float32)
true_disp_px = 2.0 + (np.linspace(0, 2, H, dtype=np.float32)[None, :, None]
                      * np.ones((B, 1, W), np.float32))
left = torch.from_numpy(base[..., 4:4 + W].copy())
right_np = np.zeros_like(left.numpy())
for b in range(B):
    for y in range(H):
        xs = np.arange(W) + 4 + true_disp_px[b, y, 0]
        for c in range(3):
            right_np[b, c, y] = np.interp(xs, np.arange(W + 8), base[b, c, y])
right = torch.from_numpy(right_np)


class SSIM(nn.Module):
    def __init__(self):
        super().__init__()
        self.mu_x_pool = nn.AvgPool2d(3, 1)
        self.mu_y_pool = nn.AvgPool2d(3, 1)
        self.sig_x_pool = nn.AvgPool2d(3, 1)
        self.sig_y_pool = nn.AvgPool2d(3, 1)
        self.sig_xy_pool = nn.AvgPool2d(3, 1)
        self.refl = nn.ReflectionPad2d(1)
        self.C1 = 0.01 ** 2
        self.C2 = 0.03 ** 2

    def forward(self, x, y):
        x, y = self.refl(x), self.refl(y)
        mu_x, mu_y = self.mu_x_pool(x), self.mu_y_pool(y)
        sigma_x = self.sig_x_pool(x ** 2) - mu_x ** 2
        sigma_y = self.sig_y_pool(y ** 2) - mu_y ** 2
        sigma_xy = self.sig_xy_pool(x * y) - mu_x * mu_y
        n = (2 * mu_x * mu_y + self.C1) * (2 * sigma_xy + self.C2)
        d = (mu_x ** 2 + mu_y ** 2 + self.C1) * (sigma_x + sigma_y + self.C2)
        return torch.clamp((1 - n / d) / 2, 0, 1)


ssim = SSIM()


def photometric(pred, target):
    l1 = torch.abs(target - pred).mean(1, True)
    return 0.85 * ssim(pred, target).mean(1, True) + 0.15 * l1


def smoothness(disp, img):
    grad_disp_x = torch.abs(disp[:, :, :, :-1] - disp[:, :, :, 1:])
    grad_disp_y = torch.abs(disp[:, :, :-1, :] - disp[:, :, 1:, :])
    grad_img_x = torch.mean(torch.abs(img[:, :, :, :-1] - img[:, :, :, 1:]), 1, keepdim=True)
    grad_img_y = torch.mean(torch.abs(img[:, :, :-1, :] - img[:, :, 1:, :]), 1, keepdim=True)
    grad_disp_x *= torch.exp(-grad_img_x)
    grad_disp_y *= torch.exp(-grad_img_y)
    return grad_disp_x.mean() + grad_disp_y.mean()


def warp(img, disp_px, mode="bilinear", padding_mode="border", align_corners=True):
    """Sample ``img`` at x + disp (disparity in pixels), as a right-to-left reconstruction."""
    b, _, h, w = img.shape
    xs = torch.linspace(-1, 1, w).repeat(b, h, 1)
    ys = torch.linspace(-1, 1, h).repeat(b, w, 1).transpose(1, 2)
    scale = 2.0 / (w - 1) if align_corners else 2.0 / w
    grid = torch.stack((xs + disp_px.squeeze(1) * scale, ys), dim=3)
    return F.grid_sample(img, grid, mode=mode, padding_mode=padding_mode,
                         align_corners=align_corners)


true_disp = torch.from_numpy(true_disp_px).unsqueeze(1)
for mode in ("bilinear", "nearest", "bicubic"):
    for pad in ("zeros", "border", "reflection"):
        for ac in (True, False):
            rec = warp(right, -true_disp, mode, pad, ac)
            err = photometric(rec, left)[..., 4:-4].mean().item()
            print(f"warp {mode:8s} {pad:10s} ac={ac!s:5s} photometric {err:.4f} "
                  f"sum {rec.sum().item():.3f}")


class DispNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(6, 16, 3, padding=1), nn.ELU())
        self.enc2 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ELU())
        self.dec = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(32 + 16, 16, 3), nn.ELU())
        self.disp = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(16, 1, 3))

    def forward(self, left, right):
        e1 = self.enc1(torch.cat([left, right], 1))
        e2 = self.enc2(e1)
        up = F.interpolate(e2, scale_factor=2, mode="nearest")
        return torch.sigmoid(self.disp(self.dec(torch.cat([up, e1], 1))))


def disp_to_depth(disp, min_depth=0.1, max_depth=100.0):
    min_disp, max_disp = 1 / max_depth, 1 / min_depth
    scaled = min_disp + (max_disp - min_disp) * disp
    return scaled, 1 / scaled


net = DispNet()
opt = torch.optim.Adam(net.parameters(), lr=2e-3)
MAX_DISP = 6.0
for step in range(25):
    disp = net(left, right)
    rec = warp(right, -disp * MAX_DISP)
    reproj = photometric(rec, left)
    identity = photometric(right, left) + torch.randn(B, 1, H, W) * 1e-5
    combined = torch.cat([reproj, identity], 1)
    to_opt, idxs = torch.min(combined, dim=1)
    mean_disp = disp.mean(2, True).mean(3, True)
    loss = to_opt.mean() + 1e-3 * smoothness(disp / (mean_disp + 1e-7), left)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 8 == 0 or step == 24:
        automask = (idxs == 0).float().mean().item()
        print(f"step {step:2d} loss {loss.item():.5f} automask {automask:.3f} "
              f"disp px {disp.mean().item() * MAX_DISP:.3f}")


def silog(pred, gt, lam=0.85):
    d = torch.log(pred) - torch.log(gt)
    return torch.sqrt((d ** 2).mean() - lam * d.mean() ** 2) * 10.0


def compute_errors(gt, pred):
    thresh = torch.max((gt / pred), (pred / gt))
    a1 = (thresh < 1.25).float().mean()
    rmse_log = torch.sqrt(((torch.log(gt) - torch.log(pred)) ** 2).mean())
    abs_rel = torch.mean(torch.abs(gt - pred) / gt)
    sq_rel = torch.mean((gt - pred) ** 2 / gt)
    return [round(v.item(), 4) for v in (abs_rel, sq_rel, rmse_log, a1)]


with torch.no_grad():
    disp = net(left, right).double()
    _, depth = disp_to_depth(disp)
    gt_depth = (10.0 / true_disp).double()
    ratio = torch.median(gt_depth) / torch.median(depth)
    print("median ratio", round(ratio.item(), 3),
          "silog", round(silog(depth * ratio, gt_depth).item(), 4))
    print("errors abs_rel sq_rel rmse_log a1", compute_errors(gt_depth, depth * ratio))
    mask = (gt_depth > 2.0) & (gt_depth < 4.5)
    print("masked", int(mask.sum()), compute_errors(gt_depth[mask], (depth * ratio)[mask]))

# aleatoric photometric uncertainty: one variance per pixel, shared by the colour channels
log_var = torch.zeros(B, 1, H, W, requires_grad=True)
opt_u = torch.optim.SGD([log_var], lr=300.0)
with torch.no_grad():
    rec = warp(right, -net(left, right) * MAX_DISP)
for _ in range(6):
    nll = F.gaussian_nll_loss(rec, left, log_var.exp(), full=True)
    opt_u.zero_grad()
    nll.backward()
    opt_u.step()
print("gaussian nll", round(nll.item(), 4), "mean var", round(log_var.exp().mean().item(), 5),
      "per-pixel", tuple(F.gaussian_nll_loss(rec, left, log_var.exp(), reduction="none").shape))
