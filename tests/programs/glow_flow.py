"""A small Glow (Kingma & Dhariwal), in the style of the public PyTorch ports: ActNorm with
data-dependent initialisation (a uint8 "initialized" buffer, copy_ under no_grad), an
invertible 1x1 convolution both plain (torch.slogdet, torch.inverse) and LU-decomposed
(torch.linalg.lu, tril/triu masks, a sign buffer, log|s|), affine coupling with a
zero-initialised last conv and sigmoid scale, squeeze / unsqueeze by view + permute, a
standard-normal prior, bits per dimension, reverse sampling with a temperature, and the
round trip x -> z -> x checked. It runs in float64 (torch.set_default_dtype), as density
code often does to get exact log-likelihoods."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))

    @torch.no_grad()
    def initialize(self, x):
        flat = x.permute(1, 0, 2, 3).contiguous().view(x.shape[1], -1)
        mean = flat.mean(1).view(1, -1, 1, 1)
        std = flat.std(1).view(1, -1, 1, 1)
        self.loc.data.copy_(-mean)
        self.logs.data.copy_(torch.log(1 / (std + 1e-6)))

    def forward(self, x):
        if self.initialized.item() == 0:
            self.initialize(x)
            self.initialized.fill_(1)
        h, w = x.shape[2:]
        return torch.exp(self.logs) * (x + self.loc), h * w * torch.sum(self.logs)

    def reverse(self, y):
        return y * torch.exp(-self.logs) - self.loc


class InvConv(nn.Module):
    def __init__(self, c):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(c, c))
        self.weight = nn.Parameter(q.unsqueeze(2).unsqueeze(3))

    def forward(self, x):
        h, w = x.shape[2:]
        logdet = h * w * torch.slogdet(self.weight.squeeze())[1]
        return F.conv2d(x, self.weight), logdet

    def reverse(self, y):
        inv = self.weight.squeeze().inverse().unsqueeze(2).unsqueeze(3)
        return F.conv2d(y, inv)


class InvConvLU(nn.Module):
    def __init__(self, c):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(c, c))
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diag(upper)
        self.register_buffer("w_p", p)
        self.register_buffer("u_mask", torch.triu(torch.ones(c, c), 1))
        self.register_buffer("l_mask", self.u_mask.T.clone())
        self.register_buffer("s_sign", torch.sign(s))
        self.register_buffer("l_eye", torch.eye(c))
        self.w_l = nn.Parameter(lower)
        self.w_s = nn.Parameter(torch.log(torch.abs(s)))
        self.w_u = nn.Parameter(torch.triu(upper, 1))

    def calc_weight(self):
        weight = self.w_p @ (self.w_l * self.l_mask + self.l_eye) @ (
            self.w_u * self.u_mask + torch.diag(self.s_sign * torch.exp(self.w_s)))
        return weight.unsqueeze(2).unsqueeze(3)

    def forward(self, x):
        h, w = x.shape[2:]
        return F.conv2d(x, self.calc_weight()), h * w * torch.sum(self.w_s)

    def reverse(self, y):
        return F.conv2d(y, self.calc_weight().squeeze().inverse().unsqueeze(2).unsqueeze(3))


class ZeroConv2d(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=0)
        self.conv.weight.data.zero_()
        self.conv.bias.data.zero_()
        self.scale = nn.Parameter(torch.zeros(1, cout, 1, 1))

    def forward(self, x):
        out = self.conv(F.pad(x, [1, 1, 1, 1], value=1))
        return out * torch.exp(self.scale * 3)


class AffineCoupling(nn.Module):
    def __init__(self, c, hidden=16):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c // 2, hidden, 3, padding=1), nn.ReLU(inplace=True),
                                 nn.Conv2d(hidden, hidden, 1), nn.ReLU(inplace=True),
                                 ZeroConv2d(hidden, c))
        self.net[0].weight.data.normal_(0, 0.05)
        self.net[0].bias.data.zero_()
        self.net[2].weight.data.normal_(0, 0.05)
        self.net[2].bias.data.zero_()

    def forward(self, x):
        xa, xb = x.chunk(2, 1)
        log_s, t = self.net(xa).chunk(2, 1)
        s = torch.sigmoid(log_s + 2)
        yb = (xb + t) * s
        logdet = torch.sum(torch.log(s).view(x.shape[0], -1), 1)
        return torch.cat([xa, yb], 1), logdet

    def reverse(self, y):
        ya, yb = y.chunk(2, 1)
        log_s, t = self.net(ya).chunk(2, 1)
        s = torch.sigmoid(log_s + 2)
        return torch.cat([ya, yb / s - t], 1)


class FlowStep(nn.Module):
    def __init__(self, c, lu):
        super().__init__()
        self.actnorm = ActNorm(c)
        self.invconv = InvConvLU(c) if lu else InvConv(c)
        self.coupling = AffineCoupling(c)

    def forward(self, x):
        x, ld0 = self.actnorm(x)
        x, ld1 = self.invconv(x)
        x, ld2 = self.coupling(x)
        return x, ld0 + ld1 + ld2

    def reverse(self, y):
        return self.actnorm.reverse(self.invconv.reverse(self.coupling.reverse(y)))


def squeeze2d(x):
    b, c, h, w = x.shape
    x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.contiguous().view(b, c * 4, h // 2, w // 2)


def unsqueeze2d(x):
    b, c, h, w = x.shape
    x = x.view(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.contiguous().view(b, c // 4, h * 2, w * 2)


class Glow(nn.Module):
    def __init__(self, c=1, steps=3, lu=True):
        super().__init__()
        self.flows = nn.ModuleList(FlowStep(4 * c, lu) for _ in range(steps))

    def forward(self, x):
        z, logdet = squeeze2d(x), 0
        for flow in self.flows:
            z, ld = flow(z)
            logdet = logdet + ld
        log_p = (-0.5 * (math.log(2 * math.pi) + z ** 2)).view(x.shape[0], -1).sum(1)
        return z, log_p, logdet

    def reverse(self, z):
        for flow in reversed(self.flows):
            z = flow.reverse(z)
        return unsqueeze2d(z)


def make_data(n, gen):
    # 8x8 "images": two blobs whose positions vary, dequantised to 32 levels
    yy, xx = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    centers = torch.randint(2, 6, (n, 2), generator=gen).to(torch.get_default_dtype())
    d2 = (yy - centers[:, 0, None, None]) ** 2 + (xx - centers[:, 1, None, None]) ** 2
    img = torch.exp(-d2 / 4).unsqueeze(1)
    img = torch.floor(img * 31) / 32
    return img + torch.rand(img.shape, generator=gen) / 32 - 0.5


def bits_per_dim(log_p, logdet, n_pixels, n_bins=32):
    loss = -math.log(n_bins) * n_pixels + logdet + log_p
    return (-loss / (math.log(2) * n_pixels)).mean()


torch.set_default_dtype(torch.float64)
torch.manual_seed(0)
gen = torch.Generator().manual_seed(5)
for lu in (False, True):
    model = Glow(lu=lu)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    print("LU-decomposed 1x1 conv" if lu else "plain 1x1 conv",
          "| trainable:", sum(p.numel() for p in model.parameters()))
    for step in range(30):
        x = make_data(32, gen)
        z, log_p, logdet = model(x)
        bpd = bits_per_dim(log_p, logdet, 64)
        opt.zero_grad()
        bpd.backward()
        opt.step()
        if step % 10 == 0 or step == 29:
            print(f"  step {step:2d} bpd {bpd.item():.4f} logdet {logdet.mean().item():.3f}")
    print("  actnorm initialized:", [int(f.actnorm.initialized) for f in model.flows])
    with torch.no_grad():
        x = make_data(8, gen)
        z, _, _ = model(x)
        back = model.reverse(z)
        print("  round trip max error < 1e-4:", (back - x).abs().max().item() < 1e-4)
        w = model.flows[0].invconv
        weight = w.calc_weight() if lu else w.weight
        print("  |det W| of flow 0:", round(abs(torch.det(weight.squeeze())).item(), 4))
        samples = model.reverse(torch.randn(4, 4, 4, 4, generator=gen) * 0.7)
        print("  samples:", tuple(samples.shape), "mean", round(samples.mean().item(), 3),
              "std", round(samples.std().item(), 3))
