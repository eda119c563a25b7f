"""Procrustes / Kabsch / Umeyama alignment and point-to-point ICP, as point-cloud registration
repositories and tutorials write them in plain torch: batched cross-covariance, ``torch.linalg.svd``
with the determinant sign fix (``torch.linalg.det`` + ``torch.diag_embed``), a weighted variant,
the Umeyama scale, and ICP whose correspondences come from ``torch.cdist`` + ``argmin`` with
``torch.gather``, outlier trimming with ``torch.topk``, and a chamfer distance. Only
sign-invariant quantities are printed (SVD signs differ between BLAS libraries). Everything is
drawn from ``torch.manual_seed``."""
import math

import torch

torch.manual_seed(0)


def random_rotation(n):
    """Uniform random rotations from QR of Gaussian matrices, made proper."""
    q, r = torch.linalg.qr(torch.randn(n, 3, 3, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    flip = torch.linalg.det(q) < 0
    q[flip, :, 0] = -q[flip, :, 0]
    return q


def kabsch(src, dst, weights=None, with_scale=False):
    """Best rotation R, translation t (and scale s) with dst ~ s R src + t, batched."""
    if weights is None:
        weights = torch.ones(src.shape[:-1], dtype=src.dtype)
    w = (weights / weights.sum(-1, keepdim=True)).unsqueeze(-1)
    mu_s = (w * src).sum(-2, keepdim=True)
    mu_d = (w * dst).sum(-2, keepdim=True)
    xs, xd = src - mu_s, dst - mu_d
    cov = (w * xd).transpose(-1, -2) @ xs
    U, S, Vh = torch.linalg.svd(cov)
    d = torch.sign(torch.linalg.det(U @ Vh))
    fix = torch.ones_like(S)
    fix[..., -1] = d
    R = U @ torch.diag_embed(fix) @ Vh
    s = torch.ones_like(d)
    if with_scale:
        var = (w * xs.pow(2)).sum((-2, -1))
        s = (S * fix).sum(-1) / var
    t = mu_d.squeeze(-2) - s.unsqueeze(-1) * (R @ mu_s.transpose(-1, -2)).squeeze(-1)
    return R, t, s


def rotation_angle_deg(R):
    cos = (R.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    return torch.rad2deg(torch.acos(cos.clamp(-1, 1)))


# 1. Batched Kabsch on exact correspondences, including a reflection-prone configuration.
B, N = 4, 50
R_true = random_rotation(B)
t_true = torch.randn(B, 3, dtype=torch.float64)
src = torch.randn(B, N, 3, dtype=torch.float64)
dst = src @ R_true.transpose(-1, -2) + t_true.unsqueeze(1)
R, t, _ = kabsch(src, dst)
print("kabsch R error", (R - R_true).abs().max().item() < 1e-10,
      "t error", (t - t_true).abs().max().item() < 1e-10)
print("det", [round(v, 6) for v in torch.linalg.det(R).tolist()])
print("true angles", [round(v, 3) for v in rotation_angle_deg(R_true).tolist()])

planar = src.clone()
planar[..., 2] = 0.0  # a flat cloud: the naive U Vh can come out as a reflection
R_p, _, _ = kabsch(planar, planar @ R_true.transpose(-1, -2))
print("planar det", [round(v, 6) for v in torch.linalg.det(R_p).tolist()],
      "error", (R_p - R_true).abs().max().item() < 1e-8)

# 2. Noise, outliers and weights; Umeyama with scale.
noisy = dst + 0.01 * torch.randn_like(dst)
noisy[:, :5] += 3.0 * torch.randn(B, 5, 3, dtype=torch.float64)
R_n, _, _ = kabsch(src, noisy)
weights = torch.ones(B, N, dtype=torch.float64)
weights[:, :5] = 1e-3
R_w, _, _ = kabsch(src, noisy, weights)
err_n = rotation_angle_deg(R_n.transpose(-1, -2) @ R_true)
err_w = rotation_angle_deg(R_w.transpose(-1, -2) @ R_true)
print("unweighted error deg", [round(v, 2) for v in err_n.tolist()])
print("weighted error deg", [round(v, 3) for v in err_w.tolist()])
scaled = 2.5 * dst
R_s, t_s, s = kabsch(src, scaled, with_scale=True)
print("umeyama scale", [round(v, 6) for v in s.tolist()],
      "R ok", torch.allclose(R_s, R_true, atol=1e-10))
residual = (s[:, None, None] * src @ R_s.transpose(-1, -2) + t_s[:, None] - scaled).norm(dim=-1)
print("umeyama residual", residual.max().item() < 1e-10)

# 3. ICP on a partial, noisy scan of a surface (float32, as registration code runs).
torch.manual_seed(1)
theta = torch.rand(400) * 2 * math.pi
phi = torch.rand(400) * math.pi
model = torch.stack([torch.sin(phi) * torch.cos(theta) * 1.0,
                     torch.sin(phi) * torch.sin(theta) * 0.6,
                     torch.cos(phi) * 0.3 + 0.2 * torch.sin(3 * theta)], dim=-1)
angle = torch.tensor(0.35)
c, s_ = torch.cos(angle), torch.sin(angle)
R_gt = torch.stack([torch.stack([c, -s_, torch.tensor(0.0)]),
                    torch.stack([s_, c, torch.tensor(0.0)]),
                    torch.tensor([0.0, 0.0, 1.0])])
t_gt = torch.tensor([0.15, -0.1, 0.05])
keep = torch.randperm(400)[:250]
scan = model[keep] @ R_gt.T + t_gt + 0.005 * torch.randn(250, 3)


def icp(source, target, iters=30, trim=0.9):
    R_acc = torch.eye(3)
    t_acc = torch.zeros(3)
    current = source.clone()
    history = []
    for it in range(iters):
        dist = torch.cdist(current, target)
        nn_dist, nn_idx = dist.min(dim=1)
        assert torch.equal(nn_idx, dist.argmin(dim=1))
        k = int(trim * len(current))
        kept = torch.topk(nn_dist, k, largest=False).indices
        matched = torch.gather(target, 0, nn_idx[kept].unsqueeze(-1).expand(-1, 3))
        R_step, t_step, _ = kabsch(current[kept], matched)
        current = current @ R_step.T + t_step
        R_acc = R_step @ R_acc
        t_acc = R_step @ t_acc + t_step
        history.append(nn_dist[kept].pow(2).mean().sqrt().item())
    return R_acc, t_acc, history


R_icp, t_icp, hist = icp(scan, model)
# scan = R_gt model + t_gt, so the registration should recover the inverse motion.
print("icp rmse", [round(h, 3) for h in hist[::6]], "final", round(hist[-1], 4))
# arccos near 1 turns last-bit differences into tenths of a degree: print the bound
print("icp rotation error < 0.5 deg", rotation_angle_deg(R_icp @ R_gt).item() < 0.5)
print("icp translation residual", round((R_icp @ t_gt + t_icp).norm().item(), 2))


def chamfer(a, b):
    d = torch.cdist(a, b).pow(2)
    return d.min(1).values.mean() + d.min(0).values.mean()


aligned = scan @ R_icp.T + t_icp
print("chamfer before", round(chamfer(scan, model).item(), 4),
      "after", round(chamfer(aligned, model).item(), 4))
