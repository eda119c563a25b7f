"""Patch-based 3-D U-Net segmentation, written as the plain-PyTorch "3D U-Net" repositories
(wolny/pytorch-3dunet, the Medical Segmentation Decathlon baselines) write it: a synthetic
volume cut into overlapping training patches with ``Tensor.unfold`` over three axes, a
foreground-oversampling patch sampler (``torch.nonzero`` + ``torch.multinomial``), an encoder of
``Conv3d`` + ``GroupNorm`` + ``ELU`` blocks with ``MaxPool3d``, a decoder with
``ConvTranspose3d(output_size=...)`` and ``torch.cat`` skip connections (``F.pad`` when the
sizes disagree), a ``Dropout3d`` bottleneck, the soft Dice + weighted cross-entropy loss on 5-D
tensors (``F.one_hot(...).permute``, ``ignore_index``), Adam + ``OneCycleLR`` with
``clip_grad_norm_``, and whole-volume inference stitched from non-overlapping patches
(``view`` / ``permute`` back to a volume), per-class Dice and the volume's class counts."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
NUM_CLASSES = 3
IGNORE = 255

# --- one synthetic volume: two ellipsoids (classes 1, 2) in noise, an unlabeled border slab ---
D, H, W = 16, 20, 20
z, y, x = torch.meshgrid(torch.arange(D), torch.arange(H), torch.arange(W), indexing="ij")
label = torch.zeros(D, H, W, dtype=torch.long)
label[((z - 6.0) / 4) ** 2 + ((y - 7.0) / 5) ** 2 + ((x - 8.0) / 4) ** 2 < 1] = 1
label[((z - 10.0) / 3) ** 2 + ((y - 13.0) / 3) ** 2 + ((x - 12.0) / 4) ** 2 < 1] = 2
image = label.float() * 0.8 + 0.35 * torch.randn(D, H, W)
image = (image - image.mean()) / image.std()
train_label = label.clone()
train_label[:, :, -2:] = IGNORE  # annotators skipped the last two slices
print("voxels per class", torch.bincount(label.flatten()).tolist(),
      "ignored", int((train_label == IGNORE).sum()))

# --- overlapping patches with unfold over the three spatial axes ---
P, S = 8, 4
img_patches = image.unfold(0, P, S).unfold(1, P, S).unfold(2, P, S)
lab_patches = train_label.unfold(0, P, S).unfold(1, P, S).unfold(2, P, S)
grid_shape = img_patches.shape[:3]
print("patch grid", tuple(grid_shape), "patch", tuple(img_patches.shape[3:]),
      "contiguous", img_patches.is_contiguous(), "stride", img_patches.stride())
img_patches = img_patches.reshape(-1, 1, P, P, P)
lab_patches = lab_patches.reshape(-1, P, P, P)
fg_fraction = ((lab_patches == 1) | (lab_patches == 2)).flatten(1).float().mean(1)
print("patches", len(img_patches), "with foreground", int((fg_fraction > 0).sum()),
      "max fg", round(fg_fraction.max().item(), 4))

# foreground oversampling: half the batch from patches that hold foreground
fg_idx = torch.nonzero(fg_fraction > 0.05).squeeze(1)
weights = torch.ones(len(img_patches))
weights[fg_idx] = 3.0


def sample_batch(n, gen):
    idx = torch.multinomial(weights, n, replacement=True, generator=gen)
    vox, lab = img_patches[idx], lab_patches[idx]
    flip = torch.rand(n, generator=gen) < 0.5
    vox = torch.where(flip.view(-1, 1, 1, 1, 1), vox.flip(-1), vox)
    lab = torch.where(flip.view(-1, 1, 1, 1), lab.flip(-1), lab)
    return vox, lab


def block(cin, cout):
    return nn.Sequential(
        nn.Conv3d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(2, cout),
        nn.ELU(inplace=True),
        nn.Conv3d(cout, cout, 3, padding=1, bias=False), nn.GroupNorm(2, cout),
        nn.ELU(inplace=True))


class UNet3D(nn.Module):
    def __init__(self, cin=1, classes=NUM_CLASSES, f=4):
        super().__init__()
        self.enc1, self.enc2 = block(cin, f), block(f, 2 * f)
        self.pool = nn.MaxPool3d(2, ceil_mode=True)
        self.bottleneck = nn.Sequential(block(2 * f, 4 * f), nn.Dropout3d(0.1))
        self.up2 = nn.ConvTranspose3d(4 * f, 2 * f, 3, stride=2, padding=1)
        self.dec2 = block(4 * f, 2 * f)
        self.up1 = nn.ConvTranspose3d(2 * f, f, 2, stride=2)
        self.dec1 = block(2 * f, f)
        self.out = nn.Conv3d(f, classes, 1)

    @staticmethod
    def merge(up, skip):
        diff = [s - u for s, u in zip(skip.shape[2:], up.shape[2:])]
        if any(diff):  # odd sizes: pad or crop (negative pad) the upsampled map, last axis first
            up = F.pad(up, [diff[2] // 2, diff[2] - diff[2] // 2, diff[1] // 2,
                            diff[1] - diff[1] // 2, diff[0] // 2, diff[0] - diff[0] // 2])
        return torch.cat([skip, up], dim=1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottleneck(self.pool(e2))
        d2 = self.dec2(self.merge(self.up2(b, output_size=e2.shape[2:]), e2))
        d1 = self.dec1(self.merge(self.up1(d2), e1))
        return self.out(d1)


def dice_ce_loss(logits, target, class_weights, eps=1e-5):
    """Soft Dice over the foreground classes plus weighted cross-entropy; voxels labeled IGNORE
    count in neither."""
    valid = (target != IGNORE)
    ce = F.cross_entropy(logits, target, weight=class_weights, ignore_index=IGNORE)
    probs = logits.softmax(dim=1) * valid.unsqueeze(1)
    onehot = F.one_hot(target.masked_fill(~valid, 0), NUM_CLASSES).permute(0, 4, 1, 2, 3)
    onehot = onehot.float() * valid.unsqueeze(1)
    dims = (0, 2, 3, 4)
    inter = (probs * onehot).sum(dims)
    denom = probs.sum(dims) + onehot.sum(dims)
    dice = (2 * inter + eps) / (denom + eps)
    return ce + (1 - dice[1:]).mean(), dice.detach()


model = UNet3D()
print("parameters", sum(p.numel() for p in model.parameters() if p.requires_grad))
with torch.no_grad():
    odd = model(torch.zeros(1, 1, 9, 10, 11))
print("odd-size input ->", tuple(odd.shape))

counts = torch.bincount(label.flatten(), minlength=NUM_CLASSES).float()
class_weights = (counts.sum() / counts).sqrt()
class_weights /= class_weights.sum()
print("class weights", class_weights.round(decimals=4))

steps = 9
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.99))
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=steps,
                                                pct_start=0.25)
gen = torch.Generator().manual_seed(5)
for step in range(steps):
    model.train()
    vox, lab = sample_batch(3, gen)
    logits = model(vox)
    loss, dice = dice_ce_loss(logits, lab, class_weights)
    optimizer.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=2.0)
    optimizer.step()
    scheduler.step()
    if step % 3 == 2:
        print(f"step {step + 1:2d} loss {loss.item():.4f} dice {dice[1].item():.3f} "
              f"{dice[2].item():.3f} grad-norm {norm.item():.3f} "
              f"lr {scheduler.get_last_lr()[0]:.5f}")

# --- whole-volume inference: non-overlapping 8^3 tiles, stitched back with view/permute ---
model.eval()
tiles = image.unfold(0, P, P).unfold(1, 10, 10).unfold(2, 10, 10)
nz, ny, nx = tiles.shape[:3]
with torch.inference_mode():
    tile_logits = model(tiles.reshape(-1, 1, P, 10, 10))
print("tiles", tuple(tiles.shape[:3]), "logits", tuple(tile_logits.shape),
      "inference tensor", tile_logits.is_inference())
volume_logits = (tile_logits.view(nz, ny, nx, NUM_CLASSES, P, 10, 10)
                 .permute(3, 0, 4, 1, 5, 2, 6).reshape(NUM_CLASSES, D, H, W))
pred = volume_logits.argmax(0)
print("predicted counts", torch.bincount(pred.flatten(), minlength=NUM_CLASSES).tolist())
for c in range(1, NUM_CLASSES):
    p, t = pred == c, label == c
    inter = (p & t).sum().item()
    dice = 2 * inter / max(p.sum().item() + t.sum().item(), 1)
    print(f"class {c} dice {dice:.3f} volume {p.sum().item()}")
print(volume_logits[:, 6, 7, 6:10].softmax(0).round(decimals=3))

# --- what goes wrong with 5-D losses ---
for what, fn in [("float target", lambda: F.cross_entropy(logits, lab.float())),
                 ("target shape", lambda: F.cross_entropy(logits, lab[:, :4])),
                 ("cat sizes", lambda: torch.cat([torch.zeros(1, 2, 4, 4, 4),
                                                  torch.zeros(1, 2, 4, 4, 5)], 1)),
                 ("output_size", lambda: model.up1(torch.zeros(1, 8, 2, 2, 2),
                                                   output_size=(7, 4, 4)))]:
    try:
        fn()
        print(what, "ok")
    except (RuntimeError, ValueError) as e:
        print(what, "->", type(e).__name__, str(e).splitlines()[0])
