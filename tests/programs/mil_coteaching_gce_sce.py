"""Learning with noisy labels, as the reference repositories write it: symmetric-flip label
noise injected by a transition matrix sampled with ``torch.multinomial``; the Generalized Cross
Entropy (Zhang & Sabuncu 2018) and Symmetric Cross Entropy (Wang et al. 2019, reverse CE with
``clamp(min=1e-4)`` on the one-hot target) losses as ``nn.Module``s; and Co-teaching (Han et al.
2018): two networks each pick the small-loss fraction of the batch (``argsort`` of per-sample
``reduction='none'`` losses) and train the *other* network on it, with the forget rate ramped
by a schedule. A ``LambdaLR`` warm-up, ``torch.no_grad`` evaluation, label-precision of the
selected samples, and the confusion matrix by ``bincount``."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
rng = np.random.default_rng(0)

C, D, N = 3, 6, 360
centers = rng.standard_normal((C, D)) * 2.0
y_clean_np = rng.integers(0, C, size=N)
x_np = centers[y_clean_np] + rng.standard_normal((N, D))
x_all = torch.from_numpy(x_np).float()
y_clean = torch.from_numpy(y_clean_np).long()

noise_rate = 0.4
T = torch.full((C, C), noise_rate / (C - 1))
T.fill_diagonal_(1 - noise_rate)
print("transition matrix\n", T)
y_noisy = torch.multinomial(T[y_clean], 1, generator=torch.Generator().manual_seed(3)).squeeze(1)
is_noisy = y_noisy != y_clean
print(f"actual noise rate {is_noisy.float().mean().item():.4f}")


class NoisyDataset(Dataset):
    def __init__(self, x, y, idx):
        self.x, self.y, self.idx = x, y, idx

    def __len__(self):
        return len(self.idx)

    def __getitem__(self, i):
        j = self.idx[i]
        return self.x[j], self.y[j], j


train_idx = torch.arange(0, 240)
test_idx = torch.arange(240, N)
train_loader = DataLoader(
    NoisyDataset(x_all, y_noisy, train_idx), batch_size=40, shuffle=True,
    generator=torch.Generator().manual_seed(5),
)


class GCELoss(nn.Module):
    """L_q = (1 - p_y^q) / q; q -> 0 is CE, q = 1 is MAE."""

    def __init__(self, q=0.7):
        super().__init__()
        self.q = q

    def forward(self, logits, target):
        p = F.softmax(logits, dim=1)
        p_y = p.gather(1, target.unsqueeze(1)).squeeze(1).clamp_min(1e-7)
        return ((1 - p_y.pow(self.q)) / self.q).mean()


class SCELoss(nn.Module):
    def __init__(self, alpha=0.1, beta=1.0, num_classes=C):
        super().__init__()
        self.alpha, self.beta, self.num_classes = alpha, beta, num_classes

    def forward(self, logits, target):
        ce = F.cross_entropy(logits, target)
        pred = F.softmax(logits, dim=1).clamp(min=1e-7, max=1.0)
        one_hot = F.one_hot(target, self.num_classes).float().clamp(min=1e-4, max=1.0)
        rce = -(pred * torch.log(one_hot)).sum(dim=1)
        return self.alpha * ce + self.beta * rce.mean()


def make_net():
    return nn.Sequential(nn.Linear(D, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, C))


def evaluate(net):
    net.eval()
    with torch.no_grad():
        pred = net(x_all[test_idx]).argmax(1)
    net.train()
    return (pred == y_clean[test_idx]).float().mean().item(), pred


def train_single(loss_fn, epochs=15):
    torch.manual_seed(1)
    net = make_net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(epochs):
        for xb, yb, _ in train_loader:
            loss = loss_fn(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return evaluate(net)[0]


logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]], requires_grad=True)
target = torch.tensor([0, 2])
for name, fn in [("ce", nn.CrossEntropyLoss()), ("gce", GCELoss()), ("sce", SCELoss())]:
    val = fn(logits, target)
    (g,) = torch.autograd.grad(val, logits)
    print(f"{name} {val.item():.4f} grad {g.abs().sum().item():.4f}")

for name, fn in [("ce", nn.CrossEntropyLoss()), ("gce", GCELoss()), ("sce", SCELoss())]:
    print(f"{name} clean test acc {train_single(fn):.4f}")

# ---- co-teaching ----
torch.manual_seed(2)
net1, net2 = make_net(), make_net()
opt1 = torch.optim.Adam(net1.parameters(), lr=5e-3)
opt2 = torch.optim.Adam(net2.parameters(), lr=5e-3)
warm = 3
sched1 = torch.optim.lr_scheduler.LambdaLR(opt1, lambda e: min(1.0, (e + 1) / warm))
sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, lambda e: min(1.0, (e + 1) / warm))
epochs, t_k = 15, 5
forget_rate = np.ones(epochs) * noise_rate
forget_rate[:t_k] = np.linspace(0, noise_rate, t_k)


def small_loss_split(out1, out2, target, rate):
    loss1 = F.cross_entropy(out1, target, reduction="none")
    loss2 = F.cross_entropy(out2, target, reduction="none")
    idx1 = torch.argsort(loss1.detach())
    idx2 = torch.argsort(loss2.detach())
    n_keep = int(round((1 - rate) * len(target)))
    keep1, keep2 = idx1[:n_keep], idx2[:n_keep]
    # each network learns from the samples its peer considers clean
    return loss1[keep2].mean(), loss2[keep1].mean(), keep1, keep2


for epoch in range(epochs):
    precision, seen = 0.0, 0
    for xb, yb, j in train_loader:
        out1, out2 = net1(xb), net2(xb)
        l1, l2, keep1, keep2 = small_loss_split(out1, out2, yb, forget_rate[epoch])
        opt1.zero_grad()
        l1.backward()
        opt1.step()
        opt2.zero_grad()
        l2.backward()
        opt2.step()
        precision += (~is_noisy[j[keep1]]).sum().item()
        seen += keep1.numel()
    sched1.step()
    sched2.step()
    if epoch % 5 == 4:
        acc1, _ = evaluate(net1)
        acc2, _ = evaluate(net2)
        print(f"epoch {epoch + 1} forget {forget_rate[epoch]:.2f} label precision "
              f"{precision / seen:.4f} acc {acc1:.4f} {acc2:.4f} lr {sched1.get_last_lr()[0]:.4f}")

acc, pred = evaluate(net1)
conf = torch.bincount(y_clean[test_idx] * C + pred, minlength=C * C).reshape(C, C)
print("confusion\n", conf)
print("per-class recall", (conf.diag() / conf.sum(1)).round(decimals=4))
