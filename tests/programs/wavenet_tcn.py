"""A small WaveNet / temporal convolutional network, after the WaveNet paper and the TCN
repository (locuslab/TCN): mu-law companding of a waveform into 32 classes, causal dilated
Conv1d layers (left padding with F.pad, dilation 1, 2, 4, 8) wrapped in
torch.nn.utils.parametrizations.weight_norm, gated tanh*sigmoid activations with residual and
skip connections, next-sample prediction with cross entropy, the receptive field checked by
gradients, weight norm removed for inference with parametrize.remove_parametrizations, and
autoregressive sampling with a rolling input buffer."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

torch.manual_seed(1)
Q = 32                                     # quantisation classes


def mu_law_encode(x, q=Q):
    mu = q - 1
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return ((y + 1) / 2 * mu + 0.5).long().clamp(0, mu)


def mu_law_decode(idx, q=Q):
    mu = q - 1
    y = 2 * idx.float() / mu - 1
    return torch.sign(y) * (torch.pow(1 + mu, y.abs()) - 1) / mu


t = torch.arange(0, 1200, dtype=torch.float32)
wave = 0.7 * torch.sin(2 * math.pi * t / 40) * torch.sin(2 * math.pi * t / 300) \
    + 0.02 * torch.randn(1200)
codes = mu_law_encode(wave)
back = mu_law_decode(codes)
print("mu-law codes", codes[:10].tolist(), "range", codes.min().item(), codes.max().item())
print("round trip error", round((back - wave).abs().max().item(), 4))


class CausalConv1d(nn.Module):
    def __init__(self, cin, cout, kernel_size, dilation):
        super().__init__()
        self.left = (kernel_size - 1) * dilation
        self.conv = weight_norm(nn.Conv1d(cin, cout, kernel_size, dilation=dilation))

    def forward(self, x):
        return self.conv(F.pad(x, (self.left, 0)))


class ResidualBlock(nn.Module):
    def __init__(self, channels, skip, dilation):
        super().__init__()
        self.dilated = CausalConv1d(channels, 2 * channels, 2, dilation)
        self.res = nn.Conv1d(channels, channels, 1)
        self.skip = nn.Conv1d(channels, skip, 1)

    def forward(self, x):
        filt, gate = self.dilated(x).chunk(2, dim=1)
        h = torch.tanh(filt) * torch.sigmoid(gate)
        return x + self.res(h), self.skip(h)


class WaveNet(nn.Module):
    def __init__(self, q=Q, channels=16, skip=24, dilations=(1, 2, 4, 8, 1, 2, 4, 8)):
        super().__init__()
        self.embed = nn.Embedding(q, channels)
        self.causal = CausalConv1d(channels, channels, 2, 1)
        self.blocks = nn.ModuleList([ResidualBlock(channels, skip, d) for d in dilations])
        self.out1 = nn.Conv1d(skip, skip, 1)
        self.out2 = nn.Conv1d(skip, q, 1)
        self.receptive_field = 2 + sum(dilations)

    def forward(self, idx):                 # idx: (B, T) codes -> (B, Q, T) logits
        x = self.causal(self.embed(idx).transpose(1, 2))
        skips = 0
        for block in self.blocks:
            x, s = block(x)
            skips = skips + s
        return self.out2(F.relu(self.out1(F.relu(skips))))


model = WaveNet()
conv = model.blocks[0].dilated.conv
print("weight_norm parametrized:", parametrize.is_parametrized(conv, "weight"),
      [n for n, _ in conv.named_parameters()])
print("g shape", tuple(conv.parametrizations.weight.original0.shape),
      "v shape", tuple(conv.parametrizations.weight.original1.shape))
print("weight equals g * v / |v|:", torch.allclose(
    conv.weight, conv.parametrizations.weight.original0 * conv.parametrizations.weight.original1
    / conv.parametrizations.weight.original1.norm(dim=(1, 2), keepdim=True), atol=1e-6))
print("receptive field", model.receptive_field,
      "parameters", sum(p.numel() for p in model.parameters()))

# causality: the output at step t must not depend on inputs after t
probe = torch.zeros(1, 40, model.blocks[0].res.in_channels, requires_grad=True)
x = model.causal(probe.transpose(1, 2))
for block in model.blocks:
    x, _ = block(x)
x[0, :, 25].sum().backward()
touched = (probe.grad[0].abs().sum(1) > 0).nonzero().flatten()
print("step 25 sees inputs", touched.min().item(), "to", touched.max().item())

# training: random windows, predict the next code
seq_len, batch = 48, 12
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(45):
    starts = torch.randint(0, len(codes) - seq_len - 1, (batch,))
    window = torch.stack([codes[s:s + seq_len + 1] for s in starts.tolist()])
    logits = model(window[:, :-1])
    loss = F.cross_entropy(logits, window[:, 1:])
    opt.zero_grad()
    loss.backward()
    gnorm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if step % 15 == 0 or step == 44:
        print("step", step, "loss", round(loss.item(), 3), "grad norm", round(gnorm.item(), 2))

model.eval()
with torch.no_grad():
    logits = model(codes[None, :256])
    acc = (logits[0, :, :-1].argmax(0) == codes[1:256]).float().mean().item()
print("teacher-forced next-code accuracy", round(acc, 2))

# fold the weight norm back into plain weights for inference
before = model(codes[None, :100]).detach()
for m in model.modules():
    if isinstance(m, nn.Conv1d) and parametrize.is_parametrized(m, "weight"):
        parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
after = model(codes[None, :100]).detach()
print("after removal parametrized:", parametrize.is_parametrized(conv),
      "same outputs:", torch.allclose(before, after, atol=1e-5),
      "state keys", len(model.state_dict()))

# autoregressive generation with a rolling buffer of the receptive field
gen = torch.Generator().manual_seed(7)
buf = codes[:model.receptive_field].clone()
out = []
with torch.no_grad():
    for _ in range(40):
        logits = model(buf[None])[0, :, -1]
        probs = F.softmax(logits / 0.8, dim=0)
        nxt = torch.multinomial(probs, 1, generator=gen)
        out.append(nxt.item())
        buf = torch.cat([buf[1:], nxt])
print("generated", out[:12])
print("generated signal range", round(mu_law_decode(torch.tensor(out)).min().item(), 3),
      round(mu_law_decode(torch.tensor(out)).max().item(), 3))
