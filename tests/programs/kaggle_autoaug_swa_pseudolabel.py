"""A Kaggle notebook's second stage: auto-augmentation, warmup + cosine restarts, layer-wise
learning-rate decay, SWA, early stopping on a best checkpoint, and pseudo-labelling.

The tricks of many winning notebooks in one small loop: ``v2.TrivialAugmentWide`` /
``v2.RandAugment`` / ``v2.AutoAugment`` on uint8 images, ``v2.RandomErasing``; a backbone with
``torchvision.ops.StochasticDepth`` residual blocks; parameter groups with layer-wise lr decay
(no weight decay on norms and biases);
``SequentialLR(LinearLR warmup, CosineAnnealingWarmRestarts)``;
``torchvision.ops.sigmoid_focal_loss`` on one-hot targets with label smoothing; early stopping
that keeps the best ``state_dict`` (``copy.deepcopy``); then ``SWALR`` + ``AveragedModel`` +
``update_bn`` for SWA, and confident test predictions (max prob > threshold) added back as
pseudo labels for a short fine-tune.
"""

import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts, LinearLR, SequentialLR
from torch.optim.swa_utils import SWALR, AveragedModel, update_bn
from torch.utils.data import DataLoader, Dataset
from torchvision.ops import StochasticDepth, sigmoid_focal_loss
from torchvision.transforms import v2


def seed_everything(seed):
    np.random.seed(seed)
    torch.manual_seed(seed)


seed_everything(17)
rng = np.random.default_rng(17)
NUM_CLASSES = 3

yy, xx = np.mgrid[0:16, 0:16]
PATTERNS = [((xx // 4) % 2) * 200, ((yy // 4) % 2) * 200,
            (((xx - 8) ** 2 + (yy - 8) ** 2) < 25) * 200]


def make_images(n):
    labels = rng.integers(0, NUM_CLASSES, n)
    imgs = [np.clip(np.stack([PATTERNS[c]] * 3) + rng.normal(30, 25, (3, 16, 16)), 0, 255)
            for c in labels]
    return torch.tensor(np.stack(imgs), dtype=torch.uint8), torch.from_numpy(labels)


class AugDataset(Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


to_float = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * 3, [0.5] * 3)])
train_tf = v2.Compose([v2.RandomChoice([v2.TrivialAugmentWide(),
                                        v2.RandAugment(num_ops=2, magnitude=7),
                                        v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10)]),
                       to_float, v2.RandomErasing(p=0.3)])

print(train_tf)
tr_x, tr_y = make_images(36)
va_x, va_y = make_images(12)
te_x, te_y = make_images(18)
aug = train_tf(tr_x[0])
print("augmented:", tuple(aug.shape), aug.dtype, f"mean {aug.mean().item():.4f}")
print("policy:", v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10).policy,
      v2.AutoAugmentPolicy.SVHN.value)


class Block(nn.Module):
    def __init__(self, c, p):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                                  nn.Hardswish())
        self.drop_path = StochasticDepth(p, mode="row")

    def forward(self, x):
        return x + self.drop_path(self.conv(x))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 12, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(12), nn.Hardswish())
        self.blocks = nn.ModuleList([Block(12, 0.1 * i) for i in range(3)])
        self.norm = nn.LayerNorm(12)
        self.head = nn.Linear(12, NUM_CLASSES)

    def forward(self, x):
        x = self.stem(x)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x.mean(dim=(2, 3))))


def param_groups_lrd(model, lr, weight_decay, layer_decay=0.75):
    """Layer-wise lr decay as in BEiT/MAE fine-tuning scripts."""
    num_layers = len(model.blocks) + 1
    groups = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        no_decay = p.ndim == 1
        layer = 0 if name.startswith("stem") else (
            int(name.split(".")[1]) + 1 if name.startswith("blocks") else num_layers)
        key = f"layer_{layer}_{'no_decay' if no_decay else 'decay'}"
        if key not in groups:
            scale = layer_decay ** (num_layers - layer)
            groups[key] = {"params": [], "lr": lr * scale, "weight_decay": 0.0 if no_decay
                           else weight_decay, "lr_scale": scale, "name": key}
        groups[key]["params"].append(p)
    return list(groups.values())


def focal_loss(logits, target, smoothing=0.05):
    onehot = F.one_hot(target, NUM_CLASSES).float()
    onehot = onehot * (1 - smoothing) + smoothing / NUM_CLASSES
    return sigmoid_focal_loss(logits, onehot, alpha=0.25, gamma=2.0, reduction="mean")


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        logits = model(to_float(x))
        return focal_loss(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


model = Net()
groups = param_groups_lrd(model, lr=3e-3, weight_decay=0.05)
print("param groups:", [(g["name"], len(g["params"]), round(g["lr"], 6)) for g in groups])
optimizer = torch.optim.AdamW(groups, lr=3e-3)
warmup = LinearLR(optimizer, start_factor=0.1, total_iters=3)
cosine = CosineAnnealingWarmRestarts(optimizer, T_0=4, T_mult=2, eta_min=1e-5)
scheduler = SequentialLR(optimizer, schedulers=[warmup, cosine], milestones=[3])
loader = DataLoader(AugDataset(tr_x, tr_y, train_tf), batch_size=12, shuffle=True)

best, best_state, patience, bad_epochs = float("inf"), None, 3, 0
for epoch in range(10):
    model.train()
    for xb, yb in loader:
        loss = focal_loss(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()
    val_loss, val_acc = evaluate(model, va_x, va_y)
    lrs = [round(g["lr"], 6) for g in optimizer.param_groups[:2]]
    improved = val_loss < best - 1e-4
    if improved:
        best, best_state, bad_epochs = val_loss, copy.deepcopy(model.state_dict()), 0
    else:
        bad_epochs += 1
    print(f"epoch {epoch} loss {loss.item():.4f} val {val_loss:.4f} acc {val_acc:.3f} "
          f"lrs {lrs} {'*' if improved else ''}")
    if bad_epochs >= patience:
        print("early stopping at epoch", epoch)
        break

model.load_state_dict(best_state)
print("restored best val loss: %.4f" % evaluate(model, va_x, va_y)[0])

# SWA over a few extra epochs
swa_model = AveragedModel(model)
swa_scheduler = SWALR(optimizer, swa_lr=1e-3, anneal_epochs=2, anneal_strategy="cos")
for epoch in range(3):
    model.train()
    for xb, yb in loader:
        loss = focal_loss(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    swa_model.update_parameters(model)
    swa_scheduler.step()
    print(f"swa epoch {epoch} lr {optimizer.param_groups[-1]['lr']:.6f} n_averaged "
          f"{swa_model.n_averaged.item()}")
update_bn([(to_float(tr_x[i:i + 12]),) for i in range(0, 36, 12)], swa_model)
print("SWA val loss %.4f acc %.3f" % evaluate(swa_model, va_x, va_y))

# pseudo labelling of the unlabeled test images
swa_model.eval()
with torch.no_grad():
    probs = torch.sigmoid(swa_model(to_float(te_x)))
    probs = probs / probs.sum(1, keepdim=True)
conf, pseudo = probs.max(1)
keep = conf > 0.5
print(f"pseudo labels kept {int(keep.sum())}/{len(keep)}, their accuracy "
      f"{(pseudo[keep] == te_y[keep]).float().mean().item():.3f}")
mixed = AugDataset(torch.cat([tr_x, te_x[keep]]), torch.cat([tr_y, pseudo[keep]]), train_tf)
ft_loader = DataLoader(mixed, batch_size=16, shuffle=True)
ft_opt = torch.optim.SGD(swa_model.parameters(), lr=1e-3, momentum=0.9)
swa_model.train()
for xb, yb in ft_loader:
    loss = focal_loss(swa_model(xb), yb)
    ft_opt.zero_grad()
    loss.backward()
    ft_opt.step()
print("after pseudo-label fine-tune: val loss %.4f acc %.3f" % evaluate(swa_model, va_x, va_y))
print("stochastic depth:", model.blocks[2].drop_path)
try:
    v2.RandAugment()(te_x[0].float().unsqueeze(0).expand(2, 2, 16, 16))
except Exception as e:
    print(type(e).__name__ + ":", str(e).splitlines()[0])
