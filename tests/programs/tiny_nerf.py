"""A tiny NeRF, after the "tiny_nerf" notebook and nerf-pytorch's run_nerf_helpers.py:
rays from a pinhole camera (``torch.meshgrid`` with ``indexing='xy'``), stratified samples
along each ray (``torch.linspace`` plus jitter), a positional encoding of sin/cos octaves, a
small MLP for density and colour, volume rendering with an exclusive ``torch.cumprod`` of
transmittance, and hierarchical (fine) sampling: inverse-transform sampling of the coarse
weights' piecewise-constant PDF with ``torch.searchsorted``. Rays are batched in chunks.

The scene is analytic (a coloured ball), so the "images" are rendered from its density.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
H = W = 8
focal = 8.0
N_SAMPLES, N_IMPORTANCE, L_XYZ, L_DIR = 16, 16, 4, 2


def get_rays(H, W, focal, c2w):
    i, j = torch.meshgrid(torch.linspace(0, W - 1, W), torch.linspace(0, H - 1, H),
                          indexing="xy")
    dirs = torch.stack([(i - W * .5) / focal, -(j - H * .5) / focal, -torch.ones_like(i)], -1)
    rays_d = torch.sum(dirs[..., None, :] * c2w[:3, :3], -1)
    rays_o = c2w[:3, -1].expand(rays_d.shape)
    return rays_o, rays_d


def pose_spherical(theta):
    t = torch.tensor(theta)
    c, s = torch.cos(t), torch.sin(t)
    rot = torch.tensor([[c, 0., -s], [0., 1., 0.], [s, 0., c]])
    c2w = torch.eye(4)
    c2w[:3, :3] = rot
    c2w[:3, 3] = rot @ torch.tensor([0., 0., 3.])
    return c2w


def embed(x, L):
    """gamma(p) = (p, sin(2^k pi p), cos(2^k pi p)) for k < L."""
    freq_bands = 2. ** torch.linspace(0., L - 1, steps=L)
    out = [x]
    for freq in freq_bands:
        for fn in (torch.sin, torch.cos):
            out.append(fn(x * freq))
    return torch.cat(out, -1)


def true_field(pts):
    """The scene: a ball of radius 0.8 with a colour that varies with height."""
    r = pts.norm(dim=-1, keepdim=True)
    sigma = 20.0 * torch.sigmoid((0.8 - r) * 20.0)
    rgb = torch.cat([torch.sigmoid(pts[..., 1:2] * 3), 0.5 * torch.ones_like(r),
                     torch.sigmoid(-pts[..., 0:1] * 3)], -1)
    return torch.cat([rgb, sigma], -1)


class NeRF(nn.Module):
    def __init__(self, D=3, Wd=32, skips=(1,)):
        super().__init__()
        in_ch, in_dir = 3 + 6 * L_XYZ, 3 + 6 * L_DIR
        self.skips = skips
        self.pts_linears = nn.ModuleList(
            [nn.Linear(in_ch, Wd)] + [nn.Linear(Wd + (in_ch if i in skips else 0), Wd)
                                      for i in range(D - 1)])
        self.alpha_linear = nn.Linear(Wd, 1)
        self.feature_linear = nn.Linear(Wd, Wd)
        self.views_linears = nn.ModuleList([nn.Linear(in_dir + Wd, Wd // 2)])
        self.rgb_linear = nn.Linear(Wd // 2, 3)

    def forward(self, x):
        input_pts, input_views = torch.split(x, [3 + 6 * L_XYZ, 3 + 6 * L_DIR], dim=-1)
        h = input_pts
        for i, layer in enumerate(self.pts_linears):
            h = F.relu(layer(h))
            if i in self.skips:
                h = torch.cat([input_pts, h], -1)
        alpha = self.alpha_linear(h)
        h = torch.cat([self.feature_linear(h), input_views], -1)
        for layer in self.views_linears:
            h = F.relu(layer(h))
        return torch.cat([self.rgb_linear(h), alpha], -1)


def raw2outputs(raw, z_vals, rays_d, raw_noise_std=0.0, analytic=False):
    dists = z_vals[..., 1:] - z_vals[..., :-1]
    dists = torch.cat([dists, torch.tensor([1e10]).expand(dists[..., :1].shape)], -1)
    dists = dists * torch.norm(rays_d[..., None, :], dim=-1)
    rgb = raw[..., :3] if analytic else torch.sigmoid(raw[..., :3])
    noise = torch.randn(raw[..., 3].shape) * raw_noise_std if raw_noise_std > 0 else 0.
    sigma = raw[..., 3] if analytic else F.relu(raw[..., 3] + noise)
    alpha = 1. - torch.exp(-sigma * dists)
    # T_i = prod_{j<i} (1 - alpha_j): the exclusive cumulative product
    trans = torch.cumprod(torch.cat([torch.ones((alpha.shape[0], 1)), 1. - alpha + 1e-10], -1),
                          -1)[:, :-1]
    weights = alpha * trans
    rgb_map = torch.sum(weights[..., None] * rgb, -2)
    depth_map = torch.sum(weights * z_vals, -1)
    acc_map = torch.sum(weights, -1)
    disp_map = 1. / torch.max(1e-10 * torch.ones_like(depth_map), depth_map / acc_map)
    return rgb_map, disp_map, acc_map, weights, depth_map


def sample_pdf(bins, weights, N_samples, det=False):
    weights = weights + 1e-5  # prevent nans
    pdf = weights / torch.sum(weights, -1, keepdim=True)
    cdf = torch.cumsum(pdf, -1)
    cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf], -1)
    if det:
        u = torch.linspace(0., 1., steps=N_samples).expand(list(cdf.shape[:-1]) + [N_samples])
    else:
        u = torch.rand(list(cdf.shape[:-1]) + [N_samples])
    u = u.contiguous()
    inds = torch.searchsorted(cdf, u, right=True)
    below = torch.max(torch.zeros_like(inds - 1), inds - 1)
    above = torch.min((cdf.shape[-1] - 1) * torch.ones_like(inds), inds)
    inds_g = torch.stack([below, above], -1)
    matched_shape = [inds_g.shape[0], inds_g.shape[1], cdf.shape[-1]]
    cdf_g = torch.gather(cdf.unsqueeze(1).expand(matched_shape), 2, inds_g)
    bins_g = torch.gather(bins.unsqueeze(1).expand(matched_shape), 2, inds_g)
    denom = cdf_g[..., 1] - cdf_g[..., 0]
    denom = torch.where(denom < 1e-5, torch.ones_like(denom), denom)
    t = (u - cdf_g[..., 0]) / denom
    return bins_g[..., 0] + t * (bins_g[..., 1] - bins_g[..., 0])


def render_rays(rays_o, rays_d, near, far, fn, perturb=True, analytic=False):
    n_rays = rays_o.shape[0]
    viewdirs = rays_d / torch.norm(rays_d, dim=-1, keepdim=True)
    t_vals = torch.linspace(0., 1., steps=N_SAMPLES)
    z_vals = (near * (1. - t_vals) + far * t_vals).expand([n_rays, N_SAMPLES])
    if perturb:
        mids = .5 * (z_vals[..., 1:] + z_vals[..., :-1])
        upper = torch.cat([mids, z_vals[..., -1:]], -1)
        lower = torch.cat([z_vals[..., :1], mids], -1)
        z_vals = lower + (upper - lower) * torch.rand(z_vals.shape)

    def query(z):
        pts = rays_o[..., None, :] + rays_d[..., None, :] * z[..., :, None]
        if analytic:
            return fn(pts)
        dirs = viewdirs[:, None].expand(pts.shape)
        return fn(torch.cat([embed(pts, L_XYZ), embed(dirs, L_DIR)], -1))

    rgb0, _, acc0, weights, _ = raw2outputs(query(z_vals), z_vals, rays_d, analytic=analytic)
    z_mid = .5 * (z_vals[..., 1:] + z_vals[..., :-1])
    z_samples = sample_pdf(z_mid, weights[..., 1:-1], N_IMPORTANCE, det=not perturb).detach()
    z_all, _ = torch.sort(torch.cat([z_vals, z_samples], -1), -1)
    rgb, disp, acc, _, depth = raw2outputs(query(z_all), z_all, rays_d, analytic=analytic)
    return {"rgb0": rgb0, "acc0": acc0, "rgb_map": rgb, "disp_map": disp, "acc_map": acc,
            "depth_map": depth, "z_samples": z_samples}


def batchify_rays(rays_o, rays_d, chunk, **kw):
    all_ret = {}
    for i in range(0, rays_o.shape[0], chunk):
        ret = render_rays(rays_o[i:i + chunk], rays_d[i:i + chunk], **kw)
        for k in ret:
            all_ret.setdefault(k, []).append(ret[k])
    return {k: torch.cat(all_ret[k], 0) for k in all_ret}


# ground-truth images from three poses
poses = [pose_spherical(a) for a in (0.0, 0.8, -0.8)]
images = []
for c2w in poses:
    ro, rd = get_rays(H, W, focal, c2w)
    out = batchify_rays(ro.reshape(-1, 3), rd.reshape(-1, 3), 32, near=2., far=4.,
                        fn=true_field, perturb=False, analytic=True)
    images.append(out["rgb_map"].reshape(H, W, 3))
images = torch.stack(images)
print("target image means:", [f"{m:.4f}" for m in images.mean((1, 2, 3)).tolist()])
print("center depth:", f"{out['depth_map'][H // 2 * W + W // 2].item():.4f}",
      "fine samples near the surface:",
      [f"{z:.3f}" for z in out["z_samples"][H // 2 * W + W // 2, :4].tolist()])

# all rays of all images, shuffled once, trained in batches
rays = torch.stack([torch.stack(get_rays(H, W, focal, p), 0) for p in poses], 0)  # [N,2,H,W,3]
rays_rgb = torch.cat([rays, images[:, None]], 1).permute(0, 2, 3, 1, 4).reshape(-1, 3, 3)
rays_rgb = rays_rgb[torch.randperm(rays_rgb.shape[0])]
model = NeRF()
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, betas=(0.9, 0.999))
img2mse = lambda x, y: torch.mean((x - y) ** 2)  # noqa: E731
mse2psnr = lambda x: -10. * torch.log(x) / torch.log(torch.tensor([10.]))  # noqa: E731
N_rand, i_batch = 48, 0
for it in range(30):
    batch = rays_rgb[i_batch:i_batch + N_rand]
    i_batch += N_rand
    if i_batch >= rays_rgb.shape[0]:
        rays_rgb = rays_rgb[torch.randperm(rays_rgb.shape[0])]
        i_batch = 0
    batch_rays, target_s = batch[:, :2].transpose(0, 1), batch[:, 2]
    out = batchify_rays(batch_rays[0], batch_rays[1], 24, near=2., far=4., fn=model)
    img_loss = img2mse(out["rgb_map"], target_s)
    loss = img_loss + img2mse(out["rgb0"], target_s)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    decay_rate, decay_steps = 0.1, 100
    for param_group in optimizer.param_groups:
        param_group["lr"] = 5e-3 * (decay_rate ** ((it + 1) / decay_steps))
    if it % 5 == 0 or it == 29:
        print(f"iter {it:2d} loss {loss.item():.4f} psnr {mse2psnr(img_loss).item():.3f}")

with torch.no_grad():
    ro, rd = get_rays(H, W, focal, poses[0])
    out = batchify_rays(ro.reshape(-1, 3), rd.reshape(-1, 3), 32, near=2., far=4., fn=model,
                        perturb=False)
    rgb = out["rgb_map"].reshape(H, W, 3)
    print(f"eval psnr {mse2psnr(img2mse(rgb, images[0])).item():.3f}",
          f"acc mean {out['acc_map'].mean().item():.4f}",
          f"disp mean {out['disp_map'].mean().item():.4f}")
