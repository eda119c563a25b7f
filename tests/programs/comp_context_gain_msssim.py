"""A joint autoregressive + hyperprior codec (Minnen et al. 2018) with the pieces repositories
build around it: a PixelCNN MaskedConv2d (type A, the mask a buffer applied to weight.data), GDN
whose beta/gamma are kept non-negative by torch.nn.utils.parametrize (with right_inverse and a
cached() block), entropy parameters split by chunk into means and scales, variable-rate gain
units interpolated between two learned gain vectors, an MS-SSIM distortion built from a Gaussian
window and grouped conv2d, AdamW with clip_grad_value_ and LambdaLR, and serial (raster-order)
decoding of the latent checked against the parallel masked pass."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize

torch.manual_seed(3)
rng = np.random.default_rng(9)


class MaskedConv2d(nn.Conv2d):
    def __init__(self, *args, mask_type="A", **kwargs):
        super().__init__(*args, **kwargs)
        if mask_type not in ("A", "B"):
            raise ValueError(f'Invalid "mask_type" value "{mask_type}"')
        self.register_buffer("mask", torch.ones_like(self.weight.data))
        _, _, h, w = self.mask.size()
        self.mask[:, :, h // 2, w // 2 + (mask_type == "B"):] = 0
        self.mask[:, :, h // 2 + 1:] = 0

    def forward(self, x):
        # TODO(begaintj): weight assigment is not supported by torchscript
        self.weight.data *= self.mask
        return super().forward(x)


class NonNegative(nn.Module):
    def __init__(self, minimum=0.0, offset=2**-18):
        super().__init__()
        self.pedestal = offset**2
        self.bound = (minimum + self.pedestal) ** 0.5

    def forward(self, x):
        return x.clamp(min=self.bound) ** 2 - self.pedestal

    def right_inverse(self, value):
        return torch.sqrt(torch.clamp(value + self.pedestal, min=self.pedestal))


class GDN(nn.Module):
    def __init__(self, channels, inverse=False):
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(0.1 * torch.eye(channels))
        parametrize.register_parametrization(self, "beta", NonNegative(1e-6))
        parametrize.register_parametrization(self, "gamma", NonNegative())

    def forward(self, x):
        C = x.size(1)
        norm = F.conv2d(x * x, self.gamma.view(C, C, 1, 1), self.beta)
        return x * (norm.sqrt() if self.inverse else norm.rsqrt())


def gaussian_window(size=5, sigma=1.0):
    coords = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g /= g.sum()
    return torch.outer(g, g)


def ssim_components(x, y, window, c1=0.01**2, c2=0.03**2):
    C = x.size(1)
    w = window.expand(C, 1, -1, -1)
    mu_x = F.conv2d(x, w, groups=C)
    mu_y = F.conv2d(y, w, groups=C)
    sxx = F.conv2d(x * x, w, groups=C) - mu_x.pow(2)
    syy = F.conv2d(y * y, w, groups=C) - mu_y.pow(2)
    sxy = F.conv2d(x * y, w, groups=C) - mu_x * mu_y
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    ssim = (2 * mu_x * mu_y + c1) / (mu_x.pow(2) + mu_y.pow(2) + c1) * cs
    return ssim.flatten(1).mean(1), cs.flatten(1).mean(1)


def ms_ssim(x, y, weights=(0.4, 0.6)):
    window = gaussian_window()
    values = []
    for i, _ in enumerate(weights):
        ssim, cs = ssim_components(x, y, window)
        values.append(F.relu(ssim if i == len(weights) - 1 else cs))
        x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    stack = torch.stack(values, dim=1)
    return torch.prod(stack ** torch.tensor(weights), dim=1)


class Codec(nn.Module):
    def __init__(self, N=6, M=6, n_rates=3):
        super().__init__()
        self.g_a = nn.Sequential(nn.Conv2d(3, N, 3, 2, 1), GDN(N), nn.Conv2d(N, M, 3, 2, 1))
        self.g_s = nn.Sequential(nn.ConvTranspose2d(M, N, 4, 2, 1), GDN(N, inverse=True),
                                 nn.ConvTranspose2d(N, 3, 4, 2, 1))
        self.context_prediction = MaskedConv2d(M, 2 * M, kernel_size=5, padding=2, stride=1)
        self.entropy_parameters = nn.Sequential(nn.Conv2d(2 * M, 2 * M, 1), nn.GELU(),
                                                nn.Conv2d(2 * M, 2 * M, 1))
        self.gain = nn.Parameter(torch.ones(n_rates, M))
        self.inv_gain = nn.Parameter(torch.ones(n_rates, M))
        with torch.no_grad():
            self.gain.copy_(torch.linspace(0.5, 2.0, n_rates)[:, None].expand(-1, M))
            self.inv_gain.copy_(1 / self.gain)

    def gains(self, rate):
        """Gain vectors for a rate in [0, n_rates - 1], interpolated geometrically."""
        lo = min(int(rate), self.gain.size(0) - 2)
        t = rate - lo
        g = self.gain[lo].abs().pow(1 - t) * self.gain[lo + 1].abs().pow(t)
        ig = self.inv_gain[lo].abs().pow(1 - t) * self.inv_gain[lo + 1].abs().pow(t)
        return g.view(1, -1, 1, 1), ig.view(1, -1, 1, 1)

    def entropy(self, y_hat):
        params = self.entropy_parameters(self.context_prediction(y_hat))
        means, scales = params.chunk(2, 1)
        return means, F.softplus(scales) + 0.11

    def forward(self, x, rate):
        g, ig = self.gains(rate)
        y = self.g_a(x) * g
        y_hat = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        means, scales = self.entropy(y_hat)
        dist = torch.distributions.Normal(means, scales)
        lik = (dist.cdf(y_hat + 0.5) - dist.cdf(y_hat - 0.5)).clamp_min(1e-9)
        return self.g_s(y_hat * ig), lik


codec = Codec()
gdn = codec.g_a[1]
print("parametrized:", parametrize.is_parametrized(gdn), parametrize.is_parametrized(gdn, "beta"),
      type(gdn.parametrizations.beta).__name__)
print("original beta:", gdn.parametrizations.beta.original[:3])
print("state keys:", [k for k in gdn.state_dict()])
with parametrize.cached():
    same = gdn.gamma is gdn.gamma
print("cached gamma identity:", same, gdn.gamma is gdn.gamma)
gdn.beta = torch.full((6,), 0.25)  # goes through right_inverse
print("beta after assignment:", gdn.beta[:2], gdn.parametrizations.beta.original[:2])
mask = codec.context_prediction.mask
print("mask row:", mask[0, 0, 2].tolist(), "causal taps:", int(mask[0, 0].sum().item()))
try:
    MaskedConv2d(2, 2, 3, mask_type="C")
except ValueError as e:
    print("ValueError:", e)

yy, xx = np.mgrid[0:16, 0:16] / 16.0
base = np.stack([np.sin(6 * xx + yy), np.cos(5 * yy), xx * (1 - yy)]) * 0.4 + 0.5
images = torch.from_numpy(base[None] + rng.normal(0, .02, (2, 3, 16, 16))).float()
print("ms-ssim self:", ms_ssim(images, images), "vs noise:",
      f"{ms_ssim(images, images.flip(-1)).mean().item():.4f}")

optimizer = torch.optim.AdamW(codec.parameters(), lr=2e-3, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1 + 0.2 * step))
lambdas = torch.tensor([2.0, 8.0, 32.0])
for step in range(6):
    rate = float(step % 3)
    x_hat, lik = codec(images, rate)
    bpp = -torch.log2(lik).sum() / (images.size(0) * 16 * 16)
    dist = 1 - ms_ssim(x_hat, images).mean()
    loss = lambdas[int(rate)] * dist + bpp
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_value_(codec.parameters(), 0.5)
    optimizer.step()
    scheduler.step()
    print(f"step {step} rate {rate:.0f} loss {loss.item():.4f} bpp {bpp.item():.4f} "
          f"1-msssim {dist.item():.4f} lr {scheduler.get_last_lr()[0]:.5f}")

w = codec.context_prediction.weight
# the optimizer step moves the masked taps; the next forward zeroes them again
print("masked taps zero after the step:", bool((w.data[:, :, 2, 2:] == 0).all()),
      bool((w.data[:, :, 3:] == 0).all()))
g, ig = codec.gains(1.5)
print("gain at 1.5:", g.flatten()[:3], (g * ig).flatten()[:2])

codec.eval()
with torch.no_grad():
    y_hat = torch.round(codec.g_a(images[:1]) * codec.gains(2.0)[0])
    means_parallel, _ = codec.entropy(y_hat)
    # serial decoding: each latent's parameters from the already-decoded ones only
    decoded = torch.zeros_like(y_hat)
    H, W = y_hat.shape[-2:]
    max_err = 0.0
    for h in range(H):
        for w_ in range(W):
            means, _ = codec.entropy(decoded)
            max_err = max(max_err, (means[..., h, w_] - means_parallel[..., h, w_]).abs().max()
                          .item())
            decoded[..., h, w_] = y_hat[..., h, w_]
    print(f"serial == parallel: {torch.equal(decoded, y_hat)} max err {max_err:.1e}")
    out = codec.g_s(y_hat * codec.gains(2.0)[1]).clamp(0, 1)
    print("reconstruction ms-ssim:", f"{ms_ssim(out, images[:1]).item():.4f}")
    print("y_hat symbols:", y_hat.unique().int().tolist()[:8])
