"""3-D registration and augmentation on volumes, as written in the plain-PyTorch VoxelMorph /
TorchIO-style repositories: random affine augmentation built from 4x4 homogeneous matrices
(rotation about an axis, anisotropic scale, translation; ``torch.linalg.inv``, ``torch.det``)
applied with 5-D ``F.affine_grid`` + ``F.grid_sample`` (trilinear for the image, nearest for
the labels, ``border`` / ``reflection`` padding); an affine registration that learns ``theta``
by gradient descent through the sampler; then VoxelMorph's deformable model: a small
``Conv3d`` encoder predicting a stationary velocity field at half resolution, integrated by
scaling and squaring through a ``SpatialTransformer`` that keeps its identity grid as a
non-persistent buffer, upsampled with ``F.interpolate(mode="trilinear")``, trained with a local
normalized cross-correlation loss (windowed sums by ``F.conv3d`` with a ones kernel) plus a
diffusion regularizer; Dice of the warped labels and the fraction of folding voxels from the
Jacobian determinant (``torch.gradient`` + ``torch.linalg.det``)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
S = 12


def phantom(gen):
    """A volume with an ellipsoid (label 1) holding an off-center ball (label 2)."""
    c = torch.linspace(-1, 1, S)
    z, y, x = torch.meshgrid(c, c, c, indexing="ij")
    outer = (z / 0.7) ** 2 + (y / 0.55) ** 2 + (x / 0.6) ** 2 < 1
    inner = (z - 0.2) ** 2 + (y + 0.15) ** 2 + (x - 0.1) ** 2 < 0.3 ** 2
    label = outer.long() + (outer & inner).long()
    image = 0.6 * outer.float() + 0.4 * inner.float() + 0.05 * torch.randn(S, S, S, generator=gen)
    return image[None, None], label[None, None]


def affine_matrix(angle, axis, scale, shift):
    """4x4 homogeneous matrix: rotation by ``angle`` about ``axis`` (0=z, 1=y, 2=x), then scale,
    then translation (in normalized coordinates, x/y/z order as affine_grid wants)."""
    c, s = math.cos(angle), math.sin(angle)
    i, j = [a for a in range(3) if a != axis]
    rot = torch.eye(4)
    rot[i, i], rot[i, j], rot[j, i], rot[j, j] = c, -s, s, c
    mat = torch.diag(torch.tensor([*scale, 1.0])) @ rot
    mat[:3, 3] = torch.tensor(shift)
    return mat


def dice(a, b, cls):
    a, b = a == cls, b == cls
    return (2 * (a & b).sum() / (a.sum() + b.sum()).clamp_min(1)).item()


gen = torch.Generator().manual_seed(3)
fixed, fixed_lab = phantom(gen)
true = affine_matrix(0.25, 0, (1.1, 0.95, 1.0), (0.08, -0.05, 0.1))
print("true det", round(torch.det(true).item(), 4), "inverse row 0",
      torch.linalg.inv(true)[0].round(decimals=4))
grid = F.affine_grid(true[None, :3], fixed.shape, align_corners=False)
moving = F.grid_sample(fixed, grid, mode="bilinear", padding_mode="border", align_corners=False)
moving_lab = F.grid_sample(fixed_lab.float(), grid, mode="nearest", align_corners=False).long()
print("grid", tuple(grid.shape), "moving mean", round(moving.mean().item(), 4),
      "labels", torch.bincount(moving_lab.flatten(), minlength=3).tolist())
print("dice before 1/2", round(dice(moving_lab, fixed_lab, 1), 4),
      round(dice(moving_lab, fixed_lab, 2), 4))

# --- a random augmentation of the pair, the way a training loader would do it ---
angle = (torch.rand(1, generator=gen).item() - 0.5) * 0.4
aug = affine_matrix(angle, 2, (1.0, 1.05, 0.9), (0.0, 0.05, 0.0))
aug_grid = F.affine_grid(aug[None, :3], (1, 1, S, S, S), align_corners=True)
for mode in ("zeros", "border", "reflection"):
    out = F.grid_sample(moving, aug_grid, padding_mode=mode, align_corners=True)
    # two decimals: float32 randn differs from torch's vectorised one in the last bit
    print(f"augment {mode:10s} sum {out.sum().item():.2f}")
aug_lab = F.grid_sample(moving_lab.float(), aug_grid, mode="nearest", align_corners=True)
print("augmented label values", aug_lab.unique().tolist())

# --- affine registration: learn theta through affine_grid + grid_sample ---
theta = nn.Parameter(torch.eye(4)[:3].unsqueeze(0).clone())
opt = torch.optim.Adam([theta], lr=0.02)
for it in range(40):
    warped = F.grid_sample(moving, F.affine_grid(theta, fixed.shape, align_corners=False),
                           padding_mode="border", align_corners=False)
    loss = F.mse_loss(warped, fixed)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if it % 10 == 9:
        print(f"affine iter {it + 1} mse {loss.item():.5f} |grad| {theta.grad.norm().item():.4f}")
with torch.no_grad():
    full = torch.cat([theta[0], torch.tensor([[0.0, 0.0, 0.0, 1.0]])])
    composed = true @ full
    print("composed vs identity", round((composed - torch.eye(4)).abs().max().item(), 2))


# --- VoxelMorph: velocity field, scaling and squaring, spatial transformer ---
class SpatialTransformer(nn.Module):
    """Warps a volume by a displacement field given in voxels, (N, 3, D, H, W) in z/y/x order."""

    def __init__(self, size):
        super().__init__()
        vectors = [torch.arange(0, s, dtype=torch.float32) for s in size]
        self.register_buffer("grid", torch.stack(torch.meshgrid(vectors, indexing="ij"))[None],
                             persistent=False)
        self.size = size

    def forward(self, src, flow, mode="bilinear"):
        locs = self.grid + flow
        scale = torch.tensor([2.0 / (s - 1) for s in self.size]).view(1, 3, 1, 1, 1)
        locs = locs * scale - 1.0
        locs = locs.permute(0, 2, 3, 4, 1)[..., [2, 1, 0]]  # z/y/x channels -> x/y/z last
        return F.grid_sample(src, locs, mode=mode, align_corners=True)


class VecInt(nn.Module):
    """Integrates a stationary velocity field by scaling and squaring."""

    def __init__(self, size, steps=4):
        super().__init__()
        self.steps = steps
        self.transformer = SpatialTransformer(size)

    def forward(self, vec):
        vec = vec * (1.0 / 2 ** self.steps)
        for _ in range(self.steps):
            vec = vec + self.transformer(vec, vec)
        return vec


class VxmDense(nn.Module):
    def __init__(self, size, f=6):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv3d(2, f, 3, padding=1), nn.LeakyReLU(0.2),
                                 nn.Conv3d(f, f, 3, stride=2, padding=1), nn.LeakyReLU(0.2))
        self.flow = nn.Conv3d(f, 3, 3, padding=1)
        nn.init.normal_(self.flow.weight, 0.0, 1e-2)
        nn.init.zeros_(self.flow.bias)
        half = tuple(s // 2 for s in size)
        self.integrate = VecInt(half)
        self.transformer = SpatialTransformer(size)

    def forward(self, source, target):
        velocity = self.flow(self.enc(torch.cat([source, target], dim=1)))
        flow = self.integrate(velocity)
        flow = 2.0 * F.interpolate(flow, scale_factor=2, mode="trilinear", align_corners=True)
        return self.transformer(source, flow), flow


def ncc_loss(a, b, win=5):
    """Negative local normalized cross-correlation over win^3 windows."""
    ones = torch.ones(1, 1, win, win, win)
    pad = win // 2
    sums = [F.conv3d(t, ones, padding=pad) for t in (a, b, a * a, b * b, a * b)]
    a_sum, b_sum, a2, b2, ab = sums
    n = win ** 3
    cross = ab - a_sum * b_sum / n
    a_var = a2 - a_sum * a_sum / n
    b_var = b2 - b_sum * b_sum / n
    return -(cross * cross / (a_var * b_var + 1e-5)).mean()


def grad_loss(flow):
    dz = (flow[:, :, 1:] - flow[:, :, :-1]).pow(2).mean()
    dy = (flow[:, :, :, 1:] - flow[:, :, :, :-1]).pow(2).mean()
    dx = (flow[..., 1:] - flow[..., :-1]).pow(2).mean()
    return (dz + dy + dx) / 3


vxm = VxmDense((S, S, S))
print("state_dict keys", list(vxm.state_dict())[:2], "buffers", len(list(vxm.buffers())),
      "persistent in state_dict", any("grid" in k for k in vxm.state_dict()))
opt = torch.optim.Adam(vxm.parameters(), lr=5e-3)
for it in range(12):
    warped, flow = vxm(moving, fixed)
    sim, reg = ncc_loss(warped, fixed), grad_loss(flow)
    loss = sim + 0.05 * reg
    opt.zero_grad()
    loss.backward()
    opt.step()
    if it % 4 == 3:
        print(f"vxm iter {it + 1} ncc {sim.item():.4f} grad {reg.item():.5f} "
              f"|flow| max {flow.abs().max().item():.4f}")

with torch.no_grad():
    warped, flow = vxm(moving, fixed)
    warped_lab = vxm.transformer(moving_lab.float(), flow, mode="nearest").long()
print("dice after 1/2", round(dice(warped_lab, fixed_lab, 1), 4),
      round(dice(warped_lab, fixed_lab, 2), 4))

# Jacobian of the deformation x + u(x): finite differences of the flow along z, y, x
grads = torch.gradient(flow[0], dim=(1, 2, 3))
jac = torch.stack(grads, dim=1).permute(2, 3, 4, 0, 1) + torch.eye(3)
det = torch.linalg.det(jac)
print("jacobian", tuple(jac.shape), "det min", round(det.min().item(), 3),
      "folding fraction", round((det <= 0).float().mean().item(), 4))
print(det[S // 2, S // 2, 4:8].round(decimals=3))

# --- the sampler's input checks ---
for what, fn in [("4-D grid for 5-D input", lambda: F.grid_sample(fixed, torch.zeros(1, S, S, 3),
                                                                  align_corners=False)),
                 ("bicubic on 5-D", lambda: F.grid_sample(fixed, grid, mode="bicubic",
                                                          align_corners=False)),
                 ("2x3 theta for a 5-D size", lambda: F.affine_grid(torch.zeros(1, 2, 3),
                                                                    fixed.shape, False)),
                 ("trilinear on 4-D", lambda: F.interpolate(fixed[0], scale_factor=2,
                                                            mode="trilinear"))]:
    try:
        fn()
        print(what, "ok")
    except (RuntimeError, ValueError, NotImplementedError) as e:
        print(what, "->", type(e).__name__, str(e).splitlines()[0])
