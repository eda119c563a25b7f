"""Complex-spectrum speech enhancement, in the manner of deep-complex-network denoisers
(DCCRN, complex ratio masking, deep complex networks): frames cut with F.unfold and
transformed with torch.fft.rfft (checked against torch.stft), a complex-valued network built
from ``nn.Linear``/``nn.Conv1d(..., dtype=torch.cfloat)`` layers with a modReLU activation
(torch.polar of a shifted magnitude and the input's angle), a bounded complex ratio mask
(tanh of the magnitude, the phase kept), resynthesis by irfft and F.fold overlap-add divided
by the folded squared-window envelope (checked against torch.istft), an SI-SNR loss on the
waveform plus a compressed-magnitude loss, and Adam on the complex parameters. The
real/imaginary views (torch.view_as_real / view_as_complex) feed a real-valued baseline."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
sr, n_fft, hop = 2000, 64, 16
n_bins = n_fft // 2 + 1
T = 512
window = torch.hann_window(n_fft)


def make_batch(batch):
    t = torch.arange(T) / sr
    f0 = 100 + 150 * torch.rand(batch, 1)
    clean = sum(torch.sin(2 * math.pi * k * f0 * t + k) / k for k in range(1, 4))
    clean = clean * (0.5 + 0.5 * torch.sin(2 * math.pi * 3 * t))
    noise = 0.4 * torch.randn(batch, T)
    return clean, clean + noise


def frames_stft(x):
    """STFT by hand: reflect-pad, cut frames with F.unfold, window, rfft."""
    pad = n_fft // 2
    x = F.pad(x.unsqueeze(1), (pad, pad), mode="reflect")               # (B, 1, T + n_fft)
    frames = F.unfold(x.unsqueeze(2), kernel_size=(1, n_fft), stride=(1, hop))  # (B, n_fft, L)
    frames = frames * window[:, None]
    return torch.fft.rfft(frames, dim=1)                                 # (B, n_bins, L)


def frames_istft(spec, length):
    """Inverse: irfft each frame, window, overlap-add with F.fold, divide by the envelope."""
    frames = torch.fft.irfft(spec, n=n_fft, dim=1) * window[:, None]
    n_frames = spec.shape[-1]
    full = (n_frames - 1) * hop + n_fft
    y = F.fold(frames, output_size=(1, full), kernel_size=(1, n_fft), stride=(1, hop))
    env = F.fold((window ** 2)[None, :, None].expand(1, n_fft, n_frames),
                 output_size=(1, full), kernel_size=(1, n_fft), stride=(1, hop))
    pad = n_fft // 2
    y = y / env.clamp_min(1e-11)
    return y[:, 0, 0, pad:pad + length]


clean, noisy = make_batch(4)
spec = frames_stft(noisy)
ref = torch.stft(noisy, n_fft, hop, window=window, center=True, pad_mode="reflect",
                 return_complex=True)
print("hand stft", tuple(spec.shape), spec.dtype, "max diff vs torch.stft {:.5f}".format(
    (spec - ref).abs().max().item()))
back = frames_istft(spec, T)
ref_back = torch.istft(ref, n_fft, hop, window=window, length=T)
print("hand istft error {:.5f} vs torch.istft {:.5f}".format(
    (back - noisy).abs().max().item(), (back - ref_back).abs().max().item()))
ri = torch.view_as_real(spec)
print("view_as_real", tuple(ri.shape), ri.dtype, "round trip",
      torch.equal(torch.view_as_complex(ri.contiguous()), spec))
print("abs/angle/polar round trip {:.5f}".format(
    (torch.polar(spec.abs(), spec.angle()) - spec).abs().max().item()))
print("complex mean", [round(v, 3) for v in torch.view_as_real(spec.mean()).tolist()],
      "conj dot real", round((spec * spec.conj()).real.sum().item() / 1e3, 3))


class ModReLU(nn.Module):
    """modReLU: relu(|z| + b) * z / |z|, the deep-complex-network activation."""

    def __init__(self, features):
        super().__init__()
        self.b = nn.Parameter(torch.full((features,), -0.05))

    def forward(self, z):
        return torch.polar(F.relu(z.abs() + self.b), z.angle())


class ComplexMaskNet(nn.Module):
    def __init__(self, bins, hidden=48):
        super().__init__()
        self.fc1 = nn.Linear(bins, hidden, dtype=torch.cfloat)
        self.act1 = ModReLU(hidden)
        self.fc2 = nn.Linear(hidden, hidden, dtype=torch.cfloat)
        self.act2 = ModReLU(hidden)
        # complex convolution across neighbouring frames, as DCCRN's complex conv layers
        self.tconv = nn.Conv1d(hidden, hidden, 3, padding=1, dtype=torch.cfloat)
        self.out = nn.Linear(hidden, bins, dtype=torch.cfloat)

    def forward(self, spec):                                   # (B, bins, L) complex
        z = spec.transpose(1, 2) / (spec.abs().amax(dim=(1, 2), keepdim=True) + 1e-8)
        h = self.act1(self.fc1(z))
        h = self.act2(self.fc2(h)) + h
        h = h + self.tconv(h.transpose(1, 2)).transpose(1, 2)
        m = self.out(h).transpose(1, 2)
        mag = torch.tanh(m.abs())                              # bounded mask, phase kept
        return spec * torch.polar(mag, m.angle())


class RealMaskNet(nn.Module):
    """Baseline on the stacked real and imaginary parts."""

    def __init__(self, bins, hidden=48):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * bins, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2 * bins))

    def forward(self, spec):
        ri = torch.view_as_real(spec.transpose(1, 2))                    # (B, L, bins, 2)
        x = ri.flatten(2) / (spec.abs().amax(dim=(1, 2), keepdim=True)[..., None] + 1e-8)[:, 0]
        m = self.net(x).view(*ri.shape)
        mask = torch.view_as_complex(torch.tanh(m).contiguous()).transpose(1, 2)
        return spec * mask


def si_snr(est, ref, eps=1e-8):
    est = est - est.mean(-1, keepdim=True)
    ref = ref - ref.mean(-1, keepdim=True)
    s = (est * ref).sum(-1, keepdim=True) / (ref.pow(2).sum(-1, keepdim=True) + eps) * ref
    return 10 * torch.log10(s.pow(2).sum(-1) / ((est - s).pow(2).sum(-1) + eps) + eps)


def loss_fn(est_spec, clean):
    est = frames_istft(est_spec, T)
    target = frames_stft(clean)
    mag_loss = F.mse_loss(est_spec.abs().pow(0.3), target.abs().pow(0.3))
    return -si_snr(est, clean).mean() + 10 * mag_loss, est


cnet = ComplexMaskNet(n_bins)
print("complex params", [(n, str(p.dtype)) for n, p in cnet.named_parameters()][:3])
print("fc1 weight[0,:2]", [(round(v.real, 4), round(v.imag, 4))
                           for v in cnet.fc1.weight[0, :2].tolist()])
rnet = RealMaskNet(n_bins)
print("parameter counts: complex", sum(p.numel() for p in cnet.parameters()),
      "real", sum(p.numel() for p in rnet.parameters()))

torch.manual_seed(1)
copt = torch.optim.Adam(cnet.parameters(), lr=2e-3)
ropt = torch.optim.Adam(rnet.parameters(), lr=2e-3)
for step in range(40):
    clean, noisy = make_batch(8)
    spec = frames_stft(noisy)
    for name, net, opt in (("complex", cnet, copt), ("real", rnet, ropt)):
        loss, est = loss_fn(net(spec), clean)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 13 == 0 or step == 39:
            print("step {:2d} {:7s} loss {:.2f}".format(step, name, loss.item()))

g = cnet.fc1.weight.grad
print("complex grad", g.dtype, "finite", bool(torch.isfinite(torch.view_as_real(g)).all()),
      "bias b grad", round(cnet.act1.b.grad.abs().sum().item(), 2))
state = copt.state[cnet.fc1.weight]
print("adam state dtypes", state["exp_avg"].dtype, state["exp_avg_sq"].dtype)

torch.manual_seed(7)
clean, noisy = make_batch(6)
with torch.no_grad():
    spec = frames_stft(noisy)
    print("noisy SI-SNR {:.2f} dB".format(si_snr(noisy, clean).mean().item()))
    for name, net in (("complex", cnet), ("real", rnet)):
        est = frames_istft(net(spec), T)
        print("{} enhanced SI-SNR {:.2f} dB".format(name, si_snr(est, clean).mean().item()))
