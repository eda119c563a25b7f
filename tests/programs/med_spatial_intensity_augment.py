"""3-D data augmentation for medical volumes done on tensors, as in the GPU augmentation
pipelines of plain-PyTorch segmentation repositories (batchgenerators / MONAI ``Rand*d``
transforms re-written with ``torch.nn.functional``): a random rotation, scaling and translation
composed as 4x4 matrices (``torch.linalg.inv``, ``torch.det``), applied with 5-D
``F.affine_grid`` + ``F.grid_sample`` (trilinear for the image, nearest for the label, the
``zeros``/``border``/``reflection`` padding modes), elastic deformation from a random
displacement field smoothed by a depthwise Gaussian ``F.conv3d`` (``groups=3``), random
``torch.rot90`` and flips, resampling to a target spacing with trilinear and ``nearest-exact``
``F.interpolate`` (a uint8 label map too), and intensity work: percentile clipping with
``torch.quantile`` / ``torch.nanquantile`` on a volume with NaNs, z-score normalization inside a
foreground mask, gamma, ``torch.histc`` and ``torch.bucketize``. Random numbers come from a
``torch.Generator``."""
import math

import torch
import torch.nn.functional as F

torch.manual_seed(0)
gen = torch.Generator().manual_seed(1234)

D, H, W = 10, 14, 12
zz, yy, xx = torch.meshgrid(torch.linspace(-1, 1, D), torch.linspace(-1, 1, H),
                            torch.linspace(-1, 1, W), indexing="ij")
label = ((zz / 0.7) ** 2 + (yy / 0.5) ** 2 + (xx / 0.6) ** 2 < 1).long()
label[(zz.abs() < 0.3) & (yy.abs() < 0.2) & (xx.abs() < 0.25)] = 2
image = 100.0 + 40.0 * label.float() + 15.0 * torch.randn(D, H, W, generator=gen)
image[0, :2, :3] = float("nan")  # missing voxels, as after a bad resample
print("image", tuple(image.shape), "nan voxels", int(torch.isnan(image).sum()),
      "labels", torch.bincount(label.flatten(), minlength=3).tolist())

# --- intensity: percentile clipping ignoring NaNs, then z-score in the foreground ------------
lo, hi = torch.nanquantile(image.flatten(), torch.tensor([0.005, 0.995]))
print("nanquantile 0.5/99.5", round(lo.item(), 2), round(hi.item(), 2))
q_methods = {m: round(torch.nanquantile(image, 0.9, interpolation=m).item(), 3)
             for m in ("linear", "lower", "higher", "midpoint", "nearest")}
print("p90 by method", q_methods)
clean = torch.nan_to_num(image, nan=lo.item())
clipped = clean.clamp(lo, hi)
fg = label > 0
mean, std = clipped[fg].mean(), clipped[fg].std()
normed = (clipped - mean) / std.clamp_min(1e-8)
print("fg mean ~0:", abs(normed[fg].mean().item()) < 1e-5, "std", round(normed[fg].std().item(), 4),
      "median", round(normed.median().item(), 4))
per_slice = torch.quantile(clipped.flatten(1), torch.tensor([0.25, 0.75]), dim=1, keepdim=True)
print("per-slice iqr shape", tuple(per_slice.shape), "first",
      [round(v, 2) for v in (per_slice[1] - per_slice[0])[:3, 0].tolist()])
hist = torch.histc(normed, bins=8, min=-3, max=3)
print("histc", hist.long().tolist())
edges = torch.linspace(-2, 2, 5)
print("bucketize counts", torch.bincount(torch.bucketize(normed.flatten(), edges),
                                         minlength=6).tolist())
gamma = 0.7 + 0.6 * torch.rand(1, generator=gen).item()
mn, mx = normed.min(), normed.max()
gamma_img = ((normed - mn) / (mx - mn)).pow(gamma) * (mx - mn) + mn
print("gamma", round(gamma, 4), "mean change", round((gamma_img - normed).mean().item(), 4))


# --- spatial: random affine as a 4x4 matrix --------------------------------------------------
def rotation(axis, angle):
    c, s = math.cos(angle), math.sin(angle)
    i, j = [k for k in range(3) if k != axis]
    r = torch.eye(4)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


angles = (torch.rand(3, generator=gen) - 0.5) * (math.pi / 6)
scale = 1 + (torch.rand(3, generator=gen) - 0.5) * 0.3
shift = (torch.rand(3, generator=gen) - 0.5) * 0.2
S = torch.diag(torch.cat([scale, torch.ones(1)]))
T = torch.eye(4)
T[:3, 3] = shift
R = rotation(0, angles[0].item()) @ rotation(1, angles[1].item()) @ rotation(2, angles[2].item())
A = T @ R @ S
print("det", round(torch.det(A).item(), 4), "scale prod", round(scale.prod().item(), 4))
theta = torch.linalg.inv(A)[:3].unsqueeze(0)  # grid_sample pulls: output -> input mapping
img5 = normed[None, None]
lab5 = label[None, None].float()
grid = F.affine_grid(theta, img5.shape, align_corners=False)
print("grid", tuple(grid.shape), "corner", [round(v, 4) for v in grid[0, 0, 0, 0].tolist()])
for pad in ("zeros", "border", "reflection"):
    warped = F.grid_sample(img5, grid, mode="bilinear", padding_mode=pad, align_corners=False)
    print(f"warp {pad:10s} mean {warped.mean().item():.4f} std {warped.std().item():.4f}")
warped_lab = F.grid_sample(lab5, grid, mode="nearest", padding_mode="zeros", align_corners=False)
print("warped label counts", torch.bincount(warped_lab.long().flatten(), minlength=3).tolist())
grid_ac = F.affine_grid(theta, img5.shape, align_corners=True)
warped_ac = F.grid_sample(img5, grid_ac, align_corners=True)
print("align_corners=True mean", round(warped_ac.mean().item(), 4))

# identity theta reproduces the input (a check every pipeline keeps)
ident = F.affine_grid(torch.eye(3, 4)[None], img5.shape, align_corners=False)
same = F.grid_sample(img5, ident, align_corners=False)
print("identity max err < 1e-4:", bool((same - img5).abs().max() < 1e-4))

# --- elastic deformation: smoothed random displacement added to the identity grid -----------
sigma, alpha = 1.5, 0.15
radius = 3
ax = torch.arange(-radius, radius + 1, dtype=torch.float32)
k1 = torch.exp(-ax ** 2 / (2 * sigma ** 2))
k1 = k1 / k1.sum()
kernel = torch.einsum("i,j,k->ijk", k1, k1, k1).expand(3, 1, -1, -1, -1).contiguous()
noise = torch.rand(1, 3, D, H, W, generator=gen) * 2 - 1
smooth = F.conv3d(F.pad(noise, (radius,) * 6, mode="replicate"), kernel, groups=3)
disp = smooth.permute(0, 2, 3, 4, 1) * alpha
print("displacement", tuple(disp.shape), "abs max", round(disp.abs().max().item(), 4))
elastic = F.grid_sample(img5, ident + disp, mode="bilinear", padding_mode="border",
                        align_corners=False)
elastic_lab = F.grid_sample(lab5, ident + disp, mode="nearest", align_corners=False)
print("elastic mean", round(elastic.mean().item(), 4), "label kept",
      round((elastic_lab == lab5).float().mean().item(), 4))

# --- rot90 and flips on (C, D, H, W) ---------------------------------------------------------
vol = torch.stack([normed, label.float()])
k = int(torch.randint(1, 4, (1,), generator=gen))
rot = torch.rot90(vol, k, dims=(2, 3))
print("rot90 k", k, tuple(rot.shape), "label sum kept", int(rot[1].sum()) == int(label.sum()))
back = torch.rot90(rot, -k, dims=[2, 3])
print("rot90 inverse exact:", torch.equal(back, vol))
flipped = vol.flip(1).fliplr()
print("flip checksum", round(flipped[0, 0, 0].sum().item(), 4))

# --- resampling to a new spacing ------------------------------------------------------------
old_spacing = torch.tensor([3.0, 1.0, 1.0])
new_spacing = torch.tensor([2.0, 1.5, 1.5])
new_shape = [int(round(v)) for v in (torch.tensor([D, H, W]) * old_spacing / new_spacing).tolist()]
res_img = F.interpolate(img5, size=new_shape, mode="trilinear", align_corners=False)
res_lab = F.interpolate(lab5, size=new_shape, mode="nearest-exact")
res_lab_old = F.interpolate(lab5, size=new_shape, mode="nearest")
# label maps are usually stored as uint8; nearest resampling keeps the dtype
lab_u8 = F.interpolate(label.to(torch.uint8)[None, None], size=new_shape, mode="nearest-exact")
print("uint8 label resample", lab_u8.dtype, torch.equal(lab_u8.long(), res_lab.long()))
print("resampled", tuple(res_img.shape), "mean", round(res_img.mean().item(), 4))
print("nearest-exact vs nearest label voxels", torch.bincount(res_lab.long().flatten()).tolist(),
      torch.bincount(res_lab_old.long().flatten()).tolist())
up = F.interpolate(img5, scale_factor=(1.5, 0.5, 0.75), mode="trilinear",
                   recompute_scale_factor=True)
print("scale_factor resample", tuple(up.shape), round(up.std().item(), 4))
pooled = F.adaptive_avg_pool3d(img5, (4, 4, 4))
print("adaptive pooled", tuple(pooled.shape), round(pooled.abs().sum().item(), 2))
