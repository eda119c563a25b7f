"""Physics-informed networks and Lagrangian neural networks, written the way the PINN tutorials
(maziarraissi/PINNs ports, DeepXDE-style PyTorch code) and the LNN paper's code do: residuals of
an ODE/PDE from ``torch.autograd.grad(u, x, torch.ones_like(u), create_graph=True)`` twice,
training with Adam and then ``torch.optim.LBFGS(line_search_fn="strong_wolfe")`` with a closure;
the same derivatives with ``torch.func`` (``vmap(jacrev(jacrev(u)))``, ``hessian``, ``jvp``),
a Lagrangian network whose accelerations solve ``H q_dd = dL/dq - (d2L/dq dq_dot) q_dot``
with ``torch.autograd.functional.hessian``/``jacobian`` and ``torch.linalg.pinv``/``solve``,
and a damped pendulum fitted by learning ODE parameters through an RK4 rollout
(``nn.Parameter`` scalars, ``torch.nn.functional.softplus`` constraints, ``torch.clamp_``)."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, hessian, jacrev, jvp, vmap

torch.manual_seed(0)
rng = np.random.default_rng(0)
dtype = torch.float64


class MLP(nn.Module):
    def __init__(self, din=1, dout=1, hidden=20, depth=3):
        super().__init__()
        layers = [nn.Linear(din, hidden), nn.Tanh()]
        for _ in range(depth - 1):
            layers += [nn.Linear(hidden, hidden), nn.Tanh()]
        layers.append(nn.Linear(hidden, dout))
        self.net = nn.Sequential(*layers)
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.net(x)


# ------------------------------------------------------------- u'' + pi^2 u = 0, u(0)=0, u'(0)=pi
u_net = MLP().to(dtype)
x_col = torch.linspace(0, 1, 24, dtype=dtype).unsqueeze(1).requires_grad_(True)
x0 = torch.zeros(1, 1, dtype=dtype, requires_grad=True)


def pinn_loss():
    u = u_net(x_col)
    u_x = torch.autograd.grad(u, x_col, torch.ones_like(u), create_graph=True)[0]
    u_xx = torch.autograd.grad(u_x, x_col, torch.ones_like(u_x), create_graph=True)[0]
    residual = u_xx + math.pi ** 2 * u
    u0 = u_net(x0)
    u0_x = torch.autograd.grad(u0, x0, torch.ones_like(u0), create_graph=True)[0]
    return residual.pow(2).mean() + (u0 ** 2).sum() + ((u0_x - math.pi) ** 2).sum()


adam = torch.optim.Adam(u_net.parameters(), lr=1e-2)
for it in range(20):
    adam.zero_grad()
    loss = pinn_loss()
    loss.backward()
    adam.step()
print(f"adam phase loss {loss.item():.4f}")
lbfgs = torch.optim.LBFGS(u_net.parameters(), lr=1.0, max_iter=8, history_size=10,
                          tolerance_grad=1e-9, tolerance_change=1e-12,
                          line_search_fn="strong_wolfe")
evals = []


def closure():
    lbfgs.zero_grad()
    loss = pinn_loss()
    loss.backward()
    evals.append(loss.item())
    return loss


# a long L-BFGS run amplifies last-bit differences (chaotic), so keep it short
out = lbfgs.step(closure)
print(f"lbfgs first loss {out.item():.6f} last {evals[-1]:.4f}")
state = lbfgs.state[lbfgs._params[0]]
print("lbfgs evals", len(evals) > 10, "n_iter", state["n_iter"], "monotone-ish",
      evals[-1] < evals[0], sorted(lbfgs.state_dict()["state"][0].keys())[:4])
with torch.no_grad():
    xt = torch.tensor([[0.25], [0.5], [0.75]], dtype=dtype)
    print("u vs sin(pi x)", [round(v, 2) for v in u_net(xt).flatten().tolist()],
          [round(v, 2) for v in torch.sin(math.pi * xt).flatten().tolist()])

# the same derivatives with torch.func
params = {k: v.detach() for k, v in u_net.named_parameters()}


def u_scalar(x):
    return functional_call(u_net, params, (x.reshape(1, 1),)).squeeze()


xs = torch.linspace(0, 1, 5, dtype=dtype)
u_xx_func = vmap(jacrev(jacrev(u_scalar)))(xs)
u_xx_hess = vmap(hessian(u_scalar))(xs)
xg = xs.unsqueeze(1).clone().requires_grad_(True)
ug = u_net(xg)
g1 = torch.autograd.grad(ug.sum(), xg, create_graph=True)[0]
g2 = torch.autograd.grad(g1.sum(), xg)[0].squeeze(1)
print("u_xx agree", torch.allclose(u_xx_func, g2), torch.allclose(u_xx_hess, g2),
      [round(v, 3) for v in g2.tolist()])
_, tangent = jvp(u_scalar, (xs[2],), (torch.ones((), dtype=dtype),))
print("jvp u_x(0.5)", round(tangent.item(), 4), "autograd", round(g1[2].item(), 4))

# 2-D Laplacian of u(x, y) = network, via hessian trace
u2 = MLP(din=2).to(dtype)
p2 = dict(u2.named_parameters())
pts = torch.from_numpy(rng.uniform(size=(6, 2)))


def u2_scalar(p, xy):
    return functional_call(u2, p, (xy.unsqueeze(0),)).squeeze()


lap = vmap(lambda xy: torch.diagonal(hessian(u2_scalar, argnums=1)(p2, xy)).sum())(pts)
xy = pts.clone().requires_grad_(True)
out = u2(xy)
grad_xy = torch.autograd.grad(out.sum(), xy, create_graph=True)[0]
lap2 = sum(torch.autograd.grad(grad_xy[:, i].sum(), xy, retain_graph=True)[0][:, i]
           for i in range(2))
print("laplacian agree", torch.allclose(lap, lap2), "grad wrt params flows",
      torch.autograd.grad(lap.sum(), p2["net.0.weight"])[0].shape)


# ------------------------------------------------------------- Lagrangian neural network
def lagrangian_true(q, qd, m=1.0, k=3.0):
    return 0.5 * m * (qd ** 2).sum() - 0.5 * k * (q ** 2).sum()


def lnn_acceleration(L, q, qd):
    n = q.shape[0]
    H = torch.autograd.functional.hessian(lambda v: L(q, v), qd)
    J = torch.autograd.functional.jacobian(lambda a: torch.autograd.functional.jacobian(
        lambda v: L(a, v), qd, create_graph=True), q)
    dLdq = torch.autograd.functional.jacobian(lambda a: L(a, qd), q)
    rhs = dLdq - J.reshape(n, n) @ qd
    return torch.linalg.solve(H, rhs), torch.linalg.pinv(H) @ rhs


q = torch.tensor([0.4, -0.2], dtype=dtype)
qd = torch.tensor([0.1, 0.3], dtype=dtype)
acc, acc_p = lnn_acceleration(lagrangian_true, q, qd)
print("true-L acceleration", [round(v, 4) for v in acc.tolist()], "pinv same",
      torch.allclose(acc, acc_p))

lnet = MLP(din=4, hidden=16, depth=2).to(dtype)


def L_learned(q, qd):
    return lnet(torch.cat([q, qd]).unsqueeze(0)).squeeze()


qs = torch.from_numpy(rng.uniform(-1, 1, size=(5, 2)))
qds = torch.from_numpy(rng.uniform(-1, 1, size=(5, 2)))
opt = torch.optim.Adam(lnet.parameters(), lr=5e-3)
for step in range(3):
    loss = 0.0
    for qi, qdi in zip(qs, qds):
        H = hessian(L_learned, argnums=1)(qi, qdi)
        Jq = jacrev(jacrev(L_learned, argnums=1), argnums=0)(qi, qdi)
        dLdq = jacrev(L_learned, argnums=0)(qi, qdi)
        a_pred = torch.linalg.solve(H - torch.eye(2, dtype=dtype), dLdq - Jq @ qdi)
        loss = loss + F.mse_loss(a_pred, -3.0 * qi)
    loss = loss / len(qs)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"lnn step {step} acceleration mse {loss.item():.4f}")


# ------------------------------------------------------------- pendulum parameter fitting
class Pendulum(nn.Module):
    def __init__(self):
        super().__init__()
        self.raw_damping = nn.Parameter(torch.tensor(0.0, dtype=dtype))
        self.omega2 = nn.Parameter(torch.tensor(2.0, dtype=dtype))

    def forward(self, t, s):
        theta, w = s.unbind(-1)
        return torch.stack([w, -F.softplus(self.raw_damping) * w
                            - self.omega2 * torch.sin(theta)], -1)


def rk4_traj(f, s0, h, n):
    out, s = [s0], s0
    for i in range(n):
        k1 = f(i * h, s)
        k2 = f(i * h + h / 2, s + h / 2 * k1)
        k3 = f(i * h + h / 2, s + h / 2 * k2)
        k4 = f(i * h + h, s + h * k3)
        s = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(s)
    return torch.stack(out)


true_p = Pendulum()
with torch.no_grad():
    true_p.raw_damping.fill_(math.log(math.expm1(0.3)))
    true_p.omega2.fill_(4.0)
    s0 = torch.tensor([1.0, 0.0], dtype=dtype)
    obs = rk4_traj(true_p, s0, 0.15, 20)
model = Pendulum()
opt = torch.optim.Adam(model.parameters(), lr=0.1)
for step in range(17):
    pred = rk4_traj(model, s0, 0.15, 20)
    loss = F.mse_loss(pred, obs)
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        model.omega2.clamp_(min=0.1)
    if step % 8 == 0:
        print(f"pendulum step {step:2d} loss {loss.item():.5f} damping "
              f"{F.softplus(model.raw_damping).item():.4f} omega^2 {model.omega2.item():.4f}")
