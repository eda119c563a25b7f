"""A GAN on 2-D toy data (a ring of eight Gaussians), as in many GAN tutorials and the WGAN-GP
repositories: an MLP generator and discriminator, the non-saturating BCE-with-logits loss,
spectral normalization on the discriminator (old-style ``torch.nn.utils.spectral_norm``), an
R1-style gradient penalty with ``create_graph=True``, OneCycleLR for the generator and
CosineAnnealingWarmRestarts for the discriminator, stepped per batch. Everything is drawn from
``torch.manual_seed``, so the same seed gives PyTorch's numbers."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts, OneCycleLR

torch.manual_seed(0)


def sample_ring(n, modes=8, radius=2.0, std=0.05):
    """Points from ``modes`` Gaussians placed evenly on a circle."""
    k = torch.randint(0, modes, (n,))
    angle = 2 * math.pi * k.float() / modes
    centers = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    return centers + std * torch.randn(n, 2)


real_data = sample_ring(512)
print("data mean", [round(v, 4) for v in real_data.mean(0).tolist()],
      "radius", round(real_data.norm(dim=1).mean().item(), 4))

latent_dim = 4


class Generator(nn.Module):
    def __init__(self, z_dim=latent_dim, hidden=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, 2),
        )

    def forward(self, z):
        return self.net(z)


class Discriminator(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.net = nn.Sequential(
            spectral_norm(nn.Linear(2, hidden)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(hidden, hidden)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(hidden, 1)),
        )

    def forward(self, x):
        return self.net(x).squeeze(1)


G, D = Generator(), Discriminator()
print(D.net[0])
print("D state keys:", list(D.net[0].state_dict().keys()))
print("G params", sum(p.numel() for p in G.parameters()),
      "D params", sum(p.numel() for p in D.parameters()))

batch_size, epochs = 64, 6
steps_per_epoch = len(real_data) // batch_size
opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
sched_g = OneCycleLR(opt_g, max_lr=5e-3, epochs=epochs, steps_per_epoch=steps_per_epoch,
                     pct_start=0.3, anneal_strategy="cos")
sched_d = CosineAnnealingWarmRestarts(opt_d, T_0=steps_per_epoch, T_mult=2, eta_min=1e-4)
gamma_r1 = 0.5

for epoch in range(epochs):
    perm = torch.randperm(len(real_data))
    d_losses, g_losses, penalties = [], [], []
    for i in range(steps_per_epoch):
        real = real_data[perm[i * batch_size:(i + 1) * batch_size]]

        # discriminator step: real -> 1, fake -> 0, plus R1 penalty on real samples
        real.requires_grad_(True)
        fake = G(torch.randn(batch_size, latent_dim)).detach()
        d_real, d_fake = D(real), D(fake)
        loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        grad_real, = torch.autograd.grad(d_real.sum(), real, create_graph=True)
        r1 = grad_real.pow(2).sum(1).mean()
        opt_d.zero_grad()
        (loss_d + gamma_r1 * r1).backward()
        opt_d.step()
        sched_d.step(epoch + i / steps_per_epoch)

        # generator step: non-saturating loss
        fake = G(torch.randn(batch_size, latent_dim))
        d_out = D(fake)
        loss_g = F.binary_cross_entropy_with_logits(d_out, torch.ones_like(d_out))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        sched_g.step()

        d_losses.append(loss_d.item())
        g_losses.append(loss_g.item())
        penalties.append(r1.item())
    print(f"epoch {epoch}: D {sum(d_losses) / len(d_losses):.4f} "
          f"G {sum(g_losses) / len(g_losses):.4f} R1 {sum(penalties) / len(penalties):.4f} "
          f"lr_g {sched_g.get_last_lr()[0]:.6f} lr_d {sched_d.get_last_lr()[0]:.6f}")

# spectral norm keeps each layer's largest singular value near 1 (in eval, no power iteration)
D.eval()
with torch.no_grad():
    for idx in (0, 2, 4):
        sigma = torch.linalg.matrix_norm(D.net[idx].weight, ord=2)
        print(f"layer {idx} sigma {sigma.item():.3f}")

G.eval()
with torch.no_grad():
    samples = G(torch.randn(1000, latent_dim))
    radius = samples.norm(dim=1)
    angle = torch.atan2(samples[:, 1], samples[:, 0])
    mode = torch.remainder(torch.round(angle / (2 * math.pi / 8)), 8).long()
    counts = torch.bincount(mode, minlength=8)
    print("sample radius mean/std", round(radius.mean().item(), 3), round(radius.std().item(), 3))
    print("mode counts", counts.tolist())
    print("D(real) mean", round(torch.sigmoid(D(real_data)).mean().item(), 4),
          "D(fake) mean", round(torch.sigmoid(D(samples)).mean().item(), 4))
