"""System identification and state estimation for a mass-spring-damper.

The continuous model is discretised exactly with torch.linalg.matrix_exp (the augmented
matrix trick), simulated with process and measurement noise from MultivariateNormal, then
identified from data by least squares (DMD with control, torch.linalg.lstsq) and filtered
with a Kalman filter whose noise covariances are learned by maximising the innovation
likelihood.
"""

import torch
from torch.distributions import MultivariateNormal

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
dtype = torch.float64

k, c, m, dt = 2.0, 0.4, 1.0, 0.1
Ac = torch.tensor([[0.0, 1.0], [-k / m, -c / m]], dtype=dtype)
Bc = torch.tensor([[0.0], [1.0 / m]], dtype=dtype)
aug = torch.zeros(3, 3, dtype=dtype)
aug[:2, :2], aug[:2, 2:] = Ac * dt, Bc * dt
E = torch.linalg.matrix_exp(aug)
A, B = E[:2, :2], E[:2, 2:]
C = torch.tensor([[1.0, 0.0]], dtype=dtype)
print("A_d =", A)
print("B_d =", B.squeeze())

Q_true = torch.diag(torch.tensor([1e-4, 4e-4], dtype=dtype))
R_true = torch.tensor([[2.5e-3]], dtype=dtype)
w_dist = MultivariateNormal(torch.zeros(2, dtype=dtype), covariance_matrix=Q_true)
v_dist = MultivariateNormal(torch.zeros(1, dtype=dtype), scale_tril=R_true.sqrt())
print(w_dist)

T = 50
u = torch.sin(torch.arange(T, dtype=dtype) * 0.3).unsqueeze(-1) + 0.3 * torch.randn(T, 1,
                                                                                   dtype=dtype)
x = torch.zeros(T + 1, 2, dtype=dtype)
x[0] = torch.tensor([1.0, 0.0])
w, v = w_dist.sample((T,)), v_dist.sample((T + 1,))
for t in range(T):
    x[t + 1] = A @ x[t] + B @ u[t] + w[t]
y = x @ C.T + v
print("measurement std:", f"{y.std().item():.4f}", "true-state energy:",
      f"{x.square().sum(1).mean().item():.4f}")

# DMD with control from (noisy) full-state snapshots: X' = [A B] [X; U]
X0, X1 = x[:-1], x[1:]
Z = torch.cat([X0, u], dim=1)
sol = torch.linalg.lstsq(Z, X1, driver="gelsd")
AB = sol.solution.T
print("identified [A B]:\n", AB)
print("rank:", sol.rank.item(), "sv:", sol.singular_values.round(decimals=3))
err = torch.linalg.matrix_norm(AB - torch.cat([A, B], dim=1)).item()
print(f"identification error: {err:.4f}")
eig_id = torch.linalg.eigvals(AB[:, :2])
print("identified poles |z|:", eig_id.abs().round(decimals=4), "angle:",
      eig_id.angle().abs().round(decimals=4))
wn = torch.log(eig_id).abs() / dt
print("natural frequency:", wn.round(decimals=3).tolist(), "true:", round(k ** 0.5, 3))


def kalman_nll(log_q, log_r):
    Q, R = torch.diag(log_q.exp()), log_r.exp().view(1, 1)
    xh, P = torch.zeros(2, dtype=dtype), torch.eye(2, dtype=dtype)
    nll = torch.zeros((), dtype=dtype)
    estimates = []
    for t in range(T + 1):
        S = C @ P @ C.T + R
        innov = y[t] - C @ xh
        nll = nll - MultivariateNormal(torch.zeros(1, dtype=dtype), S).log_prob(innov)
        L = torch.linalg.cholesky(S)
        K = torch.cholesky_solve((C @ P).contiguous(), L).T
        xh = xh + K @ innov
        P = (torch.eye(2, dtype=dtype) - K @ C) @ P
        estimates.append(xh)
        if t < T:
            xh = A @ xh + B @ u[t]
            P = A @ P @ A.T + Q
    return nll / (T + 1), torch.stack(estimates)


log_q = torch.full((2,), -6.0, dtype=dtype, requires_grad=True)
log_r = torch.tensor([-3.0], dtype=dtype, requires_grad=True)
opt = torch.optim.LBFGS([log_q, log_r], lr=0.5, max_iter=4, line_search_fn="strong_wolfe")


def closure():
    opt.zero_grad()
    loss, _ = kalman_nll(log_q, log_r)
    loss.backward()
    return loss


for epoch in range(2):
    loss = opt.step(closure)
    print(f"epoch {epoch} nll {loss.item():.4f} q {log_q.exp().detach().numpy().round(5)}"
          f" r {log_r.exp().item():.5f}")

with torch.no_grad():
    _, xs = kalman_nll(log_q, log_r)
    rmse_kf = (xs - x).square().mean(0).sqrt()
    rmse_raw = (y[:, 0] - x[:, 0]).square().mean().sqrt()
print("position RMSE raw/filtered:", f"{rmse_raw.item():.4f}", f"{rmse_kf[0].item():.4f}")
print("velocity RMSE filtered:", f"{rmse_kf[1].item():.4f}")

try:
    MultivariateNormal(torch.zeros(2), covariance_matrix=-torch.eye(2))
except ValueError as e:
    print("ValueError:", str(e).split(" but")[0])
try:
    torch.linalg.matrix_exp(torch.zeros(2, 3))
except RuntimeError as e:
    print("RuntimeError:", e)
