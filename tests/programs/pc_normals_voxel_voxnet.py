"""Classic point-cloud preprocessing in plain torch, then a VoxNet-style 3-D CNN: random rotation
augmentation from Euler angles (matrices built from ``torch.cos``/``torch.sin`` with a seeded
``torch.Generator``), per-point normal and curvature estimation by batched
``torch.linalg.eigh`` of k-NN covariances (oriented toward a viewpoint), voxel-grid downsampling
with ``torch.unique(dim=0, return_inverse=True, return_counts=True)``, ``index_add_`` and
``scatter_reduce`` (mean / amax / amin, ``include_self=False``), linearised voxel keys with
``searchsorted`` / ``bucketize``, dense occupancy grids via ``index_put_(accumulate=True)``, and a
small ``Conv3d`` + ``GroupNorm`` + ``MaxPool3d`` classifier trained with SGD + Nesterov and
``MultiStepLR``, label smoothing, and a confusion matrix. Everything is drawn from
``torch.manual_seed`` and explicit generators."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
gen = torch.Generator().manual_seed(42)


def euler_to_matrix(angles):
    """angles (B, 3) roll/pitch/yaw -> (B, 3, 3) = Rz @ Ry @ Rx."""
    cx, cy, cz = torch.cos(angles).unbind(-1)
    sx, sy, sz = torch.sin(angles).unbind(-1)
    one, zero = torch.ones_like(cx), torch.zeros_like(cx)
    Rx = torch.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1).view(-1, 3, 3)
    Ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).view(-1, 3, 3)
    Rz = torch.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1).view(-1, 3, 3)
    return Rz @ Ry @ Rx


def random_rotate(points, generator):
    angles = (
        torch.rand(points.shape[0], 3, generator=generator, dtype=points.dtype) * 2 - 1
    ) * math.pi
    R = euler_to_matrix(angles)
    return torch.bmm(points, R.transpose(1, 2)), R


def estimate_normals(points, k=10, viewpoint=None):
    """points (N, 3) -> normals (N, 3), curvature (N,)."""
    d = torch.cdist(points, points)
    idx = d.topk(k, largest=False).indices
    nbrs = points[idx]  # (N, k, 3)
    centred = nbrs - nbrs.mean(1, keepdim=True)
    cov = centred.transpose(1, 2) @ centred / (k - 1)
    evals, evecs = torch.linalg.eigh(cov)
    normals = evecs[..., 0]
    if viewpoint is not None:
        flip = ((viewpoint - points) * normals).sum(-1) < 0
        normals = torch.where(flip.unsqueeze(-1), -normals, normals)
    curvature = evals[:, 0] / evals.sum(-1).clamp_min(1e-12)
    return normals, curvature


# 1. Rotations: orthogonality, determinant, and the composition with the inverse.
pts = torch.randn(4, 50, 3, dtype=torch.float64)
rot, R = random_rotate(pts, gen)
print(
    "R orthogonal",
    (R @ R.transpose(1, 2) - torch.eye(3, dtype=R.dtype)).abs().max().item() < 1e-12,
    "det",
    [f"{v:.6f}" for v in torch.linalg.det(R).tolist()],
)
back = torch.einsum("bij,bnj->bni", R.transpose(1, 2), rot)
print(
    "inverse ok",
    torch.allclose(back, pts, atol=1e-12),
    "norms kept",
    torch.allclose(rot.norm(dim=-1), pts.norm(dim=-1)),
)
print(
    "angle deg",
    [
        f"{v:.3f}"
        for v in torch.rad2deg(
            torch.arccos(((R.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1))
        ).tolist()
    ],
)

# 2. Normals of a sphere (radial) and a plane (constant), oriented toward the origin / above.
sphere = F.normalize(torch.randn(200, 3, dtype=torch.float64), dim=1)
n_s, curv_s = estimate_normals(sphere, viewpoint=torch.zeros(3, dtype=torch.float64))
cos_s = (n_s * -sphere).sum(-1)
print(
    "sphere normal cos",
    f"min {cos_s.min().item():.4f} mean {cos_s.mean().item():.4f}",
    f"curv {curv_s.mean().item():.4f}",
)
plane = torch.cat(
    [
        torch.rand(150, 2, dtype=torch.float64) * 2 - 1,
        0.005 * torch.randn(150, 1, dtype=torch.float64),
    ],
    1,
)
n_p, curv_p = estimate_normals(plane, viewpoint=torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64))
print(
    "plane normal z",
    f"{n_p[:, 2].min().item():.4f}",
    f"curv {curv_p.mean().item():.5f}",
    "sharp pts",
    int((curv_p > 0.05).sum()),
)

# 3. Voxel-grid downsampling of a point cloud with per-voxel features.
cloud = torch.rand(500, 3) * torch.tensor([2.0, 1.0, 1.0])
feat = torch.randn(500, 4)
voxel = 0.25
coords = torch.floor(cloud / voxel).long()
uniq, inverse, counts = torch.unique(coords, dim=0, return_inverse=True, return_counts=True)
print("voxels", uniq.shape[0], "max count", counts.max().item(), "inverse", inverse[:8].tolist())
centroid = torch.zeros(uniq.shape[0], 3).index_add_(0, inverse, cloud) / counts.unsqueeze(1)
mean_feat = torch.zeros(uniq.shape[0], 4).scatter_reduce(
    0, inverse.unsqueeze(1).expand(-1, 4), feat, reduce="mean", include_self=False
)
max_feat = torch.full((uniq.shape[0], 4), -1e9).scatter_reduce(
    0, inverse.unsqueeze(1).expand(-1, 4), feat, reduce="amax", include_self=False
)
min_z = torch.zeros(uniq.shape[0]).scatter_reduce(
    0, inverse, cloud[:, 2], reduce="amin", include_self=False
)
print("centroid in voxel", bool(((centroid / voxel).floor().long() == uniq).all()))
print(
    "mean feat",
    [f"{v:.4f}" for v in mean_feat[0].tolist()],
    "max feat",
    [f"{v:.4f}" for v in max_feat[0].tolist()],
)
print("min z", [f"{v:.4f}" for v in min_z[:4].tolist()])
check = torch.stack([feat[inverse == 0].mean(0), feat[inverse == 0].amax(0)])
print(
    "scatter matches masked",
    torch.allclose(check[0], mean_feat[0], atol=1e-6),
    torch.equal(check[1], max_feat[0]),
)

dims = coords.amax(0) + 1
key = (coords[:, 0] * dims[1] + coords[:, 1]) * dims[2] + coords[:, 2]
ukey, kinv = torch.unique(key, sorted=True, return_inverse=True)
print("linear keys", ukey.numel(), "same partition", torch.equal(kinv, inverse))
pos = torch.searchsorted(ukey, key)
print(
    "searchsorted == inverse",
    torch.equal(pos, kinv),
    "bucketize z",
    torch.bucketize(cloud[:5, 2].contiguous(), torch.tensor([0.25, 0.5, 0.75])).tolist(),
)


# 4. VoxNet on occupancy grids of rotated primitive shapes.
G = 12


def sample_shape(kind, n):
    if kind == 0:
        p = F.normalize(torch.randn(n, 3), dim=1)
    elif kind == 1:
        p = torch.rand(n, 3) * 2 - 1
        axis = torch.randint(0, 3, (n,))
        p[torch.arange(n), axis] = torch.sign(torch.randn(n))
    else:
        t = torch.rand(n) * 2 * math.pi
        p = torch.stack([torch.cos(t), torch.sin(t), torch.rand(n) * 2 - 1], 1)
    return p * (0.7 + 0.2 * torch.rand(1))


def occupancy(points):
    """points (N, 3) in [-1, 1] -> (1, G, G, G) point-count grid normalised to [0, 1]."""
    ijk = ((points + 1) / 2 * G).long().clamp(0, G - 1)
    grid = torch.zeros(G, G, G)
    grid.index_put_((ijk[:, 0], ijk[:, 1], ijk[:, 2]), torch.ones(ijk.shape[0]), accumulate=True)
    return (grid / grid.max()).unsqueeze(0)


shapes = torch.stack([sample_shape(k % 3, 256) for k in range(48)])
labels = torch.arange(48) % 3
shapes, _ = random_rotate(shapes, gen)
grids = torch.stack([occupancy(p) for p in shapes])
print("grids", tuple(grids.shape), "occupied", [int((g > 0).sum()) for g in grids[:3]])


class VoxNet(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(1, 8, 3, padding=1),
            nn.GroupNorm(2, 8),
            nn.LeakyReLU(0.1),
            nn.MaxPool3d(2),
            nn.Conv3d(8, 16, 3, padding=1),
            nn.GroupNorm(4, 16),
            nn.LeakyReLU(0.1),
            nn.MaxPool3d(2),
            nn.Conv3d(16, 16, 1),
            nn.ReLU(),
            nn.AdaptiveMaxPool3d(2),
            nn.Flatten(),
        )
        self.fc = nn.Sequential(nn.Dropout(0.2), nn.Linear(16 * 8, classes))

    def forward(self, x):
        return self.fc(self.features(x))


model = VoxNet()
opt = torch.optim.SGD(model.parameters(), lr=0.005, momentum=0.9, nesterov=True, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[6, 8], gamma=0.3)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
train_x, train_y, test_x, test_y = grids[:36], labels[:36], grids[36:], labels[36:]
for epoch in range(10):
    model.train()
    perm = torch.randperm(36, generator=gen)
    total = 0.0
    for i in range(0, 36, 12):
        b = perm[i : i + 12]
        x = train_x[b]
        if epoch % 2 == 1:  # flip augmentation
            x = torch.flip(x, dims=[2])
        loss = criterion(model(x), train_y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    sched.step()
    print(f"epoch {epoch} loss {total / 3:.4f} lr {sched.get_last_lr()[0]:.4f}")

model.eval()
with torch.no_grad():
    logits = model(test_x)
    pred = logits.argmax(1)
conf = torch.zeros(3, 3, dtype=torch.long)
conf.index_put_((test_y, pred), torch.ones_like(pred), accumulate=True)
print("test acc", f"{(pred == test_y).float().mean().item():.4f}", "confusion", conf.tolist())
print("probs", [f"{v:.4f}" for v in logits.softmax(-1)[0].tolist()])
