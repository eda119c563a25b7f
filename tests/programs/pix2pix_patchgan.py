"""pix2pix image-to-image translation, in the style of the pytorch-CycleGAN-and-pix2pix
repository: a small U-Net generator whose encoder and decoder are joined by skip connections
(``torch.cat`` along channels), ``InstanceNorm2d``, ``LeakyReLU(0.2)`` downsampling,
``ConvTranspose2d`` upsampling with dropout, and a 70x70-style PatchGAN discriminator that
scores overlapping patches of the (input, output) pair. The generator loss is the adversarial
``BCEWithLogitsLoss`` plus ``lambda * L1``; both nets use Adam with ``betas=(0.5, 0.999)``
and weights initialised from N(0, 0.02) by ``Module.apply``. The task is a toy one: map a
grey-level edge map to a coloured image. Everything is drawn from ``torch.manual_seed``."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


def make_pairs(n, size=16):
    """Coloured squares (target) and their grey outlines (input)."""
    target = torch.zeros(n, 3, size, size)
    lo = torch.randint(1, size // 2, (n, 2))
    side = torch.randint(4, size // 2, (n,))
    colour = torch.rand(n, 3) * 2 - 1
    for i in range(n):
        y, x = lo[i].tolist()
        s = side[i].item()
        target[i, :, y:y + s, x:x + s] = colour[i].view(3, 1, 1)
    grey = target.abs().sum(1, keepdim=True)
    edges = (F.max_pool2d(grey, 3, 1, 1) - (-F.max_pool2d(-grey, 3, 1, 1))).clamp(0, 1)
    return edges * 2 - 1, target


class Down(nn.Module):
    def __init__(self, cin, cout, norm=True):
        super().__init__()
        layers = [nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm)]
        if norm:
            layers.append(nn.InstanceNorm2d(cout))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return self.block(x)


class Up(nn.Module):
    def __init__(self, cin, cout, dropout=0.0):
        super().__init__()
        layers = [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False),
                  nn.InstanceNorm2d(cout), nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.block = nn.Sequential(*layers)

    def forward(self, x, skip):
        return torch.cat([self.block(x), skip], dim=1)


class UNetGenerator(nn.Module):
    def __init__(self, cin=1, cout=3, f=8):
        super().__init__()
        self.d1 = Down(cin, f, norm=False)    # 8x8
        self.d2 = Down(f, 2 * f)              # 4x4
        self.d3 = Down(2 * f, 4 * f)          # 2x2
        self.u2 = Up(4 * f, 2 * f, dropout=0.5)
        self.u3 = Up(4 * f, f)
        self.out = nn.Sequential(nn.ConvTranspose2d(2 * f, cout, 4, 2, 1), nn.Tanh())

    def forward(self, x):
        s1 = self.d1(x)
        s2 = self.d2(s1)
        s3 = self.d3(s2)
        y = self.u2(s3, s2)
        y = self.u3(y, s1)
        return self.out(y)


class PatchDiscriminator(nn.Module):
    def __init__(self, cin=4, f=8):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(cin, f, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False), nn.InstanceNorm2d(2 * f, affine=True),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * f, 1, 3, 1, 1),
        )

    def forward(self, src, img):
        return self.net(torch.cat([src, img], 1))


def init_weights(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.InstanceNorm2d) and m.affine:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


G, D = UNetGenerator(), PatchDiscriminator()
G.apply(init_weights)
D.apply(init_weights)
print(G.u2)
print("G params", sum(p.numel() for p in G.parameters()),
      "D params", sum(p.numel() for p in D.parameters()))

src, tgt = make_pairs(32)
print("edge fraction", round((src > 0).float().mean().item(), 4))
opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
gan_loss = nn.BCEWithLogitsLoss()
l1 = nn.L1Loss()
lam = 100.0

for step in range(12):
    idx = torch.randperm(32)[:8]
    a, b = src[idx], tgt[idx]
    fake = G(a)
    # discriminator: real pairs -> 1, generated pairs (detached) -> 0
    opt_d.zero_grad()
    pred_real = D(a, b)
    pred_fake = D(a, fake.detach())
    loss_d = 0.5 * (gan_loss(pred_real, torch.ones_like(pred_real))
                    + gan_loss(pred_fake, torch.zeros_like(pred_fake)))
    loss_d.backward()
    opt_d.step()
    # generator: fool D and stay close to the target in L1
    opt_g.zero_grad()
    pred = D(a, fake)
    loss_adv = gan_loss(pred, torch.ones_like(pred))
    loss_l1 = l1(fake, b)
    loss_g = loss_adv + lam * loss_l1
    loss_g.backward()
    opt_g.step()
    if step % 3 == 0 or step == 11:
        print(f"step {step:2d} D {loss_d.item():.4f} G_adv {loss_adv.item():.4f} "
              f"L1 {loss_l1.item():.4f} patch {tuple(pred.shape)}")

G.eval()
with torch.no_grad():
    out = G(src[:4])
print("eval L1", round(F.l1_loss(out, tgt[:4]).item(), 4),
      "out range", round(out.min().item(), 2), round(out.max().item(), 2))  # 3rd: CPU-dependent
print("instance-norm stats", G.d2.block[1].track_running_stats, G.d2.block[1].affine)
