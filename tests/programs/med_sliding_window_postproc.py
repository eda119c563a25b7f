"""Sliding-window inference and post-processing for 3-D segmentation, as written in the
plain-PyTorch versions of MONAI's ``sliding_window_inference`` and nnU-Net's predictor: patch
starts from an overlap fraction, a Gaussian importance map built from ``torch.exp`` and
normalized like nnU-Net's (``clamp`` of zeros to the smallest non-zero value), patches cut with
``Tensor.unfold`` over three axes, logits accumulated into sliced views and
divided by the accumulated weights, test-time mirroring (``torch.flip`` over all axis subsets).
Post-processing keeps the largest connected component, found by label propagation with
``F.max_pool3d`` (``torch.unique(return_counts=True)``), extracts surfaces by erosion
(``-max_pool3d(-x)``), and measures the Hausdorff and 95th-percentile surface distance with
``torch.cdist`` and ``torch.quantile`` plus the average symmetric surface distance."""
import itertools
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)

# --- a volume with one large and one small blob, and a tiny network that "segments" it -------
D = H = W = 20
grid = torch.stack(torch.meshgrid(*[torch.arange(n, dtype=torch.float32) for n in (D, H, W)],
                                  indexing="ij"))
big = ((grid - torch.tensor([9.0, 10.0, 8.0]).view(3, 1, 1, 1)) ** 2).sum(0) < 5.5 ** 2
small = ((grid - torch.tensor([3.0, 16.0, 16.0]).view(3, 1, 1, 1)) ** 2).sum(0) < 1.6 ** 2
truth = big.long()
volume = (big | small).float() + 0.25 * torch.randn(D, H, W)
print("voxels big", int(big.sum()), "small", int(small.sum()))

net = nn.Sequential(
    nn.Conv3d(1, 6, 3, padding=1, padding_mode="replicate"),
    nn.GroupNorm(2, 6),
    nn.GELU(),
    nn.AvgPool3d(3, stride=1, padding=1, count_include_pad=False),
    nn.Conv3d(6, 2, 1),
)
# a quick fit so the network is a sensible segmenter
opt = torch.optim.Adam(net.parameters(), lr=0.05)
net.train()
for it in range(40):
    logits = net(volume[None, None])
    loss = F.cross_entropy(logits, (big | small).long()[None], weight=torch.tensor([1.0, 3.0]))
    opt.zero_grad()
    loss.backward()
    opt.step()
print("fit loss", round(loss.item(), 3))
net.eval()


def gaussian_importance(patch, sigma_scale=0.125):
    """nnU-Net's Gaussian weight map: peak at the patch center, no zeros."""
    axes = [torch.arange(p, dtype=torch.float32) - (p - 1) / 2 for p in patch]
    sig = [p * sigma_scale for p in patch]
    g = [torch.exp(-(a ** 2) / (2 * s ** 2)) for a, s in zip(axes, sig)]
    imp = g[0][:, None, None] * g[1][None, :, None] * g[2][None, None, :]
    imp = imp / imp.max() * 10
    imp[imp == 0] = imp[imp != 0].min()
    return imp


def window_starts(size, patch, overlap):
    """Patch start positions covering ``size`` with at least ``overlap`` overlap."""
    step = max(1, int(patch * (1 - overlap)))
    n = math.ceil((size - patch) / step) + 1
    actual = (size - patch) / max(n - 1, 1)
    return [int(round(actual * i)) for i in range(n)]


def predict(x):
    """Logits with test-time mirroring over every subset of the spatial axes."""
    out = net(x)
    mirrors = [m for k in (1, 2) for m in itertools.combinations((2, 3, 4), k)]
    for axes in mirrors:
        out = out + torch.flip(net(torch.flip(x, axes)), axes)
    return out / (1 + len(mirrors))


patch = (12, 12, 12)
importance = gaussian_importance(patch)
print(f"importance min {importance.min().item():.4e} max {importance.max().item():.4f}",
      "center", round(importance[6, 6, 6].item(), 3))
starts = [window_starts(n, p, 0.5) for n, p in zip((D, H, W), patch)]
print("starts", starts)

logits_sum = torch.zeros(2, D, H, W)
weight_sum = torch.zeros(D, H, W)
with torch.inference_mode():
    for z, y, x in itertools.product(*starts):
        crop = volume[z:z + 12, y:y + 12, x:x + 12][None, None]
        logits_sum[:, z:z + 12, y:y + 12, x:x + 12] += predict(crop)[0] * importance
        weight_sum[z:z + 12, y:y + 12, x:x + 12] += importance
    merged = logits_sum / weight_sum
print("inference mode tensor:", merged.is_inference(), "weights min", round(weight_sum.min().item(),
                                                                             3))

# the same patches, cut at once with Tensor.unfold on three axes (stride 4: a regular grid)
cubes = volume.unfold(0, 12, 4).unfold(1, 12, 4).unfold(2, 12, 4)
print("unfold grid", tuple(cubes.shape), "contiguous", cubes.is_contiguous())
flat = cubes.reshape(-1, 1, 12, 12, 12)
with torch.no_grad():
    patch_probs = net(flat).softmax(1)[:, 1]
print("patch mean fg prob", [round(v, 2) for v in patch_probs.mean(dim=(1, 2, 3))[:5].tolist()])

prob = merged.softmax(0)
seg = merged.argmax(0)
print("foreground voxels", int(seg.sum()), "max prob", round(prob[1].max().item(), 3))


def connected_components(mask, iters=40):
    """26-connected component labels by propagating the max voxel index through the mask."""
    n = mask.numel()
    labels = torch.arange(1, n + 1, dtype=torch.float32).view(mask.shape) * mask
    for _ in range(iters):
        grown = F.max_pool3d(labels[None, None], 3, stride=1, padding=1)[0, 0] * mask
        if torch.equal(grown, labels):
            break
        labels = grown
    return labels.long()


labels = connected_components(seg.float())
ids, counts = torch.unique(labels[labels > 0], return_counts=True)
order = counts.argsort(descending=True)
print("components", ids.numel(), "sizes", counts[order].tolist())
largest = labels == ids[order[0]]
print("largest kept", int(largest.sum()), "removed", int(seg.sum() - largest.sum()))


def surface(mask):
    """Boundary voxels: the mask minus its 6-neighbourhood erosion."""
    m = mask.float()[None, None]
    eroded = -F.max_pool3d(-F.pad(m, (1, 1, 1, 1, 1, 1), value=0.0), 3, stride=1)
    return (m - eroded)[0, 0].bool()


spacing = torch.tensor([1.5, 0.8, 0.8])  # anisotropic voxel spacing in mm
pred_pts = surface(largest).nonzero().float() * spacing
true_pts = surface(truth.bool()).nonzero().float() * spacing
dist = torch.cdist(pred_pts, true_pts)
d_pt = dist.min(dim=1).values
d_tp = dist.min(dim=0).values
hd = torch.maximum(d_pt.max(), d_tp.max())
hd95 = torch.quantile(torch.cat([d_pt, d_tp]), 0.95)
assd = torch.cat([d_pt, d_tp]).mean()
print("surface points", pred_pts.shape[0], true_pts.shape[0])
print(f"HD {hd.item():.3f} HD95 {hd95.item():.3f} ASSD {assd.item():.3f}")
inter = (largest & truth.bool()).sum()
print("dice", round((2 * inter / (largest.sum() + truth.sum())).item(), 4))
# volume per connected component in millilitres
print("volume ml", round(largest.sum().item() * spacing.prod().item() / 1000, 4))
