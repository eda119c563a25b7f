"""A neural state-space model of a damped pendulum, fitted to trajectories through RK4.

The learned vector field f(x, u) is integrated with a classic Runge-Kutta step; after
fitting, torch.func.jacrev linearises it around the downward equilibrium and the eigenvalues
of the continuous-time Jacobian (torch.linalg.eigvals) tell whether it is stable.
"""

import math

import numpy as np
import torch
import torch.nn as nn
from torch.func import jacrev, vmap

torch.manual_seed(0)
rng = np.random.default_rng(0)
DT = 0.1


def pendulum(x, u, damping=0.3, g_over_l=4.0):
    theta, omega = x[..., 0], x[..., 1]
    return torch.stack([omega, -g_over_l * torch.sin(theta) - damping * omega + u[..., 0]], -1)


def rk4_step(f, x, u, dt=DT):
    k1 = f(x, u)
    k2 = f(x + 0.5 * dt * k1, u)
    k3 = f(x + 0.5 * dt * k2, u)
    k4 = f(x + dt * k3, u)
    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def simulate(f, x0, inputs):
    xs = [x0]
    for t in range(inputs.shape[1]):
        xs.append(rk4_step(f, xs[-1], inputs[:, t]))
    return torch.stack(xs, dim=1)


class NeuralSSM(nn.Module):
    def __init__(self, n_x=2, n_u=1, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_x + n_u, hidden), nn.Tanh(),
                                 nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, n_x))
        for m in self.net.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.1)
                nn.init.zeros_(m.bias)

    def forward(self, x, u):
        return self.net(torch.cat([x, u], dim=-1))


n_traj, horizon = 24, 20
x0 = torch.tensor(rng.uniform([-1.5, -1.0], [1.5, 1.0], size=(n_traj, 2)), dtype=torch.float32)
inputs = torch.tensor(rng.normal(0, 0.5, size=(n_traj, horizon, 1)), dtype=torch.float32)
with torch.no_grad():
    data = simulate(pendulum, x0, inputs)
    data += 0.01 * torch.randn_like(data)
theta = data[..., 0]
print("data:", tuple(data.shape), f"theta range [{theta.min():.3f}, {theta.max():.3f}]")

model = NeuralSSM()
print("parameters:", sum(p.numel() for p in model.parameters()))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-2, total_steps=60)
for it in range(60):
    # multiple shooting on short windows: start from observed states, roll out 5 steps
    start = (it * 3) % (horizon - 5)
    pred = simulate(model, data[:, start], inputs[:, start:start + 5])
    loss = nn.functional.mse_loss(pred, data[:, start:start + 6])
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if it % 15 == 14:
        print(f"iter {it + 1:2d} loss {loss.item():.5f} lr {opt.param_groups[0]['lr']:.5f}")

with torch.no_grad():
    full = simulate(model, data[:, 0], inputs)
    rmse = (full - data).pow(2).mean(dim=(0, 1)).sqrt()
    print("free-run RMSE (theta, omega):", [round(v, 3) for v in rmse.tolist()])

x_eq = torch.zeros(2)
u_eq = torch.zeros(1)
A_true, B_true = jacrev(pendulum, argnums=(0, 1))(x_eq, u_eq)
A_fit, B_fit = jacrev(model, argnums=(0, 1))(x_eq, u_eq)
print("A_true:\n", A_true)
print("A_fit:\n", A_fit.round(decimals=2))
print("B_fit:", B_fit.flatten().round(decimals=2))

for name, A in [("true", A_true), ("fit", A_fit)]:
    eig = torch.linalg.eigvals(A)
    print(f"{name}: eig real parts {[round(v, 2) for v in eig.real.tolist()]}, "
          f"stable={bool((eig.real < 0).all())}, dtype={eig.dtype}")

# discrete-time linearisation of one RK4 step, batched over states with vmap
step = lambda x: rk4_step(model, x, u_eq)  # noqa: E731
states = torch.tensor([[0.0, 0.0], [0.3, 0.0], [math.pi / 4, 0.5]])
jacs = vmap(jacrev(step))(states)
radius = torch.linalg.eigvals(jacs).abs().amax(dim=-1)
print("spectral radius of RK4 step:", radius.round(decimals=2))

# the upright equilibrium is unstable for the true pendulum
eig_up = torch.linalg.eigvals(jacrev(pendulum)(torch.tensor([math.pi, 0.0]), u_eq))
print("upright eig:", [round(v, 3) for v in eig_up.real.sort().values.tolist()])
