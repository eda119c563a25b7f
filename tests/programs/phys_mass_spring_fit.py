"""Differentiable physics: a damped mass-spring chain integrated with symplectic Euler, the
forces taken from a potential energy with torch.autograd.grad(create_graph=True), and the
spring stiffness and damping recovered from an observed trajectory by backpropagating through
all time steps (Adam, then L-BFGS with a strong-Wolfe line search). Along the way: energy
bookkeeping, normal modes of the stiffness matrix from torch.linalg.eigh compared with the
trajectory's FFT peak, a Jacobian of the final state with torch.func.jacrev, parameters kept
positive through softplus, a gradient check against finite differences in float64, and a
custom autograd.Function for a clamped wall contact."""
import math

import torch
import torch.nn.functional as F
from torch.func import jacrev

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
n_masses, dt, steps = 4, 0.04, 60
mass = torch.tensor([1.0, 1.5, 1.0, 2.0])
rest = 1.0


def potential(x, k):
    """Springs between wall(0) - m0 - m1 - ... - m_{n-1}; x are displacements from rest."""
    pos = torch.cat([x.new_zeros(1), x + rest * torch.arange(1, n_masses + 1)])
    stretch = pos.diff() - rest
    return 0.5 * (k * stretch ** 2).sum()


class WallContact(torch.autograd.Function):
    """Penalty force pushing the last mass back when it passes the wall at x_max."""

    @staticmethod
    def forward(x, x_max, stiffness):
        return -stiffness * (x - x_max).clamp(min=0)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, x_max, stiffness = inputs
        ctx.save_for_backward((x - x_max).clamp(min=0))
        ctx.stiffness = stiffness

    @staticmethod
    def backward(ctx, grad):
        (depth,) = ctx.saved_tensors
        return grad * -ctx.stiffness * (depth > 0).to(grad.dtype), None, None


def simulate(k, c, x0, v0, steps=steps):
    x, v = x0, v0
    xs, energies = [], []
    for _ in range(steps):
        if not x.requires_grad:
            x = x.requires_grad_()
        u = potential(x, k)
        (grad_u,) = torch.autograd.grad(u, x, create_graph=True)
        force = -grad_u - c * v
        force = torch.cat([force[:-1], force[-1:] + WallContact.apply(x[-1:], 0.2, 200.0)])
        v = v + dt * force / mass
        x = x + dt * v
        xs.append(x)
        energies.append(u + 0.5 * (mass * v ** 2).sum())
    return torch.stack(xs), torch.stack(energies)


true_k = torch.tensor([10.0, 8.0, 12.0, 6.0])
true_c = torch.tensor(0.15)
x0 = torch.tensor([0.3, -0.2, 0.1, 0.25])
v0 = torch.zeros(n_masses)
with torch.enable_grad():
    obs, energy = simulate(true_k, true_c, x0, v0)
obs = obs.detach()
noise = torch.randn(obs.shape, generator=torch.Generator().manual_seed(1))
obs_noisy = obs + 0.002 * noise
print("trajectory", tuple(obs.shape), obs.dtype)
print("energy start {:.5f} end {:.5f} (damped)".format(energy[0].item(), energy[-1].item()))
print("wall contacts", int((obs[:, -1] > 0.2).sum()))

# undamped energy drift of symplectic Euler stays bounded
_, e_free = simulate(true_k, torch.tensor(0.0), x0, v0, steps=100)
print("undamped relative energy drift {:.4f}".format(
    ((e_free.max() - e_free.min()) / e_free.mean()).item()))

# normal modes: the Hessian of the potential is the stiffness matrix
K = torch.autograd.functional.hessian(lambda x: potential(x, true_k), torch.zeros(n_masses))
M_inv_sqrt = torch.diag(mass.rsqrt())
omega2, modes = torch.linalg.eigh(M_inv_sqrt @ K @ M_inv_sqrt)
freqs = omega2.sqrt() / (2 * math.pi)
print("stiffness matrix\n", K)
print("normal mode frequencies (Hz)", torch.round(freqs, decimals=4))
print("mode shapes orthonormal", torch.allclose(modes.T @ modes, torch.eye(n_masses)))
spectrum = torch.fft.rfft(obs[:, 0] - obs[:, 0].mean(), n=1024).abs()
fgrid = torch.fft.rfftfreq(1024, d=dt)
print("FFT peak of mass 0 {:.3f} Hz".format(fgrid[spectrum.argmax()].item()))


# --- fit stiffness and damping from the noisy trajectory --------------------------------
raw_k = torch.full((n_masses,), math.log(math.expm1(7.0)), requires_grad=True)
raw_c = torch.tensor(math.log(math.expm1(0.5)), requires_grad=True)


def loss_fn():
    k, c = F.softplus(raw_k), F.softplus(raw_c)
    pred, _ = simulate(k, c, x0, v0, steps=30)
    return F.mse_loss(pred, obs_noisy[:30])


opt = torch.optim.Adam([raw_k, raw_c], lr=0.15)
for it in range(12):
    opt.zero_grad()
    loss = loss_fn()
    loss.backward()
    opt.step()
    if it % 4 == 3:
        print("adam {:2d} loss {:.3e} k {} c {:.3f}".format(
            it, loss.item(), [round(v, 2) for v in F.softplus(raw_k).tolist()],
            F.softplus(raw_c).item()))

lbfgs = torch.optim.LBFGS([raw_k, raw_c], lr=1.0, max_iter=12, history_size=10,
                          line_search_fn="strong_wolfe")


def closure():
    lbfgs.zero_grad()
    loss = loss_fn()
    loss.backward()
    return loss


for it in range(2):
    loss = lbfgs.step(closure)
    print("lbfgs {} loss {:.3e}".format(it, loss.item()))
k_fit, c_fit = F.softplus(raw_k).detach(), F.softplus(raw_c).detach()
print("fitted k", torch.round(k_fit, decimals=2), "true", true_k)
print("fitted c {:.3f} true {:.3f}".format(c_fit.item(), true_c.item()))
print("relative k error {:.4f}".format(((k_fit - true_k).norm() / true_k.norm()).item()))


# --- sensitivity of the final state to the initial state ------------------------------
def final_state(x_init):
    xs, _ = simulate(true_k, true_c, x_init, v0, steps=20)
    return xs[-1]


J = jacrev(final_state)(x0)
print("jacobian", tuple(J.shape), "det {:.4f}".format(torch.linalg.det(J).item()))
print("largest singular value {:.4f}".format(torch.linalg.svdvals(J)[0].item()))

# --- finite-difference check of dLoss/dk through the whole rollout ------------------------
k_probe = true_k.clone().requires_grad_()
probe_loss = F.mse_loss(simulate(k_probe, true_c, x0, v0, steps=20)[0], obs_noisy[:20])
(g,) = torch.autograd.grad(probe_loss, k_probe)
eps = 1e-6
e0 = torch.zeros(n_masses)
e0[0] = eps
with torch.enable_grad():
    fd = (F.mse_loss(simulate(true_k + e0, true_c, x0, v0, steps=20)[0], obs_noisy[:20])
          - F.mse_loss(simulate(true_k - e0, true_c, x0, v0, steps=20)[0], obs_noisy[:20]))
print("analytic dL/dk0 {:.6e} finite difference {:.6e}".format(g[0].item(),
                                                                (fd / (2 * eps)).item()))
print("gradcheck WallContact:", torch.autograd.gradcheck(
    lambda x: WallContact.apply(x, 0.0, 5.0), (torch.tensor([0.3, -0.2], requires_grad=True),)))
torch.set_default_dtype(torch.float32)
print("default dtype restored", torch.get_default_dtype())
