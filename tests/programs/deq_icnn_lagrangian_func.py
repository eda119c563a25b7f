"""An input-convex neural network (ICNN, Amos, Xu & Kolter) and a Lagrangian neural network
(Cranmer et al.), written with torch.func as their JAX-inspired PyTorch ports write them.

The ICNN keeps its hidden-to-hidden weights non-negative two ways: one layer through
``torch.nn.utils.parametrize`` (a softplus reparametrisation), the other by an in-place
``clamp_(min=0)`` after each optimizer step. Convexity is checked with per-sample Hessians
(``torch.func.vmap(torch.func.hessian(...))``) and ``torch.linalg.eigvalsh``; the gradient of
the convex potential (``torch.func.grad``) is a monotone map, used to solve an inner convex
minimisation. The Lagrangian network learns L(q, q_dot) of a pendulum; accelerations come from
the Euler-Lagrange equation q_ddot = (d2L/dq_dot2)^-1 (dL/dq - d2L/dq_dot dq q_dot), with
``jacrev``/``hessian`` under ``vmap`` and ``functional_call`` on a parameter dict."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize
from torch.func import functional_call, grad, hessian, jacrev, vmap

torch.manual_seed(0)
rng = np.random.default_rng(2)


class SoftplusPositive(nn.Module):
    def forward(self, w):
        return F.softplus(w)

    def right_inverse(self, w):
        # softplus^-1 of the (clamped) initial weight, so the layer starts where it was
        return torch.log(torch.expm1(w.clamp(min=1e-3)))


class ICNN(nn.Module):
    """f(x) = w^T z_2 + a^T x, z_{k+1} = softplus(Wz_k z_k + Wx_k x), Wz_k >= 0."""

    def __init__(self, d, hidden=16):
        super().__init__()
        self.Wx0 = nn.Linear(d, hidden)
        self.Wz1 = nn.Linear(hidden, hidden, bias=False)
        self.Wx1 = nn.Linear(d, hidden)
        self.Wz2 = nn.Linear(hidden, 1, bias=False)
        self.Wx2 = nn.Linear(d, 1)
        for lin in (self.Wz1, self.Wz2):
            nn.init.uniform_(lin.weight, 0.0, 0.2)
        parametrize.register_parametrization(self.Wz1, "weight", SoftplusPositive())

    def forward(self, x):
        z = F.softplus(self.Wx0(x))
        z = F.softplus(self.Wz1(z) + self.Wx1(x))
        return (self.Wz2(z) + self.Wx2(x)).squeeze(-1)

    @torch.no_grad()
    def project(self):
        self.Wz2.weight.clamp_(min=0)


icnn = ICNN(2)
print(icnn.Wz1)
print("parametrized:", parametrize.is_parametrized(icnn.Wz1, "weight"),
      "| original is softplus^-1:",
      torch.allclose(F.softplus(icnn.Wz1.parametrizations.weight.original), icnn.Wz1.weight))
print("parameters:", sorted(n for n, _ in icnn.named_parameters()))

# target: a convex function (log-sum-exp plus a quadratic) sampled with noise
pts = torch.tensor(rng.uniform(-2, 2, size=(128, 2)), dtype=torch.float32)
target = torch.logsumexp(torch.stack([pts[:, 0], pts[:, 1], -pts.sum(1)], 1), 1) \
    + 0.25 * pts.pow(2).sum(1)
target += 0.01 * torch.randn_like(target)
opt = torch.optim.Adam(icnn.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.98)
for step in range(80):
    loss = F.mse_loss(icnn(pts), target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    icnn.project()
    sched.step()
    if step % 20 == 19:
        print(f"step {step + 1} mse {loss.item():.4f} "
              f"min Wz2 {icnn.Wz2.weight.min().item():.4f} lr {sched.get_last_lr()[0]:.5f}")

# convexity: every per-sample Hessian is positive semi-definite
params = {k: v.detach() for k, v in icnn.named_parameters()}
with parametrize.cached():
    f_single = lambda x: icnn(x.unsqueeze(0))[0]
    H = vmap(hessian(f_single))(pts[:16])
eigs = torch.linalg.eigvalsh(H)
print("Hessians", tuple(H.shape), "min eigenvalue >= -1e-6:", bool(eigs.min() >= -1e-6))
print("largest curvature", f"{eigs.max().item():.4f}")
laplacian = vmap(torch.trace)(H)
print("Laplacian of f at the first 4 points:", laplacian[:4].detach().round(decimals=4))
print("mean Laplacian (grad_fn", type(laplacian.grad_fn).__name__ + "):",
      f"{laplacian.mean().item():.4f}")

# the gradient map of a convex potential is monotone: <g(x) - g(y), x - y> >= 0
g = vmap(grad(f_single))
gx, gy = g(pts[:32]), g(pts[32:64])
mono = ((gx - gy) * (pts[:32] - pts[32:64])).sum(1)
print("monotone gradient map:", bool((mono >= -1e-6).all()), f"min {mono.min().item():.4f}")

# inner convex problem: argmin_y f(y) + |y - c|^2 / 2 by gradient descent on y
c = torch.tensor([1.5, -0.5])
y = c.clone().requires_grad_(True)
inner = torch.optim.SGD([y], lr=0.2, momentum=0.5)
for it in range(40):
    obj = icnn(y[None])[0] + 0.5 * (y - c).pow(2).sum()
    inner.zero_grad()
    obj.backward()
    inner.step()
y_star = y.detach()
print("prox point", [round(v, 3) for v in y_star.tolist()],
      "optimality residual", f"{(g(y_star[None])[0] + y_star - c).norm().item():.4f}")

# removing the parametrization bakes in the current (positive) weight
parametrize.remove_parametrizations(icnn.Wz1, "weight", leave_parametrized=True)
print("after removal:", type(icnn.Wz1.weight).__name__, "min weight > 0:",
      bool(icnn.Wz1.weight.min() > 0), "still parametrized:",
      parametrize.is_parametrized(icnn.Wz1))


# ----------------------------- Lagrangian neural network -----------------------------
def pendulum_accel(q, qd):
    return -9.81 * torch.sin(q)


class LNN(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.Softplus(),
                                 nn.Linear(hidden, hidden), nn.Softplus(), nn.Linear(hidden, 1))

    def forward(self, state):
        # a unit kinetic prior keeps d2L/dq_dot2 away from zero, the term the
        # Euler-Lagrange solve divides by
        return 0.5 * state[..., 1] ** 2 + self.net(state).squeeze(-1)


lnn = LNN()
lparams = dict(lnn.named_parameters())


def lagrangian(p, state):
    """L(q, q_dot) for one state vector [q, q_dot]."""
    return functional_call(lnn, p, (state,))


def accel(p, states):
    """Euler-Lagrange, batched over states (B, 2): q_ddot = (dL/dq - L_{qd,q} qd) / L_{qd,qd}."""
    g = vmap(grad(lagrangian, argnums=1), in_dims=(None, 0))(p, states)
    H = vmap(hessian(lagrangian, argnums=1), in_dims=(None, 0))(p, states)
    return (g[:, 0] - H[:, 1, 0] * states[:, 1]) / H[:, 1, 1]


q = torch.tensor(rng.uniform(-math.pi / 2, math.pi / 2, 32), dtype=torch.float32)
qd = torch.tensor(rng.uniform(-2, 2, 32), dtype=torch.float32)
states = torch.stack([q, qd], 1)
a_true = pendulum_accel(q, qd)
print("untrained accel[:3]", [round(v, 3) for v in accel(lparams, states[:3]).tolist()])
single = jacrev(grad(lagrangian, argnums=1), argnums=1)(lparams, states[0])
print("jacrev(grad) == hessian:",
      torch.allclose(single, hessian(lagrangian, argnums=1)(lparams, states[0])))
opt = torch.optim.Adam(lnn.parameters(), lr=1e-2)
for step in range(45):
    a_pred = accel(lparams, states)
    loss = F.smooth_l1_loss(a_pred, a_true)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_value_(lnn.parameters(), 1.0)
    opt.step()
    if step % 15 == 14:
        print(f"LNN step {step + 1} loss {loss.item():.4f}")

# energy E = qd dL/dqd - L is conserved by the learned dynamics: integrate and watch it
p_eval = {k: v.detach() for k, v in lparams.items()}


def energy(state):
    return state[1] * grad(lagrangian, argnums=1)(p_eval, state)[1] - lagrangian(p_eval, state)


state = torch.tensor([0.5, 0.0])
energies = []
for t in range(50):
    a = accel(p_eval, state[None])[0]
    qd_new = state[1] + 0.01 * a
    state = torch.stack([state[0] + 0.01 * qd_new, qd_new])  # semi-implicit Euler
    energies.append(energy(state))
energies = torch.stack(energies)
print(f"learned energy: mean {energies.mean().item():.4f} relative spread "
      f"{(energies.std() / energies.mean().abs()).item():.4f}")
print(f"q after 0.5 s: {state[0].item():.3f} (small-angle pendulum from 0.5 rad: "
      f"{0.5 * math.cos(math.sqrt(9.81) * 0.5):.3f})")
