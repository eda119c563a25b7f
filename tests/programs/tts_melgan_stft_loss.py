"""A MelGAN / Parallel WaveGAN style vocoder on toy audio, as the official MelGAN, HiFi-GAN and
ParallelWaveGAN code write it: ``ConvTranspose1d`` upsampling and residual stacks of dilated
convolutions wrapped in ``torch.nn.utils.parametrizations.weight_norm`` (and the old
``torch.nn.utils.weight_norm`` / ``remove_weight_norm`` pair), ``nn.ReflectionPad1d``,
``F.leaky_relu``, a WaveNet causal conv built with ``F.pad(x, (k - 1) * d, 0)``, a multi-scale
discriminator with ``nn.AvgPool1d(count_include_pad=False)`` and least-squares GAN losses with
feature matching, and the multi-resolution STFT loss (``torch.stft(return_complex=True)`` with
``torch.hann_window``/``hamming_window``, spectral convergence by ``torch.norm(p="fro")``, log
STFT magnitude L1). Also ``torch.istft`` round trip and ``parametrize.is_parametrized``."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

torch.manual_seed(0)
rng = np.random.default_rng(0)
sr, hop, n_mels, B = 800, 16, 8, 2
T_frames = 8
t = np.arange(T_frames * hop) / sr
audio = np.stack([0.5 * np.sin(2 * math.pi * 110 * t) + 0.05 * rng.normal(size=t.shape),
                  0.4 * np.sin(2 * math.pi * 170 * t + 1.0) * np.exp(-t * 3)])
audio = torch.from_numpy(audio.astype(np.float32))
mel = torch.from_numpy(rng.normal(0, 1, size=(B, n_mels, T_frames)).astype(np.float32))
print("audio", tuple(audio.shape), "mel", tuple(mel.shape))


class ResStack(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(
            nn.LeakyReLU(0.2), nn.ReflectionPad1d(3 ** i),
            weight_norm(nn.Conv1d(ch, ch, 3, dilation=3 ** i)), nn.LeakyReLU(0.2),
            weight_norm(nn.Conv1d(ch, ch, 1))) for i in range(3))
        self.shortcuts = nn.ModuleList(weight_norm(nn.Conv1d(ch, ch, 1)) for _ in range(3))

    def forward(self, x):
        for block, sc in zip(self.blocks, self.shortcuts):
            x = sc(x) + block(x)
        return x


class Generator(nn.Module):
    def __init__(self, ch=16):
        super().__init__()
        layers = [nn.ReflectionPad1d(3), weight_norm(nn.Conv1d(n_mels, ch, 7))]
        for r in (4, 4):
            layers += [nn.LeakyReLU(0.2),
                       weight_norm(nn.ConvTranspose1d(ch, ch // 2, r * 2, stride=r,
                                                      padding=r // 2 + r % 2,
                                                      output_padding=r % 2)),
                       ResStack(ch // 2)]
            ch //= 2
        layers += [nn.LeakyReLU(0.2), nn.ReflectionPad1d(3), weight_norm(nn.Conv1d(ch, 1, 7)),
                   nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, m):
        return self.net(m)


class CausalConv(nn.Module):
    """WaveNet's dilated causal convolution: left-pad by (k - 1) * dilation."""

    def __init__(self, cin, cout, k, dilation):
        super().__init__()
        self.pad = (k - 1) * dilation
        self.conv = nn.Conv1d(cin, cout, k, dilation=dilation)

    def forward(self, x):
        return self.conv(F.pad(x, (self.pad, 0)))


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([
            weight_norm(nn.Conv1d(1, 8, 15, padding=7)),
            weight_norm(nn.Conv1d(8, 16, 41, stride=4, padding=20, groups=4)),
            weight_norm(nn.Conv1d(16, 16, 5, padding=2)),
            weight_norm(nn.Conv1d(16, 1, 3, padding=1))])

    def forward(self, x):
        feats = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.leaky_relu(x, 0.2)
            feats.append(x)
        return feats


class MultiScale(nn.Module):
    def __init__(self):
        super().__init__()
        self.discs = nn.ModuleList(Discriminator() for _ in range(2))
        self.pool = nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)

    def forward(self, x):
        outs = []
        for d in self.discs:
            outs.append(d(x))
            x = self.pool(x)
        return outs


def stft_mag(x, n_fft, hop_length, win_length, window_fn):
    window = window_fn(win_length, dtype=x.dtype)
    spec = torch.stft(x, n_fft, hop_length, win_length, window, return_complex=True)
    return torch.sqrt(torch.clamp(spec.real ** 2 + spec.imag ** 2, min=1e-7)).transpose(2, 1)


class MultiResolutionSTFTLoss(nn.Module):
    def __init__(self, resolutions=((32, 8, 24), (64, 16, 48), (16, 4, 16))):
        super().__init__()
        self.resolutions = resolutions

    def forward(self, y_hat, y):
        sc_total = mag_total = 0.0
        for i, (n_fft, h, w) in enumerate(self.resolutions):
            fn = torch.hann_window if i % 2 == 0 else torch.hamming_window
            m_hat, m = stft_mag(y_hat, n_fft, h, w, fn), stft_mag(y, n_fft, h, w, fn)
            sc_total = sc_total + torch.norm(m - m_hat, p="fro") / torch.norm(m, p="fro")
            mag_total = mag_total + F.l1_loss(torch.log(m), torch.log(m_hat))
        n = len(self.resolutions)
        return sc_total / n, mag_total / n


gen, msd = Generator(), MultiScale()
conv = gen.net[1]
print("parametrized", parametrize.is_parametrized(conv), parametrize.is_parametrized(conv, "bias"),
      sorted(n for n, _ in conv.named_parameters()))
print("weight_g/v shapes", tuple(conv.parametrizations.weight.original0.shape),
      tuple(conv.parametrizations.weight.original1.shape))
print("g equals |v| per out channel", torch.allclose(
    conv.parametrizations.weight.original0.flatten(),
    conv.parametrizations.weight.original1.flatten(1).norm(dim=1)))
y_hat = gen(mel)
print("generated", tuple(y_hat.shape), round(y_hat.abs().mean().item(), 4))

wavenet = nn.Sequential(*[CausalConv(1 if i == 0 else 4, 4, 2, 2 ** i) for i in range(4)])
x = torch.zeros(1, 1, 20)
x[0, 0, 10] = 1.0
x.requires_grad_(True)
out = wavenet(x)
out[0, :, 12].sum().backward()
print("causal receptive field (inputs touching output 12):",
      x.grad[0, 0].nonzero().flatten().tolist())

stft_loss = MultiResolutionSTFTLoss()
opt_g = torch.optim.Adam(gen.parameters(), lr=1e-3, betas=(0.5, 0.9))
opt_d = torch.optim.Adam(msd.parameters(), lr=1e-3, betas=(0.5, 0.9))
target = audio.unsqueeze(1)
for step in range(4):
    y_hat = gen(mel)
    d_real, d_fake = msd(target), msd(y_hat.detach())
    loss_d = sum(torch.mean((1 - r[-1]) ** 2) + torch.mean(f[-1] ** 2)
                 for r, f in zip(d_real, d_fake))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()

    d_fake = msd(y_hat)
    d_real = msd(target)
    adv = sum(torch.mean((1 - f[-1]) ** 2) for f in d_fake)
    fm = sum(F.l1_loss(ff, rf.detach()) for fr, rr in zip(d_fake, d_real)
             for ff, rf in zip(fr[:-1], rr[:-1]))
    sc, mag = stft_loss(y_hat.squeeze(1), audio)
    loss_g = adv + 2.0 * fm + 2.5 * (sc + mag)
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    print(f"step {step} D {loss_d.item():.4f} adv {adv.item():.4f} fm {fm.item():.4f} "
          f"sc {sc.item():.4f} mag {mag.item():.4f}")

# inference export: remove weight norm (old API) / bake the parametrization (new API)
old = nn.utils.weight_norm(nn.Conv1d(2, 3, 3))
print("old-style names", sorted(n for n, _ in old.named_parameters()))
nn.utils.remove_weight_norm(old)
print("after remove_weight_norm", sorted(n for n, _ in old.named_parameters()))
with torch.no_grad():
    before = gen(mel)
for m in gen.modules():
    if parametrize.is_parametrized(m, "weight"):
        parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
with torch.no_grad():
    after = gen(mel)
print("baked generator equal", torch.allclose(before, after, atol=1e-6),
      "state keys", len(gen.state_dict()))

# STFT round trip
win = torch.hann_window(32)
spec = torch.stft(audio, 32, 8, window=win, return_complex=True, center=True)
print("spec", tuple(spec.shape), spec.dtype)
back = torch.istft(spec, 32, 8, window=win, length=audio.shape[-1])
print("istft round trip", (back - audio).abs().max().item() < 1e-5)
print("window sums", round(torch.hann_window(16, periodic=False).sum().item(), 4),
      round(torch.hamming_window(16).sum().item(), 4),
      round(torch.blackman_window(16).sum().item(), 4),
      round(torch.kaiser_window(16, periodic=True, beta=8.0).sum().item(), 4))
