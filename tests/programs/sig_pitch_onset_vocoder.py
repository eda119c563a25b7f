"""Classic music/speech analysis built from torch ops, in the manner of pitch-tracking and
onset-detection scripts and torchaudio's functional module: an FFT autocorrelation pitch
tracker (rfft/irfft with zero padding, framed with Tensor.unfold) refined by parabolic
interpolation, a YIN cumulative-mean-normalised difference, spectral flux onset detection with
a median-filtered threshold and max_pool1d peak picking, spectral centroid and roll-off,
a phase-vocoder time stretch (angle, polar, phase wrapping with torch.remainder, cumsum of
phase advances) resynthesised by istft, a biquad low-pass filter run as an IIR loop, circular
cross-correlation by FFT for delay estimation, and mu-law companding."""
import math

import torch
import torch.nn.functional as F

torch.manual_seed(0)
sr = 4000
n_fft, hop = 256, 64

# --- a test signal: three notes with attacks, plus noise ----------------------------------
notes = [(0, 1800, 220.0), (1800, 3600, 330.0), (3600, 5600, 262.0)]
n = 5600
t = torch.arange(n, dtype=torch.float64) / sr
x = torch.zeros(n, dtype=torch.float64)
for start, stop, f0 in notes:
    tt = t[start:stop] - t[start]
    env = torch.exp(-6 * tt) * (1 - torch.exp(-200 * tt))
    tone = sum(torch.sin(2 * math.pi * k * f0 * tt) / k for k in range(1, 5))
    x[start:stop] += env * tone
x = (x + 0.01 * torch.randn(n, dtype=torch.float64)).float()
print("signal", tuple(x.shape), "rms {:.4f}".format(x.pow(2).mean().sqrt().item()))

# --- autocorrelation pitch ---------------------------------------------------------------
frames = x.unfold(0, n_fft, hop)                                   # (n_frames, n_fft)
print("frames", tuple(frames.shape), "stride", frames.stride())
win = torch.hann_window(n_fft, periodic=False)
fw = (frames - frames.mean(dim=1, keepdim=True)) * win
spec = torch.fft.rfft(fw, n=2 * n_fft)                             # zero padded: no wrap
acf = torch.fft.irfft(spec.abs() ** 2, n=2 * n_fft)[:, :n_fft]
acf = acf / acf[:, :1].clamp_min(1e-8)
min_lag, max_lag = sr // 500, sr // 80
lag = acf[:, min_lag:max_lag].argmax(dim=1) + min_lag
left = acf.gather(1, (lag - 1)[:, None]).squeeze(1)
mid = acf.gather(1, lag[:, None]).squeeze(1)
right = acf.gather(1, (lag + 1)[:, None]).squeeze(1)
shift = 0.5 * (left - right) / (left - 2 * mid + right)
f0_track = sr / (lag.float() + shift)
voiced = acf.gather(1, lag[:, None]).squeeze(1) > 0.3
centers = (torch.arange(frames.shape[0]) * hop + n_fft // 2)
for start, stop, f0 in notes:
    sel = (centers > start + n_fft) & (centers < stop - n_fft // 2) & voiced
    print("note {:.0f} Hz: tracked median {:.1f} Hz over {} frames".format(
        f0, f0_track[sel].median().item(), int(sel.sum())))


# --- YIN difference function for one frame -----------------------------------------------
def yin(frame, max_lag):
    w = frame.shape[0] - max_lag
    energy = torch.cumsum(F.pad(frame ** 2, (1, 0)), 0)
    r = torch.fft.irfft(torch.fft.rfft(frame, n=2 * frame.shape[0])
                        * torch.fft.rfft(frame[:w].flip(0), n=2 * frame.shape[0]),
                        n=2 * frame.shape[0])
    # r[w - 1 + tau] = sum_j frame[j] * frame[j + tau] for j < w
    corr = r[w - 1:w - 1 + max_lag]
    d = energy[w] - energy[0] + energy[w:w + max_lag] - energy[:max_lag] - 2 * corr
    d[0] = 0
    cmnd = d * torch.arange(max_lag) / torch.cumsum(d, 0).clamp_min(1e-12)
    cmnd[0] = 1
    below = (cmnd[min_lag:] < 0.15).nonzero()
    tau = int(below[0]) + min_lag if below.numel() else int(cmnd[min_lag:].argmin()) + min_lag
    return sr / tau, cmnd


f_yin, cmnd = yin(x[2000:2000 + 2 * n_fft].double(), max_lag)
print("YIN estimate {:.1f} Hz, cmnd min {:.3f}".format(f_yin, cmnd[min_lag:].min().item()))

# --- spectral flux onsets ----------------------------------------------------------------
window = torch.hann_window(n_fft)
S = torch.stft(x, n_fft, hop, window=window, return_complex=True)
mag = S.abs()
log_mag = torch.log1p(100 * mag)
flux = F.relu(torch.diff(log_mag, dim=1)).sum(dim=0)
flux = F.pad(flux, (1, 0))
print("flux frames", flux.shape[0], "max {:.2f}".format(flux.max().item()))
k = 7
padded = F.pad(flux[None, None], (k // 2, k // 2), mode="replicate")[0, 0]
local_median = padded.unfold(0, k, 1).median(dim=1).values
pooled, idx = F.max_pool1d(flux[None, None], 9, stride=1, padding=4, return_indices=True)
is_peak = (idx[0, 0] == torch.arange(flux.shape[0])) & (flux > local_median + 0.5 * flux.std())
onset_frames = is_peak.nonzero().squeeze(1)
print("onset times (s)", [round(v, 3) for v in (onset_frames * hop / sr).tolist()])

freqs = torch.fft.rfftfreq(n_fft, 1 / sr)
power = mag ** 2
centroid = (freqs[:, None] * power).sum(0) / power.sum(0).clamp_min(1e-10)
cum = torch.cumsum(power, dim=0)
rolloff_bin = torch.searchsorted(cum.t().contiguous(), 0.85 * cum[-1][:, None])
print("centroid mean {:.1f} Hz, rolloff median {:.1f} Hz".format(
    centroid.mean().item(), freqs[rolloff_bin.squeeze(1).clamp(max=n_fft // 2)].median().item()))


# --- phase vocoder time stretch -----------------------------------------------------------
def phase_vocoder(spec, rate, hop_length):
    n_freq = spec.shape[-2]
    phase_advance = torch.linspace(0, math.pi * hop_length, n_freq)[:, None]
    steps = torch.arange(0, spec.shape[-1], rate)
    spec = F.pad(torch.view_as_real(spec), (0, 0, 0, 2))
    spec = torch.view_as_complex(spec)
    s0 = spec.index_select(-1, steps.long())
    s1 = spec.index_select(-1, (steps + 1).long())
    alphas = torch.remainder(steps, 1.0)
    angle_0 = s0.angle()
    angle_1 = s1.angle()
    norm_0 = s0.abs()
    norm_1 = s1.abs()
    phase = angle_1 - angle_0 - phase_advance
    phase = phase - 2 * math.pi * torch.round(phase / (2 * math.pi))
    phase = phase + phase_advance
    phase_acc = torch.cumsum(torch.cat([angle_0[..., :1], phase[..., :-1]], dim=-1), -1)
    mag = alphas * norm_1 + (1 - alphas) * norm_0
    return torch.polar(mag, phase_acc)


for rate in (0.8, 1.25):
    stretched = phase_vocoder(S, rate, hop)
    y = torch.istft(stretched, n_fft, hop, window=window)
    print("rate {} -> frames {} samples {} rms {:.3f}".format(
        rate, stretched.shape[-1], y.shape[0], y.pow(2).mean().sqrt().item()))
wrapped = torch.remainder(torch.tensor([-7.0, -3.5, 0.5, 4.0, 10.0]) + math.pi,
                          2 * math.pi) - math.pi
print("wrapped phases", [round(v, 4) for v in wrapped.tolist()])


# --- biquad low-pass (IIR) ----------------------------------------------------------------
def biquad_lowpass(wave, cutoff, q=0.707):
    w0 = 2 * math.pi * cutoff / sr
    alpha = math.sin(w0) / 2 / q
    b = torch.tensor([(1 - math.cos(w0)) / 2, 1 - math.cos(w0), (1 - math.cos(w0)) / 2])
    a = torch.tensor([1 + alpha, -2 * math.cos(w0), 1 - alpha])
    b, a = b / a[0], a / a[0]
    xp = F.pad(wave, (2, 0))
    # FIR part as a conv1d (flipped taps), the recursive part as a loop
    fir = F.conv1d(xp[None, None], b.flip(0)[None, None])[0, 0]
    y = torch.zeros(wave.shape[0] + 2)
    for i in range(wave.shape[0]):
        y[i + 2] = fir[i] - a[1] * y[i + 1] - a[2] * y[i]
    return y[2:]


seg = x[:600]
low = biquad_lowpass(seg, 300.0)
spec_in = torch.fft.rfft(seg).abs()
spec_out = torch.fft.rfft(low).abs()
bins = torch.fft.rfftfreq(600, 1 / sr)
high_band = bins > 800
print("biquad: high band energy ratio {:.4f}".format(
    (spec_out[high_band] ** 2).sum().item() / (spec_in[high_band] ** 2).sum().item()))

# --- delay estimation by circular cross-correlation --------------------------------------
ref = x[1800:2312]
delayed = torch.roll(ref, shifts=37) + 0.05 * torch.randn(512)
xcorr = torch.fft.irfft(torch.fft.rfft(delayed) * torch.fft.rfft(ref).conj(), n=512)
xcorr = torch.fft.fftshift(xcorr)
lags = torch.arange(-256, 256)
print("estimated delay", lags[xcorr.argmax()].item(), "fftshift centre",
      torch.fft.fftshift(torch.fft.fftfreq(8, 1 / 8)).tolist())
circ = F.pad(ref[None, None, :8], (3, 3), mode="circular")[0, 0]
print("circular pad", [round(v, 3) for v in circ.tolist()])

# --- mu-law companding --------------------------------------------------------------------
mu = 255
scaled = x / x.abs().max()
encoded = torch.sign(scaled) * torch.log1p(mu * scaled.abs()) / math.log1p(mu)
quant = ((encoded + 1) / 2 * mu + 0.5).to(torch.int64)
decoded = (quant.float() / mu) * 2 - 1
decoded = torch.sign(decoded) * (torch.exp(decoded.abs() * math.log1p(mu)) - 1) / mu
print("mu-law codes", quant[:6].tolist(), "bincount max", torch.bincount(quant).max().item(),
      "max error {:.4f}".format((decoded - scaled).abs().max().item()))
