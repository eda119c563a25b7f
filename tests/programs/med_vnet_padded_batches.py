"""A V-Net-style network trained on volumes of different sizes, in the manner of the plain-PyTorch
V-Net and "3-D segmentation with class imbalance" tutorials: a ``Dataset`` of cropped volumes
whose shapes differ, a ``collate_fn`` that pads every volume to the batch's largest shape with
``F.pad`` and returns a validity mask, a ``WeightedRandomSampler`` that draws rare-lesion cases
more often, residual stages with ``PReLU``, ``BatchNorm3d`` and ``Dropout3d``, strided
``Conv3d`` down and ``ConvTranspose3d`` up (with ``output_padding``), an ``nn.Upsample``
trilinear skip, ``max_pool3d(return_indices=True)`` / ``max_unpool3d``, a masked focal-Tversky
loss, ``channels_last_3d`` memory format, ``ReduceLROnPlateau`` on a validation loss, and a
``torch.save``/``torch.load`` round trip of the best state dict."""
import io

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

torch.manual_seed(1)


class LesionVolumes(Dataset):
    """Synthetic cases: crops of varying shape, some holding a small bright lesion."""

    def __init__(self, n):
        self.cases = []
        for i in range(n):
            shape = tuple(int(s) for s in torch.randint(8, 13, (3,)))
            img = torch.randn(1, *shape) * 0.5
            seg = torch.zeros(shape, dtype=torch.long)
            has_lesion = i % 4 == 0
            if has_lesion:
                c = [s // 2 for s in shape]
                seg[c[0] - 2:c[0] + 2, c[1] - 2:c[1] + 2, c[2] - 1:c[2] + 2] = 1
                img[0][seg == 1] += 2.0
            self.cases.append((img, seg, int(has_lesion)))

    def __len__(self):
        return len(self.cases)

    def __getitem__(self, i):
        return self.cases[i]


def pad_collate(batch):
    """Pad each volume (right side of every axis) to the largest shape in the batch."""
    shapes = torch.tensor([img.shape[1:] for img, _, _ in batch])
    target = shapes.max(dim=0).values
    target = ((target + 3) // 4) * 4  # divisible by the network's total stride
    imgs, segs, masks = [], [], []
    for img, seg, _ in batch:
        pad = []
        for axis in (2, 1, 0):  # F.pad lists the last axis first
            pad += [0, int(target[axis]) - seg.shape[axis]]
        imgs.append(F.pad(img, pad, mode="constant", value=0.0))
        segs.append(F.pad(seg, pad, value=-1))
        masks.append(F.pad(torch.ones_like(seg, dtype=torch.bool), pad, value=False))
    lesion = torch.tensor([b[2] for b in batch])
    return torch.stack(imgs), torch.stack(segs), torch.stack(masks), lesion


class ResStage(nn.Module):
    def __init__(self, ch, n_convs, p_drop=0.0):
        super().__init__()
        layers = []
        for _ in range(n_convs):
            # no bias before BatchNorm: the norm removes it, and Adam would turn its
            # round-off-sized gradient into full-size steps
            layers += [nn.Conv3d(ch, ch, 3, padding=1, bias=False), nn.BatchNorm3d(ch),
                       nn.PReLU(ch)]
        self.body = nn.Sequential(*layers)
        self.drop = nn.Dropout3d(p_drop)
        self.act = nn.PReLU(ch)

    def forward(self, x):
        return self.act(self.drop(self.body(x)) + x)


class VNet(nn.Module):
    def __init__(self, base=4):
        super().__init__()
        self.inp = nn.Conv3d(1, base, 3, padding=1)
        self.s1 = ResStage(base, 1)
        self.down = nn.Conv3d(base, base * 2, 2, stride=2)
        self.s2 = ResStage(base * 2, 2, p_drop=0.2)
        self.up = nn.ConvTranspose3d(base * 2, base, 3, stride=2, padding=1, output_padding=1)
        self.s3 = ResStage(base * 2, 1)
        self.skip_up = nn.Upsample(scale_factor=2, mode="trilinear", align_corners=False)
        self.out = nn.Conv3d(base * 2 + base * 2, 2, 1)

    def forward(self, x):
        x1 = self.s1(self.inp(x))
        x2 = self.s2(self.down(x1))
        pooled, idx = F.max_pool3d(x2, 2, return_indices=True)
        x2 = x2 + F.max_unpool3d(pooled, idx, 2, output_size=x2.shape[2:])
        x3 = self.s3(torch.cat([self.up(x2), x1], dim=1))
        return self.out(torch.cat([x3, self.skip_up(x2)], dim=1))


def focal_tversky(logits, seg, mask, alpha=0.7, beta=0.3, gamma=0.75, smooth=1.0):
    """Tversky index on the lesion class over valid voxels, raised to ``gamma``."""
    p = logits.softmax(dim=1)[:, 1]
    t = (seg == 1).float()
    m = mask.float()
    tp = (p * t * m).sum()
    fn = ((1 - p) * t * m).sum()
    fp = (p * (1 - t) * m).sum()
    tversky = (tp + smooth) / (tp + alpha * fn + beta * fp + smooth)
    return (1 - tversky) ** gamma


train_set, val_set = LesionVolumes(16), LesionVolumes(4)
print("shapes", [tuple(train_set[i][0].shape[1:]) for i in range(4)])
flags = torch.tensor([c[2] for c in train_set.cases])
class_count = torch.bincount(flags)
sample_w = (1.0 / class_count.float())[flags]
print("lesion cases", class_count.tolist(), "sample weights", [round(w, 4) for w in
                                                               sample_w[:4].tolist()])
sampler = WeightedRandomSampler(sample_w, num_samples=len(train_set), replacement=True)
loader = DataLoader(train_set, batch_size=4, sampler=sampler, collate_fn=pad_collate)
val_loader = DataLoader(val_set, batch_size=2, shuffle=False, collate_fn=pad_collate)

img, seg, mask, lesion = next(iter(loader))
print("batch", tuple(img.shape), seg.dtype, "ignored voxels", int((seg == -1).sum()),
      "mask frac", round(mask.float().mean().item(), 4), "lesions drawn", lesion.tolist())

model = VNet().to(memory_format=torch.channels_last_3d)
print("channels_last_3d:", model.inp.weight.is_contiguous(memory_format=torch.channels_last_3d))
print(model.s2.body[2], model.up)
ce_w = torch.tensor([0.2, 1.0])
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5,
                                                     patience=0, threshold=1e-3)

best, best_state = float("inf"), None
for epoch in range(3):
    model.train()
    total = 0.0
    for img, seg, mask, _ in loader:
        img = img.contiguous(memory_format=torch.channels_last_3d)
        logits = model(img)
        ce = F.cross_entropy(logits, seg, weight=ce_w, ignore_index=-1)
        loss = ce + focal_tversky(logits, seg, mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    model.eval()
    val = 0.0
    with torch.no_grad():
        for img, seg, mask, _ in val_loader:
            logits = model(img)
            val += (F.cross_entropy(logits, seg, ignore_index=-1, reduction="sum")
                    / mask.sum()).item()
    plateau.step(val)
    if val < best:
        best = val
        best_state = {k: v.clone() for k, v in model.state_dict().items()}
    print(f"epoch {epoch} train {total / len(loader):.3f} val {val:.3f} "
          f"lr {optimizer.param_groups[0]['lr']:.5f}")

print("bn running mean", [round(v, 3) for v in model.s1.body[1].running_mean.tolist()],
      "batches tracked", int(model.s1.body[1].num_batches_tracked))
print("prelu slopes", [round(v, 3) for v in model.s1.act.weight.tolist()])

buffer = io.BytesIO()
torch.save(best_state, buffer)
buffer.seek(0)
restored = VNet()
missing = restored.load_state_dict(torch.load(buffer, weights_only=True))
print("restored", missing, "keys", len(best_state))
restored.eval()
with torch.no_grad():
    img, seg, mask, _ = next(iter(val_loader))
    pred = restored(img).argmax(1)
valid = mask & (seg >= 0)
tp = ((pred == 1) & (seg == 1) & valid).sum().item()
print("val lesion voxels", int(((seg == 1) & valid).sum()), "predicted",
      int(((pred == 1) & valid).sum()), "tp", tp)
print("accuracy on valid voxels", round((pred[valid] == seg[valid]).float().mean().item(), 3))
