"""Neural ODE with hand-written RK4 and Dormand-Prince solvers, and autograd.functional.

Follows the torchdiffeq "ode_demo" example (fit the spiral dy/dt = A y^3 with a small MLP
vector field, backpropagating through the solver) and the classic Runge-Kutta teaching
notebooks: a fixed-step RK4 integrator, an adaptive Dormand-Prince 5(4) integrator with error
control, and the ``torch.autograd.functional`` API (``jacobian``, ``hessian``, ``vjp``,
``jvp``, ``hvp``, ``vhp``) for the stiffness and sensitivity analysis of the learned field.
"""

import torch
import torch.nn as nn
from torch.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp

torch.manual_seed(0)


def r(t, digits=4):
    return [round(float(v), digits) for v in t.reshape(-1)]


def rk4(func, y0, t):
    """Classic fixed-step Runge-Kutta on the grid ``t``; returns the states at every point."""
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


# Dormand-Prince 5(4) tableau
C = [0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0]
A = [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
]
B5 = torch.tensor([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0],
                  dtype=torch.float64)
B4 = torch.tensor([5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100,
                   1 / 40], dtype=torch.float64)


def dopri5(func, y0, t0, t1, rtol=1e-6, atol=1e-8, h=0.1):
    """Adaptive Dormand-Prince from t0 to t1; returns y(t1) and the accepted/rejected counts."""
    t, y = t0, y0
    accepted = rejected = 0
    while t < t1 - 1e-12:
        h = min(h, t1 - t)
        ks = []
        for i in range(7):
            yi = y + h * sum(a * k for a, k in zip(A[i], ks)) if i else y
            ks.append(func(t + C[i] * h, yi))
        K = torch.stack(ks)
        y5 = y + h * torch.tensordot(B5, K, dims=1)
        y4 = y + h * torch.tensordot(B4, K, dims=1)
        scale = atol + rtol * torch.maximum(y.abs(), y5.abs())
        err = torch.linalg.vector_norm((y5 - y4) / scale) / y.numel() ** 0.5
        if err <= 1:
            t, y = t + h, y5
            accepted += 1
        else:
            rejected += 1
        factor = 0.9 * err.clamp(min=1e-10).item() ** -0.2
        h = h * min(5.0, max(0.2, factor))
    return y, accepted, rejected


# 1. Solver accuracy on a linear ODE with a known solution: y' = M y, y(t) = expm(t M) y0.
M = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]], dtype=torch.float64)
y0 = torch.tensor([2.0, 0.0], dtype=torch.float64)
exact = torch.linalg.matrix_exp(M * 1.5) @ y0
grid = torch.linspace(0, 1.5, 31, dtype=torch.float64)
rk = rk4(lambda t, y: M @ y, y0, grid)[-1]
dp, acc, rej = dopri5(lambda t, y: M @ y, y0, 0.0, 1.5)
print("exact:", r(exact))
print("rk4 error: %.2e" % float((rk - exact).norm()))
print("dopri5 error below 1e-5:", bool((dp - exact).norm() < 1e-5), "steps:", acc, rej)

# 2. Fit a neural vector field to the spiral trajectory (the torchdiffeq demo).
true_A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]])
true_y0 = torch.tensor([[2.0, 0.0]])
t = torch.linspace(0.0, 5.0, 60)
with torch.no_grad():
    true_y = rk4(lambda t, y: (y ** 3) @ true_A, true_y0, t)


class ODEFunc(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2))
        for m in self.net.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0, std=0.1)
                nn.init.constant_(m.bias, val=0)
        self.nfe = 0

    def forward(self, t, y):
        self.nfe += 1
        return self.net(y ** 3)


func = ODEFunc()
optimizer = torch.optim.RMSprop(func.parameters(), lr=1e-3)
batch_time = 10
for itr in range(1, 61):
    starts = torch.randint(0, len(t) - batch_time, (16,))
    batch_y0 = true_y[starts]                              # (16, 1, 2)
    batch_t = t[:batch_time]
    batch_y = torch.stack([true_y[starts + i] for i in range(batch_time)])
    optimizer.zero_grad()
    pred_y = rk4(func, batch_y0, batch_t)
    loss = torch.mean(torch.abs(pred_y - batch_y))
    loss.backward()
    optimizer.step()
    if itr % 20 == 0:
        with torch.no_grad():
            full = rk4(func, true_y0, t)
            total = torch.mean(torch.abs(full - true_y))
        print(f"iter {itr:3d} batch loss {loss.item():.4f} total loss {total.item():.4f}")
print("function evaluations:", func.nfe)

# 3. autograd.functional on the learned vector field at one state.
f = func.net
state = torch.tensor([1.0, -0.5])


def field(y):
    return f(y ** 3)


J = jacobian(field, state)
print("jacobian:", r(J))
print("eigenvalues of J:", sorted(r(torch.linalg.eigvals(J).real, 3)))
J_vec, J_fwd = (jacobian(field, state, vectorize=True),
                jacobian(field, state, vectorize=True, strategy="forward-mode"))
print("jacobian strategies agree:", bool(torch.allclose(J, J_vec, atol=1e-6)),
      bool(torch.allclose(J, J_fwd, atol=1e-6)))
# the same Jacobian row by row from one batched backward (grad's is_grads_batched)
s_req = state.clone().requires_grad_()
J_rows, = torch.autograd.grad(field(s_req), s_req, torch.eye(2), is_grads_batched=True)
print("batched-grad jacobian agrees:", bool(torch.allclose(J, J_rows, atol=1e-6)))
v = torch.tensor([0.3, -1.2])
out, vj = vjp(field, state, v)
out2, jv = jvp(field, state, v)
print("vjp:", r(vj), "= v @ J:", bool(torch.allclose(vj, v @ J, atol=1e-6)))
print("jvp:", r(jv), "= J @ v:", bool(torch.allclose(jv, J @ v, atol=1e-6)))


def energy(y):
    return 0.5 * field(y).pow(2).sum()


H = hessian(energy, state)
print("hessian:", r(H))
_, hv = hvp(energy, state, v)
_, vh = vhp(energy, state, v)
print("hvp:", r(hv), "vhp:", r(vh), "symmetric:", bool(torch.allclose(H, H.T, atol=1e-5)))

# several inputs: jacobian returns a tuple of tuples, hessian a nested tuple too
w = torch.tensor([0.5, 2.0])


def two_inputs(a, b):
    return (a * b).sin() + a ** 2


Jab = jacobian(two_inputs, (state, w))
print("jacobian wrt (a, b):", [tuple(j.shape) for j in Jab], r(Jab[1]))
Hab = hessian(lambda a, b: two_inputs(a, b).sum(), (state, w))
print("hessian blocks:", [[tuple(h.shape) for h in row] for row in Hab], r(Hab[0][1]))
# create_graph=True keeps the Jacobian differentiable: the gradient of the divergence
# (the FFJORD log-density term) with respect to the first layer's bias
func.zero_grad()
Jc = jacobian(field, state, create_graph=True)
Jc.trace().backward()
print("grad of divergence wrt first bias:", r(f[0].bias.grad[:6]), f[2].bias.grad)

# 4. Sensitivity of the final state to the initial state by backprop through dopri5.
y_start = torch.tensor([2.0, 0.0], dtype=torch.float64, requires_grad=True)
y_end, acc, rej = dopri5(lambda t, y: M @ y, y_start, 0.0, 1.0, rtol=1e-8, atol=1e-10)
grad_y0, = torch.autograd.grad(y_end.sum(), y_start)
print("d sum(y(1)) / d y0:", r(grad_y0), "expected:",
      r(torch.linalg.matrix_exp(M).sum(0)))
