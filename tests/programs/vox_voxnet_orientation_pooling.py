"""A VoxNet / 3D-ShapeNets-style voxel classifier, written as the plain-PyTorch ModelNet
repositories write it: synthetic occupancy grids of four primitive shapes (``torch.meshgrid``),
a ``Dataset`` with random ``torch.rot90`` / ``torch.flip`` augmentation, ``random_split`` and a
seeded ``DataLoader``; a network of ``Conv3d`` (``padding_mode="replicate"``, dilation) +
``BatchNorm3d(momentum=None)`` + ``MaxPool3d(ceil_mode=True)`` + ``AvgPool3d`` +
``AdaptiveAvgPool3d`` / ``AdaptiveMaxPool3d`` heads, ``print(model)``, forward hooks that record
feature shapes, AdamW with a no-decay parameter group and ``CosineAnnealingWarmRestarts``, label
smoothing, test-time orientation pooling over rotations, a confusion matrix with ``bincount``,
``fuse_conv_bn_eval`` for deployment, a bfloat16 copy of the stem (inference and a training
step), the functional pools (``lp_pool3d``, ``divisor_override``, ``return_indices``) and the
errors torch raises for wrongly shaped inputs."""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torch.utils.data import DataLoader, Dataset, random_split

torch.manual_seed(0)
G = 12  # grid size
CLASSES = ["cube", "sphere", "cylinder", "cone"]


def make_shape(kind, gen):
    """One occupancy grid (G, G, G) of a primitive with a random size and offset."""
    c = torch.linspace(-1, 1, G)
    z, y, x = torch.meshgrid(c, c, c, indexing="ij")
    shift = (torch.rand(3, generator=gen) - 0.5) * 0.3
    z, y, x = z - shift[0], y - shift[1], x - shift[2]
    r = 0.45 + 0.3 * torch.rand(1, generator=gen).item()
    if kind == 0:
        occ = torch.maximum(torch.maximum(z.abs(), y.abs()), x.abs()) < r
    elif kind == 1:
        occ = z.pow(2) + y.pow(2) + x.pow(2) < r * r
    elif kind == 2:
        occ = (y.pow(2) + x.pow(2) < (0.7 * r) ** 2) & (z.abs() < r)
    else:
        occ = (y.pow(2) + x.pow(2)).sqrt() < (r - z) * 0.5
        occ &= z.abs() < r
    return occ.float()


class PrimitiveVoxels(Dataset):
    def __init__(self, n, seed, augment):
        gen = torch.Generator().manual_seed(seed)
        self.labels = torch.arange(n) % len(CLASSES)
        self.grids = torch.stack([make_shape(int(k), gen) for k in self.labels]).unsqueeze(1)
        self.augment = augment
        self.gen = torch.Generator().manual_seed(seed + 1)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        vox = self.grids[i]
        if self.augment:
            k = int(torch.randint(0, 4, (1,), generator=self.gen))
            vox = torch.rot90(vox, k, dims=(2, 3))
            if torch.rand(1, generator=self.gen) < 0.5:
                vox = vox.flip(-1)
        return vox, self.labels[i]


full = PrimitiveVoxels(48, seed=3, augment=True)
train_set, val_set = random_split(full, [36, 12], generator=torch.Generator().manual_seed(7))
loader = DataLoader(train_set, batch_size=8, shuffle=True, drop_last=True,
                    generator=torch.Generator().manual_seed(11))
print("train", len(train_set), "val", len(val_set), "batches", len(loader))
print("occupancy per class", [round(full.grids[full.labels == k].mean().item(), 4)
                              for k in range(len(CLASSES))])


class VoxNet(nn.Module):
    def __init__(self, n_classes=4):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(1, 8, 3, padding=1, padding_mode="replicate", bias=False),
            nn.BatchNorm3d(8, momentum=None),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(2, ceil_mode=True),
            nn.Conv3d(8, 12, 3, padding=2, dilation=2, bias=False),
            nn.BatchNorm3d(12),
            nn.LeakyReLU(0.1, inplace=True),
            nn.AvgPool3d(3, stride=2, padding=1, count_include_pad=False),
        )
        self.avg = nn.AdaptiveAvgPool3d((1, 2, 2))
        self.max = nn.AdaptiveMaxPool3d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(12 * 5, n_classes))

    def forward(self, x):
        f = self.features(x)
        return self.head(torch.cat([self.avg(f).flatten(2), self.max(f).flatten(2)], dim=2))


model = VoxNet()
print(model)
print("parameters", sum(p.numel() for p in model.parameters()),
      "buffers", [name for name, _ in model.named_buffers()][:3])

shapes = {}


def record_shape(name):
    def hook(module, inputs, output):
        shapes[name] = tuple(output.shape)
    return hook


handles = [model.features[i].register_forward_hook(record_shape(f"features.{i}")) for i in (3, 7)]
handles.append(model.avg.register_forward_hook(record_shape("avg")))

decay, no_decay = [], []
for name, p in model.named_parameters():
    (no_decay if p.ndim <= 1 else decay).append(p)
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                               {"params": no_decay, "weight_decay": 0.0}], lr=0.01)
scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=4, T_mult=2)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)

for epoch in range(3):
    model.train()
    total, correct, seen = 0.0, 0, 0
    for step, (vox, target) in enumerate(loader):
        optimizer.zero_grad(set_to_none=True)
        logits = model(vox)
        loss = criterion(logits, target)
        loss.backward()
        optimizer.step()
        scheduler.step(epoch + step / len(loader))
        total += loss.item() * len(target)
        correct += (logits.argmax(1) == target).sum().item()
        seen += len(target)
    print(f"epoch {epoch} loss {total / seen:.4f} acc {correct / seen:.3f} "
          f"lr {scheduler.get_last_lr()[0]:.5f}")
for h in handles:
    h.remove()
print("feature shapes", shapes)
bn = model.features[1]
print("bn1 batches", int(bn.num_batches_tracked),
      "running_mean", bn.running_mean[:3].round(decimals=4))

# --- evaluation with orientation pooling: max over the four rotations about the vertical axis ---
model.eval()
val_vox = torch.stack([val_set[i][0] for i in range(len(val_set))])
val_y = full.labels[torch.tensor(val_set.indices)]
with torch.no_grad():
    views = torch.stack([model(torch.rot90(val_vox, k, (2, 3))) for k in range(4)])
    pooled = views.max(dim=0).values
    probs = pooled.softmax(-1)
pred = probs.argmax(-1)
print("val acc single", (views[0].argmax(-1) == val_y).float().mean().item(),
      "pooled", (pred == val_y).float().mean().item())
confusion = torch.bincount(val_y * len(CLASSES) + pred, minlength=len(CLASSES) ** 2)
print(confusion.view(len(CLASSES), len(CLASSES)))
print(probs[:2].round(decimals=3))
top2 = probs.topk(2, dim=-1)
print("top2 of first", top2.indices[0].tolist(), top2.values[0].round(decimals=3))

# --- fold the first BatchNorm into its convolution for deployment ---
conv, bn = model.features[0], model.features[1]
fused = fuse_conv_bn_eval(conv, bn)
x = val_vox[:2]
with torch.no_grad():
    ref = bn(conv(x))
    out = fused(x)
print("fused bias", fused.bias is not None, "padding_mode", fused.padding_mode,
      "max diff < 1e-5", bool((ref - out).abs().max() < 1e-5))

# --- bfloat16: the stem (conv, batch norm, relu, pool) copied to bfloat16 for inference, then
# trained one step as the encoder of a voxel autoencoder (avg_pool3d has no bfloat16 kernel) ---
stem = copy.deepcopy(model.features[:4]).to(torch.bfloat16).eval()
with torch.no_grad():
    feats = stem(val_vox.to(torch.bfloat16))
print("bf16 stem", feats.dtype, tuple(feats.shape), round(feats.float().mean().item(), 4))
print(feats[0, :2, 2, 2, :4])
decoder = nn.ConvTranspose3d(8, 1, 2, stride=2).to(torch.bfloat16)
stem.train()
opt_bf16 = torch.optim.SGD(list(stem.parameters()) + list(decoder.parameters()), lr=0.05,
                           momentum=0.9)
vox, _ = next(iter(loader))
for step in range(2):
    recon = decoder(stem(vox.to(torch.bfloat16)))
    loss = F.binary_cross_entropy_with_logits(recon.float(), vox)
    opt_bf16.zero_grad()
    loss.backward()
    opt_bf16.step()
    print(f"bf16 step {step} loss {loss.item():.4f}", recon.dtype)
print("bn running_var", stem[1].running_var[:4], "conv grad", stem[0].weight.grad.flatten()[:3])

# --- the functional pooling variants ---
v = torch.arange(2 * 1 * 4 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4, 4) / 10
pooled, idx = F.max_pool3d(v, 2, return_indices=True)
print("max_pool3d", pooled.flatten()[:4].tolist(), "indices", idx.flatten()[:4].tolist())
print("avg_pool3d divisor", F.avg_pool3d(v, 2, divisor_override=4).flatten()[:3].tolist())
print("lp_pool3d", F.lp_pool3d(v + 1, 2.0, 2).flatten()[:3].round(decimals=4).tolist())
print("adaptive 3->(2,3,1)",
      F.adaptive_avg_pool3d(v[:, :, :3, :3, :3], (2, 3, 1)).flatten().tolist()[:6])
print(F.adaptive_max_pool3d(v, (1, 1, 2), return_indices=True)[1].flatten().tolist())

# --- the errors a 3-D network meets ---
for name, fn in [("conv3d on 3-D input", lambda: model.features[0](torch.zeros(4, 4, 4))),
                 ("bn3d on 4-D input", lambda: nn.BatchNorm3d(8)(torch.zeros(8, 4, 4, 4))),
                 ("maxpool bigger than input", lambda: F.max_pool3d(torch.zeros(1, 1, 2, 2, 2), 3)),
                 ("wrong channels", lambda: model(torch.zeros(1, 2, G, G, G)))]:
    try:
        fn()
        print(name, "ok")
    except (RuntimeError, ValueError) as e:
        print(name, "->", type(e).__name__, str(e).splitlines()[0])
