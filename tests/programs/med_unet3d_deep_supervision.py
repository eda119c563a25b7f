"""A small nnU-Net-style 3-D U-Net trained on synthetic volumes, in the manner of the plain-PyTorch
3-D segmentation repositories (nnU-Net's ``PlainConvUNet``, the MONAI tutorials re-written without
MONAI): stacked ``Conv3d`` + ``InstanceNorm3d(affine=True)`` + ``LeakyReLU`` blocks, a strided
convolution or ``MaxPool3d`` to go down, ``ConvTranspose3d`` to go up, deep supervision with
downsampled targets (``F.interpolate(mode="nearest")``) and decaying weights, the compound soft
Dice + cross-entropy loss built with ``F.one_hot(...).permute``, SGD with Nesterov momentum and
nnU-Net's polynomial learning rate (``PolynomialLR``), gradient clipping, per-class Dice on
a held-out volume after ``argmax``, and bfloat16 inference under ``torch.autocast``.
Everything is drawn from ``torch.manual_seed``."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import PolynomialLR

torch.manual_seed(0)
NUM_CLASSES = 3


def make_volume(size=16):
    """One synthetic MRI-like volume: a bright sphere (class 1) holding a brighter core (class 2),
    on a noisy background with a smooth bias field."""
    zz, yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), torch.arange(size),
                                indexing="ij")
    center = torch.randint(5, size - 5, (3,)).float()
    radius = 3.0 + 2.0 * torch.rand(1)
    dist = ((zz - center[0]) ** 2 + (yy - center[1]) ** 2 + (xx - center[2]) ** 2).float().sqrt()
    label = torch.zeros(size, size, size, dtype=torch.long)
    label[dist < radius] = 1
    label[dist < radius / 2] = 2
    bias = 1.0 + 0.1 * torch.linspace(-1, 1, size).view(size, 1, 1)
    image = (label.float() * 0.8 + 0.3 * torch.randn(size, size, size)) * bias
    return image.unsqueeze(0), label


class ConvBlock(nn.Sequential):
    """conv -> instance norm -> leaky ReLU, twice (nnU-Net's StackedConvBlocks)."""

    def __init__(self, cin, cout, stride=1):
        super().__init__(
            nn.Conv3d(cin, cout, 3, stride=stride, padding=1, bias=True),
            nn.InstanceNorm3d(cout, eps=1e-5, affine=True),
            nn.LeakyReLU(0.01, inplace=True),
            nn.Conv3d(cout, cout, 3, padding=1),
            nn.InstanceNorm3d(cout, affine=True),
            nn.LeakyReLU(0.01, inplace=True),
        )


class UNet3D(nn.Module):
    def __init__(self, cin=1, base=4, classes=NUM_CLASSES):
        super().__init__()
        self.enc0 = ConvBlock(cin, base)
        self.enc1 = ConvBlock(base, base * 2, stride=2)          # strided conv downsampling
        self.pool = nn.MaxPool3d(kernel_size=2, stride=2)         # pooling downsampling
        self.bottleneck = ConvBlock(base * 2, base * 4)
        self.up1 = nn.ConvTranspose3d(base * 4, base * 2, kernel_size=2, stride=2, bias=False)
        self.dec1 = ConvBlock(base * 4, base * 2)
        self.up0 = nn.ConvTranspose3d(base * 2, base, kernel_size=2, stride=2, bias=False)
        self.dec0 = ConvBlock(base * 2, base)
        self.heads = nn.ModuleList([nn.Conv3d(base, classes, 1), nn.Conv3d(base * 2, classes, 1),
                                    nn.Conv3d(base * 4, classes, 1)])

    def forward(self, x):
        s0 = self.enc0(x)
        s1 = self.enc1(s0)
        b = self.bottleneck(self.pool(s1))
        d1 = self.dec1(torch.cat([self.up1(b), s1], dim=1))
        d0 = self.dec0(torch.cat([self.up0(d1), s0], dim=1))
        outs = [self.heads[0](d0), self.heads[1](d1), self.heads[2](b)]
        return outs if self.training else outs[0]


def soft_dice_loss(logits, target, smooth=1e-5, do_bg=False):
    """Batch soft Dice over classes, as nnU-Net's SoftDiceLoss(batch_dice=True)."""
    probs = logits.softmax(dim=1)
    onehot = F.one_hot(target, NUM_CLASSES).permute(0, 4, 1, 2, 3).to(probs.dtype)
    axes = (0, 2, 3, 4)
    tp = (probs * onehot).sum(axes)
    fp = (probs * (1 - onehot)).sum(axes)
    fn = ((1 - probs) * onehot).sum(axes)
    dice = (2 * tp + smooth) / torch.clip(2 * tp + fp + fn + smooth, 1e-8)
    if not do_bg:
        dice = dice[1:]
    return -dice.mean()


def dice_ce(logits, target):
    return F.cross_entropy(logits, target) + soft_dice_loss(logits, target)


model = UNet3D()
n_params = sum(p.numel() for p in model.parameters())
print("parameters", n_params)
print(model.enc0)

# deep supervision weights: 1, 1/2, 1/4, the coarsest masked out as nnU-Net does, normalized
weights = torch.tensor([1 / (2 ** i) for i in range(3)])
weights[-1] = 0
weights = weights / weights.sum()
print("ds weights", [round(w, 4) for w in weights.tolist()])

train = [make_volume() for _ in range(4)]
images = torch.stack([t[0] for t in train])
labels = torch.stack([t[1] for t in train])
print("batch", tuple(images.shape), "class voxels", torch.bincount(labels.flatten()).tolist())

optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.99, nesterov=True,
                            weight_decay=3e-5)
steps = 12
scheduler = PolynomialLR(optimizer, total_iters=steps, power=0.9)

for step in range(steps):
    model.train()
    batch = torch.randperm(4)[:2]
    x, y = images[batch], labels[batch]
    # random mirroring along the three spatial axes, image and label together
    for axis in (2, 3, 4):
        if torch.rand(1).item() < 0.5:
            x = torch.flip(x, dims=(axis,))
            y = torch.flip(y, dims=(axis - 1,))
    outs = model(x)
    targets = [y]
    for out in outs[1:]:
        down = F.interpolate(y.unsqueeze(1).float(), size=out.shape[2:], mode="nearest")
        targets.append(down.squeeze(1).long())
    losses = [dice_ce(o, t) for o, t in zip(outs, targets)]
    loss = sum(w * l for w, l in zip(weights, losses))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 12)
    optimizer.step()
    scheduler.step()
    if step % 3 == 0 or step == steps - 1:
        print(f"step {step:2d} loss {loss.item():.3f} hi-res {losses[0].item():.3f} "
              f"grad {grad_norm.item():.2f} lr {scheduler.get_last_lr()[0]:.5f}")

model.eval()
test_x, test_y = make_volume()
with torch.no_grad():
    logits = model(test_x.unsqueeze(0))
    pred = logits.argmax(dim=1)[0]
print("test logits", tuple(logits.shape), "mean prob",
      [round(v, 2) for v in logits.softmax(1).mean(dim=(0, 2, 3, 4)).tolist()])
for c in range(1, NUM_CLASSES):
    p, t = pred == c, test_y == c
    inter = (p & t).sum().item()
    denom = p.sum().item() + t.sum().item()
    print(f"class {c} voxels pred {p.sum().item()} true {t.sum().item()} "
          f"dice {2 * inter / denom if denom else float('nan'):.2f}")
# bfloat16 inference under CPU autocast, as nnU-Net predicts: convolutions run in bfloat16,
# the pooled per-class summary (a classifier-style head) is on autocast's float32 list
with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
    logits_bf = model(test_x.unsqueeze(0))
    summary = F.adaptive_avg_pool3d(logits_bf, 1).flatten(1)
agree = (logits_bf.argmax(1)[0] == pred).float().mean().item()
print("autocast", logits_bf.dtype, summary.dtype, "argmax agreement", round(agree, 2))
print("instance norm running stats tracked:", model.enc0[1].track_running_stats,
      model.enc0[1].running_mean)
