"""Signal processing with torch.fft: the spectrum of a noisy signal, a low-pass filter with
rfft/irfft, a 2-D blur with fft2, a frequency response learned by gradient descent, and a small
classifier trained on spectral features (log-magnitudes of rfft)."""
import math

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(3)
fs, n = 128, 256                      # sampling rate (Hz) and number of samples
t = torch.arange(n, dtype=torch.float32) / fs
clean = torch.sin(2 * math.pi * 5 * t) + 0.5 * torch.sin(2 * math.pi * 12 * t)
noise = 0.4 * torch.sin(2 * math.pi * 40 * t) + 0.3 * torch.from_numpy(
    rng.standard_normal(n).astype(np.float32))
signal = clean + noise

# the spectrum: one-sided, with the frequency of each bin
X = torch.fft.rfft(signal)
freqs = torch.fft.rfftfreq(n, d=1 / fs)
print("rfft", X.shape, X.dtype, "freqs", freqs.shape, freqs[:4].tolist(), freqs[-1].item())
peaks = X.abs().topk(3).indices.sort().values
print("strongest bins at", freqs[peaks].tolist(), "Hz")
print("DC and Nyquist are real:", X[0].imag.item() == 0.0, abs(X[-1].imag.item()) < 1e-4)
print("Parseval:", round((signal ** 2).sum().item(), 2),
      round((torch.fft.fft(signal, norm="ortho").abs() ** 2).sum().item(), 2))

# low-pass filter: zero every bin above 20 Hz, back to the time domain
lowpass = (freqs <= 20).to(X.real.dtype)
filtered = torch.fft.irfft(X * lowpass, n=n)
print("filtered", filtered.shape, filtered.dtype)
print("rms error before", round((signal - clean).pow(2).mean().sqrt().item(), 3),
      "after", round((filtered - clean).pow(2).mean().sqrt().item(), 3))

# the same with the two-sided fft and fftshift (frequency zero in the middle)
full = torch.fft.fftshift(torch.fft.fft(signal))
centred = torch.fft.fftshift(torch.fft.fftfreq(n, d=1 / fs))
print("fftshift", centred[:2].tolist(), centred[n // 2].item(),
      round(full.abs()[centred.abs() <= 20].sum().item(), 1))
back = torch.fft.ifft(torch.fft.ifftshift(full)).real
print("ifft round trip", torch.allclose(back, signal, atol=1e-5))

# odd lengths need n= on the way back
odd = signal[:255]
print("odd length", torch.fft.irfft(torch.fft.rfft(odd)).shape[0],
      torch.fft.irfft(torch.fft.rfft(odd), n=255).shape[0])

# 2-D: blur an image by multiplying its spectrum with a Gaussian
img = torch.zeros(16, 16)
img[4:12, 6:10] = 1.0
fy = torch.fft.fftfreq(16).reshape(-1, 1)
fx = torch.fft.rfftfreq(16).reshape(1, -1)
gauss = torch.exp(-(fx ** 2 + fy ** 2) / (2 * 0.08 ** 2))
blurred = torch.fft.irfft2(torch.fft.rfft2(img) * gauss, s=img.shape)
print("blur", blurred.shape, round(blurred.sum().item(), 3), round(img.sum().item(), 3),
      round(blurred.max().item(), 3), round(blurred[0, 0].item(), 4))

# learn a frequency response H (one real gain per bin) that turns noisy into clean
H = torch.full((n // 2 + 1,), 0.5, requires_grad=True)
opt = torch.optim.Adam([H], lr=0.05)
for step in range(201):
    out = torch.fft.irfft(torch.fft.rfft(signal) * H, n=n)
    loss = (out - clean).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 50 == 0:
        print("filter step", step, "loss", round(loss.item(), 4))
print("learned gains near 5, 12, 40 Hz:",
      [round(H[int(f * n / fs)].item(), 2) for f in (5, 12, 40)])

# classify tones by their spectra: log-magnitude features, a linear model
def make_batch(count, seed):
    r = np.random.default_rng(seed)
    labels = r.integers(0, 3, count)
    base = np.array([6.0, 15.0, 30.0])[labels] + r.uniform(-1.5, 1.5, count)
    phase = r.uniform(0, 2 * np.pi, count)
    tt = np.arange(64) / 64.0
    x = np.sin(2 * np.pi * base[:, None] * tt[None, :] + phase[:, None])
    x = x + 0.3 * r.standard_normal((count, 64))
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(labels)


def features(x):
    return torch.log1p(torch.fft.rfft(x, norm="ortho").abs())


xtr, ytr = make_batch(96, 1)
xte, yte = make_batch(48, 2)
model = nn.Linear(33, 3)
with torch.no_grad():
    w0 = np.random.default_rng(5).standard_normal((3, 33)).astype(np.float32)
    model.weight.copy_(torch.from_numpy(0.05 * w0))
    model.bias.zero_()
opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
for epoch in range(30):
    loss = nn.functional.cross_entropy(model(features(xtr)), ytr)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if epoch % 10 == 0:
        print("epoch", epoch, "loss", round(loss.item(), 3))
with torch.no_grad():
    acc = (model(features(xte)).argmax(1) == yte).float().mean().item()
print("test accuracy", round(acc, 3))

# gradients flow through the transforms: d/dx of the energy in a band
x = signal.clone().requires_grad_()
band = torch.fft.rfft(x)[10:30].abs().pow(2).sum()
band.backward()
print("band energy", round(band.item(), 1), "grad norm", round(x.grad.norm().item(), 1))
