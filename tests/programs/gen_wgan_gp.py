"""WGAN-GP on tiny 8x8 images, in the style of the improved-WGAN training repositories
(gulrajani et al. and its PyTorch ports): a generator that upsamples with sub-pixel convolution
(``F.pixel_shuffle`` and ``nn.PixelShuffle``), a critic that downsamples with
``F.pixel_unshuffle`` and uses ``nn.InstanceNorm2d(affine=True)`` instead of batch norm, a
gradient penalty on random interpolates computed with ``torch.autograd.grad(create_graph=True)``,
``n_critic`` critic steps per generator step, Adam with ``betas=(0.0, 0.9)``, a hinge-loss
variant of the critic with a parametrized spectral norm, and an exponential moving average of the
generator weights (``AveragedModel`` with ``get_ema_multi_avg_fn`` and ``use_buffers=True``)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm
from torch.autograd import Variable
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

torch.manual_seed(0)


def make_bars(n):
    """Images with one bright horizontal or vertical bar, scaled to [-1, 1]."""
    pos = torch.randint(1, 7, (n, 1, 1, 1))
    vertical = torch.rand(n, 1, 1, 1) < 0.5
    grid = torch.arange(8)
    on_col = grid.view(1, 1, 1, 8) == pos
    on_row = grid.view(1, 1, 8, 1) == pos
    x = torch.where(torch.where(vertical, on_col, on_row), 1.0, -1.0)
    return x + 0.05 * torch.randn_like(x)


real_images = make_bars(128)
print("data", tuple(real_images.shape), round(real_images.mean().item(), 4))

Z = 16


class Generator(nn.Module):
    def __init__(self, ch=16):
        super().__init__()
        self.fc = nn.Linear(Z, ch * 2 * 2)
        self.conv1 = nn.Conv2d(ch, ch * 4, 3, padding=1)  # 4*ch channels -> pixel_shuffle(2)
        self.up2 = nn.Sequential(nn.Conv2d(ch, 4, 3, padding=1), nn.PixelShuffle(2))
        self.bn = nn.BatchNorm2d(ch)
        self.ch = ch

    def forward(self, z):
        h = F.relu(self.fc(z)).view(-1, self.ch, 2, 2)
        h = F.pixel_shuffle(self.conv1(h), 2)           # 2x2 -> 4x4
        h = F.relu(self.bn(h))
        return torch.tanh(self.up2(h))                  # 4x4 -> 8x8, one channel


class Critic(nn.Module):
    def __init__(self, ch=16, sn=False):
        super().__init__()
        wrap = spectral_norm if sn else (lambda m: m)
        self.conv1 = wrap(nn.Conv2d(4, ch, 3, padding=1))
        self.norm1 = nn.InstanceNorm2d(ch, affine=True)
        self.conv2 = wrap(nn.Conv2d(ch * 4, ch, 3, padding=1))
        self.out = wrap(nn.Linear(ch * 2 * 2, 1))

    def forward(self, x):
        h = F.leaky_relu(self.norm1(self.conv1(F.pixel_unshuffle(x, 2))), 0.2)   # 8 -> 4
        h = F.leaky_relu(self.conv2(F.pixel_unshuffle(h, 2)), 0.2)              # 4 -> 2
        return self.out(h.flatten(1)).squeeze(1)


def gradient_penalty(critic, real, fake):
    alpha = torch.rand(real.size(0), 1, 1, 1).expand_as(real)
    interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(interpolates)
    grads = torch.autograd.grad(outputs=scores, inputs=interpolates,
                                grad_outputs=torch.ones_like(scores),
                                create_graph=True, retain_graph=True, only_inputs=True)[0]
    grads = grads.view(grads.size(0), -1)
    return ((grads.norm(2, dim=1) - 1) ** 2).mean(), grads.norm(2, dim=1).mean()


def compute_gradient_penalty(critic, real_samples, fake_samples, alpha_np):
    """The same penalty written the old PyTorch-GAN way: legacy tensor types and Variable."""
    cuda = torch.cuda.is_available()
    Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor
    alpha = Tensor(alpha_np)
    interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
    d_interpolates = critic(interpolates)
    fake = Variable(Tensor(real_samples.shape[0]).fill_(1.0), requires_grad=False)
    assert isinstance(interpolates, Tensor) and not isinstance(fake, torch.LongTensor)
    gradients = torch.autograd.grad(outputs=d_interpolates, inputs=interpolates,
                                    grad_outputs=fake, create_graph=True, retain_graph=True,
                                    only_inputs=True)[0]
    gradients = gradients.view(gradients.size(0), -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


def train(loss_kind, steps=8, n_critic=2, batch=32, lam=10.0):
    torch.manual_seed(1)
    G = Generator()
    D = Critic(sn=(loss_kind == "hinge"))
    ema = AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.9))
    for step in range(steps):
        for _ in range(n_critic):
            idx = torch.randint(0, real_images.size(0), (batch,))
            real = real_images[idx]
            with torch.no_grad():
                fake = G(torch.randn(batch, Z))
            d_real, d_fake = D(real), D(fake)
            if loss_kind == "wgan-gp":
                gp, gnorm = gradient_penalty(D, real, fake)
                d_loss = d_fake.mean() - d_real.mean() + lam * gp
            else:
                gnorm = torch.tensor(0.0)
                d_loss = F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        for p in D.parameters():
            p.requires_grad_(False)
        g_loss = -D(G(torch.randn(batch, Z))).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        for p in D.parameters():
            p.requires_grad_(True)
        ema.update_parameters(G)
        if step % 2 == 1:
            print(loss_kind, "step", step + 1, "d_loss", round(d_loss.item(), 3),
                  "g_loss", round(g_loss.item(), 3), "grad_norm", round(gnorm.item(), 3))
    return G, D, ema


G, D, ema = train("wgan-gp")
print("n_averaged", ema.n_averaged.item(), "ema keys", len(ema.state_dict()),
      "first", list(ema.state_dict())[:2])
with torch.no_grad():
    diff = sum((pe - p).abs().sum() for pe, p in zip(ema.module.parameters(), G.parameters()))
    print("ema vs live weight L1", round(diff.item(), 3))
    print("ema bn running_mean", [round(v, 3) for v in ema.module.bn.running_mean[:4].tolist()],
          "live", [round(v, 3) for v in G.bn.running_mean[:4].tolist()])
    G.eval()
    ema.eval()
    z = torch.randn(64, Z)
    samples = ema(z)
    print("ema samples", tuple(samples.shape), "mean", round(samples.mean().item(), 3),
          "range", round(samples.min().item(), 3), round(samples.max().item(), 3))
    print("live vs ema sample gap", round((G(z) - samples).abs().mean().item(), 3))

alpha_np = np.random.RandomState(0).random((16, 1, 1, 1))
with torch.no_grad():
    fake16 = G(torch.randn(16, Z))
gp_old = compute_gradient_penalty(D, real_images[:16], fake16, alpha_np)
torch.manual_seed(5)
gp_new, _ = gradient_penalty(D, real_images[:16], fake16)   # torch.rand alphas: another value
print("legacy-style gradient penalty", round(gp_old.item(), 4), "modern", round(gp_new.item(), 4))

_, Dh, _ = train("hinge", steps=4)
print("spectral-norm parametrized", [n for n, _ in Dh.named_parameters()][:3])
with torch.no_grad():
    w = Dh.conv2.weight.flatten(1)
    print("sigma(conv2 weight)", round(torch.linalg.matrix_norm(w, ord=2).item(), 2))
    print("critic on real", round(Dh(real_images[:64]).mean().item(), 3))
