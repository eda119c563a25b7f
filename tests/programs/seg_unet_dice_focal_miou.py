"""Semantic segmentation in the manner of the Pytorch-UNet (milesial) and segmentation-models
reference code, torchvision-free: synthetic images of discs and bars with an "ignore" border
(label 255), a small U-Net whose up path mixes ``ConvTranspose2d`` and
``F.interpolate(mode="bilinear", align_corners=True)`` and uses ``F.pad`` to match odd sizes
before ``torch.cat``; loss = ``cross_entropy(ignore_index=255, weight=...)`` + multiclass Dice
on ``F.one_hot(...).permute(0, 3, 1, 2)`` + a focal loss from ``log_softmax``/``gather``; the
confusion matrix by ``torch.bincount(minlength=...)``, per-class IoU, mIoU with ``nanmean``,
pixel accuracy; ``OneCycleLR``; ``optimizer.state_dict`` round trip; float64."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(5)
N_CLASSES, IGNORE, H, W = 3, 255, 13, 15


def make_sample():
    yy, xx = np.mgrid[:H, :W]
    img = 0.2 * rng.standard_normal((3, H, W))
    mask = np.zeros((H, W), dtype=np.int64)
    cy, cx, r = rng.uniform(4, H - 4), rng.uniform(4, W - 4), rng.uniform(2, 4)
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2
    r0 = int(rng.integers(1, H - 4))
    bar = (yy >= r0) & (yy < r0 + 3) & ~disc
    img[0][disc] += 1.0
    img[1][bar] += 1.0
    img[2][bar] -= 0.5
    mask[disc], mask[bar] = 1, 2
    mask[:, :1] = IGNORE
    return img, mask


samples = [make_sample() for _ in range(12)]
images = torch.from_numpy(np.stack([s[0] for s in samples]))
masks = torch.from_numpy(np.stack([s[1] for s in samples]))
print("data", images.shape, images.dtype, masks.dtype, torch.unique(masks).tolist(),
      torch.bincount(masks[masks != IGNORE], minlength=N_CLASSES).tolist())


class DoubleConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Up(nn.Module):
    def __init__(self, cin, cout, bilinear):
        super().__init__()
        self.bilinear = bilinear
        if not bilinear:
            self.up = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(cin // 2 + cout if not bilinear else cin + cout, cout)

    def forward(self, x1, x2):
        if self.bilinear:
            x1 = F.interpolate(x1, scale_factor=2, mode="bilinear", align_corners=True)
        else:
            x1 = self.up(x1)
        diff_y = x2.size()[2] - x1.size()[2]
        diff_x = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class UNet(nn.Module):
    def __init__(self, n_channels, n_classes, c=4):
        super().__init__()
        self.inc = DoubleConv(n_channels, c)
        self.down1 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(c, 2 * c))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(2 * c, 2 * c))
        self.up1 = Up(2 * c, 2 * c, bilinear=True)
        self.up2 = Up(2 * c, c, bilinear=False)
        self.outc = nn.Conv2d(c, n_classes, kernel_size=1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x = self.up1(x3, x2)
        x = self.up2(x, x1)
        return self.outc(x)


def dice_loss(logits, target, eps=1e-6):
    valid = (target != IGNORE).unsqueeze(1)
    probs = logits.softmax(dim=1) * valid
    one_hot = F.one_hot(target.masked_fill(~valid.squeeze(1), 0), N_CLASSES)
    one_hot = one_hot.permute(0, 3, 1, 2).to(probs.dtype) * valid
    inter = (probs * one_hot).sum(dim=(0, 2, 3))
    card = probs.sum(dim=(0, 2, 3)) + one_hot.sum(dim=(0, 2, 3))
    return 1.0 - ((2.0 * inter + eps) / (card + eps)).mean()


def focal_loss(logits, target, gamma=2.0):
    valid = target != IGNORE
    logp = F.log_softmax(logits, dim=1)
    logpt = logp.gather(1, target.clamp(max=N_CLASSES - 1).unsqueeze(1)).squeeze(1)
    loss = -((1 - logpt.exp()) ** gamma) * logpt
    return loss[valid].mean()


model = UNet(3, N_CLASSES).double()
out = model(images[:2])
print("logits", out.shape, model.up2.up, model.up1.conv[0])
class_weight = torch.tensor([0.5, 1.0, 1.5], dtype=torch.float64)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
epochs, bs = 12, 6
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-2, total_steps=epochs * 2)

for epoch in range(epochs):
    model.train()
    for i in range(0, 12, bs):
        x, y = images[i:i + bs], masks[i:i + bs]
        logits = model(x)
        ce = F.cross_entropy(logits, y, weight=class_weight, ignore_index=IGNORE)
        loss = ce + dice_loss(logits, y) + focal_loss(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    if epoch % 4 == 3:
        print(f"epoch {epoch} ce {ce.item():.4f} dice {dice_loss(logits, y).item():.4f} "
              f"focal {focal_loss(logits, y).item():.4f} lr {sched.get_last_lr()[0]:.5f}")

state = opt.state_dict()
print("opt state", sorted(state["state"][0]),
      state["param_groups"][0]["lr"] == opt.param_groups[0]["lr"],
      state["state"][0]["step"])
opt2 = torch.optim.AdamW(model.parameters(), lr=1.0)
opt2.load_state_dict(state)
print("restored lr", f"{opt2.param_groups[0]['lr']:.6f}", opt2.param_groups[0]["weight_decay"])


def confusion_matrix(pred, target, n):
    k = target != IGNORE
    return torch.bincount(n * target[k] + pred[k], minlength=n ** 2).reshape(n, n)


model.eval()
with torch.no_grad():
    pred = model(images).argmax(dim=1)
    cm = confusion_matrix(pred, masks, N_CLASSES)
    iou = cm.diag() / (cm.sum(0) + cm.sum(1) - cm.diag())
    pixel_acc = cm.diag().sum().float() / cm.sum()
    eval_ce = F.cross_entropy(model(images), masks, ignore_index=IGNORE, reduction="none")
print("confusion\n", cm)
print("IoU", iou.round(decimals=3), "mIoU", f"{torch.nanmean(iou).item():.4f}",
      "pixel acc", f"{pixel_acc.item():.4f}")
print("ignored pixels have zero loss", bool((eval_ce[masks == IGNORE] == 0).all()),
      f"{eval_ce.sum().item():.3f}")
print("bn", model.inc[1].running_var[:3].round(decimals=4), model.inc[1].num_batches_tracked.item())
