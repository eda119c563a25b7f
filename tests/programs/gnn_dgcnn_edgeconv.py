"""Dynamic graph CNN (DGCNN, as in the authors' dgcnn.pytorch repository) on toy point clouds:
k nearest neighbours rebuilt in feature space at every EdgeConv layer (the pairwise-distance
trick ``-2 x^T x + |x|^2`` with ``topk`` and, for the first layer, ``torch.cdist``), edge
features gathered with a flattened ``idx + idx_base`` index, 1x1 ``Conv2d`` + ``BatchNorm2d`` +
``LeakyReLU`` followed by a max over neighbours, global ``adaptive_max_pool1d`` /
``adaptive_avg_pool1d`` readout, and the repository's label-smoothed cross entropy built with
``scatter``. Everything random comes from ``torch.manual_seed``."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


def knn(x, k):
    """Indices of the k nearest neighbours of each point; x is (batch, dims, points)."""
    inner = -2 * torch.matmul(x.transpose(2, 1), x)
    xx = torch.sum(x ** 2, dim=1, keepdim=True)
    pairwise_distance = -xx - inner - xx.transpose(2, 1)
    return pairwise_distance.topk(k=k, dim=-1)[1]


def get_graph_feature(x, k, idx=None):
    """Edge features (x_j - x_i, x_i) for every point i and neighbour j: (B, 2C, N, k)."""
    batch_size, num_dims, num_points = x.size()
    if idx is None:
        idx = knn(x, k)
    idx_base = torch.arange(0, batch_size).view(-1, 1, 1) * num_points
    idx = (idx + idx_base).view(-1)
    x = x.transpose(2, 1).contiguous()
    feature = x.view(batch_size * num_points, -1)[idx, :]
    feature = feature.view(batch_size, num_points, k, num_dims)
    x = x.view(batch_size, num_points, 1, num_dims).repeat(1, 1, k, 1)
    return torch.cat((feature - x, x), dim=3).permute(0, 3, 1, 2).contiguous()


class DGCNN(nn.Module):
    def __init__(self, k=4, emb_dims=32, num_classes=3):
        super().__init__()
        self.k = k
        self.conv1 = nn.Sequential(nn.Conv2d(6, 16, kernel_size=1, bias=False),
                                   nn.BatchNorm2d(16), nn.LeakyReLU(negative_slope=0.2))
        self.conv2 = nn.Sequential(nn.Conv2d(32, 16, kernel_size=1, bias=False),
                                   nn.BatchNorm2d(16), nn.LeakyReLU(negative_slope=0.2))
        self.conv3 = nn.Sequential(nn.Conv1d(32, emb_dims, kernel_size=1, bias=False),
                                   nn.BatchNorm1d(emb_dims), nn.LeakyReLU(negative_slope=0.2))
        self.linear1 = nn.Linear(emb_dims * 2, 32, bias=False)
        self.bn4 = nn.BatchNorm1d(32)
        self.dp1 = nn.Dropout(p=0.5)
        self.linear2 = nn.Linear(32, num_classes)

    def forward(self, x):
        batch_size = x.size(0)
        # first layer: neighbours in xyz space via cdist (a common variant of the knn helper)
        pts = x.transpose(1, 2)
        idx = torch.cdist(pts, pts).topk(self.k, dim=-1, largest=False).indices
        x1 = self.conv1(get_graph_feature(x, self.k, idx)).max(dim=-1, keepdim=False)[0]
        x2 = self.conv2(get_graph_feature(x1, self.k)).max(dim=-1, keepdim=False)[0]
        x = self.conv3(torch.cat((x1, x2), dim=1))
        a = F.adaptive_max_pool1d(x, 1).view(batch_size, -1)
        b = F.adaptive_avg_pool1d(x, 1).view(batch_size, -1)
        x = torch.cat((a, b), 1)
        x = self.dp1(F.leaky_relu(self.bn4(self.linear1(x)), negative_slope=0.2))
        return self.linear2(x)


def cal_loss(pred, gold, smoothing=True):
    """Cross entropy with label smoothing, written out as in the DGCNN repository."""
    gold = gold.contiguous().view(-1)
    if smoothing:
        eps = 0.2
        n_class = pred.size(1)
        one_hot = torch.zeros_like(pred).scatter(1, gold.view(-1, 1), 1)
        one_hot = one_hot * (1 - eps) + (1 - one_hot) * eps / (n_class - 1)
        log_prb = F.log_softmax(pred, dim=1)
        return -(one_hot * log_prb).sum(dim=1).mean()
    return F.cross_entropy(pred, gold, reduction="mean")


def make_cloud(label, n=24):
    """A noisy sphere (0), cube surface (1) or flat disc (2), randomly scaled."""
    if label == 0:
        p = torch.randn(n, 3)
        p = p / p.norm(dim=1, keepdim=True)
    elif label == 1:
        p = torch.rand(n, 3) * 2 - 1
        face = torch.randint(0, 3, (n,))
        sign = torch.where(torch.rand(n) < 0.5, -1.0, 1.0)
        p[torch.arange(n), face] = sign
    else:
        r = torch.rand(n).sqrt()
        t = torch.rand(n) * 2 * torch.pi
        p = torch.stack([r * torch.cos(t), r * torch.sin(t), 0.05 * torch.randn(n)], dim=1)
    return p * torch.empty(1).uniform_(0.8, 1.2) + 0.02 * torch.randn(n, 3)


labels = torch.arange(36) % 3
clouds = torch.stack([make_cloud(int(c)) for c in labels]).transpose(1, 2)  # (B, 3, N)
print("clouds", tuple(clouds.shape), "mean", round(clouds.mean().item(), 4))

# neighbourhoods from both knn helpers agree on the raw coordinates
idx_a = knn(clouds[:2], 4)
idx_b = torch.cdist(clouds[:2].transpose(1, 2), clouds[:2].transpose(1, 2)).topk(
    4, dim=-1, largest=False).indices
print("knn agree", bool((idx_a.sort(-1).values == idx_b.sort(-1).values).float().mean() > 0.95))
print("self is nearest", bool((idx_b[..., 0] == torch.arange(24)).all()))
feat = get_graph_feature(clouds[:2], 4)
print("edge feature", tuple(feat.shape), round(feat.abs().sum().item(), 3))

model = DGCNN()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12, eta_min=1e-3)
for epoch in range(12):
    model.train()
    perm = torch.randperm(36)
    total = 0.0
    for start in range(0, 36, 12):
        b = perm[start:start + 12]
        opt.zero_grad()
        loss = cal_loss(model(clouds[b]), labels[b])
        loss.backward()
        opt.step()
        total += loss.item()
    sched.step()
    if epoch % 3 == 2:
        print(f"epoch {epoch} loss {total / 3:.3f} lr {sched.get_last_lr()[0]:.4f}")

model.eval()
with torch.no_grad():
    logits = model(clouds)
    pred = logits.argmax(dim=1)
    print("train acc", round((pred == labels).float().mean().item(), 3))
    print("plain ce", round(cal_loss(logits, labels, smoothing=False).item(), 2))
    per_class = torch.bincount(labels[pred == labels], minlength=3)
    print("correct per class", per_class.tolist())
