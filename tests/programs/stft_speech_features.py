"""Speech-style front end with torch.stft/istft, in the manner of audio tutorials and
keyword-spotting repositories: a Hann-windowed STFT of synthetic chirps and tones, a power
spectrogram, a triangular mel filterbank built by hand, log-mel features with per-utterance
normalisation (CMVN), SpecAugment time/frequency masking, perfect reconstruction through
istft, a few Griffin-Lim iterations from the magnitude alone, and a small Conv2d keyword
classifier trained on the log-mel features."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
sr, n_fft, hop = 4000, 128, 32
n_mels = 20
dur = 2048                                     # samples per utterance


def make_wave(kind, f0):
    t = torch.arange(dur) / sr
    if kind == 0:                              # steady tone
        phase = 2 * math.pi * f0 * t
    elif kind == 1:                            # rising chirp
        phase = 2 * math.pi * (f0 * t + 600.0 * t ** 2)
    else:                                      # two-tone chord
        return 0.6 * torch.sin(2 * math.pi * f0 * t) + 0.4 * torch.sin(2 * math.pi * 2.5 * f0 * t)
    return torch.sin(phase)


labels = torch.randint(0, 3, (48,))
f0s = 200 + 400 * torch.rand(48)
waves = torch.stack([make_wave(int(k), float(f)) for k, f in zip(labels, f0s)])
waves = waves + 0.05 * torch.randn_like(waves)
print("waves", tuple(waves.shape), waves.dtype)

window = torch.hann_window(n_fft)
print("hann window", window.shape, round(window.sum().item(), 4),
      round(window[n_fft // 2].item(), 4), "periodic", window[0].item(),
      round(torch.hann_window(n_fft, periodic=False)[-1].item(), 4))

spec = torch.stft(waves, n_fft=n_fft, hop_length=hop, win_length=n_fft, window=window,
                  center=True, pad_mode="reflect", normalized=False, onesided=True,
                  return_complex=True)
print("stft", tuple(spec.shape), spec.dtype)
power = spec.abs() ** 2
print("power", round(power.mean().item(), 3), round(power[0, :, 10].max().item(), 2))
freqs = torch.fft.rfftfreq(n_fft, d=1.0 / sr)
peak_bin = power[0].mean(dim=1).argmax()
print("first utterance label", labels[0].item(), "f0", round(f0s[0].item(), 1),
      "peak at", freqs[peak_bin].item(), "Hz")


def hz_to_mel(f):
    return 2595.0 * torch.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(n_freqs, n_mels, sr):
    all_freqs = torch.linspace(0, sr // 2, n_freqs)
    m_pts = torch.linspace(hz_to_mel(torch.tensor(0.0)), hz_to_mel(torch.tensor(sr / 2.0)),
                           n_mels + 2)
    f_pts = mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)          # (n_freqs, n_mels + 2)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.max(torch.zeros(1), torch.min(down, up))


fb = mel_filterbank(n_fft // 2 + 1, n_mels, sr)
print("filterbank", tuple(fb.shape), round(fb.sum().item(), 3), (fb.sum(0) > 0).all().item())
mel = torch.matmul(power.transpose(1, 2), fb).transpose(1, 2)    # (B, n_mels, frames)
logmel = torch.log(torch.clamp(mel, min=1e-10))
mean = logmel.mean(dim=2, keepdim=True)
std = logmel.std(dim=2, keepdim=True)
feats = (logmel - mean) / (std + 1e-5)
print("log-mel", tuple(feats.shape), round(logmel.mean().item(), 3), round(feats.std().item(), 3))

# perfect reconstruction: istft inverts stft with the same window (overlap-add)
recon = torch.istft(spec, n_fft=n_fft, hop_length=hop, win_length=n_fft, window=window,
                    center=True, length=dur)
print("istft", tuple(recon.shape), "max error below 1e-4:",
      (recon - waves).abs().max().item() < 1e-4)

# Griffin-Lim: recover a phase for the magnitude of one utterance
mag = spec[:1].abs()
angles = torch.exp(2j * math.pi * torch.rand(mag.shape))
errs = []
for it in range(8):
    y = torch.istft(mag * angles, n_fft=n_fft, hop_length=hop, window=window, length=dur)
    rebuilt = torch.stft(y, n_fft=n_fft, hop_length=hop, window=window, return_complex=True)
    angles = torch.exp(1j * torch.angle(rebuilt))
    errs.append((rebuilt.abs() - mag).norm().item() / mag.norm().item())
print("griffin-lim spectral error", round(errs[0], 2), "->", round(errs[-1], 2),
      "decreasing", errs[-1] < errs[0])


def spec_augment(x, F_max=4, T_max=6):
    x = x.clone()
    for b in range(x.shape[0]):
        f = int(torch.randint(0, F_max + 1, ()).item())
        f0 = int(torch.randint(0, n_mels - f + 1, ()).item())
        x[b, f0:f0 + f, :] = 0.0
        t = int(torch.randint(0, T_max + 1, ()).item())
        t0 = int(torch.randint(0, x.shape[2] - t + 1, ()).item())
        x[b, :, t0:t0 + t] = 0.0
    return x


masked = spec_augment(feats[:4])
print("specaugment zeros per utterance", (masked == 0).sum(dim=(1, 2)).tolist())


class KeywordNet(nn.Module):
    def __init__(self, n_classes=3):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, n_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x.unsqueeze(1)))), 2)
        x = F.relu(self.conv2(x))
        return self.fc(torch.flatten(self.pool(x), 1))


model = KeywordNet()
opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
train_x, train_y = feats[:36], labels[:36]
test_x, test_y = feats[36:], labels[36:]
for epoch in range(6):
    model.train()
    perm = torch.randperm(36)
    total = 0.0
    for i in range(0, 36, 12):
        idx = perm[i:i + 12]
        loss = F.cross_entropy(model(spec_augment(train_x[idx])), train_y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    if epoch % 2 == 1:
        print("epoch", epoch, "loss", round(total / 3, 3))
model.eval()
with torch.no_grad():
    pred = model(test_x).argmax(1)
print("test accuracy", (pred == test_y).float().mean().item())
