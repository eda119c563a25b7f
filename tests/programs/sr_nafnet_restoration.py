"""Image restoration (denoising) as NAFNet, SwinIR and DnCNN's reference code write it: NAFNet's
``LayerNorm2d`` as a custom ``torch.autograd.Function`` (``ctx.save_for_backward``, a
hand-written backward reading ``ctx.saved_variables`` as NAFNet does, checked with
``torch.autograd.gradcheck`` in float64), ``SimpleGate`` (``chunk``), simplified channel
attention (``nn.AdaptiveAvgPool2d(1)``), learnable ``beta``/``gamma`` ``nn.Parameter`` scales,
``nn.PixelUnshuffle`` down / ``nn.PixelShuffle`` up; a DnCNN residual baseline; SwinIR's
``window_partition``/``window_reverse`` with ``view``/``permute``/``contiguous``; test-time
padding to a multiple of the window and cropping; the x8 geometric self-ensemble
(``torch.rot90`` and ``flip`` and their inverses); overlapping tiled inference averaged with
``F.fold`` of a ones map; a gaussian-window SSIM in float64 with grouped ``F.conv2d``. Also
``LambdaLR`` warmup and ``torch.optim.Adam`` with ``amsgrad``."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(4)

yy, xx = np.mgrid[0:20, 0:20] / 20.0
clean_np = np.stack([np.stack([0.5 + 0.3 * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * xx
                                                              + rng.uniform(0.5, 2) * yy))
                               + 0.1 * (xx > rng.uniform(0.3, 0.7))
                               for _ in range(3)]) for _ in range(4)]).astype(np.float32)
clean = torch.from_numpy(clean_np)
noisy = clean + torch.from_numpy((rng.standard_normal(clean_np.shape) * 0.1).astype(np.float32))


class LayerNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        ctx.eps = eps
        N, C, H, W = x.size()
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        y = (x - mu) / (var + eps).sqrt()
        ctx.save_for_backward(y, var, weight)
        y = weight.view(1, C, 1, 1) * y + bias.view(1, C, 1, 1)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        eps = ctx.eps
        N, C, H, W = grad_output.size()
        y, var, weight = ctx.saved_variables     # NAFNet's spelling (deprecated alias)
        g = grad_output * weight.view(1, C, 1, 1)
        mean_g = g.mean(dim=1, keepdim=True)
        mean_gy = (g * y).mean(dim=1, keepdim=True)
        gx = 1. / torch.sqrt(var + eps) * (g - y * mean_gy - mean_g)
        return gx, (grad_output * y).sum(dim=3).sum(dim=2).sum(dim=0), \
            grad_output.sum(dim=3).sum(dim=2).sum(dim=0), None


class LayerNorm2d(nn.Module):
    def __init__(self, channels, eps=1e-6):
        super().__init__()
        self.register_parameter("weight", nn.Parameter(torch.ones(channels)))
        self.register_parameter("bias", nn.Parameter(torch.zeros(channels)))
        self.eps = eps

    def forward(self, x):
        return LayerNormFunction.apply(x, self.weight, self.bias, self.eps)


x64 = torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
w64 = torch.randn(3, dtype=torch.float64, requires_grad=True)
b64 = torch.randn(3, dtype=torch.float64, requires_grad=True)
print("gradcheck LayerNorm2d", torch.autograd.gradcheck(
    lambda a, b, c: LayerNormFunction.apply(a, b, c, 1e-6), (x64, w64, b64)))
ref = F.layer_norm(x64.permute(0, 2, 3, 1), (3,), w64, b64, 1e-6).permute(0, 3, 1, 2)
print("matches F.layer_norm", torch.allclose(LayerNormFunction.apply(x64, w64, b64, 1e-6), ref))


class SimpleGate(nn.Module):
    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        return x1 * x2


class NAFBlock(nn.Module):
    def __init__(self, c, dw_expand=2, ffn_expand=2):
        super().__init__()
        dw = c * dw_expand
        self.conv1 = nn.Conv2d(c, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.conv3 = nn.Conv2d(dw // 2, c, 1)
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw // 2, dw // 2, 1))
        self.sg = SimpleGate()
        self.conv4 = nn.Conv2d(c, ffn_expand * c, 1)
        self.conv5 = nn.Conv2d(ffn_expand * c // 2, c, 1)
        self.norm1, self.norm2 = LayerNorm2d(c), LayerNorm2d(c)
        self.beta = nn.Parameter(torch.zeros((1, c, 1, 1)), requires_grad=True)
        self.gamma = nn.Parameter(torch.zeros((1, c, 1, 1)), requires_grad=True)

    def forward(self, inp):
        x = self.sg(self.conv2(self.conv1(self.norm1(inp))))
        x = self.conv3(x * self.sca(x))
        y = inp + x * self.beta
        x = self.conv5(self.sg(self.conv4(self.norm2(y))))
        return y + x * self.gamma


class TinyNAFNet(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.intro = nn.Conv2d(3, c, 3, padding=1)
        self.enc = NAFBlock(c)
        self.down = nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(4 * c, 2 * c, 1))
        self.mid = NAFBlock(2 * c)
        self.up = nn.Sequential(nn.Conv2d(2 * c, 4 * c, 1, bias=False), nn.PixelShuffle(2))
        self.dec = NAFBlock(2 * c // 2)
        self.ending = nn.Conv2d(c, 3, 3, padding=1)
        self.padder_size = 2

    def check_image_size(self, x):
        _, _, h, w = x.size()
        mod_pad_h = (self.padder_size - h % self.padder_size) % self.padder_size
        mod_pad_w = (self.padder_size - w % self.padder_size) % self.padder_size
        return F.pad(x, (0, mod_pad_w, 0, mod_pad_h))

    def forward(self, inp):
        B, C, H, W = inp.shape
        x = self.intro(self.check_image_size(inp))
        e = self.enc(x)
        x = self.up(self.mid(self.down(e))) + e
        x = self.ending(self.dec(x)) + self.check_image_size(inp)
        return x[:, :, :H, :W]


class DnCNN(nn.Module):
    def __init__(self, depth=4, c=12):
        super().__init__()
        layers = [nn.Conv2d(3, c, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c, eps=1e-4,
                                                                                momentum=0.95),
                       nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(c, 3, 3, padding=1))
        self.dncnn = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.orthogonal_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return x - self.dncnn(x)


def window_partition(x, ws):
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, C)


def window_reverse(windows, ws, H, W):
    B = int(windows.shape[0] / (H * W / ws / ws))
    x = windows.view(B, H // ws, W // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


def gaussian_window(size=7, sigma=1.5):
    g = torch.exp(-(torch.arange(size, dtype=torch.float64) - size // 2) ** 2 / (2 * sigma ** 2))
    g = (g / g.sum()).unsqueeze(1)
    return g.mm(g.t()).expand(3, 1, size, size).contiguous()


def ssim(a, b, C1=0.01 ** 2, C2=0.03 ** 2):
    a, b, w = a.double(), b.double(), gaussian_window()
    mu1, mu2 = F.conv2d(a, w, groups=3), F.conv2d(b, w, groups=3)
    s11 = F.conv2d(a * a, w, groups=3) - mu1.pow(2)
    s22 = F.conv2d(b * b, w, groups=3) - mu2.pow(2)
    s12 = F.conv2d(a * b, w, groups=3) - mu1 * mu2
    num = (2 * mu1 * mu2 + C1) * (2 * s12 + C2)
    m = num / ((mu1.pow(2) + mu2.pow(2) + C1) * (s11 + s22 + C2))
    return m.mean().item()


def psnr(a, b):
    return (10 * torch.log10(1 / F.mse_loss(a.double().clamp(0, 1), b.double()))).item()


win = window_partition(clean.permute(0, 2, 3, 1), 5)
print("windows", tuple(win.shape), "reverse exact",
      torch.equal(window_reverse(win, 5, 20, 20).permute(0, 3, 1, 2), clean))
print(f"noisy PSNR {psnr(noisy, clean):.3f} SSIM {ssim(noisy, clean):.4f}")

for name, net in (("dncnn", DnCNN()), ("nafnet", TinyNAFNet())):
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, amsgrad=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 5))
    for it in range(15):
        net.train()
        loss = F.mse_loss(net(noisy), clean, reduction="sum") / (2 * noisy.size(0))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    with torch.no_grad():
        out = net(noisy)
        odd = net(noisy[..., :19, :17])
    print(f"{name:6s} loss {loss.item():.4f} PSNR {psnr(out, clean):.3f} "
          f"SSIM {ssim(out.clamp(0, 1), clean):.4f} odd-size {tuple(odd.shape)}")

model = net


def self_ensemble(x, fn):
    outs = []
    for k in range(4):
        for flip in (False, True):
            t = torch.rot90(x, k, dims=(2, 3))
            t = t.flip(-1) if flip else t
            y = fn(t)
            y = y.flip(-1) if flip else y
            outs.append(torch.rot90(y, -k, dims=(2, 3)))
    return torch.stack(outs).mean(0)


def tiled(x, fn, tile=12, overlap=4):
    stride = tile - overlap
    b, c, h, w = x.shape
    patches = F.unfold(x, tile, stride=stride)                 # (b, c*t*t, L)
    L = patches.shape[-1]
    patches = patches.transpose(1, 2).reshape(b * L, c, tile, tile)
    out = fn(patches).reshape(b, L, c * tile * tile).transpose(1, 2)
    summed = F.fold(out, (h, w), tile, stride=stride)
    count = F.fold(torch.ones_like(out), (h, w), tile, stride=stride)
    return summed / count, int(count.max())


with torch.no_grad():
    ens = self_ensemble(noisy, model)
    tl, maxcount = tiled(noisy, model)
print(f"self-ensemble PSNR {psnr(ens, clean):.3f} tiled PSNR {psnr(tl, clean):.3f} "
      f"overlap count {maxcount}")
