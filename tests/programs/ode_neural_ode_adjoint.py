"""Neural ODEs with hand-written integrators, the way torchdiffeq's fixed-grid solvers and the
adjoint method are written: an ``nn.Module`` vector field ``f(t, y)``, RK4 and Dormand-Prince
(Butcher tableau as tensors, ``torch.stack``/``torch.einsum`` of stages, adaptive steps with an
error norm ``torch.linalg.vector_norm`` and ``torch.where``), backprop through the solver vs the
adjoint sensitivity method (augmented state integrated backwards, vector-Jacobian products by
``torch.autograd.grad(f, (y, *params), grad_outputs=a, allow_unused=True)``), checked against
each other; a spiral fit from torchdiffeq's ``ode_demo.py`` (``torch.mm`` with ``y ** 3``,
``torch.randperm`` minibatches of time windows) and ``torch.func.jacrev``/``vmap`` Jacobians of
the field, eigenvalues by ``torch.linalg.eigvals``, ``torch.linalg.matrix_exp`` for a linear
ODE's exact solution."""
import numpy as np
import torch
import torch.nn as nn
from torch.func import functional_call, jacrev, vmap

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
true_A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]])
print("default dtype", torch.get_default_dtype(), true_A.dtype)


class Lambda(nn.Module):
    def forward(self, t, y):
        return torch.mm(y ** 3, true_A)


def rk4(func, y0, t):
    ys = [y0]
    y = y0
    for t0, t1 in zip(t[:-1], t[1:]):
        h = t1 - t0
        k1 = func(t0, y)
        k2 = func(t0 + h / 2, y + h * k1 / 2)
        k3 = func(t0 + h / 2, y + h * k2 / 2)
        k4 = func(t1, y + h * k3)
        y = y + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6
        ys.append(y)
    return torch.stack(ys)


# Dormand-Prince 5(4)
C = torch.tensor([0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1])
A = [torch.tensor(r) for r in ([], [1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9],
                               [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
                               [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
                               [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84])]
B5 = torch.tensor([35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0])
B4 = torch.tensor([5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40])


def dopri5(func, y0, t0, t1, rtol=1e-6, atol=1e-8, h=0.05):
    t, y, n_acc, n_rej = float(t0), y0, 0, 0
    while t < t1 - 1e-12:
        h = min(h, t1 - t)
        ks = []
        for i in range(7):
            yi = y if i == 0 else y + h * torch.einsum("s,s...->...", A[i], torch.stack(ks))
            ks.append(func(t + C[i].item() * h, yi))
        K = torch.stack(ks)
        y5 = y + h * torch.einsum("s,s...->...", B5, K)
        y4 = y + h * torch.einsum("s,s...->...", B4, K)
        scale = atol + rtol * torch.maximum(y.abs(), y5.abs())
        err = torch.linalg.vector_norm((y5 - y4) / scale) / (y.numel() ** 0.5)
        if err.item() <= 1.0:
            t, y = t + h, y5
            n_acc += 1
        else:
            n_rej += 1
        h = h * min(5.0, max(0.2, 0.9 * err.item() ** -0.2)) if err.item() > 0 else h * 5
    return y, n_acc, n_rej


y0 = torch.tensor([[2.0, 0.0]])
t = torch.linspace(0.0, 5.0, 101)
with torch.no_grad():
    true_y = rk4(Lambda(), y0, t)
    y_dp, n_acc, n_rej = dopri5(Lambda(), y0, 0.0, 5.0)
print("true trajectory", tuple(true_y.shape), [round(v, 4) for v in true_y[-1, 0].tolist()])
print("dopri5 vs rk4 at t=5", round((y_dp - true_y[-1]).abs().max().item(), 5),
      "steps", n_acc > 5, "rejected some", n_rej >= 0)

# linear ODE has an exact solution
lin = torch.tensor([[0.0, 1.0], [-4.0, -0.4]])
exact = torch.linalg.matrix_exp(lin * 2.0) @ torch.tensor([1.0, 0.0])
num = rk4(lambda s, y: y @ lin.T, torch.tensor([[1.0, 0.0]]), torch.linspace(0, 2, 201))[-1, 0]
print("matrix_exp", [round(v, 5) for v in exact.tolist()], "rk4 error",
      f"{(exact - num).abs().max().item():.1e}")
ev = torch.linalg.eigvals(lin)
print("eigvals", ev.dtype, sorted([(round(z.real, 4), round(z.imag, 4)) for z in ev.tolist()]))


class ODEFunc(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 24), nn.Tanh(), nn.Linear(24, 2))
        for m in self.net.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0, std=0.1)
                nn.init.constant_(m.bias, val=0)
        self.nfe = 0

    def forward(self, t, y):
        self.nfe += 1
        return self.net(y ** 3)


# ------------------------------------------------------------- adjoint vs backprop-through-solver
func = ODEFunc()
params = tuple(func.parameters())
ts = torch.linspace(0.0, 1.0, 11)
y_start = torch.tensor([[1.5, -0.5]], requires_grad=True)
traj = rk4(func, y_start, ts)
loss = (traj[-1] ** 2).sum()
direct = torch.autograd.grad(loss, (y_start,) + params)


def adjoint_grads(func, y1, ts, dLdy1):
    """Integrate [y, a, a_params] backwards with RK4 on the same grid."""
    def aug_dynamics(tt, state):
        y, a = state[0], state[1]
        with torch.enable_grad():
            y = y.detach().requires_grad_(True)
            f = func(tt, y)
            vjps = torch.autograd.grad(f, (y,) + params, grad_outputs=a, allow_unused=True)
        vjp_y = vjps[0]
        vjp_p = [torch.zeros_like(p) if v is None else v for v in vjps[1:]]
        return f, -vjp_y, [-v for v in vjp_p]

    y, a = y1.detach(), dLdy1
    a_p = [torch.zeros_like(p) for p in params]
    for t1, t0 in zip(ts.flip(0)[:-1], ts.flip(0)[1:]):
        h = t0 - t1
        k1 = aug_dynamics(t1, (y, a))
        k2 = aug_dynamics(t1 + h / 2, (y + h / 2 * k1[0], a + h / 2 * k1[1]))
        k3 = aug_dynamics(t1 + h / 2, (y + h / 2 * k2[0], a + h / 2 * k2[1]))
        k4 = aug_dynamics(t0, (y + h * k3[0], a + h * k3[1]))
        y = y + h * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]) / 6
        a = a + h * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]) / 6
        a_p = [ap + h * (q1 + 2 * q2 + 2 * q3 + q4) / 6
               for ap, q1, q2, q3, q4 in zip(a_p, k1[2], k2[2], k3[2], k4[2])]
    return a, a_p, y


with torch.no_grad():
    y1 = rk4(func, y_start, ts)[-1]
a0, a_params, y_back = adjoint_grads(func, y1, ts, 2 * y1)
print("adjoint dL/dy0", [round(v, 5) for v in a0[0].tolist()],
      "direct", [round(v, 5) for v in direct[0][0].tolist()])
print("adjoint param grads match", all(torch.allclose(a, b, atol=1e-5)
                                       for a, b in zip(a_params, direct[1:])),
      "reconstructed y0", [round(v, 4) for v in y_back[0].tolist()])

# ------------------------------------------------------------- torchdiffeq's ode_demo (short)
rng = np.random.default_rng(0)
batch_time, batch_size = 10, 16
func = ODEFunc()
opt = torch.optim.RMSprop(func.parameters(), lr=1e-3)


def get_batch():
    s = torch.from_numpy(rng.choice(np.arange(len(t) - batch_time, dtype=np.int64),
                                    batch_size, replace=False))
    batch_y0 = true_y[s]
    batch_t = t[:batch_time]
    batch_y = torch.stack([true_y[s + i] for i in range(batch_time)], dim=0)
    return batch_y0, batch_t, batch_y


for itr in range(1, 9):
    opt.zero_grad()
    by0, bt, by = get_batch()
    pred_y = rk4(func, by0, bt)
    loss = torch.mean(torch.abs(pred_y - by))
    loss.backward()
    opt.step()
    if itr % 4 == 0:
        with torch.no_grad():
            full = rk4(func, y0, t)
            print(f"iter {itr} batch loss {loss.item():.5f} "
                  f"total loss {torch.mean(torch.abs(full - true_y)).item():.5f} nfe {func.nfe}")

# ------------------------------------------------------------- Jacobians of the vector field
p = {k: v.detach() for k, v in func.named_parameters()}


def field(y):
    return functional_call(func, p, (0.0, y))


pts = torch.tensor([[0.5, -0.2], [1.0, 0.3], [-0.7, 0.8]])
J = vmap(jacrev(field))(pts)
J_loop = torch.stack([torch.autograd.functional.jacobian(field, q) for q in pts])
print("jacobians", tuple(J.shape), "vmap == loop", torch.allclose(J, J_loop))
print("divergence (trace)", [round(v, 6) for v in torch.diagonal(J, dim1=-2, dim2=-1).sum(-1)
                             .tolist()])
print("stable points", (torch.linalg.eigvals(J).real < 0).all(-1).tolist())
