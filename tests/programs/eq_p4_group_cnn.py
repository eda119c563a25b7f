"""A p4 group-equivariant CNN (Cohen & Welling 2016) with filters rotated by torch.rot90.

The lifting layer correlates the image with the four rotated copies of each filter; the
group convolution also cyclically shifts the rotation axis of its filters. Max pooling over
the rotation axis (group pooling) gives rotation-invariant features, checked numerically.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)


class LiftingConv(nn.Module):
    """Z2 -> p4: one output per filter and rotation, shape (N, C_out, 4, H, W)."""

    def __init__(self, c_in, c_out, k):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, k, k) / (c_in * k * k) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x):
        rotated = torch.stack([torch.rot90(self.weight, r, dims=(-2, -1)) for r in range(4)], 1)
        c_out = self.weight.shape[0]
        w = rotated.reshape(c_out * 4, *self.weight.shape[1:])
        y = F.conv2d(x, w, padding=self.weight.shape[-1] // 2)
        y = y.view(x.shape[0], c_out, 4, *y.shape[-2:])
        return y + self.bias.view(1, -1, 1, 1, 1)


class GroupConv(nn.Module):
    """p4 -> p4: the filter for rotation r is rot90(w, r) with its group axis rolled by r."""

    def __init__(self, c_in, c_out, k, bias=True):
        super().__init__()
        fan_in = c_in * 4 * k * k
        self.weight = nn.Parameter(torch.randn(c_out, c_in, 4, k, k) / fan_in**0.5)
        # a bias before BatchNorm is cancelled by it (its gradient is rounding noise)
        self.register_parameter("bias", nn.Parameter(torch.zeros(c_out)) if bias else None)

    def forward(self, x):
        n, c_in, g, h, w_ = x.shape
        filters = []
        for r in range(4):
            w = torch.roll(self.weight, shifts=r, dims=2)
            filters.append(w.rot90(r, [3, 4]))
        w = torch.stack(filters, dim=1).flatten(0, 1).flatten(1, 2)
        y = F.conv2d(x.reshape(n, c_in * g, h, w_), w, padding=self.weight.shape[-1] // 2)
        y = y.unflatten(1, (-1, 4))
        return y if self.bias is None else y + self.bias[None, :, None, None, None]


class P4CNN(nn.Module):
    def __init__(self, n_classes=3):
        super().__init__()
        self.lift = LiftingConv(1, 4, 3)
        self.gconv = GroupConv(4, 6, 3, bias=False)
        self.bn = nn.BatchNorm3d(6)
        self.head = nn.Linear(6, n_classes)

    def forward(self, x):
        x = F.relu(self.lift(x))
        x = F.relu(self.bn(self.gconv(x)))
        x = x.amax(dim=2)                 # group pooling over rotations
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


def rotate_fmap(y, r):
    """How a p4 feature map transforms when the input rotates by r quarter turns."""
    return torch.roll(torch.rot90(y, r, dims=(-2, -1)), shifts=r, dims=2)


model = P4CNN()
images = torch.from_numpy(rng.standard_normal((4, 1, 9, 9)).astype(np.float32))
labels = torch.tensor([0, 1, 2, 1])

lift = model.lift
y = lift(images)
for r in range(1, 4):
    err = (lift(torch.rot90(images, r, (2, 3))) - rotate_fmap(y, r)).abs().max().item()
    print(f"lifting equivariance r={r}: {err:.1e}" if err > 1e-5 else f"lifting r={r}: ok")

z = F.relu(y)
gz = model.gconv(z)
errs = [(model.gconv(rotate_fmap(z, r)) - rotate_fmap(gz, r)).abs().max() for r in range(4)]
print("group conv max error < 1e-5:", bool(torch.stack(errs).max() < 1e-5))
print("feature map shape:", tuple(gz.shape), gz.dtype)

opt = torch.optim.Adam(model.parameters(), lr=0.05)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
for step in range(20):
    opt.zero_grad(set_to_none=True)
    logits = model(images)
    loss = F.cross_entropy(logits, labels, label_smoothing=0.05)
    loss.backward()
    gnorm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
    opt.step()
    sched.step()
    if step % 5 == 4:
        print(f"step {step + 1:2d} loss {loss.item():.4f} grad {gnorm.item():.4f} "
              f"lr {sched.get_last_lr()[0]:.4f}")

model.eval()
with torch.no_grad():
    base = model(images)
    for r in range(1, 4):
        rotated = model(images.rot90(r, dims=[-2, -1]))
        print(f"invariance r={r}:", torch.allclose(base, rotated, atol=1e-5))
    probs = base.softmax(-1)
    print(probs.round(decimals=3))
    pred = probs.argmax(1)
    print("pred", pred.tolist(), "acc", (pred == labels).float().mean().item())

print("weight rot90 x4 is identity:",
      torch.equal(torch.rot90(model.lift.weight, 4, (2, 3)), model.lift.weight))
try:
    torch.rot90(images, 1, dims=(0,))
except RuntimeError as e:
    print("RuntimeError:", e)
