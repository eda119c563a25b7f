"""Continuous normalizing flows and Hamiltonian neural networks, as FFJORD and the HNN paper's
code (greydanus/hamiltonian-nn) write them: an augmented ODE state ``(z, log p)`` whose
divergence is computed exactly (a loop of ``torch.autograd.grad`` over output dims with
``create_graph=True``) or by the Hutchinson estimator (``torch.randn_like`` Gaussian or
Rademacher noise, ``e^T J`` from one ``autograd.grad`` with ``grad_outputs=e``), a time-
conditioned field (``torch.cat`` of ``t.expand``), log-likelihood under ``torch.distributions``
(``MultivariateNormal``, ``Normal(...).log_prob(...).sum(-1)``, ``Independent``), and an HNN
whose vector field is the symplectic gradient of a learned scalar H (``torch.autograd.grad(H.sum(),
x, create_graph=True)``, ``torch.split``/``torch.chunk``), trained on a mass-spring system and
rolled out with leapfrog vs RK4, checking energy drift; also ``torch.func.jacrev`` for the exact
trace and ``torch.func.vmap`` of a per-sample divergence."""
import math

import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Independent, MultivariateNormal, Normal
from torch.func import jacrev, vmap

torch.manual_seed(0)
rng = np.random.default_rng(0)
dim = 2


class TimeField(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.l1 = nn.Linear(dim + 1, hidden)
        self.l2 = nn.Linear(hidden + 1, hidden)
        self.l3 = nn.Linear(hidden + 1, dim)

    def forward(self, t, z):
        tt = t.expand(z.shape[0], 1)
        h = torch.tanh(self.l1(torch.cat([z, tt], 1)))
        h = torch.nn.functional.softplus(self.l2(torch.cat([h, tt], 1)))
        return self.l3(torch.cat([h, tt], 1))


def divergence_exact(f, z):
    div = torch.zeros(z.shape[0], dtype=z.dtype)
    for i in range(z.shape[1]):
        div = div + torch.autograd.grad(f[:, i].sum(), z, create_graph=True)[0][:, i]
    return div


def divergence_hutchinson(f, z, e):
    e_dzdx = torch.autograd.grad(f, z, grad_outputs=e, create_graph=True)[0]
    return (e_dzdx * e).sum(1)


def cnf_forward(field, x, n_steps=8, estimator="exact", noise=None):
    """Integrate z from t=0 (data) to t=1 (base) with Euler steps; returns z and delta log p."""
    z = x
    logp = torch.zeros(x.shape[0], dtype=x.dtype)
    h = 1.0 / n_steps
    for k in range(n_steps):
        t = torch.tensor([[k * h]], dtype=x.dtype)
        with torch.enable_grad():
            if not z.requires_grad:
                z = z.requires_grad_(True)
            f = field(t, z)
            if estimator == "exact":
                div = divergence_exact(f, z)
            else:
                div = divergence_hutchinson(f, z, noise)
        z = z + h * f
        logp = logp - h * div
    return z, logp


# two-moons-ish data
n = 128
theta = rng.uniform(0, math.pi, n)
moons = np.stack([np.cos(theta), np.sin(theta)], 1)
moons[n // 2:] = np.stack([1 - np.cos(theta[n // 2:]), 0.5 - np.sin(theta[n // 2:])], 1)
data = torch.from_numpy((moons + 0.08 * rng.normal(size=moons.shape)).astype(np.float32))
base = MultivariateNormal(torch.zeros(dim), covariance_matrix=torch.eye(dim))
base2 = Independent(Normal(torch.zeros(dim), torch.ones(dim)), 1)
print("base log_prob agree", torch.allclose(base.log_prob(data[:4]), base2.log_prob(data[:4])),
      round(base.log_prob(torch.zeros(dim)).item(), 5), base2.event_shape, base2.batch_shape)

field = TimeField()
opt = torch.optim.Adam(field.parameters(), lr=5e-3)
for it in range(6):
    x = data[torch.randperm(n)[:64]]
    z, dlogp = cnf_forward(field, x)
    nll = -(base.log_prob(z) + dlogp).mean()
    opt.zero_grad()
    nll.backward()
    opt.step()
    print(f"cnf iter {it} nll {nll.item():.4f}")

# Hutchinson is unbiased: average many Gaussian / Rademacher probes vs exact trace
x = data[:16].clone().requires_grad_(True)
t0 = torch.zeros(1, 1)
f = field(t0, x)
exact = divergence_exact(f, x)
est_g = torch.stack([divergence_hutchinson(f, x, torch.randn_like(x)) for _ in range(200)]).mean(0)
est_r = torch.stack([divergence_hutchinson(f, x, torch.randint_like(x, 0, 2) * 2 - 1)
                     for _ in range(200)]).mean(0)
print("hutchinson gaussian err", round((est_g - exact).abs().mean().item(), 2),
      "rademacher err", round((est_r - exact).abs().mean().item(), 2),
      "rademacher var smaller", (est_r - exact).abs().mean().item()
      < (est_g - exact).abs().mean().item() + 0.05)


def single(z):
    return field(t0, z.unsqueeze(0)).squeeze(0)


tr = vmap(lambda z: torch.trace(jacrev(single)(z)))(x.detach())
print("jacrev trace == autograd trace", torch.allclose(tr, exact.detach(), atol=1e-5))
with torch.no_grad():
    sample = torch.randn(5, dim)
print("density at data vs far", [round(v, 3) for v in (-cnf_forward(
    field, torch.tensor([[0.0, 1.0], [5.0, 5.0]]))[0].pow(2).sum(1) / 2).tolist()])


# ---------------------------------------------------------------- Hamiltonian NN on a spring
def spring_dynamics(q, p, k=2.0, m=1.0):
    return p / m, -k * q


def energy(q, p, k=2.0, m=1.0):
    return 0.5 * k * q ** 2 + 0.5 * p ** 2 / m


qs = torch.from_numpy(rng.uniform(-1, 1, size=(200, 1)))
ps = torch.from_numpy(rng.uniform(-1, 1, size=(200, 1)))
xs = torch.cat([qs, ps], 1)
dq, dp = spring_dynamics(qs, ps)
dxs = torch.cat([dq, dp], 1) + 0.01 * torch.from_numpy(rng.normal(size=(200, 2)))


class HNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                                 nn.Linear(32, 1)).double()
        self.M = torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)

    def forward(self, x):
        return self.net(x)

    def time_derivative(self, x):
        x = x if x.requires_grad else x.requires_grad_(True)
        H = self(x)
        dH = torch.autograd.grad(H.sum(), x, create_graph=True)[0]
        dHdq, dHdp = torch.split(dH, 1, dim=1)
        return torch.cat([dHdp, -dHdq], 1)


hnn = HNN()
baseline = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2)).double()
opt_h = torch.optim.Adam(hnn.parameters(), lr=1e-2)
opt_b = torch.optim.Adam(baseline.parameters(), lr=1e-2)
for step in range(40):
    idx = torch.randperm(200)[:64]
    loss_h = (hnn.time_derivative(xs[idx].clone()) - dxs[idx]).pow(2).mean()
    opt_h.zero_grad()
    loss_h.backward()
    opt_h.step()
    loss_b = (baseline(xs[idx]) - dxs[idx]).pow(2).mean()
    opt_b.zero_grad()
    loss_b.backward()
    opt_b.step()
    if step % 13 == 0 or step == 39:
        print(f"hnn step {step:2d} loss {loss_h.item():.5f} baseline {loss_b.item():.5f}")
print("symplectic form", (hnn.M @ hnn.M).tolist())


def rollout(fn, x0, h=0.1, steps=60):
    x = x0
    for _ in range(steps):
        k1 = fn(x)
        k2 = fn(x + h / 2 * k1)
        k3 = fn(x + h / 2 * k2)
        k4 = fn(x + h * k3)
        x = (x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)).detach()
    return x


def leapfrog(q, p, h=0.1, steps=60):
    for _ in range(steps):
        p = p - h / 2 * 2.0 * q
        q = q + h * p
        p = p - h / 2 * 2.0 * q
    return q, p


x0 = torch.tensor([[0.8, 0.0]], dtype=torch.float64)
e0 = energy(*x0.unbind(1)).item()
x_h = rollout(lambda x: hnn.time_derivative(x.clone()).detach(), x0)
x_b = rollout(lambda x: baseline(x).detach(), x0)
q_l, p_l = leapfrog(x0[:, 0], x0[:, 1])
print("energy start", round(e0, 4), "hnn", round(energy(*x_h.unbind(1)).item(), 3),
      "baseline", round(energy(*x_b.unbind(1)).item(), 3),
      "leapfrog", round(energy(q_l, p_l).item(), 4))
q_t, p_t = torch.chunk(x_h, 2, dim=1)
print("hnn final state", round(q_t.item(), 3), round(p_t.item(), 3))
