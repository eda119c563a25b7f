"""DnCNN residual denoising (Zhang et al. 2017) and Noise2Void blind-spot training (Krull et al.
2019) the way the reference repositories write them: a conv-BN-ReLU stack that predicts the
noise (the clean image is input minus the output), orthogonal init with BatchNorm weights drawn
from a clipped normal, Noise2Noise pairs (two noisy views of one image), blind-spot masking that
replaces random pixels by random neighbours through index tensors and takes the loss only there,
PSNR in dB, MultiStepLR, eval() vs train() BatchNorm behaviour and a state_dict round trip."""
import io
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(7)


class DnCNN(nn.Module):
    def __init__(self, channels=1, num_of_layers=5, features=8):
        super().__init__()
        layers = [nn.Conv2d(channels, features, 3, padding=1, bias=False), nn.ReLU(inplace=True)]
        for _ in range(num_of_layers - 2):
            layers.append(nn.Conv2d(features, features, 3, padding=1, bias=False))
            layers.append(nn.BatchNorm2d(features))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(features, channels, 3, padding=1, bias=False))
        self.dncnn = nn.Sequential(*layers)
        self._initialize_weights()

    def _initialize_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.orthogonal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.normal_(mean=0, std=math.sqrt(2.0 / 9.0 / 64.0)).clamp_(-0.025, 0.025)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        noise = self.dncnn(x)
        return x - noise


def batch_psnr(img, clean, data_range=1.0):
    mse = ((img.clamp(0.0, 1.0) - clean) ** 2).flatten(1).mean(dim=1)
    return (10 * torch.log10(data_range**2 / mse)).mean()


def make_clean(n, size=16):
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    freqs = torch.from_numpy(rng.uniform(1.0, 3.0, size=(n, 2, 1, 1))).float()
    wave_x = torch.sin(math.pi * freqs[:, :1] * xx)
    return 0.5 + 0.4 * wave_x * torch.cos(math.pi * freqs[:, 1:] * yy)


clean = make_clean(8)
print("clean:", tuple(clean.shape), clean.dtype, f"{clean.mean().item():.4f}")
sigma = 25 / 255.0
noisy = clean + sigma * torch.randn_like(clean)
print(f"noisy PSNR {batch_psnr(noisy, clean).item():.3f} dB")

model = DnCNN()
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print("params", n_params, "bn buffers", [k for k, _ in model.named_buffers()][:3])
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[4, 7], gamma=0.5)
criterion = nn.MSELoss(reduction="sum")

# --- residual learning (supervised, Noise2Noise targets: a second noisy view) ---
for epoch in range(8):
    model.train()
    noise_a = torch.FloatTensor(clean.size()).normal_(mean=0, std=sigma)
    noise_b = torch.empty_like(clean).normal_(0, sigma)
    inp, target = clean + noise_a, clean + noise_b
    optimizer.zero_grad()
    out = model(inp)
    loss = criterion(out, target) / (inp.size(0) * 2)
    loss.backward()
    optimizer.step()
    scheduler.step()
    if epoch % 2 == 1:
        model.eval()
        with torch.no_grad():
            out_val = torch.clamp(model(noisy), 0.0, 1.0)
        print(f"epoch {epoch} loss {loss.item():.4f} lr {scheduler.get_last_lr()[0]:.5f} "
              f"psnr {batch_psnr(out_val, clean).item():.3f}")

bn = model.dncnn[3]
print("running_mean", bn.running_mean[:3].numpy().round(4),
      "tracked", bn.num_batches_tracked.item())
model.train()
with torch.no_grad():
    a = model(noisy)
model.eval()
with torch.no_grad():
    b = model(noisy)
print(f"train-vs-eval BN output gap {(a - b).abs().max().item():.4f}")


# --- Noise2Void blind-spot masking ---
def n2v_mask(x, n_pix, radius=2, generator=None):
    """Replace n_pix random pixels per image by a random neighbour; return input and mask."""
    b, c, h, w = x.shape
    ys = torch.randint(0, h, (b, n_pix), generator=generator)
    xs = torch.randint(0, w, (b, n_pix), generator=generator)
    dy = torch.randint(-radius, radius + 1, (b, n_pix), generator=generator)
    dx = torch.randint(-radius, radius + 1, (b, n_pix), generator=generator)
    # never copy the pixel onto itself
    same = (dy == 0) & (dx == 0)
    dx = torch.where(same, torch.ones_like(dx), dx)
    ny = (ys + dy).clamp(0, h - 1)
    nx = (xs + dx).clamp(0, w - 1)
    bidx = torch.arange(b).unsqueeze(1).expand(-1, n_pix)
    masked = x.clone()
    masked[bidx, :, ys, xs] = x[bidx, :, ny, nx]
    mask = torch.zeros(b, 1, h, w, dtype=torch.bool)
    mask[bidx, 0, ys, xs] = True
    return masked, mask


g = torch.Generator().manual_seed(11)
masked, mask = n2v_mask(noisy, 12, generator=g)
print("masked pixels per image", mask.sum(dim=(1, 2, 3)).tolist())
print("changed", (masked != noisy).sum().item(), "dtype", mask.dtype)

n2v = DnCNN(num_of_layers=4)
opt = torch.optim.SGD(n2v.parameters(), lr=0.05, momentum=0.9, nesterov=True)
for step in range(6):
    masked, mask = n2v_mask(noisy, 20, generator=g)
    pred = n2v(masked)
    loss = F.mse_loss(pred[mask.expand_as(pred)], noisy[mask.expand_as(noisy)])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    gnorm = nn.utils.clip_grad_norm_(n2v.parameters(), max_norm=1.0)
    opt.step()
    if step % 2 == 0:
        print(f"n2v step {step} loss {loss.item():.5f} grad_norm {gnorm.item():.4f}")

# masked_select / masked_fill views of the same loss
sel = torch.masked_select(pred.detach(), mask)
print("masked_select", sel.shape, f"{sel.mean().item():.4f}")
filled = pred.detach().masked_fill(~mask, 0.0)
print(f"masked_fill sum {filled.sum().item():.4f} nonzero {torch.count_nonzero(filled).item()}")

# state_dict round trip
buf = io.BytesIO()
torch.save(model.state_dict(), buf)
buf.seek(0)
restored = DnCNN()
missing = restored.load_state_dict(torch.load(buf, weights_only=True))
print(missing)
restored.eval()
with torch.no_grad():
    same = torch.equal(restored(noisy), model(noisy))
print("restored equal:", same)
try:
    DnCNN(channels=3).load_state_dict(model.state_dict())
except RuntimeError as e:
    print("RuntimeError:", str(e).splitlines()[0])
print(torch.round(model(noisy[:1, :, :2, :4]).detach(), decimals=3))
