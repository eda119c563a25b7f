"""A 2-D pose-graph SLAM back end and a differentiable point-cloud renderer, as SLAM tutorials
and point-based rendering repositories write them in plain torch. The pose graph (odometry plus
loop closures on SE(2)) is solved by Gauss-Newton with a Jacobian from ``torch.func.jacfwd`` and
``torch.linalg.lstsq``, then polished with Adam; angles wrap through ``torch.atan2``. The
renderer estimates normals by local PCA (``torch.linalg.eigh`` on ``cdist``/``topk``
neighbourhoods), splats points bilinearly into an image with ``index_put_(accumulate=True)``,
builds a hard z-buffer with ``scatter_reduce(reduce="amin")`` and a soft one with
``index_add_``, and optimises a point cloud's colours and depths to match a target image.
Everything is drawn from ``torch.manual_seed``."""
import math

import torch
from torch.func import jacfwd

torch.manual_seed(0)


def wrap(a):
    return torch.atan2(torch.sin(a), torch.cos(a))


def relative(pi, pj):
    """Pose of j in the frame of i, for (x, y, theta) poses."""
    c, s = torch.cos(pi[..., 2]), torch.sin(pi[..., 2])
    dx, dy = pj[..., 0] - pi[..., 0], pj[..., 1] - pi[..., 1]
    return torch.stack([c * dx + s * dy, -s * dx + c * dy, wrap(pj[..., 2] - pi[..., 2])], -1)


# A robot driving a loop of 12 poses; noisy odometry edges and three loop closures.
n = 12
angles = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
gt = torch.stack([3 * torch.cos(angles), 3 * torch.sin(angles), wrap(angles + math.pi / 2)], -1)
edges = [(i, i + 1) for i in range(n - 1)] + [(n - 1, 0), (2, 8), (4, 10)]
I = torch.tensor([e[0] for e in edges])
Jx = torch.tensor([e[1] for e in edges])
noise = torch.randn(len(edges), 3, dtype=torch.float64) * torch.tensor([0.05, 0.05, 0.02])
meas = relative(gt[I], gt[Jx]) + noise
meas[:, 2] = wrap(meas[:, 2])

# Dead reckoning: chain the odometry measurements, drifting away from the truth.
init = [gt[0]]
for k in range(n - 1):
    p = init[-1]
    c, s = torch.cos(p[2]), torch.sin(p[2])
    m = meas[k]
    init.append(torch.stack([p[0] + c * m[0] - s * m[1], p[1] + s * m[0] + c * m[1],
                             wrap(p[2] + m[2])]))
init = torch.stack(init)
print("dead reckoning drift", round((init[:, :2] - gt[:, :2]).norm(dim=1).max().item(), 3))


def residuals(free):
    poses = torch.cat([gt[:1], free.view(n - 1, 3)])  # anchor the first pose
    r = relative(poses[I], poses[Jx]) - meas
    r = torch.stack([r[:, 0], r[:, 1], wrap(r[:, 2])], -1)
    return (r / torch.tensor([0.05, 0.05, 0.02])).reshape(-1)


x = init[1:].reshape(-1).clone()
for it in range(6):
    r = residuals(x)
    Jm = jacfwd(residuals)(x)
    step = torch.linalg.lstsq(Jm, -r.unsqueeze(-1)).solution.squeeze(-1)
    x = x + step
    size = step.norm().item()
    print(f"gauss-newton {it}: chi2 {r.pow(2).sum().item():.3f}",
          f"step {size:.2e}" if size > 1e-5 else "step below 1e-5")
solved = torch.cat([gt[:1], x.view(n - 1, 3)])
print("final chi2", round(residuals(x).pow(2).sum().item(), 3),
      "rank", torch.linalg.matrix_rank(jacfwd(residuals)(x)).item(),
      "position error", round((solved[:, :2] - gt[:, :2]).norm(dim=1).max().item(), 3))

# The same problem polished by Adam from dead reckoning, as learning code does it.
free = init[1:].clone().requires_grad_(True)
opt = torch.optim.Adam([free], lr=0.02)
for it in range(300):
    opt.zero_grad()
    loss = residuals(free.reshape(-1)).pow(2).sum()
    loss.backward()
    opt.step()
print("adam chi2", round(loss.item(), 1),
      "gap to gauss-newton", round((free.detach() - solved[1:]).abs().max().item(), 2))

# ---- Differentiable point-cloud rendering -------------------------------------------------
torch.set_default_dtype(torch.float32)
torch.manual_seed(1)
m = 300
uv = torch.rand(m, 2) * 2 - 1
plane_z = 3.0 + 0.3 * uv[:, 0] - 0.2 * uv[:, 1]
cloud = torch.cat([uv, plane_z.unsqueeze(1)], 1) + 0.003 * torch.randn(m, 3)

# Normals from the 10 nearest neighbours: the smallest-eigenvalue eigenvector of the covariance.
knn = torch.cdist(cloud, cloud).topk(10, largest=False).indices
nbrs = cloud[knn]
centred = nbrs - nbrs.mean(1, keepdim=True)
evals, evecs = torch.linalg.eigh(centred.transpose(1, 2) @ centred / 10)
normals = evecs[..., 0]
true_n = torch.nn.functional.normalize(torch.tensor([-0.3, 0.2, 1.0]), dim=0)
print("normals |cos| mean", round((normals @ true_n).abs().mean().item(), 3),
      "planarity", round((evals[:, 0] / evals.sum(1)).mean().item(), 4))

H = W = 24
f = 20.0


def splat(points, colours):
    """Bilinear splat of coloured points into an H x W image with accumulated weights."""
    px = f * points[:, 0] / points[:, 2] + W / 2 - 0.5
    py = f * points[:, 1] / points[:, 2] + H / 2 - 0.5
    x0, y0 = px.floor().long(), py.floor().long()
    fx_, fy_ = px - x0, py - y0
    image = torch.zeros(H, W, 3)
    weight = torch.zeros(H, W)
    for dx, dy, w in [(0, 0, (1 - fx_) * (1 - fy_)), (1, 0, fx_ * (1 - fy_)),
                      (0, 1, (1 - fx_) * fy_), (1, 1, fx_ * fy_)]:
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < W) & (yi >= 0) & (yi < H)
        image.index_put_((yi[ok], xi[ok]), colours[ok] * w[ok, None], accumulate=True)
        weight.index_put_((yi[ok], xi[ok]), w[ok], accumulate=True)
    return image / weight.clamp_min(1e-3).unsqueeze(-1), weight, (y0, x0)


colours = torch.sigmoid(3 * cloud[:, :2]).repeat(1, 2)[:, :3]
target, wt, (y0, x0) = splat(cloud, colours)
print("covered pixels", int((wt > 0).sum().item()), "mean weight", round(wt.mean().item(), 4))

# Hard z-buffer: nearest depth per pixel; soft z-buffer: depth-weighted average with index_add_.
inside = (x0 >= 0) & (x0 < W) & (y0 >= 0) & (y0 < H)
flat = (y0 * W + x0)[inside]
zbuf = torch.full((H * W,), float("inf")).scatter_reduce(0, flat, cloud[inside, 2], "amin")
hits = torch.isfinite(zbuf)
soft_w = torch.exp(-4.0 * cloud[inside, 2])
num = torch.zeros(H * W).index_add_(0, flat, soft_w * cloud[inside, 2])
den = torch.zeros(H * W).index_add_(0, flat, soft_w)
soft = num[hits] / den[hits]
print("z-buffer pixels", int(hits.sum().item()), "min/max depth",
      round(zbuf[hits].min().item(), 3), round(zbuf[hits].max().item(), 3),
      "soft >= hard", bool((soft >= zbuf[hits] - 1e-6).all()))

# Fit colours and depths of a perturbed cloud to the target image through the splatter.
col_var = torch.rand(m, 3).requires_grad_(True)
z_var = (cloud[:, 2] + 0.1).clone().requires_grad_(True)
opt = torch.optim.Adam([{"params": [col_var], "lr": 0.05}, {"params": [z_var], "lr": 0.01}])
for it in range(60):
    opt.zero_grad()
    pts = torch.cat([cloud[:, :2], z_var.unsqueeze(1)], 1)
    img, _, _ = splat(pts, col_var)
    loss = (img - target).pow(2).mean()
    loss.backward()
    opt.step()
    if it % 20 == 0:
        print(f"render fit {it}: loss {loss.item():.4f}")
print("final loss", round(loss.item(), 3), "colour error",
      round((col_var.detach() - colours).abs().mean().item(), 2))
