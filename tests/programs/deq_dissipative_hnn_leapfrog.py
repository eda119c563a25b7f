"""A Hamiltonian neural network (Greydanus et al.) and its dissipative extension (Sosanya &
Greydanus), fitted to a noisy damped two-mass chain, then rolled out with a leapfrog
(Stormer-Verlet) integrator.

The network is a scalar energy H(q, p); its vector field is the symplectic gradient
J grad H, with grad H from ``torch.autograd.grad(..., create_graph=True)`` and
J = ``torch.kron`` of a 2x2 rotation with the identity. The dissipative model adds a
Rayleigh potential D whose plain gradient drains energy. After training, the leapfrog map is
checked to be symplectic (M^T J M = J with ``torch.autograd.functional.jacobian``), the
energy's Hessian (``torch.autograd.functional.hessian``) is compared with the true stiffness,
per-sample gradients come from ``torch.func.vmap(torch.func.grad(...))``, and the energy
drained along a trajectory is integrated with ``torch.cumulative_trapezoid``."""
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Normal

torch.manual_seed(0)
rng = np.random.default_rng(1)
torch.set_printoptions(precision=3, sci_mode=False)

N = 2  # masses
K = torch.tensor([[2.0, -1.0], [-1.0, 2.0]])  # stiffness of wall-mass-mass-wall springs
GAMMA = 0.1
J = torch.kron(torch.tensor([[0.0, 1.0], [-1.0, 0.0]]), torch.eye(N))
print("J =")
print(J)


def true_field(x, damping=GAMMA):
    q, p = x.chunk(2, dim=-1)
    return torch.cat([p, -q @ K - damping * p], dim=-1)


def rk4(f, x, dt):
    k1 = f(x)
    k2 = f(x + dt / 2 * k1)
    k3 = f(x + dt / 2 * k2)
    k4 = f(x + dt * k3)
    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


# --------------------------------------- data ---------------------------------------
dt, steps, n_traj = 0.1, 20, 6
x = torch.tensor(rng.uniform(-1, 1, size=(n_traj, 2 * N)), dtype=torch.float32)
traj = [x]
with torch.no_grad():
    for _ in range(steps):
        traj.append(rk4(true_field, traj[-1], dt))
traj = torch.stack(traj, 1)  # (n_traj, steps + 1, 2N)
noise = Normal(0.0, 0.01)
states = traj[:, :-1].reshape(-1, 2 * N)
derivs = true_field(states) + noise.sample(states.shape)
print("dataset", tuple(states.shape),
      "noise log-prob at 0:", f"{noise.log_prob(torch.tensor(0.)):.3f}")


class MLP(nn.Module):
    def __init__(self, d_in, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, hidden), nn.Softplus(),
                                 nn.Linear(hidden, hidden), nn.Softplus(),
                                 nn.Linear(hidden, 1, bias=False))

    def forward(self, x):
        return self.net(x).squeeze(-1)


class SeparableH(nn.Module):
    """H(q, p) = V(q) + T(p): the form leapfrog integrates symplectically."""

    def __init__(self, n):
        super().__init__()
        self.V, self.T = MLP(n), MLP(n)

    def forward(self, x):
        q, p = x.split(N, dim=-1)
        return self.V(q) + self.T(p)


class DHNN(nn.Module):
    """x_dot = J grad H(x) + grad D(x); with dissipative=False, a plain HNN."""

    def __init__(self, dim, dissipative=True):
        super().__init__()
        self.H = MLP(dim) if dissipative else SeparableH(dim // 2)
        self.D = MLP(dim) if dissipative else None

    def forward(self, x):
        with torch.enable_grad():
            if not x.requires_grad:
                x = x.detach().requires_grad_(True)
            dH = torch.autograd.grad(self.H(x).sum(), x, create_graph=True)[0]
            field = dH @ J.T
            if self.D is not None:
                dD = torch.autograd.grad(self.D(x).sum(), x, create_graph=True)[0]
                field = field + dD
        return field


def train(model, epochs=60):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=1e-4)
    for epoch in range(epochs):
        x_in = states.clone().requires_grad_(True)
        loss = (model(x_in) - derivs).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return loss.item()


hnn, dhnn = DHNN(2 * N, dissipative=False), DHNN(2 * N)
print(f"HNN  final loss {train(hnn):.5f}")
print(f"DHNN final loss {train(dhnn, epochs=120):.5f}")


def leapfrog(model, x, dt, n):
    """Kick-drift-kick; symplectic when H is separable, H(q, p) = V(q) + T(p)."""
    q, p = x[..., :N], x[..., N:]
    out = [x]
    for _ in range(n):
        p = p + 0.5 * dt * model(torch.cat([q, p], -1))[..., N:]  # p_dot = -dH/dq
        q = q + dt * model(torch.cat([q, p], -1))[..., :N]  # q_dot = dH/dp
        p = p + 0.5 * dt * model(torch.cat([q, p], -1))[..., N:]
        out.append(torch.cat([q, p], -1))
    return torch.stack(out, -2)


def true_energy(x):
    q, p = x[..., :N], x[..., N:]
    return 0.5 * (p * p).sum(-1) + 0.5 * ((q @ K) * q).sum(-1)


x0 = torch.tensor([[0.8, -0.3, 0.0, 0.2]])
roll = leapfrog(hnn, x0, dt, 60).detach()
e = true_energy(roll)[0]
print("HNN leapfrog energy: start", f"{e[0]:.4f}", "end", f"{e[-1]:.4f}",
      "max drift", f"{(e - e[0]).abs().max():.4f}")
with torch.no_grad():
    ref = [x0]
    for _ in range(60):
        ref.append(rk4(lambda s: true_field(s, damping=0.0), ref[-1], dt))
ref = torch.cat(ref)
print("HNN vs undamped truth, mean |dx| over 60 steps:", f"{(roll[0] - ref).abs().mean():.3f}")

# symplecticity of one leapfrog step of the learned HNN: M^T J M = J
M = torch.autograd.functional.jacobian(lambda s: leapfrog(hnn, s, dt, 1)[-1], x0[0])
print("leapfrog step symplectic:", torch.allclose(M.T @ J @ M, J, atol=1e-4),
      "det(M) =", f"{torch.linalg.det(M).item():.4f}")

# the learned energy's Hessian against the true one (block-diagonal: K and the identity)
Hess = torch.autograd.functional.hessian(lambda s: hnn.H(s), torch.zeros(2 * N))
true_hess = torch.block_diag(K, torch.eye(N))
scale = torch.linalg.lstsq(Hess.reshape(-1, 1), true_hess.reshape(-1, 1)).solution.item()
print("Hessian of learned H (rescaled):")
print(Hess * scale)
print("true Hessian:")
print(true_hess)

# dissipation: energy along a DHNN rollout (RK4 on the full learned field)
with torch.no_grad():
    xs = [x0]
    for _ in range(40):
        xs.append(rk4(dhnn, xs[-1], dt))
xs = torch.cat(xs)
energy = true_energy(xs)
power = -(xs[:, N:] * (GAMMA * xs[:, N:])).sum(-1)  # true dE/dt = -gamma |p|^2
drained = torch.cumulative_trapezoid(power, dx=dt)
print("DHNN rollout energy every 10 steps:", [round(v, 3) for v in energy[::10].tolist()])
print("monotone decreasing:", bool((torch.diff(energy) <= 1e-3).all()),
      "integrated power at end:", f"{drained[-1]:.3f}")

# the learned Rayleigh potential's per-sample gradients with torch.func
params = {k: v.detach() for k, v in dhnn.D.named_parameters()}


def d_of(p, s):
    return torch.func.functional_call(dhnn.D, p, (s,))


per_sample = torch.func.vmap(torch.func.grad(d_of, argnums=1), in_dims=(None, 0))(params, xs[:5])
print("grad D via vmap(grad):", tuple(per_sample.shape))
print(per_sample[:2])
q_part = per_sample[:, :N].abs().mean().item()
p_part = per_sample[:, N:].abs().mean().item()
print(f"|dD/dq| {q_part:.3f} |dD/dp| {p_part:.3f}  (damping acts on momenta)")
