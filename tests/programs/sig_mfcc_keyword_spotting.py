"""MFCC front end and keyword classifier, in the manner of speech-commands repositories that
build torchaudio's transforms from torch ops: band-limited resampling with a Kaiser-windowed
sinc kernel (torch.sinc, torch.kaiser_window, strided conv1d over phase-shifted filters),
pre-emphasis, a Hamming-windowed STFT without centering and with ``normalized=True``, a
Slaney-style mel filterbank built with torch.linspace and torch.clamp, log-mel energies
(amplitude_to_DB with a top_db floor), an orthonormal DCT-II matrix giving MFCCs (checked
against torch.fft), delta features from a replicate-padded conv1d, per-utterance CMVN, and a
small dilated Conv1d classifier trained with label smoothing."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
orig_sr, sr = 6000, 4000
n_fft, win_length, hop = 96, 80, 40
n_mels, n_mfcc = 24, 12


def make_utterance(word, n):
    """Three synthetic 'words': a falling glide, a two-formant vowel, a noise burst."""
    t = torch.arange(n, dtype=torch.float64) / orig_sr
    if word == 0:
        f = 900 - 500 * t / t[-1]
        wav = torch.sin(2 * math.pi * torch.cumsum(f, 0) / orig_sr)
    elif word == 1:
        wav = torch.sin(2 * math.pi * 350 * t) + 0.5 * torch.sin(2 * math.pi * 1100 * t)
    else:
        wav = torch.randn(n, dtype=torch.float64) * torch.exp(-20 * (t - 0.1).abs())
    env = torch.hann_window(n, periodic=False, dtype=torch.float64)
    return (wav * env).float()


# --- resampling 6 kHz -> 4 kHz with a windowed-sinc kernel --------------------------------
def sinc_resample_kernel(orig, new, width=6, beta=8.0, rolloff=0.95):
    g = math.gcd(orig, new)
    orig, new = orig // g, new // g
    base = min(orig, new) * rolloff
    taps = int(math.ceil(width * orig / base))
    idx = torch.arange(-taps, taps + orig, dtype=torch.float64)[None] / orig
    t = torch.arange(0, -new, -1, dtype=torch.float64)[:, None] / new + idx
    t = (t * base).clamp(-width, width)
    # Kaiser window evaluated at the fractional positions (torch.i0), matched to kaiser_window
    window = torch.i0(beta * torch.sqrt(1 - (t / width) ** 2)) / torch.i0(torch.tensor(beta))
    kernel = torch.sinc(t) * window * base / orig
    return kernel.float().unsqueeze(1), taps, orig, new


def resample(wav, orig, new):
    kernel, taps, o, n = sinc_resample_kernel(orig, new)
    length = wav.shape[-1]
    x = F.pad(wav.unsqueeze(1), (taps, taps + o))
    y = F.conv1d(x, kernel, stride=o)                     # (B, new, frames)
    y = y.transpose(1, 2).reshape(wav.shape[0], -1)
    target = int(math.ceil(n * length / o))
    return y[..., :target]


kw = torch.kaiser_window(16, periodic=False, beta=8.0, dtype=torch.float64)
print("kaiser window", [round(v, 4) for v in kw[:4].tolist()],
      "peak", round(kw.max().item(), 4), "sum", round(kw.sum().item(), 4))
print("sinc", [round(v, 4) for v in torch.sinc(torch.tensor([0.0, 0.25, 0.5, 1.0, 1.5])).tolist()])

labels = torch.randint(0, 3, (60,))
lengths = 1200
raw = torch.stack([make_utterance(int(w), lengths) for w in labels])
wav = resample(raw, orig_sr, sr)
print("resampled", tuple(raw.shape), "->", tuple(wav.shape))
tone = torch.sin(2 * math.pi * 500 * torch.arange(1200) / orig_sr)[None]
tone_rs = resample(tone, orig_sr, sr)
ref = torch.sin(2 * math.pi * 500 * torch.arange(800) / sr)
print("resampled tone error (interior) {:.4f}".format(
    (tone_rs[0, 50:-50] - ref[50:-50]).abs().max().item()))

# --- pre-emphasis and STFT ---------------------------------------------------------------
emph = torch.cat([wav[:, :1], wav[:, 1:] - 0.97 * wav[:, :-1]], dim=1)
window = torch.hamming_window(win_length)
print("hamming", round(window[0].item(), 4), round(window.sum().item(), 4),
      "blackman", round(torch.blackman_window(win_length).sum().item(), 4),
      "bartlett", round(torch.bartlett_window(win_length, periodic=False).sum().item(), 4))
spec = torch.stft(emph, n_fft, hop_length=hop, win_length=win_length, window=window,
                  center=False, normalized=True, onesided=True, return_complex=True)
print("stft", tuple(spec.shape), spec.dtype)
plain = torch.stft(emph, n_fft, hop_length=hop, win_length=win_length, window=window,
                   center=False, return_complex=True)
print("normalized scale", round((plain.abs() / spec.abs().clamp_min(1e-12))[0, 5, 3].item(), 4),
      "sqrt(n_fft)", round(math.sqrt(n_fft), 4))
power = spec.abs().pow(2.0)


# --- Slaney mel filterbank ---------------------------------------------------------------
def hz_to_mel(f):
    f = torch.as_tensor(f, dtype=torch.float32)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz, logstep = 1000.0, math.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return torch.where(f >= min_log_hz, min_log_mel + torch.log(f / min_log_hz) / logstep, mels)


def mel_to_hz(m):
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, math.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return torch.where(m >= min_log_mel, min_log_hz * torch.exp(logstep * (m - min_log_mel)),
                       f_sp * m)


n_freqs = n_fft // 2 + 1
all_freqs = torch.linspace(0, sr // 2, n_freqs)
m_pts = torch.linspace(hz_to_mel(20.0).item(), hz_to_mel(sr / 2).item(), n_mels + 2)
f_pts = mel_to_hz(m_pts)
f_diff = f_pts.diff()
slopes = f_pts[None, :] - all_freqs[:, None]
down = -slopes[:, :-2] / f_diff[:-1]
up = slopes[:, 2:] / f_diff[1:]
fb = torch.clamp(torch.minimum(down, up), min=0.0)
enorm = 2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels])          # Slaney area normalisation
fb = fb * enorm[None]
print("filterbank", tuple(fb.shape), "empty filters", int((fb.max(dim=0).values == 0).sum()),
      "column sums", [round(v, 4) for v in fb.sum(dim=0)[:3].tolist()])

mel = torch.matmul(power.transpose(1, 2), fb).transpose(1, 2)   # (B, n_mels, frames)


def amplitude_to_db(x, top_db=60.0):
    db = 10.0 * torch.log10(torch.clamp(x, min=1e-10))
    peak = db.amax(dim=(-2, -1), keepdim=True)
    return torch.max(db, peak - top_db)


log_mel = amplitude_to_db(mel)
print("log-mel", tuple(log_mel.shape), "range", round(log_mel.min().item(), 2),
      round(log_mel.max().item(), 2))


# --- DCT-II (ortho) and MFCC --------------------------------------------------------------
def create_dct(n_out, n_in):
    n = torch.arange(float(n_in))
    k = torch.arange(float(n_out)).unsqueeze(1)
    dct = torch.cos(math.pi / float(n_in) * (n + 0.5) * k)      # (n_out, n_in)
    dct[0] *= 1.0 / math.sqrt(2.0)
    dct *= math.sqrt(2.0 / float(n_in))
    return dct.t()


dct = create_dct(n_mfcc, n_mels)
print("dct orthonormal rows", torch.allclose(dct.t() @ dct, torch.eye(n_mfcc), atol=1e-5))
mfcc = torch.matmul(log_mel.transpose(1, 2), dct).transpose(1, 2)
# the same DCT-II through an FFT of the even extension
v = log_mel[0, :, 0].double()
ext = torch.cat([v, v.flip(0)])
phase = torch.exp(-1j * math.pi * torch.arange(n_mels, dtype=torch.float64) / (2 * n_mels))
via_fft = (torch.fft.fft(ext)[:n_mels] * phase).real / 2
via_fft = via_fft * math.sqrt(2.0 / n_mels)
via_fft[0] = via_fft[0] / math.sqrt(2.0)
print("dct via fft max diff {:.4f}".format(
    (via_fft[:n_mfcc] - mfcc[0, :, 0].double()).abs().max().item()))
print("mfcc", tuple(mfcc.shape), [round(v, 2) for v in mfcc[0, :4, 2].tolist()])


# --- deltas ------------------------------------------------------------------------------
def compute_deltas(spec, win_length=5):
    n = (win_length - 1) // 2
    denom = n * (n + 1) * (2 * n + 1) / 3
    shape = spec.shape
    x = spec.reshape(1, -1, shape[-1])
    x = F.pad(x, (n, n), mode="replicate")
    kernel = torch.arange(-n, n + 1, dtype=spec.dtype).repeat(x.shape[1], 1, 1)
    out = F.conv1d(x, kernel, groups=x.shape[1]) / denom
    return out.reshape(shape)


d1 = compute_deltas(mfcc)
d2 = compute_deltas(d1)
feats = torch.cat([mfcc, d1, d2], dim=1)
feats = (feats - feats.mean(dim=-1, keepdim=True)) / (feats.std(dim=-1, keepdim=True) + 1e-5)
print("features", tuple(feats.shape), "delta sample", round(d1[0, 1, 3].item(), 3),
      round(d2[0, 1, 3].item(), 3))


# --- classifier --------------------------------------------------------------------------
class KWSNet(nn.Module):
    def __init__(self, in_ch, n_classes=3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(in_ch, 32, 3, padding=1), nn.BatchNorm1d(32), nn.ReLU(),
            nn.Conv1d(32, 32, 3, padding=2, dilation=2), nn.BatchNorm1d(32), nn.ReLU(),
            nn.Conv1d(32, 32, 3, padding=4, dilation=4, padding_mode="reflect"), nn.ReLU(),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Dropout(0.1), nn.Linear(32, n_classes))

    def forward(self, x):
        return self.body(x)


net = KWSNet(feats.shape[1])
opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=1e-3)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
train_x, train_y = feats[:48], labels[:48]
for epoch in range(8):
    net.train()
    perm = torch.randperm(48)
    total = 0.0
    for i in range(0, 48, 16):
        idx = perm[i:i + 16]
        loss = criterion(net(train_x[idx]), train_y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    if epoch % 2 == 1:
        print("epoch", epoch, "loss {:.3f}".format(total / 3))
net.eval()
with torch.no_grad():
    pred = net(feats[48:]).argmax(dim=1)
print("test accuracy", (pred == labels[48:]).float().mean().item(),
      "confusion", torch.bincount(labels[48:] * 3 + pred, minlength=9).view(3, 3).tolist())
