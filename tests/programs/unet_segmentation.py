"""A small U-Net (after milesial/Pytorch-UNet): DoubleConv blocks with BatchNorm2d, MaxPool2d
down, ConvTranspose2d or bilinear Upsample up, F.pad to fix odd sizes, torch.cat skips; trained
with CrossEntropy + multiclass Dice (one_hot, permute) under RMSprop, ReduceLROnPlateau and
gradient clipping; a binary head with BCEWithLogits + Dice; masks resized with F.interpolate."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor, optim

rng = np.random.default_rng(0)
# the argmax Dice score flips on float32 rounding after a few RMSprop steps: train in float64
torch.set_default_dtype(torch.float64)


class DoubleConv(nn.Module):
    """(convolution => [BN] => ReLU) * 2"""

    def __init__(self, in_channels, out_channels, mid_channels=None):
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True)
        )

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    """Downscaling with maxpool then double conv"""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(
            nn.MaxPool2d(2),
            DoubleConv(in_channels, out_channels)
        )

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    """Upscaling then double conv"""

    def __init__(self, in_channels, out_channels, bilinear=True):
        super().__init__()

        # if bilinear, use the normal convolutions to reduce the number of channels
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        # input is CHW
        diffY = x2.size()[2] - x1.size()[2]
        diffX = x2.size()[3] - x1.size()[3]

        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2,
                        diffY // 2, diffY - diffY // 2])
        x = torch.cat([x2, x1], dim=1)
        return self.conv(x)


class OutConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(OutConv, self).__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, n_channels, n_classes, bilinear=False, base=8):
        super(UNet, self).__init__()
        self.n_channels = n_channels
        self.n_classes = n_classes
        self.bilinear = bilinear

        self.inc = (DoubleConv(n_channels, base))
        self.down1 = (Down(base, base * 2))
        self.down2 = (Down(base * 2, base * 4))
        factor = 2 if bilinear else 1
        self.down3 = (Down(base * 4, base * 8 // factor))
        self.up1 = (Up(base * 8, base * 4 // factor, bilinear))
        self.up2 = (Up(base * 4, base * 2 // factor, bilinear))
        self.up3 = (Up(base * 2, base, bilinear))
        self.outc = (OutConv(base, n_classes))

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x = self.up1(x4, x3)
        x = self.up2(x, x2)
        x = self.up3(x, x1)
        logits = self.outc(x)
        return logits


def dice_coeff(input: Tensor, target: Tensor, reduce_batch_first: bool = False,
               epsilon: float = 1e-6):
    # Average of Dice coefficient for all batches, or for a single mask
    assert input.size() == target.size()
    assert input.dim() == 3 or not reduce_batch_first

    sum_dim = (-1, -2) if input.dim() == 2 or not reduce_batch_first else (-1, -2, -3)

    inter = 2 * (input * target).sum(dim=sum_dim)
    sets_sum = input.sum(dim=sum_dim) + target.sum(dim=sum_dim)
    sets_sum = torch.where(sets_sum == 0, inter, sets_sum)

    dice = (inter + epsilon) / (sets_sum + epsilon)
    return dice.mean()


def multiclass_dice_coeff(input: Tensor, target: Tensor, reduce_batch_first: bool = False,
                          epsilon: float = 1e-6):
    # Average of Dice coefficient for all classes
    return dice_coeff(input.flatten(0, 1), target.flatten(0, 1), reduce_batch_first, epsilon)


def dice_loss(input: Tensor, target: Tensor, multiclass: bool = False):
    # Dice loss (objective to minimize) between 0 and 1
    fn = multiclass_dice_coeff if multiclass else dice_coeff
    return 1 - fn(input, target, reduce_batch_first=True)


def init_weights(model):
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            fan = m.weight[0].numel()
            w = rng.standard_normal(tuple(m.weight.shape)) * np.sqrt(2.0 / fan)
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(w))
                if m.bias is not None:
                    m.bias.fill_(0.01)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


# synthetic data: odd-sized 3-channel images, 3 classes (background, a disc, a bar)
def make_batch(n, h, w):
    yy, xx = np.mgrid[0:h, 0:w]
    images = rng.random((n, 3, h, w)) * 0.5
    masks = np.zeros((n, h, w), dtype=np.int64)
    for i in range(n):
        cy, cx, r = rng.integers(5, h - 5), rng.integers(5, w - 5), rng.integers(3, 5)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        masks[i][disc] = 1
        col = rng.integers(0, w - 3)
        masks[i][:, col:col + 2] = 2
        images[i, 0][disc] += 0.7
        images[i, 2][:, col:col + 2] += 0.6
    return torch.from_numpy(images), torch.from_numpy(masks)


images, true_masks = make_batch(4, 21, 22)
print(images.shape, images.dtype, true_masks.shape, true_masks.dtype,
      true_masks.flatten().bincount().tolist())

model = UNet(n_channels=3, n_classes=3, bilinear=False)
init_weights(model)
model = model.to(memory_format=torch.channels_last)
print(f"params {sum(p.numel() for p in model.parameters())}",
      sum(1 for m in model.modules() if isinstance(m, nn.BatchNorm2d)))

optimizer = optim.RMSprop(model.parameters(), lr=1e-3, weight_decay=1e-8, momentum=0.9,
                          foreach=True)
scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, 'max', patience=1)
grad_scaler = torch.amp.GradScaler("cuda", enabled=False)
criterion = nn.CrossEntropyLoss() if model.n_classes > 1 else nn.BCEWithLogitsLoss()

for epoch in range(1, 6):
    model.train()
    images = images.to(device="cpu", dtype=torch.float64, memory_format=torch.channels_last)
    true_masks = true_masks.to(device="cpu", dtype=torch.long)
    masks_pred = model(images)
    if model.n_classes == 1:
        loss = criterion(masks_pred.squeeze(1), true_masks.float())
        loss += dice_loss(F.sigmoid(masks_pred.squeeze(1)), true_masks.float(), multiclass=False)
    else:
        loss = criterion(masks_pred, true_masks)
        loss += dice_loss(
            F.softmax(masks_pred, dim=1).double(),
            F.one_hot(true_masks, model.n_classes).permute(0, 3, 1, 2).double(),
            multiclass=True
        )
    optimizer.zero_grad(set_to_none=True)
    grad_scaler.scale(loss).backward()
    grad_scaler.unscale_(optimizer)
    total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    grad_scaler.step(optimizer)
    grad_scaler.update()

    # evaluation: Dice of the one-hot argmax prediction, background excluded
    model.eval()
    with torch.no_grad():
        mask_pred = model(images)
        mask_true = F.one_hot(true_masks, model.n_classes).permute(0, 3, 1, 2).double()
        mask_pred = F.one_hot(mask_pred.argmax(dim=1), model.n_classes).permute(0, 3, 1, 2).double()
        dice_score = multiclass_dice_coeff(mask_pred[:, 1:], mask_true[:, 1:],
                                           reduce_batch_first=False)
    scheduler.step(dice_score)
    print(f"epoch {epoch} loss {loss.item():.4f} grad-norm {total_norm.item():.3f} "
          f"dice {dice_score.item():.4f} lr {optimizer.param_groups[0]['lr']:.0e}")

print(masks_pred.shape, masks_pred.dtype)
bn = model.inc.double_conv[1]
print(bn, bn.num_batches_tracked.item(), bn.running_mean[:3].round(decimals=3))

# bilinear variant (Upsample align_corners=True), binary head with BCEWithLogits + Dice
net = UNet(n_channels=3, n_classes=1, bilinear=True)
init_weights(net)
print(net.up1.up, type(net.up3.up).__name__)
binary = (true_masks == 1).double()
opt = optim.Adam(net.parameters(), lr=3e-3)
for step in range(3):
    logits = net(images.contiguous())
    loss = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0]))(logits.squeeze(1), binary)
    loss = loss + dice_loss(torch.sigmoid(logits.squeeze(1)), binary)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"binary step {step}: {loss.item():.4f}")
net.eval()
with torch.no_grad():
    prob = torch.sigmoid(net(images[:1]))
    pred = (prob > 0.5).long().squeeze()
print(pred.shape, pred.dtype, f"{prob.mean().item():.4f}")

# predict.py: resize the output back to the full image size before the argmax
with torch.no_grad():
    out = model(images[:2].contiguous())
    full = F.interpolate(out, (42, 44), mode='bilinear')
    full_ac = F.interpolate(out, size=(42, 44), mode='bilinear', align_corners=True)
    mask = full.argmax(dim=1)
print(full.shape, mask.shape, mask.dtype, [int(mask.eq(c).sum()) for c in range(3)])
print(f"{(full - full_ac).abs().max().item():.4f}")
# masks are resized with nearest (class indices must not be blended)
small = F.interpolate(true_masks[:, None].float(), scale_factor=0.5, mode='nearest').long()
exact = F.interpolate(true_masks[:, None].float(), size=(10, 11), mode='nearest-exact').long()
print(small.shape, small.view(-1).bincount().tolist(), exact.shape, exact.flatten().bincount())
up = nn.functional.interpolate(images[:1], scale_factor=(1.5, 2), mode='bicubic',
                               align_corners=False, recompute_scale_factor=True)
print(up.shape, f"{up.mean().item():.4f}")
