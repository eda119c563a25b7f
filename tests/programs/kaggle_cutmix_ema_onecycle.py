"""A Kaggle image-classification training loop: CutMix/MixUp, label smoothing, EMA, OneCycleLR.

The recipe of many competition notebooks and timm-style scripts: a ``transforms.v2``
pipeline per sample (``RandomResizedCrop``, flips, ``RandAugment``-free colour jitter,
``RandomErasing``), batch-level ``v2.RandomChoice([v2.CutMix, v2.MixUp])`` in the collate
function (soft targets), ``nn.CrossEntropyLoss(label_smoothing=...)`` on those soft targets,
gradient accumulation over micro-batches, a model in ``channels_last`` memory format,
``OneCycleLR`` stepping per optimizer step, and an exponential moving average of the weights
via ``torch.optim.swa_utils.AveragedModel`` with a custom ``avg_fn`` (and the built-in
``get_ema_multi_avg_fn`` for comparison), whose BatchNorm statistics are refreshed with
``update_bn``.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn
from torch.utils.data import DataLoader, Dataset, default_collate
from torchvision.transforms import v2

torch.manual_seed(42)
rng = np.random.default_rng(42)
NUM_CLASSES = 4


class ShapesDataset(Dataset):
    """uint8 HWC images of four pattern classes, as a Kaggle dataset decoded from disk."""

    def __init__(self, n, transform=None):
        self.labels = rng.integers(0, NUM_CLASSES, n)
        yy, xx = np.mgrid[0:20, 0:20]
        patterns = [(xx // 4) % 2, (yy // 4) % 2, ((xx + yy) // 5) % 2,
                    ((xx - 10) ** 2 + (yy - 10) ** 2 < 40)]
        self.images = []
        for lab in self.labels:
            base = patterns[lab].astype(np.float32) * 180 + 40
            img = np.stack([base, base[::-1], base.T], -1) + rng.normal(0, 20, (20, 20, 3))
            self.images.append(np.clip(img, 0, 255).astype(np.uint8))
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        img = torch.from_numpy(self.images[idx]).permute(2, 0, 1)   # HWC -> CHW
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.labels[idx])


train_tf = v2.Compose([
    v2.RandomResizedCrop(16, scale=(0.6, 1.0), antialias=True),
    v2.RandomHorizontalFlip(),
    v2.RandomApply([v2.ColorJitter(0.2, 0.2, 0.2)], p=0.5),
    v2.ToDtype(torch.float32, scale=True),
    v2.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]),
    v2.RandomErasing(p=0.25, scale=(0.02, 0.1), value=0),
])
valid_tf = v2.Compose([v2.CenterCrop(16), v2.ToDtype(torch.float32, scale=True),
                       v2.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])])

cutmix = v2.CutMix(num_classes=NUM_CLASSES, alpha=1.0)
mixup = v2.MixUp(num_classes=NUM_CLASSES, alpha=0.4)
cutmix_or_mixup = v2.RandomChoice([cutmix, mixup], p=[0.5, 0.5])
print(cutmix_or_mixup)
print(train_tf)


def collate_fn(batch):
    return cutmix_or_mixup(*default_collate(batch))


train_ds = ShapesDataset(48, train_tf)
valid_ds = ShapesDataset(16, valid_tf)
train_loader = DataLoader(train_ds, batch_size=8, shuffle=True, collate_fn=collate_fn,
                          drop_last=True, generator=torch.Generator().manual_seed(1))
valid_loader = DataLoader(valid_ds, batch_size=8)

images, targets = next(iter(train_loader))
print("batch", tuple(images.shape), images.dtype, "targets", tuple(targets.shape),
      "row sums", targets.sum(1).round(decimals=4).tolist())
print("soft targets[0]:", targets[0].round(decimals=3))
# a dict-style batch (as HF-style datasets give): the labels are found under "label"
batch = default_collate([{"image": valid_tf(torch.from_numpy(valid_img).permute(2, 0, 1)),
                          "label": 1} for valid_img in ShapesDataset(4).images])
mixed = cutmix_or_mixup(batch)
print("dict batch:", sorted(mixed), tuple(mixed["label"].shape), mixed["label"][0].tolist())


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
                                  nn.SiLU(inplace=True))
        self.block = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False),
                                   nn.BatchNorm2d(16), nn.SiLU(), nn.Conv2d(16, 24, 1, bias=False),
                                   nn.BatchNorm2d(24), nn.SiLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                                  nn.Linear(24, NUM_CLASSES))

    def forward(self, x):
        return self.head(self.block(F.max_pool2d(self.stem(x), 2)))


model = Net().to(memory_format=torch.channels_last)
print("channels_last weight:",
      model.stem[0].weight.is_contiguous(memory_format=torch.channels_last))


def ema_avg(averaged_param, model_param, num_averaged):
    decay = min(0.9, (1 + num_averaged.item()) / (10 + num_averaged.item()))
    return decay * averaged_param + (1 - decay) * model_param


ema = AveragedModel(model, avg_fn=ema_avg)
ema_builtin = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
EPOCHS, ACCUM = 4, 2
steps_per_epoch = len(train_loader) // ACCUM
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=5e-3, epochs=EPOCHS,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.3,
                                                div_factor=10, final_div_factor=100)


def evaluate(net):
    net.eval()
    correct, loss_sum, n = 0, 0.0, 0
    with torch.no_grad():
        for x, y in valid_loader:
            x = x.to(memory_format=torch.channels_last)
            logits = net(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            n += y.numel()
    return loss_sum / n, correct / n


for epoch in range(EPOCHS):
    model.train()
    optimizer.zero_grad()
    running = 0.0
    for step, (x, y) in enumerate(train_loader):
        x = x.to(memory_format=torch.channels_last)
        loss = criterion(model(x), y) / ACCUM
        loss.backward()
        running += loss.item()
        if (step + 1) % ACCUM == 0:
            nn.utils.clip_grad_norm_(model.parameters(), 2.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            ema.update_parameters(model)
            ema_builtin.update_parameters(model)
    val_loss, val_acc = evaluate(model)
    print(f"epoch {epoch} train {running / steps_per_epoch:.4f} val {val_loss:.4f} "
          f"acc {val_acc:.3f} lr {scheduler.get_last_lr()[0]:.6f}")

print("ema updates:", int(ema.n_averaged), int(ema_builtin.n_averaged))
bn_loader = DataLoader([x for x, _ in train_ds], batch_size=16)
update_bn(bn_loader, ema)
for name, net in (("model", model), ("ema", ema), ("ema_builtin", ema_builtin)):
    val_loss, val_acc = evaluate(net)
    print(f"{name:12s} val loss {val_loss:.4f} acc {val_acc:.3f}")
print("ema running_mean[:4]:", ema.module.stem[1].running_mean[:4])
diff = sum((p - q).abs().sum() for p, q in zip(ema.parameters(), model.parameters()))
print(f"|ema - model| = {diff.item():.4f}")
print("lr schedule momentum (beta1):", [round(g["betas"][0], 4) for g in optimizer.param_groups])
try:
    v2.CutMix(num_classes=NUM_CLASSES)(torch.rand(2, 3, 8, 8), torch.tensor([[0, 1], [1, 0]]))
except ValueError as err:
    print("ValueError:", err)
