"""Image inpainting with partial convolutions (Liu et al. 2018) and their loss zoo.

Follows NVIDIA's ``partialconv`` layer and the popular PyTorch reimplementations: each
``PartialConv2d`` convolves only valid pixels, re-normalizes by the fraction of valid inputs
under the window (computed with a fixed all-ones kernel under ``torch.no_grad()``), and emits
an updated mask; a small U-Net downsamples with them and upsamples image and mask with nearest
interpolation and skip concatenations. The loss combines valid/hole L1, a perceptual loss on
frozen VGG-like features collected with forward hooks, a Gram-matrix style loss
(``torch.bmm``) and total variation on the hole boundary (dilated mask via ``max_pool2d``).
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(1)


class PartialConv2d(nn.Conv2d):
    def __init__(self, *args, multi_channel=False, return_mask=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.multi_channel = multi_channel
        self.return_mask = return_mask
        in_c = self.in_channels if multi_channel else 1
        out_c = self.out_channels if multi_channel else 1
        self.register_buffer("weight_maskUpdater",
                             torch.ones(out_c, in_c, *self.kernel_size), persistent=False)
        self.slide_winsize = in_c * self.kernel_size[0] * self.kernel_size[1]

    def forward(self, input, mask_in):
        with torch.no_grad():
            update_mask = F.conv2d(mask_in, self.weight_maskUpdater, bias=None,
                                   stride=self.stride, padding=self.padding,
                                   dilation=self.dilation, groups=1)
            mask_ratio = self.slide_winsize / (update_mask + 1e-8)
            update_mask = torch.clamp(update_mask, 0, 1)
            mask_ratio = torch.mul(mask_ratio, update_mask)
        raw_out = super().forward(torch.mul(input, mask_in))
        if self.bias is not None:
            bias_view = self.bias.view(1, self.out_channels, 1, 1)
            output = torch.mul(raw_out - bias_view, mask_ratio) + bias_view
            output = torch.mul(output, update_mask)
        else:
            output = torch.mul(raw_out, mask_ratio)
        return (output, update_mask) if self.return_mask else output


class PConvBNActiv(nn.Module):
    def __init__(self, in_ch, out_ch, k, stride=1, bn=True, activ="relu"):
        super().__init__()
        self.conv = PartialConv2d(in_ch, out_ch, k, stride, (k - 1) // 2, multi_channel=True,
                                  bias=not bn)
        self.bn = nn.BatchNorm2d(out_ch) if bn else nn.Identity()
        self.activ = {"relu": nn.ReLU(), "leaky": nn.LeakyReLU(0.2), None: nn.Identity()}[activ]

    def forward(self, x, m):
        x, m = self.conv(x, m)
        return self.activ(self.bn(x)), m


class PConvUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = PConvBNActiv(3, 8, 5, 2, bn=False)
        self.enc2 = PConvBNActiv(8, 16, 3, 2)
        self.enc3 = PConvBNActiv(16, 16, 3, 2)
        self.dec3 = PConvBNActiv(16 + 16, 16, 3, activ="leaky")
        self.dec2 = PConvBNActiv(16 + 8, 8, 3, activ="leaky")
        self.dec1 = PConvBNActiv(8 + 3, 3, 3, bn=False, activ=None)

    def forward(self, img, mask):
        feats, masks = [img], [mask]
        h, m = img, mask
        for enc in (self.enc1, self.enc2, self.enc3):
            h, m = enc(h, m)
            feats.append(h)
            masks.append(m)
        for dec, skip, skip_m in zip((self.dec3, self.dec2, self.dec1), feats[-2::-1],
                                     masks[-2::-1]):
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            m = F.interpolate(m, scale_factor=2, mode="nearest")
            h, m = dec(torch.cat([h, skip], dim=1), torch.cat([m, skip_m], dim=1))
        return h, m


class FeatureExtractor(nn.Module):
    """A frozen VGG-like stack; pool1..pool3 outputs are collected by forward hooks."""

    def __init__(self):
        super().__init__()
        layers = []
        c = 3
        for out in (8, 12, 16):
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c = out
        self.net = nn.Sequential(*layers)
        self.requires_grad_(False)
        self.outputs = []
        for idx in (2, 5, 8):
            self.net[idx].register_forward_hook(lambda mod, inp, out: self.outputs.append(out))

    def forward(self, x):
        self.outputs = []
        self.net(x)
        return self.outputs


def gram_matrix(feat):
    b, ch, h, w = feat.size()
    feat = feat.view(b, ch, h * w)
    return torch.bmm(feat, feat.transpose(1, 2)) / (ch * h * w)


def total_variation_loss(image, mask):
    dilated = F.max_pool2d(1 - mask, 3, stride=1, padding=1)
    dh = torch.abs(image[:, :, :, :-1] - image[:, :, :, 1:]) * dilated[:, :, :, :-1]
    dv = torch.abs(image[:, :, :-1, :] - image[:, :, 1:, :]) * dilated[:, :, :-1, :]
    return dh.mean() + dv.mean()


class InpaintingLoss(nn.Module):
    def __init__(self, extractor):
        super().__init__()
        self.l1 = nn.L1Loss()
        self.extractor = extractor

    def forward(self, inp, mask, output, gt):
        comp = mask * inp + (1 - mask) * output
        losses = {"hole": self.l1((1 - mask) * output, (1 - mask) * gt),
                  "valid": self.l1(mask * output, mask * gt)}
        f_out, f_comp, f_gt = (self.extractor(t) for t in (output, comp, gt))
        losses["prc"] = sum(self.l1(a, g) + self.l1(c, g)
                            for a, c, g in zip(f_out, f_comp, f_gt))
        losses["style"] = sum(self.l1(gram_matrix(a), gram_matrix(g))
                              + self.l1(gram_matrix(c), gram_matrix(g))
                              for a, c, g in zip(f_out, f_comp, f_gt))
        losses["tv"] = total_variation_loss(comp, mask)
        return losses


LAMBDA = {"valid": 1.0, "hole": 6.0, "tv": 0.1, "prc": 0.05, "style": 120.0}

# smooth synthetic "images" and free-form-ish masks: rectangles plus a random walk stroke
B, S = 4, 32
yy, xx = np.mgrid[0:S, 0:S] / S
imgs = np.stack([np.stack([np.sin(2 * np.pi * (f * xx + p)), np.cos(2 * np.pi * f * yy),
                           xx * yy]) for f, p in rng.uniform(0.5, 2.0, (B, 2))])
gt = torch.tensor(imgs, dtype=torch.float32)
masks = torch.ones(B, 3, S, S)
for b in range(B):
    y0, x0 = rng.integers(4, 20, 2)
    masks[b, :, y0:y0 + 8, x0:x0 + 10] = 0
    pos = rng.integers(2, S - 2, 2)
    for step in rng.integers(-2, 3, (10, 2)):
        pos = np.clip(pos + step, 1, S - 2)
        masks[b, :, pos[0] - 1:pos[0] + 2, pos[1] - 1:pos[1] + 2] = 0
print("hole fraction per image:", (1 - masks[:, 0]).mean(dim=(1, 2)).round(decimals=4))

# the mask update closes holes layer by layer
layer = PartialConv2d(3, 4, 3, padding=1, multi_channel=True)
m = masks[:1]
for i in range(4):
    _, m = layer(gt[:1], m)
    m = m[:, :3]
    print(f"after {i + 1} pconv layers: remaining hole pixels {int((m[0, 0] == 0).sum())}")

model = PConvUNet()
criterion = InpaintingLoss(FeatureExtractor())
optimizer = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=2e-3)
n_params = sum(p.numel() for p in model.parameters())
print(f"PConvUNet parameters: {n_params}, frozen extractor parameters: "
      f"{sum(p.numel() for p in criterion.extractor.parameters() if not p.requires_grad)}")

inp = gt * masks
for it in range(6):
    model.train()
    output, out_mask = model(inp, masks)
    losses = criterion(inp, masks, output, gt)
    loss = sum(LAMBDA[k] * v for k, v in losses.items())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    parts = " ".join(f"{k}={v.item():.4f}" for k, v in sorted(losses.items()))
    print(f"iter {it} total={loss.item():.3f} {parts}")  # 4th digit: float-order noise

# freeze BN in the encoder for fine-tuning, as the paper does
for name, module in model.named_modules():
    if isinstance(module, nn.BatchNorm2d) and name.startswith("enc"):
        module.eval()
        module.weight.requires_grad_(False)
        module.bias.requires_grad_(False)
trainable = [n for n, p in model.named_parameters() if p.requires_grad]
print("trainable after freezing encoder BN:", len(trainable), trainable[:3])

model.eval()
with torch.no_grad():
    output, out_mask = model(inp, masks)
    comp = masks * inp + (1 - masks) * output
    psnr = 10 * torch.log10(1.0 / F.mse_loss(comp, gt, reduction="none").mean(dim=(1, 2, 3)))
print("output mask all valid:", bool(out_mask.eq(1).all()))
print("PSNR per image:", [f"{v:.2f}" for v in psnr.tolist()])
print(comp[0, 0, 10:13, 10:14])
