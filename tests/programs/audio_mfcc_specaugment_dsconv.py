"""Keyword spotting on MFCCs computed by hand (no torchaudio), with SpecAugment and a
depthwise-separable Conv1d network, in the style of the KWS / MatchboxNet recipes.

torch.stft + a triangular mel filterbank (HTK mel scale, Slaney norm) + an orthonormal DCT-II
matrix give MFCCs; the dB conversion clamps with top_db; SpecAugment masks time and frequency
bands drawn from a seeded torch.Generator; the model stacks depthwise (groups=channels) and
pointwise convolutions with residuals, trained with SGD + Nesterov and OneCycleLR.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(11)
SR, N_FFT, HOP, N_MELS, N_MFCC = 8000, 256, 64, 24, 12


def hz_to_mel(f):
    return 2595.0 * math.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate):
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_pts = torch.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2)
    f_pts = 700.0 * (10 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up_slopes = slopes[:, 2:] / f_diff[1:]
    fb = torch.max(torch.zeros(1), torch.min(down_slopes, up_slopes))
    enorm = 2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels])
    return fb * enorm.unsqueeze(0)


def create_dct(n_mfcc, n_mels):
    n = torch.arange(float(n_mels))
    k = torch.arange(float(n_mfcc)).unsqueeze(1)
    dct = torch.cos(math.pi / float(n_mels) * (n + 0.5) * k)
    dct[0] *= 1.0 / math.sqrt(2.0)
    dct *= math.sqrt(2.0 / float(n_mels))
    return dct.t()


def amplitude_to_db(x, multiplier=10.0, amin=1e-10, top_db=80.0):
    x_db = multiplier * torch.log10(torch.clamp(x, min=amin))
    return torch.max(x_db, (x_db.amax(dim=(-2, -1)) - top_db).view(-1, 1, 1))


class MFCC(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT))
        self.register_buffer("fb", melscale_fbanks(N_FFT // 2 + 1, 20.0, SR / 2, N_MELS, SR))
        self.register_buffer("dct", create_dct(N_MFCC, N_MELS))

    def forward(self, wav):
        spec = torch.stft(wav, N_FFT, hop_length=HOP, window=self.window, center=True,
                          pad_mode="reflect", return_complex=True)
        power = spec.abs().pow(2.0)                                  # B, F, T
        mel = torch.matmul(power.transpose(-1, -2), self.fb).transpose(-1, -2)  # B, M, T
        mel_db = amplitude_to_db(mel)
        return torch.matmul(mel_db.transpose(-1, -2), self.dct).transpose(-1, -2)


def spec_augment(x, generator, freq_mask=3, time_mask=4, n_masks=2):
    x = x.clone()
    B, Fq, T = x.shape
    for _ in range(n_masks):
        f = torch.randint(0, freq_mask + 1, (B,), generator=generator)
        f0 = (torch.rand(B, generator=generator) * (Fq - f)).long()
        t = torch.randint(0, time_mask + 1, (B,), generator=generator)
        t0 = (torch.rand(B, generator=generator) * (T - t)).long()
        fr = torch.arange(Fq).view(1, -1, 1)
        tr = torch.arange(T).view(1, 1, -1)
        fmask = (fr >= f0.view(-1, 1, 1)) & (fr < (f0 + f).view(-1, 1, 1))
        tmask = (tr >= t0.view(-1, 1, 1)) & (tr < (t0 + t).view(-1, 1, 1))
        x.masked_fill_(fmask | tmask, 0.0)
    return x


class DSConvBlock(nn.Module):
    def __init__(self, channels, kernel_size, dilation=1):
        super().__init__()
        pad = dilation * (kernel_size - 1) // 2
        self.depthwise = nn.Conv1d(channels, channels, kernel_size, padding=pad,
                                   dilation=dilation, groups=channels, bias=False)
        self.pointwise = nn.Conv1d(channels, channels, 1, bias=False)
        self.bn = nn.BatchNorm1d(channels)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return x + self.drop(F.relu(self.bn(self.pointwise(self.depthwise(x)))))


class KWSNet(nn.Module):
    def __init__(self, n_classes, channels=16):
        super().__init__()
        self.frontend = MFCC()
        self.input_norm = nn.InstanceNorm1d(N_MFCC)
        self.stem = nn.Conv1d(N_MFCC, channels, 3, padding=1)
        self.blocks = nn.Sequential(DSConvBlock(channels, 5), DSConvBlock(channels, 3, 2))
        self.head = nn.Linear(channels, n_classes)

    def forward(self, wav, augment=None):
        x = self.frontend(wav)
        if augment is not None:
            x = spec_augment(x, augment)
        x = self.blocks(F.relu(self.stem(self.input_norm(x))))
        return self.head(x.mean(dim=-1))


def make_clip(label, n=2048):
    t = np.arange(n) / SR
    base = [440.0, 1200.0, 2500.0][label]
    wav = np.sin(2 * np.pi * base * t * (1 + 0.1 * rng.uniform(-1, 1)))
    wav *= np.hanning(n) ** rng.uniform(0.5, 2.0)
    return wav + rng.normal(0, 0.1, n)


y = torch.tensor([i % 3 for i in range(30)])
x = torch.tensor(np.stack([make_clip(int(c)) for c in y]), dtype=torch.float32)

model = KWSNet(3)
mfcc = model.frontend(x[:2])
print("mfcc:", tuple(mfcc.shape), mfcc.dtype)
print(mfcc[0, :4, :5].round(decimals=2))
print("fb row sums:", model.frontend.fb.sum(0)[:5].round(decimals=4))
dct = model.frontend.dct
print("dct orthonormal:", torch.allclose(dct.t() @ dct, torch.eye(N_MFCC), atol=1e-5))
print("buffers:", [name for name, _ in model.named_buffers()][:3])
depthwise = model.blocks[0].depthwise
print(depthwise, "weight", tuple(depthwise.weight.shape))

g = torch.Generator().manual_seed(5)
aug = spec_augment(mfcc, g)
print("masked fraction:", f"{(aug == 0).float().mean().item():.4f}")

optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                            weight_decay=1e-3)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=12)
for step in range(12):
    idx = torch.randperm(30)[:10]
    model.train()
    logits = model(x[idx], augment=g)
    loss = F.cross_entropy(logits, y[idx], label_smoothing=0.05)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    if step % 3 == 2:
        print(f"step {step} loss {loss.item():.4f} lr {scheduler.get_last_lr()[0]:.5f}")

model.eval()
with torch.no_grad():
    pred = model(x).argmax(-1)
conf = torch.bincount(y * 3 + pred, minlength=9).view(3, 3)
print("confusion:\n", conf)
print("per-class recall:", (conf.diag() / conf.sum(1)).round(decimals=3))
try:
    torch.stft(x[0], N_FFT, hop_length=HOP)
except RuntimeError as e:
    print("RuntimeError:", str(e).split(".")[0])
