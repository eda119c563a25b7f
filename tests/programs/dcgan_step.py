"""DCGAN tutorial in miniature: generator/discriminator, weights_init via apply, BCELoss,
Adam(betas=(0.5, 0.999)), the alternating D and G updates with detach()."""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

nc, nz, ngf, ndf = 1, 8, 8, 8
real_label, fake_label = 1.0, 0.0
device = torch.device("cpu")
pattern = np.random.default_rng(7)


def weights_init(m):
    # the tutorial draws normal(0, 0.02) / normal(1, 0.02); here a fixed draw from NumPy
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        w = pattern.normal(0.0, 0.02, tuple(m.weight.shape)).astype(np.float32)
        m.weight.data.copy_(torch.from_numpy(w))
    elif classname.find("BatchNorm") != -1:
        w = pattern.normal(1.0, 0.02, tuple(m.weight.shape)).astype(np.float32)
        m.weight.data.copy_(torch.from_numpy(w))
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, input):
        return self.main(input)


netG = Generator().to(device)
netG.apply(weights_init)
print(netG)
netD = Discriminator().to(device)
netD.apply(weights_init)
print(sum(p.numel() for p in netG.parameters()), sum(p.numel() for p in netD.parameters()))

criterion = nn.BCELoss()
data_rng = np.random.default_rng(0)
fixed_noise = torch.from_numpy(data_rng.standard_normal((4, nz, 1, 1)).astype(np.float32))
optimizerD = optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))

# "real" 16x16 images: bright discs of varying size
yy, xx = np.mgrid[:16, :16]
G_losses, D_losses = [], []
for i in range(6):
    radii = data_rng.uniform(3, 7, 8)
    real = (((yy - 7.5) ** 2 + (xx - 7.5) ** 2)[None] < radii[:, None, None] ** 2)
    real_cpu = torch.from_numpy(real.astype(np.float32) * 2 - 1).unsqueeze(1)
    # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
    netD.zero_grad()
    b_size = real_cpu.size(0)
    label = torch.full((b_size,), real_label, dtype=torch.float, device=device)
    output = netD(real_cpu).view(-1)
    errD_real = criterion(output, label)
    errD_real.backward()
    D_x = output.mean().item()
    noise = torch.from_numpy(data_rng.standard_normal((b_size, nz, 1, 1)).astype(np.float32))
    fake = netG(noise)
    label.fill_(fake_label)
    output = netD(fake.detach()).view(-1)
    errD_fake = criterion(output, label)
    errD_fake.backward()
    D_G_z1 = output.mean().item()
    errD = errD_real + errD_fake
    optimizerD.step()
    # (2) Update G network: maximize log(D(G(z)))
    netG.zero_grad()
    label.fill_(real_label)
    output = netD(fake).view(-1)
    errG = criterion(output, label)
    errG.backward()
    D_G_z2 = output.mean().item()
    optimizerG.step()
    print(f"[{i}/6]\tLoss_D: {errD.item():.4f}\tLoss_G: {errG.item():.4f}\t"
          f"D(x): {D_x:.4f}\tD(G(z)): {D_G_z1:.4f} / {D_G_z2:.4f}")
    G_losses.append(errG.item())
    D_losses.append(errD.item())

with torch.no_grad():
    fake = netG(fixed_noise).detach().cpu()
print(fake.shape, f"{fake.min().item():.3f} {fake.max().item():.3f} {fake.mean().item():.4f}")
bn = netG.main[1]
print(bn.num_batches_tracked, bn.running_mean[:4].round(decimals=4),
      bn.running_var[:4].round(decimals=4))
print(len(G_losses), len(optimizerD.state), sorted(optimizerG.state_dict()["state"][0]))
