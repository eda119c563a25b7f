"""Free-form inpainting in the DeepFill v2 style: gated convolutions, contextual attention and
an SN-PatchGAN with the hinge loss.

Follows the PyTorch ports of DeepFill (v1's contextual attention, v2's gated convolution):
a gated conv splits its output with ``torch.chunk`` into features and a sigmoid gate; the
coarse network uses dilated gated convs; contextual attention extracts 3x3 background
patches with ``F.unfold``, uses them as convolution kernels (one ``F.conv2d`` per image after
``torch.split``), masks out hole patches, applies a scaled softmax over patches and pastes the
patches back with ``F.conv_transpose2d``; the discriminator is spectrally normalised
(``nn.utils.spectral_norm`` and ``nn.utils.parametrizations.spectral_norm``) and trained with
the hinge loss. Free-form masks are brush strokes drawn with NumPy.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrizations

torch.manual_seed(7)
rng = np.random.default_rng(7)


class GatedConv2d(nn.Module):
    def __init__(self, cin, cout, k, stride=1, dilation=1, activation=nn.ELU()):
        super().__init__()
        pad = dilation * (k - 1) // 2
        self.conv = nn.Conv2d(cin, 2 * cout, k, stride, pad, dilation=dilation)
        self.activation = activation

    def forward(self, x):
        feat, gate = torch.chunk(self.conv(x), 2, dim=1)
        if self.activation is not None:
            feat = self.activation(feat)
        return feat * torch.sigmoid(gate)


def contextual_attention(f, b, mask, ksize=3, rate=1, softmax_scale=10.0, fuse=False):
    """Attend from foreground ``f`` to background patches of ``b``; ``mask`` is 1 in holes."""
    bs, c, h, w = f.shape
    raw_w = F.unfold(b, ksize, padding=ksize // 2)                         # (B, C*k*k, L)
    raw_w = raw_w.view(bs, c, ksize, ksize, -1).permute(0, 4, 1, 2, 3)   # (B, L, C, k, k)
    m = F.unfold(mask, ksize, padding=ksize // 2).view(mask.size(0), 1, ksize, ksize, -1)
    valid = (m.mean(dim=(1, 2, 3)) == 0.0).float()[:, :, None, None]     # background patches
    valid = valid.expand(bs, -1, -1, -1)
    outputs, attentions = [], []
    for xi, wi, valid_i in zip(torch.split(f, 1, dim=0), torch.split(raw_w, 1, dim=0),
                               valid.unbind(0)):
        wi = wi[0]
        wi_normed = wi / torch.clamp_min(torch.sqrt((wi ** 2).sum(dim=(1, 2, 3), keepdim=True)),
                                         1e-4)
        yi = F.conv2d(xi, wi_normed, padding=ksize // 2)                 # (1, L, H, W)
        if fuse:
            yi = F.avg_pool2d(yi, 3, stride=1, padding=1, count_include_pad=False)
        yi = yi * valid_i
        yi = F.softmax(yi * softmax_scale, dim=1)
        yi = yi * valid_i
        attentions.append(yi.argmax(dim=1))
        out = F.conv_transpose2d(yi, wi, padding=ksize // 2) / (ksize * ksize)
        outputs.append(out)
    return torch.cat(outputs, dim=0), torch.cat(attentions, dim=0)


class Generator(nn.Module):
    def __init__(self, cnum=8):
        super().__init__()
        self.coarse = nn.Sequential(
            GatedConv2d(5, cnum, 5), GatedConv2d(cnum, 2 * cnum, 3, 2),
            GatedConv2d(2 * cnum, 2 * cnum, 3, dilation=2),
            GatedConv2d(2 * cnum, 2 * cnum, 3, dilation=4),
            nn.Upsample(scale_factor=2, mode="nearest"),
            GatedConv2d(2 * cnum, cnum, 3), GatedConv2d(cnum, 3, 3, activation=None))
        self.refine_enc = nn.Sequential(GatedConv2d(5, cnum, 3), GatedConv2d(cnum, 2 * cnum, 3, 2))
        self.refine_dec = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            GatedConv2d(4 * cnum, cnum, 3), GatedConv2d(cnum, 3, 3, activation=None))

    def forward(self, x, mask):
        ones = torch.ones_like(mask)
        coarse = torch.tanh(self.coarse(torch.cat([x, ones, mask], 1)))
        x2 = coarse * mask + x * (1 - mask)
        feat = self.refine_enc(torch.cat([x2, ones, mask], 1))
        mask_small = F.interpolate(mask, scale_factor=0.5, mode="nearest")
        attended, attn = contextual_attention(feat, feat, mask_small, fuse=True)
        fine = torch.tanh(self.refine_dec(torch.cat([feat, attended], 1)))
        return coarse, fine, attn


class SNPatchGAN(nn.Module):
    def __init__(self, cnum=8):
        super().__init__()
        self.layers = nn.Sequential(
            nn.utils.spectral_norm(nn.Conv2d(4, cnum, 5, 2, 2)), nn.LeakyReLU(0.2),
            parametrizations.spectral_norm(nn.Conv2d(cnum, 2 * cnum, 5, 2, 2)),
            nn.LeakyReLU(0.2),
            parametrizations.spectral_norm(nn.Conv2d(2 * cnum, 2 * cnum, 5, 2, 2)))

    def forward(self, x, mask):
        return self.layers(torch.cat([x, mask], 1)).flatten(1)


def brush_stroke_mask(size, rng, max_vertex=6, max_width=5):
    mask = np.zeros((size, size), np.float32)
    for _ in range(rng.integers(1, 3)):
        y, x = rng.integers(0, size, 2)
        for _ in range(rng.integers(2, max_vertex)):
            angle = rng.uniform(0, 2 * math.pi)
            length = rng.integers(4, size // 2)
            width = rng.integers(2, max_width)
            ny = int(np.clip(y + length * math.sin(angle), 0, size - 1))
            nx = int(np.clip(x + length * math.cos(angle), 0, size - 1))
            for t in np.linspace(0, 1, 12):
                cy, cx = int(y + t * (ny - y)), int(x + t * (nx - x))
                mask[max(cy - width // 2, 0):cy + width // 2 + 1,
                     max(cx - width // 2, 0):cx + width // 2 + 1] = 1.0
            y, x = ny, nx
    return mask


S, B = 16, 3
masks = torch.from_numpy(np.stack([brush_stroke_mask(S, rng) for _ in range(B)]))[:, None]
yy, xx = np.mgrid[0:S, 0:S] / S
imgs = np.stack([np.stack([np.sin(2 * np.pi * (a * xx + b * yy)) for a, b in
                           rng.uniform(0.5, 2, (3, 2))]) for _ in range(B)])
gt = torch.tensor(imgs, dtype=torch.float32)
print("mask coverage:", [f"{v:.3f}" for v in masks.mean(dim=(1, 2, 3)).tolist()])

# contextual attention copies a background patch into an identical hole
probe = torch.arange(2 * 6 * 6, dtype=torch.float32).view(1, 2, 6, 6).sin()
hole = torch.zeros(1, 1, 6, 6)
hole[..., 2:4, 2:4] = 1
_, att = contextual_attention(probe, probe, hole, softmax_scale=50.0)
print("attention argmax (patch index per pixel):")
print(att[0])

G, D = Generator(), SNPatchGAN()
opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=4e-3, betas=(0.5, 0.999))
sched = torch.optim.lr_scheduler.MultiStepLR(opt_g, milestones=[3], gamma=0.5)
sn_names = sorted(n for n, _ in D.named_parameters())
print("discriminator parameters:", sn_names)
print("buffers:", sorted(n for n, _ in D.named_buffers()))

for step in range(5):
    x_in = gt * (1 - masks)
    coarse, fine, _ = G(x_in, masks)
    complete = fine * masks + x_in
    # discriminator: hinge loss on real vs completed images
    d_real = D(gt, masks)
    d_fake = D(complete.detach(), masks)
    loss_d = F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    # generator: hinge adversarial + L1 on both stages
    loss_adv = -D(complete, masks).mean()
    loss_l1 = F.l1_loss(coarse, gt) + F.l1_loss(fine, gt)
    loss_g = loss_l1 + 0.1 * loss_adv
    opt_g.zero_grad()
    loss_g.backward()
    torch.nn.utils.clip_grad_value_(G.parameters(), clip_value=0.5)
    opt_g.step()
    sched.step()
    print(f"step {step} d={loss_d.item():.4f} adv={loss_adv.item():.4f} "
          f"l1={loss_l1.item():.4f} lr_g={sched.get_last_lr()[0]:.5f}")

with torch.no_grad():
    w_orig = D.layers[0].weight_orig
    sigma = torch.linalg.matrix_norm(w_orig.flatten(1), ord=2)
    w_sn = D.layers[2].weight
    print(f"layer0 sigma(W_orig)={sigma.item():.3f} "
          f"layer2 sigma(W_sn)={torch.linalg.svdvals(w_sn.flatten(1))[0].item():.3f}")
G.eval()
with torch.no_grad():
    _, fine, attn = G(gt * (1 - masks), masks)
    err = ((fine - gt).abs() * masks).sum() / masks.sum()
print(f"hole L1 after training: {err.item():.4f}", "attention map", tuple(attn.shape))
try:
    F.unfold(torch.zeros(1, 3, 2, 2), 3)
except Exception as e:
    print(type(e).__name__ + ":", str(e).splitlines()[0])
