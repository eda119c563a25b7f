"""Conv-TasNet-style time-domain source separation, in the manner of speech-separation
repositories (Conv-TasNet, Asteroid recipes): a learned Conv1d encoder with a ReLU basis, a
temporal convolutional separator built of 1x1 bottlenecks, dilated depthwise convolutions
(``groups=channels``), PReLU and global layer norm (GroupNorm with one group), sigmoid masks
per speaker, a ConvTranspose1d decoder that overlap-adds the basis back to waveforms,
weight_norm on the encoder (removed after training), and a permutation-invariant scale-
invariant SNR (SI-SNR) loss trained with Adam and gradient clipping."""
import itertools

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
sr = 2000
n_samples = 400
n_spk = 2


def make_mixture(batch):
    t = torch.arange(n_samples, dtype=torch.float32) / sr
    f1 = 80 + 120 * torch.rand(batch, 1)
    f2 = 300 + 200 * torch.rand(batch, 1)
    s1 = torch.sin(2 * torch.pi * f1 * t) * torch.linspace(0.2, 1.0, n_samples)
    # a square-ish buzz: sign of a sine smoothed by tanh
    s2 = 0.5 * torch.tanh(4 * torch.sin(2 * torch.pi * f2 * t + torch.rand(batch, 1)))
    sources = torch.stack([s1, s2], dim=1)                       # (B, spk, T)
    mix = sources.sum(dim=1) + 0.01 * torch.randn(batch, n_samples)
    return mix, sources


class GlobalLayerNorm(nn.Module):
    """gLN from the Conv-TasNet paper: normalise over channels and time together."""

    def __init__(self, channels):
        super().__init__()
        self.norm = nn.GroupNorm(1, channels, eps=1e-8)

    def forward(self, x):
        return self.norm(x)


class TCNBlock(nn.Module):
    def __init__(self, in_ch, hid_ch, kernel, dilation):
        super().__init__()
        self.conv1x1 = nn.Conv1d(in_ch, hid_ch, 1)
        self.prelu1 = nn.PReLU()
        self.norm1 = GlobalLayerNorm(hid_ch)
        pad = (kernel - 1) * dilation // 2
        self.dconv = nn.Conv1d(hid_ch, hid_ch, kernel, dilation=dilation, padding=pad,
                               groups=hid_ch)
        self.prelu2 = nn.PReLU(hid_ch, init=0.1)
        self.norm2 = GlobalLayerNorm(hid_ch)
        self.res_out = nn.Conv1d(hid_ch, in_ch, 1)
        self.skip_out = nn.Conv1d(hid_ch, in_ch, 1)

    def forward(self, x):
        y = self.norm1(self.prelu1(self.conv1x1(x)))
        y = self.norm2(self.prelu2(self.dconv(y)))
        return x + self.res_out(y), self.skip_out(y)


class ConvTasNet(nn.Module):
    def __init__(self, n_filters=32, kernel=16, bn_ch=16, hid_ch=32, n_blocks=4, n_spk=2):
        super().__init__()
        stride = kernel // 2
        self.kernel, self.stride, self.n_spk = kernel, stride, n_spk
        self.encoder = nn.utils.weight_norm(nn.Conv1d(1, n_filters, kernel, stride=stride,
                                                      bias=False))
        self.in_norm = GlobalLayerNorm(n_filters)
        self.bottleneck = nn.Conv1d(n_filters, bn_ch, 1)
        self.blocks = nn.ModuleList([TCNBlock(bn_ch, hid_ch, 3, 2 ** i)
                                     for i in range(n_blocks)])
        self.mask_prelu = nn.PReLU()
        self.mask_conv = nn.Conv1d(bn_ch, n_spk * n_filters, 1)
        self.decoder = nn.ConvTranspose1d(n_filters, 1, kernel, stride=stride, bias=False)

    def forward(self, mix):
        T = mix.shape[-1]
        # pad so the frames tile the signal exactly, as the reference implementation does
        rest = self.kernel - (self.stride + T % self.kernel) % self.kernel
        x = F.pad(mix.unsqueeze(1), (self.stride, rest + self.stride))
        w = F.relu(self.encoder(x))                                  # (B, N, L)
        y = self.bottleneck(self.in_norm(w))
        skip_sum = torch.zeros_like(y)
        for block in self.blocks:
            y, skip = block(y)
            skip_sum = skip_sum + skip
        masks = torch.sigmoid(self.mask_conv(self.mask_prelu(skip_sum)))
        masks = masks.view(mix.shape[0], self.n_spk, -1, w.shape[-1])
        masked = (w.unsqueeze(1) * masks).flatten(0, 1)               # (B*spk, N, L)
        est = self.decoder(masked).view(mix.shape[0], self.n_spk, -1)
        return est[..., self.stride:self.stride + T]


def si_snr(est, ref, eps=1e-8):
    est = est - est.mean(dim=-1, keepdim=True)
    ref = ref - ref.mean(dim=-1, keepdim=True)
    proj = (est * ref).sum(-1, keepdim=True) * ref / (ref.pow(2).sum(-1, keepdim=True) + eps)
    noise = est - proj
    ratio = proj.pow(2).sum(-1) / (noise.pow(2).sum(-1) + eps)
    return 10 * torch.log10(ratio + eps)


def pit_si_snr_loss(est, ref):
    """Permutation-invariant training: best speaker assignment per utterance."""
    perms = list(itertools.permutations(range(n_spk)))
    scores = torch.stack([si_snr(est[:, list(p)], ref).mean(dim=1) for p in perms], dim=1)
    best, best_idx = scores.max(dim=1)
    return -best.mean(), best_idx


model = ConvTasNet()
print("encoder params", sorted(n for n, _ in model.encoder.named_parameters()))
print("weight_g shape", tuple(model.encoder.weight_g.shape),
      "weight_v shape", tuple(model.encoder.weight_v.shape))
print("weight_norm identity",
      torch.allclose(model.encoder.weight,
                     model.encoder.weight_g * model.encoder.weight_v
                     / model.encoder.weight_v.norm(dim=(1, 2), keepdim=True)))
n_params = sum(p.numel() for p in model.parameters())
print("parameters", n_params)
print("dilations", [b.dconv.dilation for b in model.blocks],
      "groups", model.blocks[0].dconv.groups)
print("PReLU weights", [tuple(b.prelu2.weight.shape) for b in model.blocks][:1],
      round(model.blocks[0].prelu2.weight[0].item(), 4))

mix, src = make_mixture(4)
with torch.no_grad():
    est = model(mix)
print("mixture", tuple(mix.shape), "estimates", tuple(est.shape))
print("initial SI-SNR", [round(v, 2) for v in si_snr(est, src).mean(dim=0).tolist()])

torch.manual_seed(1)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(30):
    mix, src = make_mixture(8)
    est = model(mix)
    loss, perm = pit_si_snr_loss(est, src)
    opt.zero_grad()
    loss.backward()
    gnorm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
    opt.step()
    if step % 10 == 0 or step == 29:
        print("step {:2d} loss {:.2f} grad norm {:.2f} perms {}".format(
            step, loss.item(), gnorm.item(), perm.tolist()))

print("weight_g grad seen", model.encoder.weight_g.grad is not None,
      round(model.encoder.weight_g.grad.abs().sum().item(), 2))
model.encoder = nn.utils.remove_weight_norm(model.encoder)
print("after remove_weight_norm", sorted(n for n, _ in model.encoder.named_parameters()))

model.eval()
torch.manual_seed(5)
mix, src = make_mixture(4)
with torch.no_grad():
    est = model(mix)
    loss, perm = pit_si_snr_loss(est, src)
print("eval PIT SI-SNR {:.2f} dB".format(-loss.item()), "perms", perm.tolist())
print("reconstruction of mixture: mean abs err {:.2f}".format(
    (est.sum(dim=1) - mix).abs().mean().item()))

# the decoder is the adjoint of a strided conv: ConvTranspose1d equals conv_transpose1d
basis = model.decoder.weight
frames = torch.randn(2, basis.shape[0], 10)
a = model.decoder(frames)
b = F.conv_transpose1d(frames, basis, stride=model.stride)
print("decoder output", tuple(a.shape), "matches functional", torch.allclose(a, b, atol=1e-6))
out_pad = F.conv_transpose1d(frames, basis, stride=model.stride, output_padding=3)
print("output_padding length", out_pad.shape[-1])
