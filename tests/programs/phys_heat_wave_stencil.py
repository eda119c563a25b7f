"""2-D heat and wave equations on a grid with convolution stencils, as in differentiable-PDE
tutorials: a 5-point Laplacian as a fixed conv2d kernel, the four boundary treatments of
F.pad (constant = Dirichlet, replicate = Neumann, reflect, circular = periodic) and the same
through nn.Conv2d(padding_mode=...), a CFL stability check that raises, an explicit heat
solver checked against the exact decay of a Fourier mode and against an FFT spectral solver,
a leapfrog wave solver with energy tracking and torch.roll, and finally an inverse problem:
the diffusivity (a scalar, then a spatial field through a small CNN) fitted by
backpropagating through the solver with an LR schedule."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
N = 24
h = 1.0 / N
lap_kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]) / h ** 2
lap_kernel = lap_kernel.view(1, 1, 3, 3)
print("stencil\n", lap_kernel[0, 0] * h ** 2)


def laplacian(u, mode="circular", value=0.0):
    kw = {"value": value} if mode == "constant" else {}
    return F.conv2d(F.pad(u, (1, 1, 1, 1), mode=mode, **kw), lap_kernel)


xs = (torch.arange(N) + 0.5) * h
X, Y = torch.meshgrid(xs, xs, indexing="ij")
bump = torch.exp(-((X - 0.3) ** 2 + (Y - 0.6) ** 2) / 0.01)[None, None]
print("grid", tuple(bump.shape), "mass {:.5f}".format(bump.sum().item() * h * h))

# boundary modes side by side on a ramp
ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 2, 4)
for mode in ("constant", "replicate", "reflect", "circular"):
    print("{:9s}".format(mode), F.pad(ramp, (2, 2, 0, 0), mode=mode)[0, 0, 0].tolist())
for mode in ("zeros", "replicate", "reflect", "circular"):
    conv = nn.Conv2d(1, 1, 3, padding=1, padding_mode=mode, bias=False)
    with torch.no_grad():
        conv.weight.copy_(lap_kernel * h ** 2)
    print("Conv2d padding_mode={:9s} sum of laplacian {:+.5f}".format(
        mode, conv(bump).sum().item()))
try:
    F.pad(bump, (30, 30, 0, 0), mode="reflect")
except RuntimeError as e:
    print("reflect pad error:", str(e).split("\n")[0])


def heat_step(u, alpha, dt, mode):
    return u + dt * alpha * laplacian(u, mode)


def check_cfl(alpha, dt):
    limit = h * h / (4 * alpha)
    if dt > limit:
        raise ValueError(f"dt={dt:.2e} violates the CFL limit {limit:.2e}")
    return limit


alpha = 0.1
try:
    check_cfl(alpha, 1e-3)
except ValueError as e:
    print("CFL:", e)
dt = 0.9 * check_cfl(alpha, 1e-4)
steps = 60
print("dt {:.3e}".format(dt))

# exact decay of a periodic Fourier mode (discrete eigenvalue of the 5-point stencil)
kx, ky = 2, 1
mode_u = (torch.sin(2 * math.pi * kx * X) * torch.cos(2 * math.pi * ky * Y))[None, None]
lam = -(4 / h ** 2) * (math.sin(math.pi * kx * h) ** 2 + math.sin(math.pi * ky * h) ** 2)
u = mode_u.clone()
for _ in range(steps):
    u = heat_step(u, alpha, dt, "circular")
expected = mode_u * (1 + dt * alpha * lam) ** steps
print("Fourier mode matches exact decay", torch.allclose(u, expected, atol=1e-6))

# boundary conditions change the heat budget
for mode in ("constant", "replicate", "circular"):
    u = bump.clone()
    for _ in range(steps):
        u = heat_step(u, alpha, dt, mode)
    print("heat {:9s} total {:.5f} max {:.4f}".format(mode, u.sum().item() * h * h,
                                                       u.max().item()))

# spectral (FFT) solver of the semi-discrete equation, periodic domain
k = torch.fft.fftfreq(N, d=h)
symbol = -(4 / h ** 2) * (torch.sin(math.pi * k[:, None] * h) ** 2
                          + torch.sin(math.pi * k[None, :] * h) ** 2)
u_hat = torch.fft.fft2(bump[0, 0])
u_spec = torch.fft.ifft2(u_hat * (1 + dt * alpha * symbol) ** steps).real
u = bump.clone()
for _ in range(steps):
    u = heat_step(u, alpha, dt, "circular")
print("spectral vs stencil agree", torch.allclose(u_spec, u[0, 0], atol=1e-6))
print("imag part negligible", torch.fft.ifft2(u_hat).imag.abs().max().item() < 1e-5)

# --- wave equation, leapfrog, periodic via torch.roll --------------------------------------
c = 1.0
dt_w = 0.5 * h / c
u_prev = bump[0, 0].clone()
u_cur = u_prev.clone()
energies = []
for n in range(40):
    lap = (torch.roll(u_cur, 1, 0) + torch.roll(u_cur, -1, 0) + torch.roll(u_cur, 1, 1)
           + torch.roll(u_cur, -1, 1) - 4 * u_cur) / h ** 2
    u_next = 2 * u_cur - u_prev + (c * dt_w) ** 2 * lap
    vel = (u_next - u_prev) / (2 * dt_w)
    grad_x = (torch.roll(u_cur, -1, 0) - u_cur) / h
    grad_y = (torch.roll(u_cur, -1, 1) - u_cur) / h
    energies.append(0.5 * (vel ** 2 + c ** 2 * (grad_x ** 2 + grad_y ** 2)).sum() * h * h)
    u_prev, u_cur = u_cur, u_next
E = torch.stack(energies[1:])
print("wave energy mean {:.5f} relative spread {:.4f}".format(
    E.mean().item(), ((E.max() - E.min()) / E.mean()).item()))
print("wave peak moved to", divmod(int(u_cur.argmax()), N), "from", divmod(int(bump.argmax()), N))

roll_lap = laplacian(u_cur[None, None], "circular")[0, 0]
manual = (torch.roll(u_cur, 1, 0) + torch.roll(u_cur, -1, 0) + torch.roll(u_cur, 1, 1)
          + torch.roll(u_cur, -1, 1) - 4 * u_cur) / h ** 2
print("conv stencil == roll stencil", torch.allclose(roll_lap, manual, rtol=1e-4, atol=1e-2))

# --- inverse problem: recover the diffusivity from the final state --------------------------
with torch.no_grad():
    target = bump.clone()
    for _ in range(30):
        target = heat_step(target, alpha, dt, "replicate")
log_alpha = torch.tensor(math.log(0.02), requires_grad=True)
opt = torch.optim.Adam([log_alpha], lr=0.15)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
for it in range(25):
    u = bump
    for _ in range(30):
        u = heat_step(u, log_alpha.exp(), dt, "replicate")
    loss = F.mse_loss(u, target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if it % 6 == 0 or it == 24:
        print("fit {:2d} loss {:.3e} alpha {:.4f} lr {:.4f}".format(
            it, loss.item(), log_alpha.exp().item(), sched.get_last_lr()[0]))

# a spatially varying diffusivity predicted by a tiny CNN (div(a grad u) via forward
# differences), trained on the same data: gradients flow into the network's weights
net = nn.Sequential(nn.Conv2d(2, 6, 3, padding=1, padding_mode="replicate"), nn.Tanh(),
                    nn.Conv2d(6, 1, 1))
coords = torch.stack([X, Y])[None]


def variable_step(u, a):
    up = F.pad(u, (0, 1, 0, 1), mode="replicate")
    gx = up[..., 1:, :-1] - u
    gy = up[..., :-1, 1:] - u
    fx, fy = a * gx, a * gy
    fxp = F.pad(fx, (0, 0, 1, 0))
    fyp = F.pad(fy, (1, 0, 0, 0))
    div = (fxp[..., 1:, :] - fxp[..., :-1, :]) + (fyp[..., 1:] - fyp[..., :-1])
    return u + dt * div / h ** 2


opt = torch.optim.Adam(net.parameters(), lr=0.02)
for it in range(10):
    a = 0.1 * torch.sigmoid(net(coords)) + 0.02
    u = bump
    for _ in range(30):
        u = variable_step(u, a)
    loss = F.mse_loss(u, target)
    opt.zero_grad()
    loss.backward()
    opt.step()
print("field fit loss {:.3e} diffusivity mean {:.4f} range [{:.4f}, {:.4f}]".format(
    loss.item(), a.mean().item(), a.min().item(), a.max().item()))
print("grad norms", ["{:.2e}".format(p.grad.norm().item()) for p in net.parameters()])
