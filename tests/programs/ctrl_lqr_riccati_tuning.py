"""Discrete-time LQR for a double integrator and gain tuning through a differentiable rollout.

The Riccati recursion (torch.linalg.solve at each step) gives the optimal feedback gain; a
policy gain learned by gradient descent on the rolled-out quadratic cost should approach it.
"""

import numpy as np
import torch

torch.set_printoptions(precision=4)
dt = 0.2
A = torch.tensor([[1.0, dt], [0.0, 1.0]], dtype=torch.float64)
B = torch.tensor([[0.5 * dt**2], [dt]], dtype=torch.float64)
Q = torch.diag(torch.tensor([1.0, 0.1], dtype=torch.float64))
R = torch.eye(1, dtype=torch.float64) * 0.5


def riccati(A, B, Q, R, horizon):
    """Backward recursion; returns gains K_t (u = -K_t x) and the value matrix P_0."""
    P = Q.clone()
    gains = []
    for _ in range(horizon):
        K = torch.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
        P = Q + A.T @ P @ (A - B @ K)
        P = 0.5 * (P + P.mT)
        gains.append(K)
    return gains[::-1], P


gains, P = riccati(A, B, Q, R, horizon=200)
K_inf = gains[0]
print("K_inf:", K_inf)
print("P:\n", P)
closed = A - B @ K_inf
eig = torch.linalg.eigvals(closed)
print("closed-loop |eig|:", eig.abs().sort().values.numpy().round(4).tolist())
print("stable:", bool((eig.abs() < 1).all()))

# steady-state check: the DARE residual
resid = A.T @ P @ A - P + Q - A.T @ P @ B @ torch.linalg.inv(R + B.T @ P @ B) @ B.T @ P @ A
print("DARE residual < 1e-8:", torch.linalg.matrix_norm(resid).item() < 1e-8)

rng = np.random.default_rng(0)
x0 = torch.from_numpy(rng.uniform(-1, 1, size=(16, 2)))


def rollout_cost(K, x0, steps=40):
    x = x0
    cost = torch.zeros(x0.shape[0], dtype=x0.dtype)
    for _ in range(steps):
        u = -x @ K.T
        cost = cost + torch.einsum("bi,ij,bj->b", x, Q, x) + torch.einsum("bi,ij,bj->b", u, R, u)
        x = x @ A.T + u @ B.T
    return cost.mean(), x


lqr_cost, _ = rollout_cost(K_inf, x0)
print(f"LQR rollout cost: {lqr_cost.item():.4f}")
print(f"x0' P x0 mean:    {torch.einsum('bi,ij,bj->b', x0, P, x0).mean().item():.4f}")

K = torch.tensor([[1.0, 1.0]], dtype=torch.float64, requires_grad=True)  # a stabilising guess
opt = torch.optim.Adam([K], lr=0.05)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.98)
for it in range(40):
    cost, xT = rollout_cost(K, x0)
    opt.zero_grad()
    cost.backward()
    opt.step()
    sched.step()
    if it % 10 == 9:
        print(f"iter {it + 1:3d} cost {cost.item():.4f} K {K.detach().numpy().round(3).tolist()}"
              f" |xT| {xT.norm(dim=1).max().item():.4f}")

print("gap to LQR cost:", f"{(cost - lqr_cost).item():.4f}")
print("K learned vs LQR:", torch.cat([K.detach(), K_inf]).numpy().round(2).tolist())

# the gradient at the LQR gain is (nearly) zero for a long horizon
K_star = K_inf.clone().requires_grad_()
g = torch.autograd.grad(rollout_cost(K_star, x0, steps=150)[0], K_star)[0]
print(f"grad at K_inf: {g.abs().max().item():.1e}" if g.abs().max() > 1e-3
      else "grad at K_inf ~ 0")

try:
    torch.linalg.solve(torch.zeros(2, 2, dtype=torch.float64), B)
except torch.linalg.LinAlgError as e:
    print("LinAlgError:", e)
try:
    torch.linalg.solve(R, B)
except RuntimeError as e:
    print("RuntimeError:", str(e).splitlines()[0])
