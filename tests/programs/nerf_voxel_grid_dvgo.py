"""A DVGO-style explicit voxel radiance field, after DirectVoxGO's dvgo.py and grid.py written in
plain PyTorch: density and colour live in dense 3-D grids read with 5-D ``F.grid_sample``
(world points normalised to [-1, 1] and flipped to the grid's (z, y, x) order), density goes
through a shifted ``F.softplus`` to alpha, rays are clipped to the scene's bounding box by a
slab test (``torch.minimum``/``torch.maximum``), samples are composited with an exclusive
``torch.cumprod`` of transmittance, a total-variation regulariser smooths both grids, and the
grids grow during training ("progressive scaling") with ``F.interpolate(mode='trilinear')``
before a fresh optimiser is built. A coarse occupancy mask is dilated with ``F.max_pool3d``.
Evaluation renders in chunks under ``torch.no_grad`` with ``torch.split``. The grid_sample
padding modes and align_corners settings are compared on the same points first.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
XYZ_MIN, XYZ_MAX = torch.tensor([-1., -1., -1.]), torch.tensor([1., 1., 1.])
H = W = 8
FOCAL = 9.0


def scene(pts):
    """Ground truth: a soft box with a colour gradient."""
    d = (pts.abs() - 0.5).clamp(min=0).norm(dim=-1)
    sigma = 25.0 * torch.sigmoid(-(d - 0.05) * 40)
    rgb = torch.stack([0.5 + 0.4 * pts[..., 0], 0.5 - 0.3 * pts[..., 1],
                       0.3 + 0.2 * pts[..., 2].abs()], -1).clamp(0, 1)
    return sigma, rgb


class DenseGrid(nn.Module):
    def __init__(self, channels, world_size, xyz_min, xyz_max):
        super().__init__()
        self.channels = channels
        self.world_size = world_size
        self.register_buffer("xyz_min", xyz_min.clone())
        self.register_buffer("xyz_max", xyz_max.clone())
        self.grid = nn.Parameter(torch.zeros([1, channels, *world_size]))

    def forward(self, xyz):
        shape = xyz.shape[:-1]
        xyz = xyz.reshape(1, 1, 1, -1, 3)
        ind_norm = ((xyz - self.xyz_min) / (self.xyz_max - self.xyz_min)).flip((-1,)) * 2 - 1
        out = F.grid_sample(self.grid, ind_norm, mode="bilinear", align_corners=True)
        out = out.reshape(self.channels, -1).T.reshape(*shape, self.channels)
        if self.channels == 1:
            out = out.squeeze(-1)
        return out

    def scale_volume_grid(self, new_world_size):
        self.world_size = new_world_size
        self.grid = nn.Parameter(F.interpolate(self.grid.data, size=tuple(new_world_size),
                                               mode="trilinear", align_corners=True))

    def total_variation(self):
        g = self.grid
        tv = (g[:, :, 1:] - g[:, :, :-1]).abs().mean()
        tv = tv + (g[:, :, :, 1:] - g[:, :, :, :-1]).abs().mean()
        tv = tv + (g[:, :, :, :, 1:] - g[:, :, :, :, :-1]).abs().mean()
        return tv / 3


def get_rays(c2w):
    i, j = torch.meshgrid(torch.arange(W, dtype=torch.float32) + 0.5,
                          torch.arange(H, dtype=torch.float32) + 0.5, indexing="xy")
    dirs = torch.stack([(i - W / 2) / FOCAL, -(j - H / 2) / FOCAL, -torch.ones_like(i)], -1)
    rays_d = (dirs.unsqueeze(-2) * c2w[:3, :3]).sum(-1)
    rays_o = c2w[:3, 3].expand(rays_d.shape)
    return rays_o.reshape(-1, 3), F.normalize(rays_d, dim=-1).reshape(-1, 3)


def look_at(eye):
    eye = torch.tensor(eye)
    forward = F.normalize(-eye, dim=0)
    right = F.normalize(torch.linalg.cross(forward, torch.tensor([0., 1., 0.])), dim=0)
    up = torch.linalg.cross(right, forward)
    c2w = torch.eye(4)
    c2w[:3, :3] = torch.stack([right, up, -forward], 1)
    c2w[:3, 3] = eye
    return c2w


def ray_box(rays_o, rays_d, near=0.1):
    vec = torch.where(rays_d == 0, torch.full_like(rays_d, 1e-6), rays_d)
    rate_a = (XYZ_MAX - rays_o) / vec
    rate_b = (XYZ_MIN - rays_o) / vec
    t_min = torch.minimum(rate_a, rate_b).amax(-1).clamp(min=near)
    t_max = torch.maximum(rate_a, rate_b).amin(-1)
    return t_min, t_max, t_max <= t_min


def sample_ray(rays_o, rays_d, n_samples, stepsize):
    t_min, t_max, mask_outbbox = ray_box(rays_o, rays_d)
    steps = torch.arange(n_samples, dtype=torch.float32) * stepsize
    t = t_min[:, None] + steps[None]
    pts = rays_o[:, None] + rays_d[:, None] * t[..., None]
    inside = ((XYZ_MIN <= pts) & (pts <= XYZ_MAX)).all(-1) & ~mask_outbbox[:, None]
    return pts, t, inside


def composite(alpha, rgb):
    trans = torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1 - alpha + 1e-10], -1),
                          -1)
    weights = alpha * trans[:, :-1]
    rgb_map = (weights[..., None] * rgb).sum(-2) + trans[:, -1:] * 1.0  # white background
    return rgb_map, weights, trans[:, -1]


def render(density, k0, rays_o, rays_d, act_shift, n_samples=24, stepsize=0.12):
    pts, t, inside = sample_ray(rays_o, rays_d, n_samples, stepsize)
    sigma = F.softplus(density(pts) + act_shift)
    alpha = (1 - torch.exp(-sigma * stepsize)) * inside
    rgb = torch.sigmoid(k0(pts))
    rgb_map, weights, bg = composite(alpha, rgb)
    depth = (weights * t).sum(-1)
    return rgb_map, depth, bg


# grid_sample on a 3-D volume: padding modes and corner alignment
vol = torch.randn(1, 2, 3, 4, 5)
probe = torch.tensor([[-1.2, 0.3, 0.9], [0.0, 0.0, 0.0], [0.95, -1.1, 0.4], [0.5, 0.5, -0.5]])
for pm in ("zeros", "border", "reflection"):
    for ac in (True, False):
        out = F.grid_sample(vol, probe.view(1, 1, 1, 4, 3), mode="bilinear", padding_mode=pm,
                            align_corners=ac)
        near = F.grid_sample(vol, probe.view(1, 1, 1, 4, 3), mode="nearest", padding_mode=pm,
                             align_corners=ac)
        print(f"{pm:10s} ac={ac!s:5s}", [f"{v:.4f}" for v in out[0, 0].flatten().tolist()],
              [f"{v:.4f}" for v in near[0, 1].flatten().tolist()])

# training images from the analytic scene
poses = [look_at(e) for e in ([0., 0.5, 3.], [2.5, 0.8, 1.5], [-2.2, -0.6, 2.0], [0., 2.8, 1.])]
all_o, all_d, all_rgb = [], [], []
for c2w in poses:
    ro, rd = get_rays(c2w)
    pts, t, inside = sample_ray(ro, rd, 48, 0.06)
    sigma, rgb = scene(pts)
    alpha = (1 - torch.exp(-sigma * 0.06)) * inside
    rgb_map, _, _ = composite(alpha, rgb)
    all_o.append(ro)
    all_d.append(rd)
    all_rgb.append(rgb_map)
rays_o, rays_d, target = torch.cat(all_o), torch.cat(all_d), torch.cat(all_rgb)
t_min, t_max, out_box = ray_box(rays_o, rays_d)
print("rays", rays_o.shape[0], "missing the box", out_box.sum().item(),
      "mean hit length", f"{(t_max - t_min)[~out_box].mean().item():.4f}")
print("target mean", f"{target.mean().item():.4f}", "min", f"{target.min().item():.4f}")

alpha_init = 1e-2
stepsize = 0.12
act_shift = torch.log(torch.tensor(1 / (1 - alpha_init) - 1)).item()
print("act_shift", f"{act_shift:.4f}")
density = DenseGrid(1, [6, 6, 6], XYZ_MIN, XYZ_MAX)
k0 = DenseGrid(3, [6, 6, 6], XYZ_MIN, XYZ_MAX)
with torch.no_grad():
    # small random grids: Adam turns the near-cancelling gradients of a flat (all-zero) grid
    # into full-size steps of arbitrary sign
    k0.grid.normal_(0.0, 0.5)
    density.grid.normal_(0.0, 0.5)


def make_optimizer():
    return torch.optim.Adam([{"params": density.parameters(), "lr": 0.1},
                             {"params": k0.parameters(), "lr": 0.05}], betas=(0.9, 0.99))


optimizer = make_optimizer()
mse2psnr = lambda x: -10. * torch.log10(x)  # noqa: E731
for it in range(40):
    if it == 20:
        density.scale_volume_grid([10, 10, 10])
        k0.scale_volume_grid([10, 10, 10])
        optimizer = make_optimizer()
        print("scaled to", list(density.grid.shape), "grid mean",
              f"{density.grid.mean().item():.3f}")
    sel = torch.randint(0, rays_o.shape[0], (64,))
    rgb_map, depth, bg = render(density, k0, rays_o[sel], rays_d[sel], act_shift)
    mse = F.mse_loss(rgb_map, target[sel])
    tv = density.total_variation() + k0.total_variation()
    loss = mse + 1e-3 * tv
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    decay = 0.1 ** (1 / 400)
    for g in optimizer.param_groups:
        g["lr"] = g["lr"] * decay
    if it % 8 == 0:
        print(f"it {it:2d} mse {mse.item():.4f} psnr {mse2psnr(mse).item():.2f}",
              f"tv {tv.item():.3f} bg {bg.mean().item():.4f}")

with torch.no_grad():
    # a coarse occupancy mask from the learnt density, dilated by one voxel
    alpha_grid = 1 - torch.exp(-F.softplus(density.grid + act_shift) * stepsize)
    mask = alpha_grid > 1e-2
    dilated = F.max_pool3d(mask.float(), kernel_size=3, stride=1, padding=1) > 0
    print("occupied voxels", mask.sum().item(), "after dilation", dilated.sum().item())
    ro, rd = get_rays(poses[1])
    outs = [render(density, k0, o, d, act_shift)
            for o, d in zip(torch.split(ro, 20), torch.split(rd, 20))]
    rgb = torch.cat([o[0] for o in outs])
    depth = torch.cat([o[1] for o in outs])
    print("eval psnr", f"{mse2psnr(F.mse_loss(rgb, all_rgb[1])).item():.2f}",
          "depth mean", f"{depth.mean().item():.4f}",
          "chunks", len(outs))
