"""Style transfer without a trained decoder: the whitening-and-coloring transform (WCT, Li et al.)
on feature covariances via torch.linalg.eigh and the older torch.svd with small eigenvalues
cut off, a luminance-only (color-preserving) transfer through an RGB<->YIQ matrix, then pixel
optimization with Adam, a spatial mask applied to the image's gradient by a tensor hook, an
anisotropic L1 total variation loss via torch.diff, MultiStepLR, and clamping under no_grad."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
torch.manual_seed(1)
rng = np.random.default_rng(11)
H = W = 12

content = torch.from_numpy(rng.uniform(0.2, 0.8, (1, 3, H, W)))
style = torch.from_numpy(rng.beta(2, 5, (1, 3, H, W)))


def wct(content_feat, style_feat, alpha=1.0, eps=1e-5):
    """Whitens content features and colors them with the style's covariance (one image)."""
    c, h, w = content_feat.shape[1:]
    fc = content_feat.reshape(c, -1)
    fs = style_feat.reshape(c, -1)
    c_mean = fc.mean(1, keepdim=True)
    s_mean = fs.mean(1, keepdim=True)
    fc, fs = fc - c_mean, fs - s_mean
    c_cov = fc @ fc.T / (fc.shape[1] - 1) + torch.eye(c) * eps
    s_cov = torch.cov(fs) + torch.eye(c) * eps
    c_val, c_vec = torch.linalg.eigh(c_cov)
    keep = c_val > 1e-5
    whiten = c_vec[:, keep] @ torch.diag(c_val[keep].rsqrt()) @ c_vec[:, keep].T
    s_u, s_e, s_v = torch.svd(s_cov)
    k_s = int((s_e > 1e-5).sum())
    color = s_v[:, :k_s] @ torch.diag(s_e[:k_s].sqrt()) @ s_v[:, :k_s].t()
    target = color @ (whiten @ fc) + s_mean
    target = target.reshape(1, c, h, w)
    return alpha * target + (1 - alpha) * content_feat


encoder = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, padding_mode="reflect"), nn.ReLU())
decoder = nn.Conv2d(6, 3, 3, padding=1, padding_mode="replicate")
with torch.no_grad():
    for conv in (encoder[0], decoder):
        conv.weight.copy_(torch.from_numpy(rng.normal(0, .3, conv.weight.shape)))
        conv.bias.zero_()

with torch.no_grad():
    cf, sf = encoder(content), encoder(style)
    transferred = wct(cf, sf)
    cov_t = torch.cov(transferred.reshape(6, -1))
    cov_s = torch.cov(sf.reshape(6, -1))
    # dead ReLU channels make the content covariance singular: those directions are dropped
    print("rank content/style:", torch.linalg.matrix_rank(torch.cov(cf.reshape(6, -1))).item(),
          torch.linalg.matrix_rank(cov_s).item(),
          f"cov error {(cov_t - cov_s).abs().max().item():.4f}")
    for alpha in (0.25, 1.0):
        out = decoder(wct(cf, sf, alpha)).clamp(0, 1)
        print(f"wct alpha={alpha}:", f"{out.mean().item():.4f} {out.std().item():.4f}")
    cv, _ = torch.linalg.eigh(torch.cov(cf.reshape(6, -1)))
    print("content spectrum:", cv.flip(0)[:3])

# YIQ color space: transfer luminance only, keep the content's chroma
rgb2yiq = torch.tensor([[0.299, 0.587, 0.114],
                        [0.596, -0.274, -0.322],
                        [0.211, -0.523, 0.312]])
yiq2rgb = torch.linalg.inv(rgb2yiq)


def to_yiq(img):
    return torch.einsum("ij,bjhw->bihw", rgb2yiq, img)


def to_rgb(img):
    return torch.tensordot(yiq2rgb, img, dims=([1], [1])).permute(1, 0, 2, 3)


c_yiq, s_yiq = to_yiq(content), to_yiq(style)
print("round trip:", torch.allclose(to_rgb(c_yiq), content))
# match the style's luminance statistics to the content's (Gatys et al. 2016, color preservation)
s_lum = s_yiq[:, :1]
s_lum = (s_lum - s_lum.mean()) / s_lum.std() * c_yiq[:, :1].std() + c_yiq[:, :1].mean()
print("luminance mean/std:", f"{s_lum.mean().item():.4f} {s_lum.std().item():.4f}")


def tv_l1(img):
    return torch.diff(img, dim=-1).abs().mean() + torch.diff(img, dim=-2).abs().mean()


def gram(x):
    f = x.flatten(2)
    return f @ f.transpose(-1, -2) / f.shape[-1]


# only the left half of the image is stylized: the hook zeroes the gradient elsewhere
mask = torch.zeros(1, 1, H, W)
mask[..., : W // 2] = 1
image = content.clone().requires_grad_()
handle = image.register_hook(lambda grad: grad * mask)
target_gram = gram(encoder(s_lum.expand(-1, 3, -1, -1))).detach()
content_feat = encoder(content).detach()
opt = torch.optim.Adam([image], lr=0.05, betas=(0.9, 0.99))
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[4, 7], gamma=0.5)
for step in range(10):
    opt.zero_grad(set_to_none=True)
    feat = encoder(image)
    loss = (F.mse_loss(gram(feat), target_gram, reduction="sum") * 10
            + F.mse_loss(feat, content_feat) + 0.1 * tv_l1(image))
    loss.backward()
    opt.step()
    sched.step()
    with torch.no_grad():
        image.clamp_(min=0.0, max=1.0)
    if step % 3 == 0:
        print(f"step {step} loss {loss.item():.5f} lr {sched.get_last_lr()[0]:.4f}")
handle.remove()

with torch.no_grad():
    moved = (image - content).abs()
    print("right half untouched:", bool((moved[..., W // 2:] == 0).all()),
          f"left change {moved[..., :W // 2].mean().item():.4f}")
    # put the original chroma back (color preservation)
    y = to_yiq(image)[:, :1]
    result = to_rgb(torch.cat([y, c_yiq[:, 1:]], dim=1)).clamp(0, 1)
    print("result:", result.shape, f"{result.sum().item():.4f}")
    print(result[0, 0, :2, :3])
    print("tv before/after:", f"{tv_l1(content).item():.4f} {tv_l1(result).item():.4f}")

for bad in (lambda: torch.linalg.eigh(torch.ones(2, 3)),
            lambda: torch.cov(torch.ones(2, 2, 2)),
            lambda: torch.diff(torch.ones(3), dim=1),
            lambda: image.clamp_(0, 1)):
    try:
        bad()
    except (RuntimeError, IndexError) as e:
        print(type(e).__name__ + ":", str(e).split("\n")[0][:74])
