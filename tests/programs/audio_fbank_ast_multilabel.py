"""Audio-tagging with Kaldi-style filterbanks and an AST-like (Audio Spectrogram Transformer)
model, multi-label as on AudioSet, without torchaudio.

Pre-emphasis with F.conv1d, framing with Tensor.unfold, a Hamming window (periodic=False) and
torch.fft.rfft, log-mel energies, replicate-padded delta features, per-utterance CMVN; the model
cuts overlapping 2-D patches with a strided Conv2d, adds separate frequency and time position
embeddings, and pools with attention. Trained with BCEWithLogitsLoss(pos_weight) and evaluated
with mean average precision computed by sort/cumsum.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(5)
SR, FRAME, SHIFT, N_FFT, N_MELS, N_TAGS = 8000, 200, 80, 256, 16, 4


def mel_banks(n_mels, n_fft, sr, low=20.0, high=None):
    high = high or sr / 2
    mel = lambda f: 1127.0 * torch.log1p(torch.as_tensor(f, dtype=torch.float32) / 700.0)  # noqa: E731
    mel_pts = torch.linspace(mel(low).item(), mel(high).item(), n_mels + 2)
    bin_mel = mel(torch.arange(n_fft // 2 + 1) * sr / n_fft)
    left, center, right = mel_pts[:-2, None], mel_pts[1:-1, None], mel_pts[2:, None]
    up = (bin_mel - left) / (center - left)
    down = (right - bin_mel) / (right - center)
    return torch.clamp(torch.minimum(up, down), min=0.0)  # n_mels x bins


def fbank(wav, banks):
    wav = wav - wav.mean(dim=-1, keepdim=True)
    pre = F.conv1d(F.pad(wav.unsqueeze(1), (1, 0), mode="replicate"),
                   torch.tensor([[[-0.97, 1.0]]])).squeeze(1)   # y[t] = x[t] - 0.97 x[t-1]
    frames = pre.unfold(-1, FRAME, SHIFT)                         # B, T, FRAME
    frames = frames * torch.hamming_window(FRAME, periodic=False)
    spec = torch.fft.rfft(frames, n=N_FFT).abs().pow(2)           # B, T, bins
    energy = torch.matmul(spec, banks.t()).clamp_min(torch.finfo(torch.float32).eps).log()
    return energy.transpose(1, 2)                                 # B, mel, T


def deltas(feat, win=2):
    denom = 2 * sum(i * i for i in range(1, win + 1))
    kernel = torch.arange(-win, win + 1, dtype=feat.dtype).flip(0).repeat(feat.shape[1], 1, 1)
    padded = F.pad(feat, (win, win), mode="replicate")
    return F.conv1d(padded, kernel, groups=feat.shape[1]) / denom


class ASTLike(nn.Module):
    def __init__(self, n_tags, dim=32, f_dim=16, t_dim=23, patch=4, stride=3):
        super().__init__()
        self.proj = nn.Conv2d(1, dim, kernel_size=(patch, patch), stride=(stride, stride))
        f_out = (f_dim - patch) // stride + 1
        t_out = (t_dim - patch) // stride + 1
        self.f_pos = nn.Parameter(torch.zeros(1, dim, f_out, 1))
        self.t_pos = nn.Parameter(torch.zeros(1, dim, 1, t_out))
        nn.init.trunc_normal_(self.f_pos, std=0.02)
        nn.init.trunc_normal_(self.t_pos, std=0.02)
        layer = nn.TransformerEncoderLayer(dim, 4, dim * 2, dropout=0.0, batch_first=True,
                                           norm_first=True, activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.att = nn.Linear(dim, n_tags)
        self.cla = nn.Linear(dim, n_tags)

    def forward(self, feat):
        x = self.proj(feat.unsqueeze(1)) + self.f_pos + self.t_pos   # B, D, F', T'
        x = self.encoder(x.flatten(2).transpose(1, 2))                # B, N, D
        w = torch.softmax(self.att(x).clamp(-10, 10), dim=1)          # attention pooling
        return (w * self.cla(x)).sum(dim=1)


def average_precision(scores, targets):
    order = torch.argsort(scores, descending=True, stable=True)
    t = targets[order]
    hits = torch.cumsum(t, 0)
    precision = hits / torch.arange(1, len(t) + 1)
    return (precision * t).sum() / t.sum().clamp(min=1)


def make_clip(tags, n=2000):
    t = np.arange(n) / SR
    wav = rng.normal(0, 0.05, n)
    freqs = [300.0, 900.0, 1800.0, 3000.0]
    for k in np.flatnonzero(tags):
        start = rng.integers(0, n // 2)
        env = np.zeros(n)
        env[start:start + n // 2] = 1.0
        wav += env * np.sin(2 * np.pi * freqs[k] * t)
    return wav.astype(np.float32)


tags = (rng.random((24, N_TAGS)) < 0.35).astype(np.float32)
wavs = torch.from_numpy(np.stack([make_clip(tg) for tg in tags]))
targets = torch.from_numpy(tags)
banks = mel_banks(N_MELS, N_FFT, SR)
print("banks:", tuple(banks.shape), "peak bins:", banks.argmax(dim=1)[:6].tolist())

feat = fbank(wavs, banks)
print("fbank:", tuple(feat.shape), f"mean {feat.mean().item():.4f}")
d = deltas(feat)
print("delta:", tuple(d.shape), f"abs mean {d.abs().mean().item():.4f}")
mean, std = feat.mean(dim=-1, keepdim=True), feat.std(dim=-1, keepdim=True)
feat = (feat - mean) / (std + 1e-5)
print("cmvn:", f"{feat.mean().abs().item():.4f}", f"{feat.std(dim=-1).mean().item():.4f}")

model = ASTLike(N_TAGS)
print("patch grid:", tuple(model.proj(feat[:1].unsqueeze(1)).shape[2:]))
pos_weight = (1 - targets).sum(0) / targets.sum(0).clamp(min=1)
print("pos_weight:", pos_weight.round(decimals=3))
criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.95, 0.999), eps=1e-8)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[6, 9], gamma=0.5)

for epoch in range(12):
    model.train()
    idx = torch.randperm(24)[:12]
    logits = model(feat[idx])
    loss = criterion(logits, targets[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    if epoch % 3 == 2:
        print(f"epoch {epoch} loss {loss.item():.4f} lr {scheduler.get_last_lr()[0]:.6f}")

model.eval()
with torch.no_grad():
    probs = torch.sigmoid(model(feat))
aps = torch.stack([average_precision(probs[:, k], targets[:, k]) for k in range(N_TAGS)])
print("AP per tag:", aps.round(decimals=3), f"mAP {aps.mean().item():.4f}")
preds = (probs > 0.5).float()
tp = (preds * targets).sum(0)
f1 = 2 * tp / (preds.sum(0) + targets.sum(0)).clamp(min=1)
print("F1 per tag:", f1.round(decimals=3))
print("frame check:", math.floor((2000 - FRAME) / SHIFT) + 1 == feat.shape[-1])
