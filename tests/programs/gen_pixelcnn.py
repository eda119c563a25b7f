"""PixelCNN on tiny 4-level 6x6 images, following the classic PyTorch PixelCNN examples
(masked convolutions of type 'A' and 'B' whose mask is a registered buffer multiplied into the
weight in ``forward``, gated ``tanh * sigmoid`` activations on ``chunk``-split channels, a
256-way-style softmax over intensity levels trained with ``F.cross_entropy`` on 4-D logits), and
sampling pixel by pixel with ``torch.multinomial`` under ``torch.inference_mode`` (the samples
are inference tensors: they are cloned before autograd may use them). Reports bits per
dimension and checks the autoregressive property by differentiating one output pixel with
respect to the input."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
LEVELS, H, W = 4, 6, 6


class MaskedConv2d(nn.Conv2d):
    """A convolution that only sees pixels above and to the left ('A' also hides the centre)."""

    def __init__(self, mask_type, *args, **kwargs):
        super().__init__(*args, **kwargs)
        assert mask_type in ("A", "B")
        self.register_buffer("mask", self.weight.data.clone())
        _, _, kh, kw = self.weight.size()
        self.mask.fill_(1)
        self.mask[:, :, kh // 2, kw // 2 + (mask_type == "B"):] = 0
        self.mask[:, :, kh // 2 + 1:] = 0

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding)


class GatedBlock(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = MaskedConv2d("B", ch, 2 * ch, 3, padding=1)
        self.res = nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        a, b = self.conv(x).chunk(2, dim=1)
        return x + self.res(torch.tanh(a) * torch.sigmoid(b))


class PixelCNN(nn.Module):
    def __init__(self, ch=16, blocks=2):
        super().__init__()
        self.inp = MaskedConv2d("A", 1, ch, 5, padding=2)
        self.blocks = nn.ModuleList([GatedBlock(ch) for _ in range(blocks)])
        self.out = nn.Sequential(nn.ReLU(), nn.Conv2d(ch, ch, 1), nn.ReLU(),
                                 nn.Conv2d(ch, LEVELS, 1))

    def forward(self, x):
        h = self.inp(x)
        for blk in self.blocks:
            h = blk(h)
        return self.out(h)


def make_data(n):
    """Diagonal gradients with a random offset, quantized to LEVELS intensity levels."""
    ii = torch.arange(H).view(1, H, 1)
    jj = torch.arange(W).view(1, 1, W)
    offset = torch.randint(0, LEVELS, (n, 1, 1))
    return ((ii + jj) // 3 + offset).remainder(LEVELS).unsqueeze(1)   # (n, 1, H, W) int64


data = make_data(96)
print("levels histogram", torch.bincount(data.flatten(), minlength=LEVELS).tolist())

model = PixelCNN()
print("buffers", [n for n, _ in model.named_buffers()])
print("mask A centre row", model.inp.mask[0, 0, 2].tolist(),
      "mask B centre row", model.blocks[0].conv.mask[0, 0, 1].tolist())
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.97)

for epoch in range(4):
    perm = torch.randperm(data.size(0))
    total = 0.0
    for i in range(0, data.size(0), 32):
        target = data[perm[i:i + 32]]
        x = target.float() / (LEVELS - 1)
        logits = model(x)                                   # (B, LEVELS, H, W)
        loss = F.cross_entropy(logits, target.squeeze(1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * target.size(0)
    sched.step()
    nll = total / data.size(0)
    print("epoch", epoch, "nll", round(nll, 4), "bits/dim", round(nll / math.log(2), 4),
          "lr", round(sched.get_last_lr()[0], 6))

# the autoregressive property: output pixel (2, 3) depends only on earlier pixels
x = (data[:1].float() / (LEVELS - 1)).requires_grad_()
out = model(x)
g, = torch.autograd.grad(out[0, :, 2, 3].sum(), x)
dep = (g[0, 0].abs() > 0).int()
print("receptive field of pixel (2,3):")
for row in dep.tolist():
    print(" ", "".join(str(v) for v in row))
print("depends on itself or later:", bool(dep.flatten()[2 * W + 3:].any()))

# sampling one pixel at a time
model.eval()
torch.manual_seed(3)
with torch.inference_mode():
    samples = torch.zeros(8, 1, H, W)
    for i in range(H):
        for j in range(W):
            probs = F.softmax(model(samples)[:, :, i, j], dim=1)
            samples[:, :, i, j] = torch.multinomial(probs, 1).float() / (LEVELS - 1)
print("inference tensors:", samples.is_inference(), samples.detach().is_inference(),
      samples.clone().is_inference())
try:
    samples.requires_grad_()
except RuntimeError as err:
    print("requires_grad_ refused:", err)
ints = (samples * (LEVELS - 1)).round().long()
print("sample 0:")
for row in ints[0, 0].tolist():
    print(" ", row)
x = samples.clone().requires_grad_()
logp = F.log_softmax(model(x), dim=1).gather(1, ints).sum(dim=(1, 2, 3))
g, = torch.autograd.grad(logp.sum(), x)
print("score of the samples (mean |d logp / dx|)", round(g.abs().mean().item(), 4))
with torch.no_grad():
    logp = F.log_softmax(model(samples), dim=1).gather(1, ints).sum(dim=(1, 2, 3))
print("sample log-likelihoods", [round(v, 2) for v in logp.tolist()])
print("state_dict keys", len(model.state_dict()), sorted(model.state_dict())[:3])
