"""Rotation-invariant filters via torch.nn.utils.parametrize, and C8 steering by grid_sample.

A parametrization averages each filter over its four quarter-turn rotations (and a
reflection), so the layer is exactly invariant to the dihedral group D4; finer rotations
(multiples of 45 degrees) are applied with affine_grid + grid_sample and are only
approximately respected, which the program measures.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as P

torch.manual_seed(0)
rng = np.random.default_rng(7)


class D4Symmetric(nn.Module):
    """Projects a (..., k, k) filter onto the D4-invariant subspace (group averaging)."""

    def forward(self, w):
        rots = [torch.rot90(w, r, (-2, -1)) for r in range(4)]
        return (sum(rots) + sum(r.flip(-1) for r in rots)) / 8

    def right_inverse(self, w):
        return w


def rotate(images, angle):
    theta = torch.tensor([[math.cos(angle), -math.sin(angle), 0.0],
                          [math.sin(angle), math.cos(angle), 0.0]]).expand(images.shape[0], 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False)


net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.GELU(),
                    nn.Conv2d(6, 6, 3, padding=1), nn.GELU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 2))
for conv in (net[0], net[2]):
    P.register_parametrization(conv, "weight", D4Symmetric())
print(net[0])
print("parametrized:", P.is_parametrized(net[0]), P.is_parametrized(net[4]),
      list(net[0].parametrizations.weight.original.shape))
w = net[0].weight
print("filter invariant:", torch.allclose(w, w.rot90(1, (2, 3))), torch.allclose(w, w.flip(3)))
names = [n for n, _ in net.named_parameters()]
print("parameter names:", names[:3])

# disks (class 0) vs squares (class 1): blurry shapes, so rotations mostly keep the class
yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
radius = torch.from_numpy(rng.uniform(0.35, 0.7, 32)).float().view(-1, 1, 1)
labels = torch.arange(32) % 2
disk = torch.sigmoid((radius - (xx**2 + yy**2).sqrt()) * 12)
square = torch.sigmoid((radius - torch.maximum(xx.abs(), yy.abs())) * 12)
images = torch.where(labels.view(-1, 1, 1).bool(), square, disk).unsqueeze(1)
images = images + 0.05 * torch.randn_like(images)

opt = torch.optim.Adam(net.parameters(), lr=0.02, amsgrad=True)
for step in range(25):
    loss = F.cross_entropy(net(images), labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 8 == 0 or step == 24:
        print(f"step {step:2d} loss {loss.item():.4f}")

with torch.no_grad():
    base = net(images)
    acc = (base.argmax(1) == labels).float().mean()
    print(f"train accuracy {acc:.3f}")
    for k in range(1, 4):
        print(f"rot90 x{k} exact:", torch.allclose(net(images.rot90(k, (2, 3))), base, atol=1e-5))
    print("flip exact:", torch.allclose(net(images.flip(-1)), base, atol=1e-5))
    for deg in (45, 30):
        out = net(rotate(images, math.radians(deg)))
        drift = (out - base).norm(dim=1).mean() / base.norm(dim=1).mean()
        print(f"rotation {deg} deg relative drift {drift:.3f}",
              f"agreement {(out.argmax(1) == base.argmax(1)).float().mean():.3f}")

with P.cached():
    a = net[0].weight
    b = net[0].weight
print("cached weight reused:", a is b)
P.remove_parametrizations(net[0], "weight", leave_parametrized=True)
print("after removal:", P.is_parametrized(net[0]), type(net[0].weight).__name__)
try:
    P.remove_parametrizations(net[0], "weight")
except ValueError as e:
    print("ValueError:", e)
