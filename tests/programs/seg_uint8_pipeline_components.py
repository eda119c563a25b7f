"""A segmentation data pipeline and post-processing in the manner of mmsegmentation /
torchvision reference scripts, on uint8 tensors end to end: images are resized with
``F.interpolate`` on uint8 (bilinear with and without ``antialias``, bicubic, and
``align_corners=True``) while label maps use ``mode="nearest"`` on uint8; random scale and
crop with a seeded ``torch.Generator``, padding with ``F.pad(value=255)`` for the ignore label,
``ToTensor``-style normalisation, photometric jitter done with integer ops (``clamp``,
``to(torch.uint8)``); after a tiny FCN is trained, connected components of the predicted mask
by iterated ``max_pool2d`` label propagation, relabelling with ``torch.unique(return_inverse)``,
per-component areas/means with ``bincount``/``scatter_reduce``/``index_add_``, and a
boundary map from ``F.conv2d`` with a Laplacian kernel."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(4)
IGNORE = 255
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def make_pair(h=20, w=24):
    yy, xx = np.mgrid[:h, :w]
    mask = np.zeros((h, w), np.uint8)
    for k in range(1, 3):
        cy, cx, r = rng.uniform(4, h - 4), rng.uniform(4, w - 4), rng.uniform(2.5, 5)
        mask[(yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2] = k
    base = np.array([[40, 60, 80], [200, 60, 40], [40, 180, 90]], np.float64)[mask]
    img = np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    return torch.from_numpy(img).permute(2, 0, 1).contiguous(), torch.from_numpy(mask)


img, mask = make_pair()
print("uint8 image", img.shape, img.dtype, img.float().mean().round(decimals=3).item(),
      torch.unique(mask).tolist())

# the resize zoo on uint8 (no float round trip)
x = img.unsqueeze(0)
for kw in [dict(size=(15, 18), mode="bilinear"),
           dict(size=(11, 13), mode="bilinear", antialias=True),
           dict(scale_factor=1.5, mode="bilinear", align_corners=True),
           dict(size=(26, 30), mode="bicubic"),
           dict(size=(9, 10), mode="bicubic", antialias=True)]:
    out = F.interpolate(x, **kw)
    print(kw["mode"], tuple(out.shape[-2:]), out.dtype, out.sum().item(), out[0, 0, 0, :5].tolist())
m_small = F.interpolate(mask[None, None], size=(10, 12), mode="nearest")[0, 0]
print("nearest mask", m_small.dtype, torch.bincount(m_small.flatten().long()).tolist())


def random_scale_crop(img, mask, gen, crop=16):
    s = 0.75 + 0.5 * torch.rand(1, generator=gen).item()
    h, w = img.shape[-2:]
    nh, nw = int(h * s + 0.5), int(w * s + 0.5)
    img = F.interpolate(img[None], size=(nh, nw), mode="bilinear", align_corners=False,
                        antialias=True)[0]
    mask = F.interpolate(mask[None, None], size=(nh, nw), mode="nearest")[0, 0]
    ph, pw = max(crop - nh, 0), max(crop - nw, 0)
    img = F.pad(img, (0, pw, 0, ph), value=0)
    mask = F.pad(mask, (0, pw, 0, ph), value=IGNORE)
    top = int(torch.randint(0, img.shape[-2] - crop + 1, (1,), generator=gen))
    left = int(torch.randint(0, img.shape[-1] - crop + 1, (1,), generator=gen))
    img, mask = img[:, top:top + crop, left:left + crop], mask[top:top + crop, left:left + crop]
    if torch.rand(1, generator=gen).item() < 0.5:
        img, mask = img.flip(-1), mask.flip(-1)
    shift = torch.randint(-20, 21, (3, 1, 1), generator=gen)
    img = (img.to(torch.int16) + shift).clamp(0, 255).to(torch.uint8)
    return img, mask


def to_input(img):
    return (img.float().div(255) - MEAN) / STD


gen = torch.Generator().manual_seed(7)
pairs = [make_pair() for _ in range(10)]
batch = [random_scale_crop(i, m, gen) for i, m in pairs]
xs = torch.stack([to_input(i) for i, _ in batch])
ys = torch.stack([m for _, m in batch]).long()
print("batch", xs.shape, xs.dtype, ys.dtype, (ys == IGNORE).sum().item(),
      xs.mean().round(decimals=4).item())

model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.Conv2d(8, 8, 3, padding=2, dilation=2), nn.ReLU(), nn.Conv2d(8, 3, 1))
model = model.double()
opt = torch.optim.Adam(model.parameters(), lr=0.03)
for step in range(15):
    loss = F.cross_entropy(model(xs.double()), ys, ignore_index=IGNORE)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 5 == 4:
        print(f"step {step} loss {loss.item():.4f}")

model.eval()
test_img, test_mask = make_pair(18, 22)
with torch.no_grad():
    pred = model(to_input(test_img)[None].double()).argmax(1)[0]
print("pixel acc", round((pred == test_mask.long()).double().mean().item(), 4))


def connected_components(fg, iters=40):
    """4-connected labels by propagating the max index through max_pool2d."""
    h, w = fg.shape
    labels = torch.arange(1, h * w + 1, dtype=torch.float64).view(1, 1, h, w) * fg
    cross = torch.tensor([[0., 1., 0.], [1., 1., 1.], [0., 1., 0.]], dtype=torch.float64)
    for _ in range(iters):
        pooled = F.max_pool2d(labels, 3, stride=1, padding=1)
        # restrict to the cross: max over the centre and its 4 neighbours
        shifted = torch.stack([labels, torch.roll(labels, 1, 2), torch.roll(labels, -1, 2),
                               torch.roll(labels, 1, 3), torch.roll(labels, -1, 3)])
        new = shifted.amax(0) * fg
        assert pooled.shape == new.shape and cross.sum() == 5
        if torch.equal(new, labels):
            break
        labels = new
    return labels[0, 0].long()


fg = (pred > 0).double()
fg[0, :] = 0
fg[-1, :] = 0
fg[:, 0] = 0
fg[:, -1] = 0
raw = connected_components(fg)
uniq, inverse = torch.unique(raw, return_inverse=True)
n_comp = len(uniq) - 1
areas = torch.bincount(inverse.flatten(), minlength=len(uniq))[1:]
flat_img = test_img.double().flatten(1)
sums = torch.zeros(3, len(uniq), dtype=torch.float64).index_add_(1, inverse.flatten(), flat_img)
means = sums[:, 1:] / areas.clamp(min=1)
maxes = torch.zeros(len(uniq), dtype=torch.float64).scatter_reduce(
    0, inverse.flatten(), flat_img[0], reduce="amax", include_self=False)
print("components", n_comp, "areas", sorted(areas.tolist()), "mean red",
      [round(v, 1) for v in means[0].tolist()], "max red", maxes[1:].tolist())
lap = torch.tensor([[[[0., 1., 0.], [1., -4., 1.], [0., 1., 0.]]]], dtype=torch.float64)
edges = F.conv2d(pred[None, None].double(), lap, padding=1).abs() > 0
print("boundary pixels", int(edges.sum()), edges.dtype, edges.shape)
