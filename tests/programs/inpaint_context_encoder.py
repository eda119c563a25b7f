"""Context Encoders (Pathak et al. 2016): fill a missing centre with an adversarial loss.

Follows the structure of the widely used PyTorch port (BoyuanJiang/context_encoder_pytorch):
a DCGAN-style encoder / bottleneck / transposed-conv decoder predicts the centre patch; the
input's centre is overwritten with the dataset mean through ``.data`` writes; the
reconstruction loss weights the overlap band more (``wtl2``), the adversarial term uses
``nn.BCELoss`` on a sigmoid discriminator with ``label.data.fill_`` for real/fake labels;
weights are initialised by ``model.apply(weights_init)`` on class names; two Adam optimisers
with betas (0.5, 0.999); the generator's running checkpoint goes through ``state_dict``.
"""

import io
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

torch.manual_seed(3)
rng = np.random.default_rng(3)

imageSize, overlapPred, wtl2 = 32, 2, 0.998
nc, nef, ngf, ndf, nBottleneck = 3, 8, 8, 8, 16
center = imageSize // 4                               # 8: the centre square is [8:24, 8:24]


class netG(nn.Module):
    def __init__(self):
        super(netG, self).__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, nef, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(nef, nef * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(nef * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(nef * 2, nBottleneck, 8, bias=False),       # 8x8 -> 1x1 bottleneck
            nn.BatchNorm2d(nBottleneck),
            nn.LeakyReLU(0.2, inplace=True),
            nn.ConvTranspose2d(nBottleneck, ngf * 2, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, input):
        return self.main(input)


class netlocalD(nn.Module):
    def __init__(self):
        super(netlocalD, self).__init__()
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
        return self.main(input).view(-1, 1)


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        m.weight.data.normal_(0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)


netG_ = netG()
netG_.apply(weights_init)
netD = netlocalD()
netD.apply(weights_init)
print(netD)

criterion = nn.BCELoss()
criterionMSE = nn.MSELoss()

# textured synthetic images in [-1, 1]
B = 6
yy, xx = np.mgrid[0:imageSize, 0:imageSize] / imageSize
freqs = rng.uniform(1, 3, (B, nc, 2))
images = np.sin(2 * np.pi * (freqs[..., :1, None] * xx + freqs[..., 1:, None] * yy))
dataset = torch.utils.data.TensorDataset(torch.tensor(images, dtype=torch.float32))
loader = torch.utils.data.DataLoader(dataset, batch_size=3, shuffle=True,
                                     generator=torch.Generator().manual_seed(0))

input_real = torch.FloatTensor(3, nc, imageSize, imageSize)
input_cropped = torch.FloatTensor(3, nc, imageSize, imageSize)
label = torch.FloatTensor(3)
real_label, fake_label = 1, 0
real_center = torch.FloatTensor(3, nc, imageSize // 2, imageSize // 2)

optimizerD = optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
optimizerG = optim.Adam(netG_.parameters(), lr=2e-4, betas=(0.5, 0.999))

for epoch in range(3):
    for i, (real_cpu,) in enumerate(loader):
        real_center_cpu = real_cpu[:, :, center:center + imageSize // 2,
                                   center:center + imageSize // 2]
        batch_size = real_cpu.size(0)
        input_real.data.resize_(real_cpu.size()).copy_(real_cpu)
        input_cropped.data.resize_(real_cpu.size()).copy_(real_cpu)
        real_center.data.resize_(real_center_cpu.size()).copy_(real_center_cpu)
        o = overlapPred
        input_cropped.data[:, 0, center + o:3 * center - o, center + o:3 * center - o] = \
            2 * 117.0 / 255.0 - 1.0
        input_cropped.data[:, 1, center + o:3 * center - o, center + o:3 * center - o] = \
            2 * 104.0 / 255.0 - 1.0
        input_cropped.data[:, 2, center + o:3 * center - o, center + o:3 * center - o] = \
            2 * 123.0 / 255.0 - 1.0

        # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        label.data.resize_(batch_size).fill_(real_label)
        output = netD(real_center)
        errD_real = criterion(output, label.view(-1, 1))
        errD_real.backward()
        D_x = output.data.mean()

        fake = netG_(input_cropped)
        label.data.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label.view(-1, 1))
        errD_fake.backward()
        D_G_z1 = output.data.mean()
        errD = errD_real + errD_fake
        optimizerD.step()

        # (2) update G: adversarial + overlap-weighted L2
        netG_.zero_grad()
        label.data.fill_(real_label)
        output = netD(fake)
        errG_D = criterion(output, label.view(-1, 1))
        wtl2Matrix = real_center.clone()
        wtl2Matrix.data.fill_(wtl2 * 10)
        wtl2Matrix.data[:, :, o:imageSize // 2 - o, o:imageSize // 2 - o] = wtl2
        errG_l2 = (fake - real_center).pow(2)
        errG_l2 = errG_l2 * wtl2Matrix
        errG_l2 = errG_l2.mean()
        errG = (1 - wtl2) * errG_D + wtl2 * errG_l2
        errG.backward()
        D_G_z2 = output.data.mean()
        optimizerG.step()

        print("[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f / %.4f l_D(x): %.4f l_D(G(z)): %.4f / %.4f"
              % (epoch, 3, i, len(loader), errD.item(), errG_D.item(), errG_l2.item(), D_x,
                 D_G_z1, D_G_z2))

# checkpoint round trip, then inference with the recon pasted into the hole
buffer = io.BytesIO()
torch.save({"epoch": 3, "state_dict": netG_.state_dict()}, buffer)
buffer.seek(0)
restored = netG()
ckpt = torch.load(buffer, weights_only=True)
missing = restored.load_state_dict(ckpt["state_dict"])
print("restored epoch", ckpt["epoch"], missing)
restored.eval()
with torch.no_grad():
    recon = restored(input_cropped)
    filled = input_cropped.clone()
    filled.data[:, :, center + o:3 * center - o, center + o:3 * center - o] = \
        recon.data[:, :, o:imageSize // 2 - o, o:imageSize // 2 - o]
    l2_center = criterionMSE(recon, real_center)
print("recon shape", tuple(recon.shape), "center MSE %.4f" % l2_center.item())
print("filled range [%.3f, %.3f]" % (filled.min().item(), filled.max().item()))
print(filled[0, 0, 10:13, 10:13])

# the 2016-era code summed the error with the old-style argument; torch says what it means now
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    criterion_sum = nn.MSELoss(size_average=False)
print("summed center error %.1f" % criterion_sum(recon, real_center).item())  # sum order
print("warning:", caught[0].category.__name__, caught[0].message)
