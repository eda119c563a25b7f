"""SIREN, after the "explore_siren" notebook and the siren repository's modules.py and
diff_operators.py:
a sine-activated MLP with its special initialisation (``uniform_`` bounded by sqrt(6/fan_in)/omega
for hidden layers, 1/fan_in for the first), fitted to an analytic image three ways -- on its
values, on its gradient field, and on its Laplacian -- where the derivatives of the network with
respect to its input coordinates come from ``torch.autograd.grad(..., create_graph=True)`` so the
loss on them can itself be back-propagated. Coordinates come from ``torch.meshgrid`` with
``indexing='ij'``; the learning rate decays with ``ExponentialLR``; PSNR uses ``torch.log10``.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
SIDE = 16


def get_mgrid(sidelen, dim=2):
    """A flattened grid of coordinates in [-1, 1]^dim."""
    tensors = tuple(dim * [torch.linspace(-1, 1, steps=sidelen)])
    mgrid = torch.stack(torch.meshgrid(*tensors, indexing="ij"), dim=-1)
    return mgrid.reshape(-1, dim)


class SineLayer(nn.Module):
    def __init__(self, in_features, out_features, bias=True, is_first=False, omega_0=30.):
        super().__init__()
        self.omega_0 = omega_0
        self.is_first = is_first
        self.in_features = in_features
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.init_weights()

    def init_weights(self):
        with torch.no_grad():
            if self.is_first:
                self.linear.weight.uniform_(-1 / self.in_features, 1 / self.in_features)
            else:
                bound = math.sqrt(6 / self.in_features) / self.omega_0
                self.linear.weight.uniform_(-bound, bound)

    def forward(self, x):
        return torch.sin(self.omega_0 * self.linear(x))


class Siren(nn.Module):
    def __init__(self, in_features, hidden_features, hidden_layers, out_features,
                 first_omega_0=30., hidden_omega_0=30.):
        super().__init__()
        layers = [SineLayer(in_features, hidden_features, is_first=True, omega_0=first_omega_0)]
        for _ in range(hidden_layers):
            layers.append(SineLayer(hidden_features, hidden_features, omega_0=hidden_omega_0))
        final = nn.Linear(hidden_features, out_features)
        with torch.no_grad():
            bound = math.sqrt(6 / hidden_features) / hidden_omega_0
            final.weight.uniform_(-bound, bound)
        layers.append(final)
        self.net = nn.Sequential(*layers)

    def forward(self, coords):
        # allows taking the derivative w.r.t. the input
        coords = coords.clone().detach().requires_grad_(True)
        return self.net(coords), coords


def gradient(y, x, grad_outputs=None):
    if grad_outputs is None:
        grad_outputs = torch.ones_like(y)
    return torch.autograd.grad(y, [x], grad_outputs=grad_outputs, create_graph=True)[0]


def divergence(y, x):
    div = 0.
    for i in range(y.shape[-1]):
        div = div + torch.autograd.grad(y[..., i], x, torch.ones_like(y[..., i]),
                                        create_graph=True)[0][..., i:i + 1]
    return div


def laplace(y, x):
    return divergence(gradient(y, x), x)


# the "image": a smooth analytic function with closed-form derivatives
coords = get_mgrid(SIDE)
xx, yy = coords[:, :1], coords[:, 1:]
img = torch.sin(2.0 * xx) * torch.cos(3.0 * yy)
img_grad = torch.cat([2.0 * torch.cos(2.0 * xx) * torch.cos(3.0 * yy),
                      -3.0 * torch.sin(2.0 * xx) * torch.sin(3.0 * yy)], -1)
img_lapl = -13.0 * img
print("image stats:", f"{img.mean().item():.4f} {img.std().item():.4f}",
      "grad norm:", f"{img_grad.norm(dim=-1).mean().item():.4f}")


def psnr(pred, gt):
    mse = F.mse_loss(pred, gt)
    # images live in [-1, 1]: peak-to-peak range 2
    return 10 * torch.log10(4.0 / mse)


for mode in ("value", "gradient", "laplacian"):
    torch.manual_seed(1)
    model = Siren(2, 32, 2, 1, first_omega_0=10., hidden_omega_0=10.)
    w = model.net[1].linear.weight
    w0 = model.net[0].linear.weight
    print(mode, "init:", f"{w.abs().max().item():.4f}", f"{w0.std().item():.4f}")
    optim = torch.optim.Adam(lr=1e-3, params=model.parameters())
    sched = torch.optim.lr_scheduler.ExponentialLR(optim, gamma=0.98)
    for step in range(25):
        out, x = model(coords)
        if mode == "value":
            loss = ((out - img) ** 2).mean()
        elif mode == "gradient":
            loss = ((gradient(out, x) - img_grad) ** 2).sum(-1).mean()
        else:
            loss = ((laplace(out, x) - img_lapl) ** 2).mean()
        optim.zero_grad()
        loss.backward()
        optim.step()
        sched.step()
        if step % 8 == 0 or step == 24:
            print(f"  {mode} step {step:2d} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.6f}")
    out, x = model(coords)
    g = gradient(out, x)
    lap = laplace(out, x)
    # fitting derivatives leaves the image known up to a constant: compare after centring
    centred = out - out.mean() + img.mean()
    print(f"  {mode} psnr {psnr(centred.detach(), img).item():.2f}",
          f"grad err {(g - img_grad).norm(dim=-1).mean().item():.4f}",
          f"lapl mean {lap.mean().item():.3f}")
