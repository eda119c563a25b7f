"""A scale-hyperprior image codec (Ballé et al. 2018) in the style of CompressAI's
ScaleHyperprior and GaussianConditional: a hyper-encoder on |y|, Gaussian likelihoods from
erfc with a lower-bounded scale, mixed quantization (noise for the rate term, straight-through
rounding for the decoder), padding to a multiple of the downsampling, a quantized CDF table per
scale (cumsum, clamp, int32) and symbol decoding by searchsorted, scale-table indexes built by a
loop of comparisons, ReduceLROnPlateau on the rate-distortion loss, and a check of the Gaussian
likelihood against torch.distributions.Normal."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal

torch.manual_seed(0)
rng = np.random.default_rng(2)
SCALES_MIN, SCALES_MAX, SCALES_LEVELS = 0.11, 256, 64


def get_scale_table(min=SCALES_MIN, max=SCALES_MAX, levels=SCALES_LEVELS):
    return torch.exp(torch.linspace(math.log(min), math.log(max), levels))


class LowerBound(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, bound):
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.clamp(min=bound)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        pass_through = (x >= ctx.bound) | (grad_output < 0)
        return grad_output * pass_through.to(grad_output.dtype), None


def ste_round(x):
    return (torch.round(x) - x).detach() + x


class GaussianConditional(nn.Module):
    def __init__(self, scale_table, scale_bound=0.11, tail_mass=1e-9):
        super().__init__()
        self.register_buffer("scale_table", torch.Tensor(tuple(float(s) for s in scale_table)))
        self.scale_bound = scale_bound
        self.tail_mass = tail_mass
        self.likelihood_bound = 1e-9

    @staticmethod
    def _standardized_cumulative(inputs):
        half = float(0.5)
        const = float(-(2**-0.5))
        # Using the complementary error function maximizes numerical precision.
        return half * torch.erfc(const * inputs)

    def _likelihood(self, inputs, scales, means=None):
        half = float(0.5)
        values = inputs - means if means is not None else inputs
        scales = LowerBound.apply(scales, self.scale_bound)
        values = torch.abs(values)
        upper = self._standardized_cumulative((half - values) / scales)
        lower = self._standardized_cumulative((-half - values) / scales)
        return upper - lower

    def build_indexes(self, scales):
        scales = scales.clamp_min(self.scale_bound)
        indexes = scales.new_full(scales.size(), len(self.scale_table) - 1).int()
        for s in self.scale_table[:-1]:
            indexes -= (scales <= s).int()
        return indexes

    def forward(self, inputs, scales, training=True):
        if training:
            noisy = inputs + torch.empty_like(inputs).uniform_(-0.5, 0.5)
            likelihood = self._likelihood(noisy, scales)
            outputs = ste_round(inputs)  # mixed quantization: the decoder sees rounded values
        else:
            outputs = torch.round(inputs)
            likelihood = self._likelihood(outputs, scales)
        likelihood = LowerBound.apply(likelihood, self.likelihood_bound)
        return outputs, likelihood


class FactorizedZ(nn.Module):
    """A tiny per-channel logistic prior for z (stands in for the EntropyBottleneck)."""

    def __init__(self, channels):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, z, training=True):
        z_hat = z + torch.rand_like(z) - 0.5 if training else torch.round(z)
        s = self.log_scale.exp()
        upper = torch.sigmoid((z_hat - self.loc + 0.5) / s)
        lower = torch.sigmoid((z_hat - self.loc - 0.5) / s)
        return z_hat, (upper - lower).clamp_min(1e-9)


class ScaleHyperprior(nn.Module):
    def __init__(self, N=6, M=8):
        super().__init__()
        self.g_a = nn.Sequential(nn.Conv2d(3, N, 3, 2, 1), nn.LeakyReLU(0.2),
                                 nn.Conv2d(N, M, 3, 2, 1))
        self.g_s = nn.Sequential(nn.ConvTranspose2d(M, N, 4, 2, 1), nn.LeakyReLU(0.2),
                                 nn.ConvTranspose2d(N, 3, 4, 2, 1))
        self.h_a = nn.Sequential(nn.Conv2d(M, N, 3, 1, 1), nn.ReLU(inplace=True),
                                 nn.Conv2d(N, N, 3, 2, 1))
        self.h_s = nn.Sequential(nn.ConvTranspose2d(N, N, 4, 2, 1), nn.ReLU(inplace=True),
                                 nn.Conv2d(N, M, 3, 1, 1), nn.Softplus())
        self.entropy_bottleneck = FactorizedZ(N)
        self.gaussian_conditional = GaussianConditional(get_scale_table())

    def forward(self, x, training=True):
        y = self.g_a(x)
        z = self.h_a(torch.abs(y))
        z_hat, z_likelihoods = self.entropy_bottleneck(z, training)
        scales_hat = self.h_s(z_hat)
        y_hat, y_likelihoods = self.gaussian_conditional(y, scales_hat, training)
        x_hat = self.g_s(y_hat)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods},
                "scales": scales_hat}


def pad(x, p=8):
    h, w = x.size(2), x.size(3)
    new_h = (h + p - 1) // p * p
    new_w = (w + p - 1) // p * p
    padding_left = (new_w - w) // 2
    padding_right = new_w - w - padding_left
    padding_top = (new_h - h) // 2
    padding_bottom = new_h - h - padding_top
    return F.pad(x, (padding_left, padding_right, padding_top, padding_bottom),
                 mode="replicate"), (padding_left, padding_right, padding_top, padding_bottom)


def crop(x, padding):
    return F.pad(x, (-padding[0], -padding[1], -padding[2], -padding[3]))


gc = GaussianConditional(get_scale_table())
print("scale table:", gc.scale_table[:3], gc.scale_table.dtype, len(gc.scale_table))
vals = torch.tensor([0.0, 0.4, 1.0, -2.0])
sc = torch.tensor([0.05, 0.5, 1.0, 3.0])
normal = Normal(torch.zeros(4), sc.clamp_min(0.11))
ref = normal.cdf(vals.abs() * -1 + 0.5) - normal.cdf(vals.abs() * -1 - 0.5)
print("likelihood vs Normal.cdf:", torch.allclose(gc._likelihood(vals, sc), ref, atol=1e-6))
print("indexes:", gc.build_indexes(torch.tensor([0.01, 0.2, 1.0, 300.0])))

yy, xx = np.mgrid[0:14, 0:14] / 14.0
img = np.stack([np.sin(5 * xx) * yy, np.cos(4 * yy), xx]) * 0.5 + 0.5
images = torch.from_numpy(img[None] + rng.normal(0, .03, (3, 3, 14, 14))).float().clamp(0, 1)
padded, padding = pad(images)
print("padded:", tuple(padded.shape), padding)

net = ScaleHyperprior()
with torch.no_grad():  # a wider latent, so that rounding keeps several symbols
    net.g_a[-1].weight.mul_(8)
optimizer = torch.optim.Adam([{"params": net.g_a.parameters()},
                              {"params": net.g_s.parameters()},
                              {"params": list(net.h_a.parameters()) + list(net.h_s.parameters())
                               + list(net.entropy_bottleneck.parameters()), "lr": 3e-3}],
                             lr=1e-3)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "min", factor=0.5, patience=1)
lmbda = 0.01
num_pixels = images.size(0) * images.size(2) * images.size(3)
for epoch in range(6):
    out = net(padded)
    x_hat = crop(out["x_hat"], padding)
    bpp = sum(torch.log2(lk).sum() for lk in out["likelihoods"].values()) / -num_pixels
    mse = F.mse_loss(x_hat, images)
    loss = lmbda * 255**2 * mse + bpp
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step(loss.item() + (100.0 if epoch in (2, 3) else 0.0))
    print(f"epoch {epoch}: loss {loss.item():.2f} bpp {bpp.item():.4f} "
          f"lrs {[round(g['lr'], 6) for g in optimizer.param_groups]}")

t = torch.tensor([0.3, 1.7, -2.5], requires_grad=True)
(ste_round(t) * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
print("ste:", ste_round(t), t.grad)

net.eval()
with torch.no_grad():
    out = net(padded, training=False)
    y = net.g_a(padded)
    scales = out["scales"]
    indexes = net.gaussian_conditional.build_indexes(scales)
    hist = torch.bincount(indexes.flatten().long(), minlength=len(scales))
    print("used scale indexes:", hist.nonzero().flatten().tolist(), hist[hist > 0])
    symbols = torch.round(y).int()
    print("symbol range:", symbols.min().item(), symbols.max().item(), symbols.dtype)

    # quantized CDF of a discretized Gaussian per scale in the table, 16-bit precision
    precision = 16
    support = torch.arange(-8, 9, dtype=torch.float32)
    table = net.gaussian_conditional.scale_table
    pmf = net.gaussian_conditional._likelihood(support[None, :], table[:, None])
    tail = (1 - pmf.sum(1, keepdim=True)).clamp_min(0)
    pmf = torch.cat([pmf, tail], dim=1)
    cdf = torch.zeros(pmf.shape[0], pmf.shape[1] + 1)
    cdf[:, 1:] = torch.cumsum(pmf, dim=1)
    quantized = (cdf * (1 << precision)).round().to(torch.int32)
    quantized = torch.maximum(quantized, torch.arange(quantized.shape[1], dtype=torch.int32))
    quantized.clamp_(max=1 << precision)
    print("cdf rows:", quantized.shape, quantized[0, 6:11].tolist(), quantized[-1, :3].tolist())
    # decode symbols from a uniform "code value" with searchsorted, as a range decoder does
    code = torch.tensor([0, 20000, 32768, 45000, 65535], dtype=torch.int32)
    sym = torch.searchsorted(quantized[10].contiguous(), code, right=True) - 1 - 8
    print("decoded symbols:", sym)
    est_bits = -torch.log2(out["likelihoods"]["y"]).sum() - torch.log2(
        out["likelihoods"]["z"]).sum()
    print(f"estimated size: {est_bits.item() / 8:.1f} bytes,"
          f" bpp {est_bits.item() / num_pixels:.4f}")
    x_hat = crop(out["x_hat"], padding).clamp_(0, 1)
    psnr = 10 * torch.log10(1 / F.mse_loss(x_hat, images))
    print(f"eval psnr {psnr.item():.3f}", x_hat.shape)
