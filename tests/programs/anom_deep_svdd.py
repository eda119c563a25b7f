"""One-class Deep SVDD (Ruff et al. 2018) as its reference code writes it: a bias-free
encoder, the hypersphere center ``c`` from one initial forward pass (near-zero coordinates
pushed to +-eps), the one-class objective and the soft-boundary variant whose radius is the
(1 - nu) quantile of the distances. The training set mixes normal data with a little
contamination (``ConcatDataset`` of two ``Subset``s) drawn by a ``WeightedRandomSampler``;
the last layer carries ``spectral_norm``. AUROC is computed by hand: ranks by argsort, the ROC
curve by cumulative sums, the area by ``torch.trapezoid``."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm
from torch.utils.data import ConcatDataset, DataLoader, Subset, TensorDataset, WeightedRandomSampler

torch.manual_seed(0)
rng = np.random.default_rng(0)

# normal data lies near a 3-d subspace of R^10; anomalies are isotropic and wider
basis = rng.standard_normal((3, 10))
normal = rng.standard_normal((300, 3)) @ basis + 0.1 * rng.standard_normal((300, 10))
anomal = 2.5 * rng.standard_normal((80, 10))
x_all = torch.from_numpy(np.concatenate([normal, anomal])).float()
y_all = torch.cat([torch.zeros(300, dtype=torch.long), torch.ones(80, dtype=torch.long)])
full = TensorDataset(x_all, y_all)

train_normal = Subset(full, list(range(0, 200)))
train_contam = Subset(full, list(range(300, 310)))
train_set = ConcatDataset([train_normal, train_contam])
test_set = Subset(full, list(range(200, 300)) + list(range(310, 380)))
print("train", len(train_set), "test", len(test_set), "cumulative", train_set.cumulative_sizes)

mean = torch.stack([train_set[i][0] for i in range(len(train_set))]).mean(0)
std = torch.stack([train_set[i][0] for i in range(len(train_set))]).std(0)

weights = torch.tensor([1.0] * len(train_normal) + [0.5] * len(train_contam))
sampler = WeightedRandomSampler(
    weights,
    num_samples=len(train_set),
    replacement=True,
    generator=torch.Generator().manual_seed(1),
)
loader = DataLoader(train_set, batch_size=35, sampler=sampler)
drawn = torch.tensor(list(sampler))
print("sampled contaminated:", int((drawn >= 200).sum()), "unique:", drawn.unique().numel())


class Encoder(nn.Module):
    def __init__(self, d_in=10, rep_dim=4):
        super().__init__()
        self.fc1 = nn.Linear(d_in, 32, bias=False)
        self.bn1 = nn.BatchNorm1d(32, eps=1e-4, affine=False)
        self.fc2 = nn.Linear(32, 16, bias=False)
        self.bn2 = nn.BatchNorm1d(16, eps=1e-4, affine=False)
        self.fc3 = spectral_norm(nn.Linear(16, rep_dim, bias=False))

    def forward(self, x):
        x = F.leaky_relu(self.bn1(self.fc1(x)))
        x = F.leaky_relu(self.bn2(self.fc2(x)))
        return self.fc3(x)


def init_center(net, loader, eps=0.01):
    n, c = 0, torch.zeros(net.fc3.out_features)
    net.eval()
    with torch.no_grad():
        for xb, _ in loader:
            z = net((xb - mean) / std)
            n += z.shape[0]
            c += z.sum(dim=0)
    c /= n
    c[(abs(c) < eps) & (c < 0)] = -eps
    c[(abs(c) < eps) & (c > 0)] = eps
    return c


def auroc(scores, labels):
    order = torch.argsort(scores, descending=True)
    lab = labels[order].float()
    tps = torch.cumsum(lab, 0)
    fps = torch.cumsum(1 - lab, 0)
    tpr = torch.cat([torch.zeros(1), tps / tps[-1]])
    fpr = torch.cat([torch.zeros(1), fps / fps[-1]])
    return torch.trapezoid(tpr, fpr).item()


def train(objective, nu=0.1, epochs=12):
    torch.manual_seed(3)
    net = Encoder()
    c = init_center(net, loader)
    R = torch.tensor(0.0)
    opt = torch.optim.Adam(
        net.parameters(), lr=1e-2, weight_decay=1e-6, amsgrad=objective == "soft"
    )
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[8], gamma=0.1)
    for epoch in range(epochs):
        net.train()
        total, nb = 0.0, 0
        for xb, _ in loader:
            z = net((xb - mean) / std)
            dist = torch.sum((z - c) ** 2, dim=1)
            if objective == "soft":
                scores = dist - R**2
                loss = R**2 + (1 / nu) * torch.mean(torch.max(torch.zeros_like(scores), scores))
            else:
                loss = torch.mean(dist)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if objective == "soft" and epoch >= 2:
                R.data = torch.tensor(
                    np.quantile(np.sqrt(dist.clone().data.cpu().numpy()), 1 - nu),
                    dtype=torch.float32,
                )
            total += loss.item()
            nb += 1
        sched.step()
        if epoch % 3 == 2 or epoch == epochs - 1:
            print(
                f"  [{objective}] epoch {epoch + 1:2d} loss {total / nb:.4f} R {R.item():.4f} "
                f"lr {sched.get_last_lr()[0]:.4g}"
            )
    return net, c, R


for objective in ("one-class", "soft"):
    net, c, R = train(objective)
    net.eval()
    xt = torch.stack([test_set[i][0] for i in range(len(test_set))])
    yt = torch.stack([test_set[i][1] for i in range(len(test_set))])
    with torch.no_grad():
        z = net((xt - mean) / std)
        dist = ((z - c) ** 2).sum(1)
        score = dist - R**2 if objective == "soft" else dist
    q = torch.quantile(dist, torch.tensor([0.25, 0.5, 0.9]))
    radius_q = torch.quantile(dist[yt == 0].sqrt(), 0.95, interpolation="nearest")
    flagged = dist.sqrt() > radius_q
    print(f"{objective}: center {[round(v, 3) for v in c.tolist()]}")
    print(f"  dist quantiles {[round(v, 4) for v in q.tolist()]} radius95 {radius_q.item():.4f}")
    print(
        f"  AUROC {auroc(score, yt):.4f} flagged anomalies {int(flagged[yt == 1].sum())}/80 "
        f"false alarms {int(flagged[yt == 0].sum())}/100"
    )
    sigma = net.fc3.parametrizations.weight.original
    top_sv = torch.linalg.matrix_norm(net.fc3.weight, ord=2).item()
    print(f"  spectral norm of fc3 weight {top_sv:.4f} original {tuple(sigma.shape)}")
