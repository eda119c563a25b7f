"""A toy 3-D Gaussian splatting renderer and trainer in plain PyTorch, after the 3DGS paper
and the gaussian-splatting repository's GaussianModel (general_utils.py, sh_utils.py) and the
pure-PyTorch rasterisers people write to understand it: Gaussians with unit quaternions
(``F.normalize``) and log-scales, covariances R S S^T R^T, an EWA projection through the
camera Jacobian to 2-D covariances whose inverses (conics, ``torch.linalg.inv``) and extents
(``torch.linalg.eigvalsh``) decide their footprint, degree-1 spherical-harmonic colour,
front-to-back alpha compositing in depth order (``torch.argsort``) with an exclusive
``torch.cumprod``, opacity kept through ``inverse_sigmoid``. Densification follows the repo:
screen-space gradient norms accumulate from ``retain_grad()`` on the projected means, large ones
are cloned, faint ones pruned, and the optimiser's Adam moments are cut and extended in place
(``optimizer.state``, new ``nn.Parameter`` objects in ``param_groups``).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
H = W = 12
FOCAL = 14.0
C0 = 0.28209479177387814
C1 = 0.4886025119029199


def inverse_sigmoid(x):
    return torch.log(x / (1 - x))


def build_rotation(q):
    q = F.normalize(q, dim=-1)
    r, x, y, z = q.unbind(-1)
    R = torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - r * z), 2 * (x * z + r * y),
        2 * (x * y + r * z), 1 - 2 * (x * x + z * z), 2 * (y * z - r * x),
        2 * (x * z - r * y), 2 * (y * z + r * x), 1 - 2 * (x * x + y * y)], -1)
    return R.reshape(-1, 3, 3)


def build_covariance(scaling, rotation):
    L = build_rotation(rotation) @ torch.diag_embed(scaling)
    return L @ L.transpose(1, 2)


def eval_sh(sh, dirs):
    """Degree-1 real spherical harmonics; sh: [N, 3, 4], dirs: [N, 3]."""
    x, y, z = dirs[:, 0:1], dirs[:, 1:2], dirs[:, 2:3]
    return (C0 * sh[..., 0] - C1 * y * sh[..., 1] + C1 * z * sh[..., 2]
            - C1 * x * sh[..., 3])


def project(means, cov3d, viewmat):
    """World -> camera -> pixel; returns 2-D means, 2-D covariances and depths."""
    Rw, tw = viewmat[:3, :3], viewmat[:3, 3]
    p = means @ Rw.T + tw
    x, y, z = p.unbind(-1)
    means2d = torch.stack([FOCAL * x / z + W / 2, FOCAL * y / z + H / 2], -1)
    zeros = torch.zeros_like(z)
    J = torch.stack([FOCAL / z, zeros, -FOCAL * x / z ** 2,
                     zeros, FOCAL / z, -FOCAL * y / z ** 2], -1).reshape(-1, 2, 3)
    T = J @ Rw
    cov2d = T @ cov3d @ T.transpose(1, 2)
    cov2d = cov2d + 0.3 * torch.eye(2)  # low-pass filter, as the rasteriser does
    return means2d, cov2d, z


class GaussianModel(nn.Module):
    def __init__(self, n):
        super().__init__()
        self._xyz = nn.Parameter((torch.rand(n, 3) - 0.5) * 1.6)
        self._scaling = nn.Parameter(torch.log(torch.full((n, 3), 0.15)))
        self._rotation = nn.Parameter(torch.cat([torch.ones(n, 1), torch.zeros(n, 3)], -1))
        self._opacity = nn.Parameter(inverse_sigmoid(0.1 * torch.ones(n, 1)))
        self._sh = nn.Parameter(torch.zeros(n, 3, 4))
        self.xyz_gradient_accum = torch.zeros(n, 1)
        self.denom = torch.zeros(n, 1)

    @property
    def get_opacity(self):
        return torch.sigmoid(self._opacity)

    def names(self):
        return ["_xyz", "_scaling", "_rotation", "_opacity", "_sh"]


def render(gm, viewmat, campos, bg=1.0):
    cov3d = build_covariance(torch.exp(gm._scaling), gm._rotation)
    means2d, cov2d, depth = project(gm._xyz, cov3d, viewmat)
    if means2d.requires_grad:
        means2d.retain_grad()
    conic = torch.linalg.inv(cov2d)
    radii = 3 * torch.sqrt(torch.linalg.eigvalsh(cov2d)[:, -1])
    dirs = F.normalize(gm._xyz - campos, dim=-1)
    colors = torch.clamp_min(eval_sh(gm._sh, dirs) + 0.5, 0.0)
    order = torch.argsort(depth)
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32) + 0.5,
                            torch.arange(W, dtype=torch.float32) + 0.5, indexing="ij")
    pix = torch.stack([xs, ys], -1).reshape(-1, 1, 2)                   # [P, 1, 2]
    d = pix - means2d[order][None]                                       # [P, N, 2]
    power = -0.5 * torch.einsum("pni,nij,pnj->pn", d, conic[order], d)
    inside = (d.norm(dim=-1) <= radii[order][None]) & (depth[order] > 0.2)[None]
    alpha = torch.clamp(gm.get_opacity[order, 0][None] * torch.exp(power), max=0.99)
    alpha = torch.where(inside & (alpha >= 1 / 255), alpha, torch.zeros_like(alpha))
    T = torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1 - alpha], 1), 1)
    weights = alpha * T[:, :-1]
    img = weights @ colors[order] + T[:, -1:] * bg
    return img.reshape(H, W, 3), means2d, radii


def view_matrix(angle):
    c, s = math.cos(angle), math.sin(angle)
    R = torch.tensor([[c, 0., -s], [0., 1., 0.], [s, 0., c]])
    campos = R.T @ torch.tensor([0., 0., -4.])
    V = torch.eye(4)
    V[:3, :3] = R
    V[:3, 3] = -R @ campos
    return V, campos


# checks of the building blocks
q = torch.tensor([[1., 0., 0., 0.], [0.5, 0.5, 0.5, 0.5], [2., 0., 1., 0.]])
R = build_rotation(q)
print("rotations orthonormal:", f"{(R @ R.transpose(1, 2) - torch.eye(3)).abs().max().item():.6f}",
      "det", [f"{v:.4f}" for v in torch.linalg.det(R).tolist()])
cov = build_covariance(torch.tensor([[0.1, 0.2, 0.3]]).expand(3, 3), q)
print("covariance eigenvalues:", [f"{v:.4f}" for v in torch.linalg.eigvalsh(cov)[1].tolist()])
print("sh of a constant colour:",
      [f"{v:.4f}" for v in eval_sh(torch.ones(1, 3, 4), torch.tensor([[0., 0., 1.]]))[0].tolist()])

# target images: a hand-placed scene of coloured blobs
target_gm = GaussianModel(6)
with torch.no_grad():
    target_gm._xyz.copy_(torch.tensor([[0., 0., 0.], [0.6, 0.2, 0.1], [-0.5, -0.3, 0.2],
                                       [0.1, 0.6, -0.4], [-0.2, 0.4, 0.5], [0.3, -0.5, -0.3]]))
    target_gm._scaling.copy_(torch.log(torch.rand(6, 3) * 0.2 + 0.12))
    target_gm._rotation.copy_(torch.randn(6, 4))
    target_gm._opacity.copy_(inverse_sigmoid(torch.full((6, 1), 0.9)))
    target_gm._sh[:, :, 0] = (torch.rand(6, 3) - 0.5) / C0
views = [view_matrix(a) for a in (0.0, 0.7, -0.7, 1.6)]
with torch.no_grad():
    targets = [render(target_gm, V, c)[0] for V, c in views]
print("target means:", [f"{t.mean().item():.4f}" for t in targets])

gm = GaussianModel(10)
lrs = {"_xyz": 0.01, "_scaling": 0.02, "_rotation": 0.01, "_opacity": 0.05, "_sh": 0.02}
optimizer = torch.optim.Adam([{"params": [getattr(gm, n)], "lr": lrs[n], "name": n}
                              for n in gm.names()], lr=0.0, eps=1e-15)


def replace_params(optimizer, gm, fn):
    """Apply fn(tensor, name) to every parameter and to its Adam moments, in place."""
    for group in optimizer.param_groups:
        old = group["params"][0]
        state = optimizer.state.get(old, None)
        new = nn.Parameter(fn(old.detach(), group["name"]).requires_grad_(True))
        if state is not None:
            state["exp_avg"] = fn(state["exp_avg"], None)
            state["exp_avg_sq"] = fn(state["exp_avg_sq"], None)
            del optimizer.state[old]
            optimizer.state[new] = state
        group["params"][0] = new
        setattr(gm, group["name"], new)


def densify_and_prune(gm, optimizer, grad_threshold, min_opacity):
    grads = gm.xyz_gradient_accum / gm.denom.clamp(min=1)
    clone = grads.squeeze(-1) >= grad_threshold
    n_clone = int(clone.sum())

    def cat_clone(t, name):
        extra = t[clone]
        if name == "_xyz":
            extra = extra + 0.05 * torch.randn_like(extra)
        elif name is None:
            extra = torch.zeros_like(extra)
        return torch.cat([t, extra], 0)

    replace_params(optimizer, gm, cat_clone)
    keep = (gm.get_opacity >= min_opacity).squeeze(-1)
    replace_params(optimizer, gm, lambda t, name: t[keep])
    gm.xyz_gradient_accum = torch.zeros(gm._xyz.shape[0], 1)
    gm.denom = torch.zeros(gm._xyz.shape[0], 1)
    return n_clone, int((~keep).sum())


for it in range(36):
    V, campos = views[it % len(views)]
    img, means2d, radii = render(gm, V, campos)
    l1 = (img - targets[it % len(views)]).abs().mean()
    loss = l1 + 0.2 * ((img - targets[it % len(views)]) ** 2).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    with torch.no_grad():
        visible = radii > 0
        gm.xyz_gradient_accum[visible] += torch.norm(means2d.grad[visible], dim=-1,
                                                     keepdim=True)
        gm.denom[visible] += 1
    optimizer.step()
    if it % 6 == 0:
        print(f"it {it:2d} n {gm._xyz.shape[0]:2d} l1 {l1.item():.4f}",
              f"opacity {gm.get_opacity.mean().item():.4f}",
              f"scale {torch.exp(gm._scaling).mean().item():.4f}")
    if it in (11, 23):
        with torch.no_grad():
            avg = (gm.xyz_gradient_accum / gm.denom.clamp(min=1)).squeeze(-1)
            threshold = torch.quantile(avg, 0.75).item()
            n_clone, n_pruned = densify_and_prune(gm, optimizer, threshold, 0.15)
        sizes = [tuple(optimizer.state[g["params"][0]]["exp_avg"].shape)
                 for g in optimizer.param_groups]
        print(f"densify at {it}: cloned {n_clone} pruned {n_pruned} now {gm._xyz.shape[0]}",
              "state shapes", sizes[0], sizes[4],
              "params", sum(p.numel() for p in gm.parameters()))

with torch.no_grad():
    psnrs = []
    for (V, campos), target in zip(views, targets):
        img = render(gm, V, campos)[0]
        psnrs.append(-10 * torch.log10(((img - target) ** 2).mean()).item())
    print("psnr per view:", [f"{p:.2f}" for p in psnrs])
    print("final opacity range", f"{gm.get_opacity.min().item():.4f}",
          f"{gm.get_opacity.max().item():.4f}")
