"""PointNet classification on synthetic point clouds, in the style of the PointNet PyTorch
reimplementations (fxia22/pointnet.pytorch and the Pointnet_Pointnet2_pytorch repository):
shared per-point MLPs written as ``Conv1d`` with kernel size 1 and ``BatchNorm1d`` over
``(B, C, N)``, an input T-Net and a feature T-Net that regress a transform applied with
``torch.bmm`` (initialised to the identity by adding ``torch.eye``), the symmetric max pooling
``torch.max(x, 2)`` whose indices name the critical points, and the feature-transform
orthogonality regulariser ``||I - A A^T||_F``. Shapes are spheres, cubes and cylinders sampled
on their surfaces, randomly rotated about the up axis and jittered; training uses Adam with
weight decay and StepLR. Everything is drawn from ``torch.manual_seed``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
N_POINTS = 64


def sample_shape(kind, n):
    if kind == 0:                                            # sphere
        p = torch.randn(n, 3)
        return p / p.norm(dim=1, keepdim=True)
    if kind == 1:                                            # cube surface
        p = torch.rand(n, 3) * 2 - 1
        axis = torch.randint(0, 3, (n,))
        p[torch.arange(n), axis] = torch.sign(torch.randn(n))
        return p
    theta = torch.rand(n) * 2 * math.pi                       # open cylinder
    return torch.stack([torch.cos(theta), torch.sin(theta), torch.rand(n) * 2 - 1], dim=1)


def rotate_z(points):
    a = torch.rand(()) * 2 * math.pi
    c, s = torch.cos(a), torch.sin(a)
    rot = torch.stack([torch.stack([c, -s, torch.zeros(())]),
                       torch.stack([s, c, torch.zeros(())]),
                       torch.tensor([0.0, 0.0, 1.0])])
    return points @ rot.T


def make_dataset(n_per_class):
    clouds, labels = [], []
    for kind in range(3):
        for _ in range(n_per_class):
            pts = rotate_z(sample_shape(kind, N_POINTS)) * (0.8 + 0.4 * torch.rand(1))
            clouds.append(pts + 0.02 * torch.randn_like(pts))
            labels.append(kind)
    return torch.stack(clouds).transpose(1, 2).contiguous(), torch.tensor(labels)


class TNet(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.k = k
        self.mlp = nn.Sequential(nn.Conv1d(k, 16, 1), nn.BatchNorm1d(16), nn.ReLU(),
                                 nn.Conv1d(16, 32, 1), nn.BatchNorm1d(32), nn.ReLU())
        self.fc = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, k * k))
        nn.init.zeros_(self.fc[-1].weight)
        nn.init.zeros_(self.fc[-1].bias)

    def forward(self, x):
        feat = torch.max(self.mlp(x), 2, keepdim=True)[0].view(-1, 32)
        iden = torch.eye(self.k, dtype=x.dtype).flatten().repeat(x.shape[0], 1)
        return (self.fc(feat) + iden).view(-1, self.k, self.k)


class PointNet(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.stn = TNet(3)
        self.conv1 = nn.Sequential(nn.Conv1d(3, 16, 1), nn.BatchNorm1d(16), nn.ReLU())
        self.fstn = TNet(16)
        self.conv2 = nn.Sequential(nn.Conv1d(16, 32, 1), nn.BatchNorm1d(32), nn.ReLU(),
                                   nn.Conv1d(32, 64, 1), nn.BatchNorm1d(64))
        self.head = nn.Sequential(nn.Linear(64, 32, bias=False), nn.BatchNorm1d(32), nn.ReLU(),
                                  nn.Dropout(0.3), nn.Linear(32, classes))

    def forward(self, x):
        trans = self.stn(x)
        x = torch.bmm(x.transpose(2, 1), trans).transpose(2, 1)
        x = self.conv1(x)
        trans_feat = self.fstn(x)
        x = torch.bmm(x.transpose(2, 1), trans_feat).transpose(2, 1)
        x = self.conv2(x)
        glob, critical = torch.max(x, 2)
        return F.log_softmax(self.head(glob), dim=1), trans_feat, critical


def feature_transform_regularizer(trans):
    eye = torch.eye(trans.size(1))[None, :, :]
    return torch.mean(torch.norm(torch.bmm(trans, trans.transpose(2, 1)) - eye, dim=(1, 2)))


train_x, train_y = make_dataset(32)
test_x, test_y = make_dataset(10)
print("train", tuple(train_x.shape), "class counts", torch.bincount(train_y).tolist())
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=16, shuffle=True)

model = PointNet()
opt = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.999), weight_decay=1e-4)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
for epoch in range(6):
    model.train()
    total, reg_total = 0.0, 0.0
    for xb, yb in loader:
        opt.zero_grad()
        logp, tf, _ = model(xb)
        reg = feature_transform_regularizer(tf)
        loss = F.nll_loss(logp, yb) + 0.001 * reg
        loss.backward()
        opt.step()
        total += loss.item() * len(yb)
        reg_total += reg.item() * len(yb)
    sched.step()
    print(f"epoch {epoch} loss {total / len(train_y):.4f} reg {reg_total / len(train_y):.4f} "
          f"lr {sched.get_last_lr()[0]:.5f}")

model.eval()
with torch.no_grad():
    logp, tf, critical = model(test_x)
    pred = logp.argmax(1)
acc = (pred == test_y).float().mean().item()
print("test accuracy", round(acc, 4))
conf = torch.zeros(3, 3, dtype=torch.long)
conf.index_put_((test_y, pred), torch.ones_like(test_y), accumulate=True)
print("confusion", conf.tolist())
n_crit = torch.tensor([torch.unique(c).numel() for c in critical.unbind(0)])
print("critical points per cloud (min/max)", n_crit.min().item(), n_crit.max().item())

# max pooling makes the network blind to the order of the points
perm = torch.randperm(N_POINTS)
with torch.no_grad():
    a, _, _ = model(test_x[:4])
    b, _, _ = model(test_x[:4, :, perm])
print("permutation invariant:", torch.allclose(a, b, atol=1e-5))
print("orthogonality at eval", round(feature_transform_regularizer(tf).item(), 3))
