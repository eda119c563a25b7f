"""FastSpeech 2 pieces on toy data, the way ming024/FastSpeech2 and ESPnet write them: a length
regulator that expands phoneme states by integer durations (``torch.repeat_interleave`` with
a tensor of repeats, ``pad_sequence``), a variance adaptor whose pitch/energy predictions are
quantized with ``torch.bucketize`` over ``torch.linspace``/``torch.exp`` bins into
``nn.Embedding``s, duration targets in the log domain (``torch.log1p``/``torch.expm1``,
``torch.clamp(torch.round(...), min=0).long()``), ``nn.TransformerEncoderLayer(batch_first=True,
norm_first=True)`` with ``src_key_padding_mask``, Conv1d-over-time with ``transpose(1, 2)``,
and a mel spectrogram made by hand (``torch.stft`` with ``onesided``/``normalized``/``center``
options, a triangular mel filterbank, ``torch.matmul``, ``torch.log(torch.clamp(min=1e-5))``),
plus ``torch.fft.rfft``/``irfft`` and ``F.interpolate(mode="linear")`` of pitch contours."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(0)
rng = np.random.default_rng(1)
n_sym, d, n_mels, B = 12, 16, 8, 3
src_lens = torch.tensor([6, 4, 5])
T_src = int(src_lens.max())
src = torch.from_numpy(rng.integers(1, n_sym, size=(B, T_src)))
src_mask = torch.arange(T_src).expand(B, -1) >= src_lens.unsqueeze(1)  # True at padding
src = src.masked_fill(src_mask, 0)
durations = torch.from_numpy(rng.integers(1, 4, size=(B, T_src))).masked_fill(src_mask, 0)
mel_lens = durations.sum(1)
print("durations", durations.tolist(), "mel lens", mel_lens.tolist())


def length_regulate(x, dur, max_len=None):
    out = [torch.repeat_interleave(xi, di, dim=0) for xi, di in zip(x, dur)]
    out = pad_sequence(out, batch_first=True)
    if max_len is not None and out.size(1) < max_len:
        out = F.pad(out, (0, 0, 0, max_len - out.size(1)))
    return out, dur.sum(1)


class VariancePredictor(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(d, d, 3, padding=1)
        self.ln1 = nn.LayerNorm(d)
        self.conv2 = nn.Conv1d(d, d, 3, padding=1)
        self.ln2 = nn.LayerNorm(d)
        self.drop = nn.Dropout(0.1)
        self.out = nn.Linear(d, 1)

    def forward(self, x, mask):
        x = self.drop(self.ln1(F.relu(self.conv1(x.transpose(1, 2))).transpose(1, 2)))
        x = self.drop(self.ln2(F.relu(self.conv2(x.transpose(1, 2))).transpose(1, 2)))
        return self.out(x).squeeze(-1).masked_fill(mask, 0.0)


n_bins = 16
pitch_bins = nn.Parameter(torch.linspace(-1.5, 1.5, n_bins - 1), requires_grad=False)
energy_bins = nn.Parameter(torch.exp(torch.linspace(np.log(0.1), np.log(3.0), n_bins - 1)),
                           requires_grad=False)


class FastSpeech2(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(n_sym, d, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(1, 64, d) * 0.1)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(
            d, 2, 32, dropout=0.0, batch_first=True, norm_first=True), 1,
            enable_nested_tensor=False)
        self.decoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(
            d, 2, 32, dropout=0.0, batch_first=True, activation="gelu"), 1,
            enable_nested_tensor=False)
        self.duration = VariancePredictor()
        self.pitch = VariancePredictor()
        self.energy = VariancePredictor()
        self.pitch_emb = nn.Embedding(n_bins, d)
        self.energy_emb = nn.Embedding(n_bins, d)
        self.mel = nn.Linear(d, n_mels)

    def forward(self, src, src_mask, dur_target=None, pitch_target=None, energy_target=None):
        x = self.emb(src) + self.pos[:, :src.size(1)]
        x = self.encoder(x, src_key_padding_mask=src_mask)
        log_dur = self.duration(x, src_mask)
        if dur_target is None:
            dur_target = torch.clamp(torch.round(torch.expm1(log_dur)), min=0).long()
        x, lens = length_regulate(x, dur_target)
        mel_mask = torch.arange(x.size(1)).expand(x.size(0), -1) >= lens.unsqueeze(1)
        p = self.pitch(x, mel_mask)
        e = self.energy(x, mel_mask)
        p_in = p if pitch_target is None else pitch_target
        e_in = e if energy_target is None else energy_target
        x = x + self.pitch_emb(torch.bucketize(p_in, pitch_bins))
        x = x + self.energy_emb(torch.bucketize(e_in, energy_bins))
        x = self.decoder(x, src_key_padding_mask=mel_mask)
        return self.mel(x), log_dur, p, e, mel_mask, lens


T_mel = int(mel_lens.max())
pitch_t = torch.from_numpy(rng.normal(0, 1, size=(B, T_mel)).astype(np.float32))
energy_t = torch.from_numpy(np.abs(rng.normal(1, 0.7, size=(B, T_mel))).astype(np.float32))
mel_t = torch.from_numpy(rng.normal(0, 1, size=(B, T_mel, n_mels)).astype(np.float32))
print("pitch buckets row 0", torch.bucketize(pitch_t[0], pitch_bins).tolist())
print("energy buckets right=True", torch.bucketize(energy_t[0], energy_bins, right=True).tolist())
print("searchsorted same", torch.equal(torch.searchsorted(pitch_bins.detach(), pitch_t[0]),
                                       torch.bucketize(pitch_t[0], pitch_bins)))

model = FastSpeech2()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
for step in range(5):
    mel, log_dur, p, e, mel_mask, lens = model(src, src_mask, durations, pitch_t, energy_t)
    keep = ~mel_mask
    mel_loss = F.l1_loss(mel.masked_select(keep.unsqueeze(-1)),
                         mel_t.masked_select(keep.unsqueeze(-1)))
    dur_loss = F.mse_loss(log_dur.masked_select(~src_mask),
                          torch.log1p(durations.float()).masked_select(~src_mask))
    p_loss = F.mse_loss(p[keep], pitch_t[keep])
    e_loss = F.mse_loss(e[keep], energy_t[keep])
    loss = mel_loss + dur_loss + p_loss + e_loss
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    print(f"step {step} mel {mel_loss.item():.4f} dur {dur_loss.item():.4f} "
          f"pitch {p_loss.item():.4f} energy {e_loss.item():.4f}")

model.eval()
with torch.no_grad():
    mel, log_dur, p, e, mel_mask, lens = model(src, src_mask)
print("predicted durations", torch.clamp(torch.round(torch.expm1(log_dur)), min=0).long().tolist())
print("inferred lengths", lens.tolist(), "mel", tuple(mel.shape))

# mel spectrogram by hand
sr, n_fft, hop = 1600, 64, 16
wave = torch.from_numpy(np.sin(2 * np.pi * 200 * np.arange(640) / sr).astype(np.float32))


def mel_filterbank(n_mels, n_fft, sr):
    hz_to_mel = lambda f: 2595.0 * torch.log10(1.0 + f / 700.0)  # noqa: E731
    mel_to_hz = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)  # noqa: E731
    mels = torch.linspace(hz_to_mel(torch.tensor(0.0)), hz_to_mel(torch.tensor(sr / 2)), n_mels + 2)
    hz = mel_to_hz(mels)
    freqs = torch.linspace(0, sr / 2, n_fft // 2 + 1)
    lower = (freqs[None, :] - hz[:-2, None]) / (hz[1:-1, None] - hz[:-2, None])
    upper = (hz[2:, None] - freqs[None, :]) / (hz[2:, None] - hz[1:-1, None])
    return torch.clamp(torch.minimum(lower, upper), min=0.0)


fb = mel_filterbank(n_mels, n_fft, sr)
spec = torch.stft(wave, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True,
                  pad_mode="reflect")
power = spec.abs() ** 2
logmel = torch.log(torch.clamp(torch.matmul(fb, power), min=1e-5))
print("filterbank", tuple(fb.shape), round(fb.sum().item(), 4))
print("log-mel", tuple(logmel.shape), [round(v, 3) for v in logmel.mean(1).tolist()])
full = torch.stft(wave, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True,
                  onesided=False, normalized=True, center=False)
print("two-sided normalized", tuple(full.shape), round(full.abs().max().item(), 4),
      "conjugate symmetric", torch.allclose(full[1], full[-1].conj(), atol=1e-5))
peak_bin = power.mean(1).argmax().item()
print("peak bin", peak_bin, "hz", peak_bin * sr / n_fft)

# pitch contour smoothing and resampling
f0 = torch.from_numpy(np.abs(rng.normal(150, 20, size=(1, 1, 10))).astype(np.float32))
up = F.interpolate(f0, size=25, mode="linear", align_corners=False)
up2 = F.interpolate(f0, scale_factor=2.5, mode="linear", align_corners=True)
print("interpolated f0", tuple(up.shape), tuple(up2.shape), round(up.mean().item(), 3),
      round(up2[0, 0, -1].item(), 3))
r = torch.fft.rfft(f0.squeeze(), n=16)
lowpass = torch.fft.irfft(r * (torch.arange(r.numel()) < 3), n=16)[:10]
print("rfft", tuple(r.shape), r.dtype, "lowpassed", [round(v, 2) for v in lowpass.tolist()])
