"""PointNet++ (SSG) part segmentation on synthetic point clouds, written the way the
Pointnet_Pointnet2_pytorch reference code writes it in plain torch: farthest point sampling as a
Python loop over ``argmax`` of running minimum distances, ball query with ``torch.cdist`` +
masking + ``sort``, grouping with advanced indexing (``index_points``), shared MLPs as ``Conv2d``
and ``Conv1d`` with ``BatchNorm``, max pooling over the neighbourhood, feature propagation by
inverse-distance 3-NN interpolation (``topk`` with ``largest=False``), and a segmentation head
trained with ``cross_entropy`` + Adam + ``CosineAnnealingLR``. Metrics: accuracy and per-part
IoU via ``torch.bincount``. The model runs in float64 (``set_default_dtype``) so that the
ReLU and max-pool decisions near ties do not depend on BLAS rounding. Everything is drawn from
``torch.manual_seed``."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
N_POINTS = 96
N_PARTS = 3


def square_distance(src, dst):
    """Pairwise squared distance, (B, N, 3) x (B, M, 3) -> (B, N, M), as the reference writes it."""
    dist = -2 * torch.matmul(src, dst.permute(0, 2, 1))
    dist += torch.sum(src**2, -1).view(src.shape[0], src.shape[1], 1)
    dist += torch.sum(dst**2, -1).view(dst.shape[0], 1, dst.shape[1])
    return dist


def index_points(points, idx):
    """points (B, N, C), idx (B, S) or (B, S, K) -> (B, S[, K], C)."""
    B = points.shape[0]
    view_shape = list(idx.shape)
    view_shape[1:] = [1] * (len(view_shape) - 1)
    repeat_shape = list(idx.shape)
    repeat_shape[0] = 1
    batch_indices = torch.arange(B, dtype=torch.long).view(view_shape).repeat(repeat_shape)
    return points[batch_indices, idx, :]


def farthest_point_sample(xyz, npoint):
    B, N, _ = xyz.shape
    centroids = torch.zeros(B, npoint, dtype=torch.long)
    distance = torch.ones(B, N) * 1e10
    farthest = torch.zeros(B, dtype=torch.long)  # deterministic start point
    batch_indices = torch.arange(B, dtype=torch.long)
    for i in range(npoint):
        centroids[:, i] = farthest
        centroid = xyz[batch_indices, farthest, :].view(B, 1, 3)
        dist = torch.sum((xyz - centroid) ** 2, -1)
        mask = dist < distance
        distance[mask] = dist[mask]
        farthest = torch.max(distance, -1)[1]
    return centroids


def query_ball_point(radius, nsample, xyz, new_xyz):
    B, N, _ = xyz.shape
    S = new_xyz.shape[1]
    group_idx = torch.arange(N, dtype=torch.long).view(1, 1, N).repeat([B, S, 1])
    sqrdists = torch.cdist(new_xyz, xyz).pow(2)
    group_idx[sqrdists > radius**2] = N
    group_idx = group_idx.sort(dim=-1)[0][:, :, :nsample]
    group_first = group_idx[:, :, 0].view(B, S, 1).repeat([1, 1, nsample])
    mask = group_idx == N
    group_idx[mask] = group_first[mask]
    return group_idx


class SetAbstraction(nn.Module):
    def __init__(self, npoint, radius, nsample, in_channel, mlp):
        super().__init__()
        self.npoint, self.radius, self.nsample = npoint, radius, nsample
        self.mlp_convs = nn.ModuleList()
        self.mlp_bns = nn.ModuleList()
        last = in_channel
        for out in mlp:
            self.mlp_convs.append(nn.Conv2d(last, out, 1))
            self.mlp_bns.append(nn.BatchNorm2d(out))
            last = out

    def forward(self, xyz, points):
        xyz = xyz.permute(0, 2, 1)
        if points is not None:
            points = points.permute(0, 2, 1)
        fps_idx = farthest_point_sample(xyz, self.npoint)
        new_xyz = index_points(xyz, fps_idx)
        idx = query_ball_point(self.radius, self.nsample, xyz, new_xyz)
        grouped_xyz = index_points(xyz, idx)
        grouped_xyz_norm = grouped_xyz - new_xyz.view(xyz.shape[0], self.npoint, 1, 3)
        if points is not None:
            new_points = torch.cat([grouped_xyz_norm, index_points(points, idx)], dim=-1)
        else:
            new_points = grouped_xyz_norm
        new_points = new_points.permute(0, 3, 2, 1)  # (B, C, K, S)
        for conv, bn in zip(self.mlp_convs, self.mlp_bns):
            new_points = F.relu(bn(conv(new_points)))
        new_points = torch.max(new_points, 2)[0]
        return new_xyz.permute(0, 2, 1), new_points


class FeaturePropagation(nn.Module):
    def __init__(self, in_channel, mlp):
        super().__init__()
        layers = []
        last = in_channel
        for out in mlp:
            layers += [nn.Conv1d(last, out, 1), nn.BatchNorm1d(out), nn.ReLU(inplace=True)]
            last = out
        self.mlp = nn.Sequential(*layers)

    def forward(self, xyz1, xyz2, points1, points2):
        xyz1, xyz2 = xyz1.permute(0, 2, 1), xyz2.permute(0, 2, 1)
        points2 = points2.permute(0, 2, 1)
        B, N, _ = xyz1.shape
        dists = square_distance(xyz1, xyz2)
        dists, idx = dists.topk(3, dim=-1, largest=False)
        dist_recip = 1.0 / (dists.clamp_min(0) + 1e-8)
        weight = dist_recip / torch.sum(dist_recip, dim=2, keepdim=True)
        interpolated = torch.sum(index_points(points2, idx) * weight.view(B, N, 3, 1), dim=2)
        if points1 is not None:
            new_points = torch.cat([points1.permute(0, 2, 1), interpolated], dim=-1)
        else:
            new_points = interpolated
        return self.mlp(new_points.permute(0, 2, 1))


class PointNet2PartSeg(nn.Module):
    def __init__(self, num_parts):
        super().__init__()
        self.sa1 = SetAbstraction(32, 0.5, 8, 3, [16, 16, 32])
        self.sa2 = SetAbstraction(8, 1.0, 8, 32 + 3, [32, 48])
        self.fp2 = FeaturePropagation(48 + 32, [32])
        self.fp1 = FeaturePropagation(32, [32, 32])
        self.head = nn.Sequential(
            nn.Conv1d(32, 32, 1),
            nn.BatchNorm1d(32),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Conv1d(32, num_parts, 1),
        )

    def forward(self, xyz):
        l1_xyz, l1_points = self.sa1(xyz, None)
        l2_xyz, l2_points = self.sa2(l1_xyz, l1_points)
        l1_points = self.fp2(l1_xyz, l2_xyz, l1_points, l2_points)
        l0_points = self.fp1(xyz, l1_xyz, None, l1_points)
        return F.log_softmax(self.head(l0_points), dim=1), l2_points


def make_shape(n):
    """A 'lamp': cylinder base (part 0), thin pole (part 1), sphere shade (part 2)."""
    parts = torch.randint(0, N_PARTS, (n,))
    theta = torch.rand(n) * 2 * math.pi
    pts = torch.empty(n, 3)
    base = parts == 0
    pts[base] = torch.stack(
        [torch.cos(theta[base]), torch.sin(theta[base]), torch.rand(int(base.sum())) * 0.3 - 1.0],
        dim=1,
    )
    pole = parts == 1
    pts[pole] = torch.stack(
        [
            0.15 * torch.cos(theta[pole]),
            0.15 * torch.sin(theta[pole]),
            torch.rand(int(pole.sum())) * 1.2 - 0.7,
        ],
        dim=1,
    )
    shade = parts == 2
    s = F.normalize(torch.randn(int(shade.sum()), 3), dim=1) * 0.6
    pts[shade] = s + torch.tensor([0.0, 0.0, 1.0])
    scale = 0.8 + 0.4 * torch.rand(1)
    pts = pts * scale + 0.02 * torch.randn(n, 3)
    return pts, parts


clouds, labels = zip(*[make_shape(N_POINTS) for _ in range(24)])
xyz_all = torch.stack(clouds).transpose(1, 2).contiguous()  # (B, 3, N)
seg_all = torch.stack(labels)
print(
    "data",
    tuple(xyz_all.shape),
    tuple(seg_all.shape),
    "part counts",
    torch.bincount(seg_all.flatten(), minlength=N_PARTS).tolist(),
)

# Sanity of the sampling utilities on one cloud.
fps = farthest_point_sample(xyz_all[:2].transpose(1, 2), 6)
print("fps idx", fps.tolist())
ball = query_ball_point(
    0.5, 5, xyz_all[:1].transpose(1, 2), index_points(xyz_all[:1].transpose(1, 2), fps[:1])
)
print("ball shape", tuple(ball.shape), "first", ball[0, 0].tolist())

loader = DataLoader(
    TensorDataset(xyz_all[:16], seg_all[:16]),
    batch_size=8,
    shuffle=True,
    generator=torch.Generator().manual_seed(1),
)
model = PointNet2PartSeg(N_PARTS)
print("params", sum(p.numel() for p in model.parameters() if p.requires_grad))
opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=1e-4)

for epoch in range(6):
    model.train()
    total, correct, seen = 0.0, 0, 0
    for pts, target in loader:
        opt.zero_grad()
        logp, _ = model(pts)
        loss = F.nll_loss(logp, target)
        loss.backward()
        opt.step()
        total += loss.item() * pts.shape[0]
        correct += (logp.argmax(1) == target).sum().item()
        seen += target.numel()
    sched.step()
    print(
        f"epoch {epoch} loss {total / 16:.4f} acc {correct / seen:.4f}",
        f"lr {sched.get_last_lr()[0]:.5f}",
    )


def part_iou(pred, target, k):
    inter = torch.bincount(target[pred == target], minlength=k).float()
    area_p = torch.bincount(pred, minlength=k).float()
    area_t = torch.bincount(target, minlength=k).float()
    return inter / (area_p + area_t - inter).clamp_min(1)


# "Precise BN": re-estimate the running statistics with a cumulative average before eval.
for m in model.modules():
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        m.reset_running_stats()
        m.momentum = None
with torch.no_grad():
    for (pts,) in DataLoader(TensorDataset(xyz_all[:16]), batch_size=8):
        model(pts)
bn = model.sa1.mlp_bns[0]
print(
    "bn batches",
    bn.num_batches_tracked.item(),
    "mean",
    [f"{v:.4f}" for v in bn.running_mean[:3].tolist()],
)
model.eval()
with torch.no_grad():
    logp, global_feat = model(xyz_all[16:])
    pred = logp.argmax(1)
    acc = (pred == seg_all[16:]).float().mean().item()
    ious = part_iou(pred.flatten(), seg_all[16:].flatten(), N_PARTS)
print(
    f"test acc {acc:.4f}",
    "ious",
    [f"{v:.4f}" for v in ious.tolist()],
    f"mIoU {ious.mean().item():.4f}",
)
print("global feat", tuple(global_feat.shape), f"{global_feat.abs().mean().item():.4f}")
print("probs row", [f"{v:.4f}" for v in logp[0, :, 0].exp().tolist()])
