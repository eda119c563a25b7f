"""Hamiltonian and Lagrangian neural networks, the way Greydanus et al.'s ``hamiltonian-nn``
and Cranmer et al.'s ``lagrangian_nns`` repositories build them (here in PyTorch): an HNN learns
a scalar energy H(q, p) and gets its vector field from ``torch.autograd.grad(H.sum(), x,
create_graph=True)`` times the symplectic matrix, trained on a pendulum and rolled out with a
leapfrog integrator; a LNN learns L(q, q_dot) and gets accelerations from the Euler-Lagrange
equations with ``torch.func.hessian``/``jacrev`` under ``torch.vmap`` and a
``torch.linalg.pinv``, trained through those transforms with ``functional_call``."""
import math

import torch
import torch.nn as nn
from torch.func import functional_call, hessian, jacrev

torch.manual_seed(0)


def pendulum_field(x):
    """Ground truth: H = p^2 / 2 + 3 (1 - cos q)."""
    q, p = x.unbind(-1)
    return torch.stack((p, -3 * torch.sin(q)), dim=-1)


def true_energy(x):
    q, p = x.unbind(-1)
    return 0.5 * p ** 2 + 3 * (1 - torch.cos(q))


# training data: random states in the phase plane with their time derivatives (+ noise)
radius = 0.5 + 1.5 * torch.rand(160)
angle = 2 * math.pi * torch.rand(160)
states = torch.stack((radius * torch.cos(angle), radius * torch.sin(angle)), dim=1)
derivs = pendulum_field(states) + 0.05 * torch.randn(160, 2)
print("states", tuple(states.shape), "energy range",
      round(true_energy(states).min().item(), 3), round(true_energy(states).max().item(), 3))


class MLP(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim):
        super().__init__()
        self.linear1 = nn.Linear(input_dim, hidden_dim)
        self.linear2 = nn.Linear(hidden_dim, hidden_dim)
        self.linear3 = nn.Linear(hidden_dim, output_dim, bias=False)
        for layer in (self.linear1, self.linear2, self.linear3):
            nn.init.orthogonal_(layer.weight)

    def forward(self, x):
        h = torch.tanh(self.linear1(x))
        h = torch.tanh(self.linear2(h))
        return self.linear3(h)


class HNN(nn.Module):
    """dx/dt = J grad H(x) with J the canonical symplectic matrix."""

    def __init__(self, input_dim, differentiable_model):
        super().__init__()
        self.differentiable_model = differentiable_model
        self.register_buffer("M", self.permutation_tensor(input_dim))

    def permutation_tensor(self, n):
        M = torch.eye(n)
        return torch.cat([M[n // 2:], -M[:n // 2]])

    def forward(self, x):
        return self.differentiable_model(x)

    def time_derivative(self, x):
        H = self.forward(x)
        dH = torch.autograd.grad(H.sum(), x, create_graph=True)[0]
        return dH @ self.M.t()


model = HNN(2, MLP(2, 64, 1))
print("symplectic matrix", model.M.tolist())
optim = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
x = states.clone().requires_grad_(True)
for step in range(101):
    dxdt_hat = model.time_derivative(x)
    loss = (derivs - dxdt_hat).pow(2).mean()
    loss.backward()
    optim.step()
    optim.zero_grad()
    if step % 25 == 0:
        print(f"HNN step {step:3d} loss {loss.item():.4f}")


def leapfrog(field, x0, dt, steps):
    """Kick-drift-kick (symplectic) integration of a separable system."""
    q, p = x0[..., :1], x0[..., 1:]
    traj = [x0]
    for _ in range(steps):
        p = p + 0.5 * dt * field(torch.cat([q, p], -1))[..., 1:]
        q = q + dt * field(torch.cat([q, p], -1))[..., :1]
        p = p + 0.5 * dt * field(torch.cat([q, p], -1))[..., 1:]
        traj.append(torch.cat([q, p], -1))
    return torch.stack(traj)


def learned_field(xs):
    with torch.enable_grad():
        xs = xs.detach().requires_grad_(True)
        return model.time_derivative(xs).detach()


x0 = torch.tensor([[1.0, 0.0], [0.0, 1.5]])
with torch.no_grad():
    true_traj = leapfrog(pendulum_field, x0, 0.1, 60)
    hnn_traj = leapfrog(learned_field, x0, 0.1, 60)
print("rollout end, true", [round(v, 2) for v in true_traj[-1].flatten().tolist()],
      "HNN", [round(v, 2) for v in hnn_traj[-1].flatten().tolist()])
H_learned = model(hnn_traj.reshape(-1, 2)).reshape(61, 2).detach()
print("learned H drift along its own rollout", round((H_learned - H_learned[0]).abs().max()
                                                     .item(), 3))
print("true energy drift (leapfrog)", round((true_energy(true_traj) - true_energy(x0))
                                            .abs().max().item(), 4))


# ---- Lagrangian NN: a spring-mass system, L = 1/2 m qd^2 - 1/2 k q^2 (m = 2, k = 5)
def true_acceleration(q, qd):
    return -2.5 * q


class Lagrangian(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 32), nn.Softplus(), nn.Linear(32, 32),
                                 nn.Softplus(), nn.Linear(32, 1))

    def forward(self, q, qd):
        return self.net(torch.cat([q, qd], -1)).squeeze(-1)


lnn = Lagrangian()
params = {k: v.detach() for k, v in lnn.named_parameters()}


def lagrangian(params, q, qd):
    return functional_call(lnn, params, (q, qd))


def acceleration(params, q, qd):
    """Euler-Lagrange solved for qdd: (d2L/dqd2) qdd = dL/dq - (d2L/dq dqd) qd."""
    hess = hessian(lagrangian, argnums=2)(params, q, qd)              # (1, 1)
    dL_dq = jacrev(lagrangian, argnums=1)(params, q, qd)              # (1,)
    mixed = jacrev(jacrev(lagrangian, argnums=2), argnums=1)(params, q, qd)  # (1, 1)
    return torch.linalg.pinv(hess) @ (dL_dq - mixed @ qd)


batched_acc = torch.vmap(acceleration, in_dims=(None, 0, 0))
q = 2 * torch.rand(16, 1) - 1
qd = 2 * torch.rand(16, 1) - 1
target = true_acceleration(q, qd)
print("untrained LNN acc", [round(v, 4) for v in batched_acc(params, q[:3], qd[:3])
                            .flatten().tolist()], "true", [round(v, 4) for v in
                                                          target[:3].flatten().tolist()])
params = {k: v.requires_grad_() for k, v in params.items()}
opt = torch.optim.Adam(params.values(), lr=2e-2)
for step in range(16):
    opt.zero_grad()
    loss = (batched_acc(params, q, qd) - target).pow(2).mean()
    loss.backward()
    opt.step()
    if step % 5 == 0:
        print(f"LNN step {step:2d} loss {loss.item():.4f} "
              f"|grad| {params['net.0.weight'].grad.norm().item():.3f}")

# the learned acceleration is linear in q (Hooke's law) and nearly independent of qd
probe_q = torch.linspace(-1, 1, 5).unsqueeze(1)
with torch.no_grad():
    acc = batched_acc(params, probe_q, torch.zeros_like(probe_q)).squeeze(1)
print("LNN acc on a q grid", [round(v, 1) for v in acc.tolist()])
