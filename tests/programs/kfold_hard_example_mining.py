"""Stratified k-fold cross-validation with hard-example mining, as Kaggle training kernels write
it: folds cut with argsort over labels and torch.tensor_split, each fold a Subset of one
dataset (random_split with a seeded Generator carves a final hold-out first); a curriculum
that grows the training Subset from easy to hard examples (difficulty from a teacher's loss,
binned with torch.bucketize); online hard-example mining through a WeightedRandomSampler
re-weighted every epoch by per-sample losses (a Dataset that returns indices, scatter into a
loss table); class-balanced cross-entropy weights from torch.unique counts; AdamW (amsgrad)
with a warmup + cosine LambdaLR; the best epoch of each fold checkpointed by validation
accuracy into an in-memory torch.save buffer and reloaded with weights_only=True; and the fold
models ensembled on the hold-out set with torch.stack."""
import io
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Subset, WeightedRandomSampler, random_split

torch.manual_seed(0)
K, EPOCHS, BATCH = 4, 8, 16

# an imbalanced 3-class spiral-ish problem in 2-D with 4 noise features
n_per = torch.tensor([150, 90, 60])
labels = torch.repeat_interleave(torch.arange(3), n_per)
t = torch.rand(len(labels)) * 3 + 0.5
angle = t + labels * (2 * math.pi / 3)
xy = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1)
features = torch.cat([xy + 0.25 * torch.randn_like(xy), torch.randn(len(labels), 4)], dim=1)


class IndexedDataset(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i], i


full = IndexedDataset(features, labels)
gen = torch.Generator().manual_seed(42)
trainval, holdout = random_split(full, [0.85, 0.15], generator=gen)
print("trainval / holdout:", len(trainval), len(holdout))
tv_idx = torch.tensor(trainval.indices)
tv_labels = labels[tv_idx]

# stratified folds: shuffle, stable-sort by label, deal round-robin into K folds
perm = torch.randperm(len(tv_idx), generator=gen)
order = perm[torch.argsort(tv_labels[perm], stable=True)]
fold_of = torch.empty(len(tv_idx), dtype=torch.long)
# contiguous chunks of the sorted order would not be stratified: deal every K-th instead
print("tensor_split sizes:", [len(c) for c in torch.tensor_split(order, K)])
fold_of[order] = torch.arange(len(order)) % K
for f in range(K):
    _, counts = torch.unique(tv_labels[fold_of == f], return_counts=True)
    print(f"fold {f} class counts", counts.tolist())


def make_model():
    return nn.Sequential(nn.Linear(6, 32), nn.GELU(), nn.Dropout(0.1), nn.Linear(32, 32),
                         nn.GELU(), nn.Linear(32, 3))


def warmup_cosine(warmup, total):
    def fn(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
    return fn


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    correct, total, loss = 0, 0, 0.0
    for x, y, _ in loader:
        out = model(x)
        loss += F.cross_entropy(out, y, reduction="sum").item()
        correct += (out.argmax(1) == y).sum().item()
        total += y.numel()
    return loss / total, correct / total


# a teacher's per-example loss gives the curriculum's difficulty ordering
teacher = make_model()
opt = torch.optim.Adam(teacher.parameters(), lr=0.01)
for _ in range(30):
    loss = F.cross_entropy(teacher(features[tv_idx]), tv_labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
with torch.no_grad():
    difficulty = F.cross_entropy(teacher(features), labels, reduction="none")
edges = torch.quantile(difficulty[tv_idx], torch.tensor([0.33, 0.66]))
level = torch.bucketize(difficulty, edges)
print("difficulty levels:", torch.bincount(level[tv_idx], minlength=3).tolist())

fold_models, fold_scores = [], []
for f in range(K):
    train_pos = torch.nonzero(fold_of != f).flatten()
    val_pos = torch.nonzero(fold_of == f).flatten()
    val_set = Subset(trainval, val_pos.tolist())
    val_loader = DataLoader(val_set, batch_size=64)
    _, counts = torch.unique(tv_labels[train_pos], return_counts=True)
    class_weight = counts.sum() / (len(counts) * counts.float())

    torch.manual_seed(100 + f)
    model = make_model()
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=0.01, amsgrad=True)
    steps_per_epoch = math.ceil(len(train_pos) / BATCH)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(steps_per_epoch, EPOCHS * steps_per_epoch))
    loss_table = torch.ones(len(features))
    best_acc, best_epoch, buffer = -1.0, -1, None
    for epoch in range(EPOCHS):
        # curriculum: easy examples first, all levels from epoch 4 on
        max_level = min(2, epoch // 2)
        allowed = train_pos[level[tv_idx[train_pos]] <= max_level]
        train_set = Subset(trainval, allowed.tolist())
        # OHEM: sample in proportion to the last loss seen for each example
        weights = loss_table[tv_idx[allowed]].clamp_min(0.05)
        sampler = WeightedRandomSampler(weights, num_samples=len(allowed), replacement=True,
                                        generator=torch.Generator().manual_seed(epoch + 10 * f))
        loader = DataLoader(train_set, batch_size=BATCH, sampler=sampler)
        model.train()
        for x, y, i in loader:
            per_sample = F.cross_entropy(model(x), y, weight=class_weight, reduction="none")
            loss_table[i] = per_sample.detach()
            loss = per_sample.sum() / class_weight[y].sum()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=2.0)
            optimizer.step()
            scheduler.step()
        val_loss, val_acc = evaluate(model, val_loader)
        if val_acc > best_acc:
            best_acc, best_epoch = val_acc, epoch
            buffer = io.BytesIO()
            torch.save({"epoch": epoch, "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(), "val_acc": val_acc}, buffer)
        if epoch % 3 == 2 or epoch == EPOCHS - 1:
            print(f"fold {f} epoch {epoch} n_train {len(allowed)} "
                  f"lr {scheduler.get_last_lr()[0]:.5f} val loss {val_loss:.4f} "
                  f"acc {val_acc:.4f}")
    buffer.seek(0)
    ckpt = torch.load(buffer, weights_only=True)
    best = make_model()
    best.load_state_dict(ckpt["model"])
    reopt = torch.optim.AdamW(best.parameters(), lr=0.01)
    try:
        reopt.load_state_dict(ckpt["optimizer"])
    except ValueError as e:
        print("optimizer groups differ:", str(e)[:60])
    _, reloaded_acc = evaluate(best, val_loader)
    print(f"fold {f} best epoch {ckpt['epoch']} acc {ckpt['val_acc']:.4f} "
          f"reloaded {reloaded_acc:.4f} amsgrad state "
          f"{sorted(ckpt['optimizer']['state'][0].keys())}")
    fold_models.append(best)
    fold_scores.append(best_acc)

scores = torch.tensor(fold_scores)
print(f"CV accuracy {scores.mean().item():.4f} +- {scores.std().item():.4f}")
hx = features[holdout.indices]
hy = labels[holdout.indices]
with torch.no_grad():
    probs = torch.stack([m(hx).softmax(dim=1) for m in fold_models])
ens = probs.mean(0)
each = (probs.argmax(-1) == hy).float().mean(1)
print("hold-out acc per fold", each.numpy().round(4), "ensemble",
      round((ens.argmax(1) == hy).float().mean().item(), 4))
print("ensemble mean max prob", round(ens.max(1).values.mean().item(), 4))
