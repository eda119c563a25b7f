"""2-D to 3-D human pose lifting in the style of Martinez et al.'s simple baseline and
VideoPose3D's evaluation code: a residual MLP with ``nn.BatchNorm1d``/``nn.Dropout`` and
``kaiming_normal_`` init lifts normalised 2-D joints (dataset mean/std, root-relative via
slicing and ``unsqueeze``), trained with MPJPE plus a bone-length loss built from a parent
index list and ``torch.linalg.norm``. Evaluation reports MPJPE, P-MPJPE (Procrustes alignment
with ``torch.linalg.svd``, ``torch.det``/``torch.sign`` for reflections, batched
``torch.matmul``/``transpose``), N-MPJPE (optimal scale) and the mean per-joint velocity
error from ``torch.diff``; also a perspective projection with ``torch.einsum`` and
``clamp``, ``nn.utils.clip_grad_norm_``, ``ExponentialLR`` and printing a small tensor."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(3)
J = 8
PARENTS = [-1, 0, 1, 2, 0, 4, 5, 0]
BONE = torch.tensor([j for j in range(J) if PARENTS[j] >= 0])
PARENT = torch.tensor([PARENTS[j] for j in range(J) if PARENTS[j] >= 0])

# synthetic 3-D skeletons (float64 throughout so the metrics are stable)
T = 96
rest = rng.normal(0, 0.3, size=(J, 3))
rest[0] = 0
phase = np.linspace(0, 4 * np.pi, T)[:, None, None]
motion = rest[None] + 0.15 * np.sin(phase + rng.uniform(0, 6, size=(1, J, 3)))
motion[:, 0] = 0
pose3d = torch.from_numpy(motion + np.array([0.0, 0.0, 4.0]))     # camera at distance 4
K = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)


def project(p3):
    uvw = torch.einsum("ij,tkj->tki", K, p3)
    return uvw[..., :2] / uvw[..., 2:].clamp(min=1e-6)


pose2d = project(pose3d) + 0.003 * torch.from_numpy(rng.standard_normal((T, J, 2)))
root_rel3d = pose3d - pose3d[:, :1]
mean2d, std2d = pose2d.mean(0, keepdim=True), pose2d.std(0, keepdim=True)
inp = ((pose2d - mean2d) / std2d).reshape(T, -1)
print("input", tuple(inp.shape), inp.dtype, "std2d min", round(std2d.min().item(), 4))
print("first root-relative joint\n", root_rel3d[0, :3].round(decimals=3))


class LinearBlock(nn.Module):
    def __init__(self, size, p=0.1):
        super().__init__()
        self.l1, self.b1 = nn.Linear(size, size), nn.BatchNorm1d(size)
        self.l2, self.b2 = nn.Linear(size, size), nn.BatchNorm1d(size)
        self.drop = nn.Dropout(p)

    def forward(self, x):
        y = self.drop(F.relu(self.b1(self.l1(x))))
        y = self.drop(F.relu(self.b2(self.l2(y))))
        return x + y


class Lifter(nn.Module):
    def __init__(self, size=48, blocks=2):
        super().__init__()
        self.inp = nn.Linear(2 * J, size)
        self.blocks = nn.Sequential(*[LinearBlock(size) for _ in range(blocks)])
        self.out = nn.Linear(size, 3 * J)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.out(self.blocks(F.relu(self.inp(x)))).view(-1, J, 3)


def mpjpe(pred, gt):
    return torch.mean(torch.norm(pred - gt, dim=len(gt.shape) - 1))


def n_mpjpe(pred, gt):
    norm_pred = torch.mean(torch.sum(pred ** 2, dim=2, keepdim=True), dim=1, keepdim=True)
    norm_gt = torch.mean(torch.sum(gt * pred, dim=2, keepdim=True), dim=1, keepdim=True)
    return mpjpe(norm_gt / norm_pred * pred, gt)


def p_mpjpe(pred, gt):
    mu_x, mu_y = gt.mean(1, keepdim=True), pred.mean(1, keepdim=True)
    x0, y0 = gt - mu_x, pred - mu_y
    nx = torch.sqrt((x0 ** 2).sum(dim=(1, 2), keepdim=True))
    ny = torch.sqrt((y0 ** 2).sum(dim=(1, 2), keepdim=True))
    x0, y0 = x0 / nx, y0 / ny
    H = torch.matmul(x0.transpose(1, 2), y0)
    U, s, Vt = torch.linalg.svd(H)
    V = Vt.transpose(1, 2)
    R = torch.matmul(V, U.transpose(1, 2))
    sign_det = torch.sign(torch.det(R)).unsqueeze(1)
    V = torch.cat([V[:, :, :-1], V[:, :, -1:] * sign_det.unsqueeze(1)], dim=2)
    s = torch.cat([s[:, :-1], s[:, -1:] * sign_det], dim=1)
    R = torch.matmul(V, U.transpose(1, 2))
    tr = s.sum(dim=1, keepdim=True).unsqueeze(2)
    a = tr * nx / ny
    t = mu_x - a * torch.matmul(mu_y, R)
    aligned = a * torch.matmul(pred, R) + t
    return torch.norm(aligned - gt, dim=-1).mean(), R


def bone_lengths(p):
    return torch.linalg.norm(p[:, BONE] - p[:, PARENT], dim=-1)


model = Lifter().double()
opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-5)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.96)
target_bones = bone_lengths(root_rel3d).mean(0)
for epoch in range(12):
    model.train()
    perm = torch.randperm(T)
    total = 0.0
    for i in range(0, T, 32):
        idx = perm[i:i + 32]
        pred = model(inp[idx])
        loss = mpjpe(pred, root_rel3d[idx])
        loss = loss + 0.1 * F.l1_loss(bone_lengths(pred), target_bones.expand(len(idx), -1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        total += loss.item() * len(idx)
    sched.step()
    if epoch % 4 == 0 or epoch == 11:
        print(f"epoch {epoch:2d} loss {total / T:.4f} lr {sched.get_last_lr()[0]:.6f}")

model.eval()
with torch.no_grad():
    pred = model(inp)
    e1 = mpjpe(pred, root_rel3d)
    e2, R = p_mpjpe(pred, root_rel3d)
    e3 = n_mpjpe(pred, root_rel3d)
    vel = torch.diff(pred, dim=0) - torch.diff(root_rel3d, dim=0)
print(f"MPJPE {e1.item():.4f} P-MPJPE {e2.item():.4f} N-MPJPE {e3.item():.4f} "
      f"MPJVE {torch.norm(vel, dim=-1).mean().item():.4f}")
print("rotations orthonormal", torch.allclose(R @ R.mT, torch.eye(3, dtype=R.dtype).expand_as(R)),
      "det", round(torch.linalg.det(R).mean().item(), 4))
# Procrustes of a rotated, scaled copy is exact
theta = torch.tensor(0.7, dtype=torch.float64)
c, s = torch.cos(theta), torch.sin(theta)
zero = torch.zeros_like(c)
rot = torch.stack([torch.stack([c, -s, zero]), torch.stack([s, c, zero]),
                   torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)])
err, _ = p_mpjpe(1.7 * root_rel3d[:5] @ rot.T + 0.2, root_rel3d[:5])
print("procrustes of rigid copy", f"{err.item():.6f}", "bone error",
      round((bone_lengths(pred).mean(0) - target_bones).abs().max().item(), 4))
