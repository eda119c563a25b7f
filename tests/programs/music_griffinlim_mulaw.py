"""Audio for music models, built from torch ops as torchaudio's functional module does: a
synthetic plucked-string melody (Karplus-Strong with a ring buffer), a torch.stft/istft round
trip with several windows checked for perfect reconstruction (NOLA), a mel filterbank built
by hand, spectral centroid/bandwidth/flatness/roll-off, a chromagram, Griffin-Lim phase
recovery with momentum (the "fast Griffin-Lim" of Perraudin et al.) reporting spectral
convergence, then gradient-based phase refinement through torch.polar and istft, and 8-bit
mu-law companding as used by WaveNet (encode to classes, one-hot, decode) with its
quantisation SNR."""
import math

import torch
import torch.nn.functional as F

torch.manual_seed(0)
sr, n_fft, hop = 8000, 256, 64
midi_notes = [60, 64, 67, 72, 67, 64]
note_len = 1200


def karplus_strong(freq, n, gen, decay=0.996):
    period = int(round(sr / freq))
    buf = torch.rand(period, generator=gen) * 2 - 1
    out = torch.empty(n)
    for i in range(n):
        out[i] = buf[i % period]
        buf[i % period] = decay * 0.5 * (buf[i % period] + buf[(i + 1) % period])
    return out


gen = torch.Generator().manual_seed(1)
freqs = 440.0 * 2 ** ((torch.tensor(midi_notes, dtype=torch.float32) - 69) / 12)
print("note frequencies", torch.round(freqs, decimals=2))
audio = torch.cat([karplus_strong(f.item(), note_len, gen) for f in freqs])
audio = audio / audio.abs().max()
print("audio", tuple(audio.shape), audio.dtype, "peak {:.4f} rms {:.4f}".format(
    audio.abs().max().item(), audio.square().mean().sqrt().item()))

# --- stft / istft round trip ------------------------------------------------------------
for name, window in [("hann", torch.hann_window(n_fft)),
                     ("hamming", torch.hamming_window(n_fft)),
                     ("blackman", torch.blackman_window(n_fft)),
                     ("kaiser", torch.kaiser_window(n_fft, True, 8.0))]:
    spec = torch.stft(audio, n_fft, hop_length=hop, window=window, return_complex=True)
    back = torch.istft(spec, n_fft, hop_length=hop, window=window, length=audio.numel())
    nola = (window ** 2).unfold(0, hop, hop).sum(0).min()
    print("{:8s} spec {} {} recon err < 1e-5: {} NOLA min {:.3f}".format(
        name, tuple(spec.shape), spec.dtype, bool((back - audio).abs().max() < 1e-5),
        nola.item()))

window = torch.hann_window(n_fft)
spec = torch.stft(audio, n_fft, hop, window=window, return_complex=True)
mag = spec.abs()
power = mag.pow(2)
print("magnitude", tuple(mag.shape), "max {:.3f}".format(mag.max().item()))
try:
    torch.stft(audio, n_fft, hop, window=torch.hann_window(n_fft))
except RuntimeError as e:
    print("stft without return_complex:", str(e).split(".")[0])


# --- mel filterbank (HTK mel scale, triangular filters, Slaney-style area normalisation) ---
def hz_to_mel(f):
    return 2595.0 * torch.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(n_mels, f_min=0.0, f_max=None):
    f_max = f_max or sr / 2
    all_freqs = torch.linspace(0, sr // 2, n_fft // 2 + 1)
    m_pts = torch.linspace(hz_to_mel(torch.tensor(f_min)), hz_to_mel(torch.tensor(f_max)),
                           n_mels + 2)
    f_pts = mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = torch.max(torch.zeros(1), torch.min(down, up))
    enorm = 2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels])
    return fb * enorm.unsqueeze(0)


fb = mel_filterbank(32)
mel = torch.matmul(power.T, fb).T
log_mel = 10 * torch.log10(mel.clamp(min=1e-10))
log_mel = torch.max(log_mel, log_mel.max() - 80.0)
print("mel", tuple(mel.shape), "log-mel range [{:.2f}, {:.2f}]".format(
    log_mel.min().item(), log_mel.max().item()))
print("filters with no bins", int((fb.sum(0) == 0).sum()))

# --- spectral features ---------------------------------------------------------------------
freq_axis = torch.fft.rfftfreq(n_fft, 1 / sr)
norm_mag = mag / mag.sum(0, keepdim=True).clamp_min(1e-10)
centroid = (freq_axis[:, None] * norm_mag).sum(0)
bandwidth = ((freq_axis[:, None] - centroid) ** 2 * norm_mag).sum(0).sqrt()
flatness = torch.exp(torch.log(power + 1e-10).mean(0)) / (power.mean(0) + 1e-10)
cum = torch.cumsum(power, 0)
rolloff = freq_axis[torch.searchsorted(cum.T.contiguous(), 0.85 * cum[-1:].T.contiguous())
                    .squeeze(1).clamp(max=n_fft // 2)]
frames_per_note = note_len // hop
for i in range(0, len(midi_notes), 2):
    sl = slice(i * frames_per_note + 2, (i + 1) * frames_per_note - 2)
    print("note {} centroid {:7.1f} Hz bandwidth {:7.1f} flatness {:.4f} rolloff {:6.1f}".format(
        midi_notes[i], centroid[sl].mean().item(), bandwidth[sl].mean().item(),
        flatness[sl].mean().item(), rolloff[sl].median().item()))

# chroma: fold each FFT bin to its pitch class
bin_midi = 69 + 12 * torch.log2(freq_axis[1:] / 440.0)
pitch_class = torch.remainder(torch.round(bin_midi), 12).long()
chroma = torch.zeros(12, power.shape[1]).index_add_(0, pitch_class, power[1:])
chroma = chroma / chroma.amax(0, keepdim=True).clamp_min(1e-10)
names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
for i, m in enumerate(midi_notes[:3]):
    sl = slice(i * frames_per_note + 2, (i + 1) * frames_per_note - 2)
    print("note", names[m % 12], "-> chroma argmax", names[int(chroma[:, sl].mean(1).argmax())])


# --- Griffin-Lim with momentum ------------------------------------------------------------
def griffin_lim(target_mag, n_iter, momentum, gen):
    angles = torch.polar(torch.ones_like(target_mag),
                         2 * math.pi * torch.rand(target_mag.shape, generator=gen))
    tprev = torch.zeros_like(angles)
    history = []
    for it in range(n_iter):
        inverse = torch.istft(target_mag * angles, n_fft, hop, window=window,
                              length=audio.numel())
        rebuilt = torch.stft(inverse, n_fft, hop, window=window, return_complex=True)
        angles = rebuilt - (momentum / (1 + momentum)) * tprev
        tprev = rebuilt
        angles = angles / angles.abs().add(1e-16)
        sc = (rebuilt.abs() - target_mag).norm() / target_mag.norm()
        history.append(sc.item())
    return torch.istft(target_mag * angles, n_fft, hop, window=window,
                       length=audio.numel()), history


for momentum in (0.0, 0.99):
    y, hist = griffin_lim(mag, 16, momentum, torch.Generator().manual_seed(0))
    print("griffin-lim momentum {:.2f} spectral convergence {:.4f} -> {:.4f}".format(
        momentum, hist[0], hist[-1]))
print("phase-free reconstruction keeps energy: ratio {:.3f}".format(
    (y.square().sum() / audio.square().sum()).item()))

# gradient-based phase retrieval: the phase is a parameter, the loss the STFT consistency
phase = torch.angle(torch.stft(y, n_fft, hop, window=window, return_complex=True))
phase = phase.detach().requires_grad_()
opt = torch.optim.Adam([phase], lr=0.05)
for it in range(6):
    spec_hat = torch.polar(mag, phase)
    wave = torch.istft(spec_hat, n_fft, hop, window=window, length=audio.numel())
    again = torch.stft(wave, n_fft, hop, window=window, return_complex=True).abs()
    loss = F.l1_loss(torch.log1p(again), torch.log1p(mag))
    opt.zero_grad()
    loss.backward()
    opt.step()
    if it in (0, 5):
        print("phase retrieval step {} loss {:.5f} grad norm {:.4f}".format(
            it, loss.item(), phase.grad.norm().item()))
print(spec_hat[:2, 40].detach().abs().round(decimals=3), spec_hat.grad_fn.name())


# --- mu-law companding -------------------------------------------------------------------
def mu_law_encode(x, quantization_channels=256):
    mu = quantization_channels - 1.0
    x_mu = torch.sign(x) * torch.log1p(mu * torch.abs(x)) / math.log1p(mu)
    return ((x_mu + 1) / 2 * mu + 0.5).to(torch.int64)


def mu_law_decode(x_mu, quantization_channels=256):
    mu = quantization_channels - 1.0
    x = (x_mu.to(torch.float32) / mu) * 2 - 1.0
    return torch.sign(x) * (torch.exp(torch.abs(x) * math.log1p(mu)) - 1.0) / mu


codes = mu_law_encode(audio)
print("codes", codes.dtype, "range", codes.min().item(), codes.max().item(),
      "unique", codes.unique().numel())
onehot = F.one_hot(codes, 256).T.float()                         # WaveNet's input layout
print("one-hot", tuple(onehot.shape), "column sums all 1", bool((onehot.sum(0) == 1).all()))
decoded = mu_law_decode(codes)
snr = 10 * torch.log10(audio.square().sum() / (audio - decoded).square().sum())
linear = torch.round((audio + 1) / 2 * 255) / 255 * 2 - 1
snr_linear = 10 * torch.log10(audio.square().sum() / (audio - linear).square().sum())
print("SNR mu-law {:.2f} dB, linear 8-bit {:.2f} dB".format(snr.item(), snr_linear.item()))
quiet = audio.abs() < 0.05
print("quiet-sample error mu-law {:.5f} linear {:.5f}".format(
    (audio - decoded)[quiet].abs().mean().item(), (audio - linear)[quiet].abs().mean().item()))
print("histogram of codes (8 bins)", torch.histc(codes.float(), bins=8, min=0, max=255).long())
