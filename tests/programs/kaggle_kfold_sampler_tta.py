"""Kaggle cross-validation: stratified k-fold with ``Subset``, a ``WeightedRandomSampler`` for
the rare class, out-of-fold predictions, test-time augmentation with flips and a fold ensemble.

The skeleton of many competition notebooks: folds are made by hand (stratified with
``torch.randperm`` under a seeded ``Generator``) and wrapped in ``torch.utils.data.Subset``;
``random_split`` with fractions and its own generator carves a hold-out set first; the
imbalanced training folds are rebalanced with ``WeightedRandomSampler`` (weights from
``torch.bincount``); every fold's model predicts its validation fold (OOF) and the test set
with TTA (identity, horizontal flip, vertical flip via ``torch.flip`` and ``v2.functional``),
and the folds' softmax outputs are averaged. Metrics: accuracy, log loss, a rank-based
ROC-AUC, a confusion matrix from ``bincount``, macro F1.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import (BatchSampler, ConcatDataset, DataLoader, Subset, TensorDataset,
                              WeightedRandomSampler, random_split)
from torchvision.transforms.v2 import functional as TF

torch.manual_seed(2024)
rng = np.random.default_rng(2024)
N_FOLDS, NUM_CLASSES = 3, 3

# an imbalanced 3-class image set: class 2 is rare
counts = [40, 28, 8]
images, labels = [], []
yy, xx = np.mgrid[0:12, 0:12]
for c, n in enumerate(counts):
    for _ in range(n):
        shift = rng.integers(0, 4)
        pattern = [np.sin((xx + shift) / 2.0), np.cos((yy + shift) / 2.0),
                   np.sin((xx + yy + shift) / 3.0)][c]
        images.append(pattern[None] + 0.8 * rng.standard_normal((1, 12, 12)))
        labels.append(c)
X = torch.tensor(np.stack(images), dtype=torch.float32)
y = torch.tensor(labels)
full = TensorDataset(X, y)
train_full, test_set = random_split(full, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
print("split sizes:", len(train_full), len(test_set), "test classes:",
      torch.bincount(y[test_set.indices], minlength=NUM_CLASSES).tolist())

# stratified folds over the training part
train_idx = torch.tensor(train_full.indices)
train_y = y[train_idx]
g = torch.Generator().manual_seed(1)
fold_of = torch.empty(len(train_idx), dtype=torch.long)
for c in range(NUM_CLASSES):
    members = (train_y == c).nonzero(as_tuple=True)[0]
    members = members[torch.randperm(len(members), generator=g)]
    fold_of[members] = torch.arange(len(members)) % N_FOLDS
print("fold sizes:", torch.bincount(fold_of).tolist())
print("class counts per fold:")
print(torch.stack([torch.bincount(train_y[fold_of == k], minlength=NUM_CLASSES)
                   for k in range(N_FOLDS)]))


def make_model():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.GELU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 12, 3, padding=1), nn.GELU(),
                         nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(12, NUM_CLASSES))


def tta_predict(model, x):
    model.eval()
    with torch.no_grad():
        views = [x, torch.flip(x, dims=[-1]), TF.vertical_flip(x), TF.horizontal_flip(x)]
        probs = torch.stack([F.softmax(model(v), dim=1) for v in views])
    return probs.mean(0), probs


def roc_auc(scores, target):
    """Mann-Whitney U statistic with average ranks for ties."""
    order = torch.argsort(scores)
    ranks = torch.empty_like(scores)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=scores.dtype)
    uniq, inv = torch.unique(scores, return_inverse=True)
    mean_rank = torch.zeros(len(uniq), dtype=scores.dtype).index_add_(0, inv, ranks)
    mean_rank /= torch.bincount(inv).to(scores.dtype)
    ranks = mean_rank[inv]
    n_pos = target.sum()
    n_neg = len(target) - n_pos
    return (ranks[target.bool()].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


oof = torch.zeros(len(train_idx), NUM_CLASSES)
test_x = X[test_set.indices]
test_y = y[test_set.indices]
test_probs = []
for fold in range(N_FOLDS):
    tr_pos = (fold_of != fold).nonzero().flatten()
    va_pos = (fold_of == fold).nonzero().flatten()
    tr_ds = Subset(train_full, tr_pos.tolist())
    va_ds = Subset(train_full, va_pos.tolist())
    class_count = torch.bincount(train_y[tr_pos], minlength=NUM_CLASSES).float()
    sample_w = (1.0 / class_count)[train_y[tr_pos]]
    sampler = WeightedRandomSampler(sample_w.double(), num_samples=len(tr_ds), replacement=True,
                                    generator=torch.Generator().manual_seed(fold))
    loader = DataLoader(tr_ds, batch_sampler=BatchSampler(sampler, batch_size=12,
                                                          drop_last=False))
    drawn = torch.cat([yb for _, yb in loader])
    print(f"fold {fold}: train {len(tr_ds)} valid {len(va_ds)} sampled class counts "
          f"{torch.bincount(drawn, minlength=NUM_CLASSES).tolist()}")
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6 * len(loader), eta_min=1e-4)
    for epoch in range(6):
        model.train()
        total = 0.0
        for xb, yb in loader:
            if torch.rand(()) < 0.5:
                xb = xb.flip(-1)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(yb)
    va_x = torch.stack([va_ds[i][0] for i in range(len(va_ds))])
    p_mean, p_views = tta_predict(model, va_x)
    oof[va_pos] = p_mean
    single = (p_views[0].argmax(1) == train_y[va_pos]).float().mean()
    tta = (p_mean.argmax(1) == train_y[va_pos]).float().mean()
    print(f"fold {fold}: last train loss {total / len(tr_ds):.4f} valid acc "
          f"{single.item():.3f} (TTA {tta.item():.3f}) lr {sched.get_last_lr()[0]:.5f}")
    test_probs.append(tta_predict(model, test_x)[0])

oof_pred = oof.argmax(1)
oof_logloss = F.nll_loss(torch.log(oof.clamp_min(1e-15)), train_y)
print(f"OOF accuracy {(oof_pred == train_y).float().mean().item():.3f} "
      f"log loss {oof_logloss.item():.4f}")
conf = torch.bincount(train_y * NUM_CLASSES + oof_pred, minlength=NUM_CLASSES ** 2)
conf = conf.view(NUM_CLASSES, NUM_CLASSES)
print("OOF confusion matrix:")
print(conf)
tp = conf.diag().float()
precision = tp / conf.sum(0).clamp_min(1)
recall = tp / conf.sum(1).clamp_min(1)
f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall),
                 torch.zeros(()))
print("per-class F1:", [f"{v:.3f}" for v in f1.tolist()], f"macro {f1.mean().item():.3f}")
aucs = [roc_auc(oof[:, c].double(), (train_y == c).long()).item() for c in range(NUM_CLASSES)]
print("one-vs-rest AUC:", [f"{a:.3f}" for a in aucs])

ensemble = torch.stack(test_probs).mean(0)
print(f"test accuracy (3-fold TTA ensemble) {(ensemble.argmax(1) == test_y).float().mean():.3f}")
print("ensemble probs[:3]:")
print(ensemble[:3].round(decimals=3))
both = ConcatDataset([train_full, test_set])
print("concat length", len(both), "last label", int(both[len(both) - 1][1]))
try:
    random_split(full, [0.5, 0.6])
except ValueError as err:
    print("ValueError caught:", type(err).__name__)  # ember's message adds the sizes
try:
    list(WeightedRandomSampler([0.5, -1.0], 2))
except Exception as err:
    print(type(err).__name__ + ":", err)
