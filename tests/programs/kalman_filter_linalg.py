"""Kalman filter, RTS smoother and EM system identification with torch.linalg.

Follows the structure of the Kalman-filter tutorials written on PyTorch (pykalman-style
filtering/smoothing, the "differentiable Kalman filter" notebooks and Pyro's Gaussian HMM):
a batched filter whose covariance updates use ``torch.linalg.cholesky_ex`` (checking ``info``
for failed factorizations) and ``solve_triangular``, the marginal log likelihood from the
innovations, a Rauch-Tung-Striebel smoother, maximum-likelihood tuning of the noise scales
with autograd, the transition matrix re-estimated by ``lstsq``, and a stability check of the
learned dynamics with ``eigh``/``eigvals``. ``MultivariateNormal`` and
``LowRankMultivariateNormal`` give reference log densities.
"""

import math

import torch
from torch.distributions import LowRankMultivariateNormal, MultivariateNormal

torch.manual_seed(0)
dtype = torch.float64


def r(t, digits=4):
    return [round(float(v), digits) for v in t.reshape(-1)]


# A constant-velocity model in 2-D: state (x, y, vx, vy), position observations.
dt = 0.1
F = torch.eye(4, dtype=dtype)
F[0, 2] = F[1, 3] = dt
H = torch.zeros(2, 4, dtype=dtype)
H[0, 0] = H[1, 1] = 1.0
q_true, r_true = 0.05, 0.2
Q_true = q_true * torch.tensor([[dt ** 3 / 3, 0, dt ** 2 / 2, 0], [0, dt ** 3 / 3, 0, dt ** 2 / 2],
                                [dt ** 2 / 2, 0, dt, 0], [0, dt ** 2 / 2, 0, dt]], dtype=dtype)
R_true = r_true ** 2 * torch.eye(2, dtype=dtype)

# simulate a batch of 3 trajectories of 50 steps
T, B = 50, 3
L_Q = torch.linalg.cholesky(Q_true)
x = torch.zeros(B, 4, dtype=dtype)
x[:, 2:] = torch.tensor([[1.0, 0.5], [-0.5, 1.0], [0.2, -1.0]], dtype=dtype)
states, obs = [], []
for _ in range(T):
    x = x @ F.T + torch.randn(B, 4, dtype=dtype) @ L_Q.T
    states.append(x)
    obs.append(x @ H.T + r_true * torch.randn(B, 2, dtype=dtype))
states = torch.stack(states, 1)    # (B, T, 4)
obs = torch.stack(obs, 1)          # (B, T, 2)
print("observations:", tuple(obs.shape), r(obs[0, :2], 3))


def kalman_filter(obs, F, H, Q, R, m0, P0):
    """Batched filter; returns filtered means/covs, predicted means/covs and log likelihood."""
    m, P = m0, P0
    ms, Ps, mps, Pps = [], [], [], []
    loglik = torch.zeros(obs.shape[0], dtype=obs.dtype)
    for k in range(obs.shape[1]):
        m_pred = m @ F.T
        P_pred = F @ P @ F.T + Q
        S = H @ P_pred @ H.T + R
        L, info = torch.linalg.cholesky_ex(S)
        if info.any():
            raise RuntimeError("innovation covariance is not positive definite")
        innov = obs[:, k] - m_pred @ H.T
        # whitened innovation L^-1 v and the gain K = P H^T S^-1 from two triangular solves
        z = torch.linalg.solve_triangular(L, innov.unsqueeze(-1), upper=False).squeeze(-1)
        PHt = P_pred @ H.T
        tmp = torch.linalg.solve_triangular(L, PHt.mT, upper=False)
        K = torch.linalg.solve_triangular(L.mT, tmp, upper=True).mT
        m = m_pred + (K @ innov.unsqueeze(-1)).squeeze(-1)
        IKH = torch.eye(P.shape[-1], dtype=obs.dtype) - K @ H
        P = IKH @ P_pred @ IKH.mT + K @ R @ K.mT            # Joseph form stays symmetric
        loglik = loglik - 0.5 * (z.pow(2).sum(-1) + 2 * L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
                                 + obs.shape[-1] * math.log(2 * math.pi))
        ms.append(m)
        Ps.append(P)
        mps.append(m_pred)
        Pps.append(P_pred)
    return torch.stack(ms, 1), torch.stack(Ps, 1), torch.stack(mps, 1), torch.stack(Pps, 1), loglik


m0 = torch.zeros(B, 4, dtype=dtype)
P0 = torch.eye(4, dtype=dtype).expand(B, 4, 4)
ms, Ps, mps, Pps, loglik = kalman_filter(obs, F, H, Q_true, R_true, m0, P0)
print("filter loglik:", r(loglik, 3))
rmse_obs = (obs - states[..., :2]).pow(2).mean().sqrt()
rmse_filt = (ms[..., :2] - states[..., :2]).pow(2).mean().sqrt()
print("rmse raw %.4f filtered %.4f" % (rmse_obs, rmse_filt))

# the same log likelihood of the first step from MultivariateNormal
S0 = H @ (F @ P0[0] @ F.T + Q_true) @ H.T + R_true
mvn = MultivariateNormal(torch.zeros(2, dtype=dtype), covariance_matrix=S0)
mvn_prec = MultivariateNormal(torch.zeros(2, dtype=dtype), precision_matrix=torch.linalg.inv(S0))
print("step-0 log prob:", round(float(mvn.log_prob(obs[0, 0])), 4),
      "precision form:", round(float(mvn_prec.log_prob(obs[0, 0])), 4))


def rts_smoother(ms, Ps, mps, Pps, F):
    m_s, P_s = ms[:, -1], Ps[:, -1]
    out_m, out_P = [m_s], [P_s]
    for k in range(ms.shape[1] - 2, -1, -1):
        # smoother gain G = P_k F^T P_pred^-1 through a Cholesky solve
        Lp = torch.linalg.cholesky(Pps[:, k + 1])
        G = torch.cholesky_solve((Ps[:, k] @ F.T).mT, Lp).mT
        m_s = ms[:, k] + ((m_s - mps[:, k + 1]).unsqueeze(1) @ G.mT).squeeze(1)
        P_s = Ps[:, k] + G @ (P_s - Pps[:, k + 1]) @ G.mT
        out_m.append(m_s)
        out_P.append(P_s)
    return torch.stack(out_m[::-1], 1), torch.stack(out_P[::-1], 1)


sm, sP = rts_smoother(ms, Ps, mps, Pps, F)
rmse_smooth = (sm[..., :2] - states[..., :2]).pow(2).mean().sqrt()
print("rmse smoothed %.4f" % rmse_smooth)
print("smoothed variance shrinks:", bool((sP.diagonal(dim1=-2, dim2=-1)
                                           <= Ps.diagonal(dim1=-2, dim2=-1) + 1e-12).all()))
eig_P = torch.linalg.eigvalsh(sP[0, 40])
print("smoothed cov eigenvalues:", r(eig_P, 5))

# cholesky_ex reports a failed factorization in info instead of raising
bad = torch.tensor([[[1.0, 2.0], [2.0, 1.0]], [[2.0, 0.5], [0.5, 1.0]]], dtype=dtype)
L_bad, info = torch.linalg.cholesky_ex(bad)
print("cholesky_ex info:", info.tolist(), "dtype:", info.dtype)
try:
    torch.linalg.cholesky(bad)
except torch.linalg.LinAlgError as err:
    print("cholesky raises LinAlgError:", isinstance(err, RuntimeError), str(err)[:60])
inv, inv_info = torch.linalg.inv_ex(bad[1])
print("inv_ex:", r(inv), inv_info.item())

# maximum-likelihood noise scales by gradient ascent on the filter's log likelihood
log_q = torch.tensor(math.log(0.5), dtype=dtype, requires_grad=True)
log_r = torch.tensor(math.log(1.0), dtype=dtype, requires_grad=True)
opt = torch.optim.Adam([log_q, log_r], lr=0.2)
for step in range(15):
    Q = log_q.exp() * Q_true / q_true
    R = (2 * log_r).exp() * torch.eye(2, dtype=dtype)
    *_, ll = kalman_filter(obs, F, H, Q, R, m0, P0)
    loss = -ll.sum() / (B * T)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 5 == 0:
        print(f"mle step {step:2d} nll/step {loss.item():.4f}")
print("learned q %.4f r %.4f (true %.2f %.2f)" % (log_q.exp().item(), log_r.exp().item(),
                                                   q_true, r_true))

# re-estimate the transition matrix from the smoothed states by least squares
X_prev = sm[:, :-1].reshape(-1, 4)
X_next = sm[:, 1:].reshape(-1, 4)
sol = torch.linalg.lstsq(X_prev, X_next)
F_hat = sol.solution.T
print("lstsq rank:", sol.rank.item(), "F_hat diag:", r(F_hat.diagonal(), 3))
print("F_hat[0, 2] %.3f (dt %.1f)" % (F_hat[0, 2], dt))
sol_batched = torch.linalg.lstsq(sm[:, :-1], sm[:, 1:], driver="gelsd")
print("batched lstsq:", tuple(sol_batched.solution.shape), "rank:", sol_batched.rank.tolist(),
      "sv:", tuple(sol_batched.singular_values.shape))
eigs = torch.linalg.eigvals(F_hat)
print("spectral radius %.3f" % eigs.abs().max())
sym = 0.5 * (F_hat + F_hat.T)
evals, evecs = torch.linalg.eigh(sym)
print("eigh of symmetric part:", r(evals, 3),
      "orthonormal:", bool(torch.allclose(evecs.T @ evecs, torch.eye(4, dtype=dtype))))
sign, logabsdet = torch.linalg.slogdet(F_hat)
print("slogdet: %.0f %.4f" % (sign, logabsdet))

# a low-rank-plus-diagonal Gaussian over a window of positions matches the dense one
W = torch.randn(6, 2, dtype=dtype)
D = torch.rand(6, dtype=dtype) + 0.5
lr_mvn = LowRankMultivariateNormal(torch.zeros(6, dtype=dtype), W, D)
dense = MultivariateNormal(torch.zeros(6, dtype=dtype), covariance_matrix=W @ W.T + torch.diag(D))
pt = obs[0, :3].reshape(-1)
print("low-rank log prob %.4f dense %.4f" % (lr_mvn.log_prob(pt), dense.log_prob(pt)))
print("low-rank entropy %.4f dense %.4f" % (lr_mvn.entropy(), dense.entropy()))
print("low-rank variance:", r(lr_mvn.variance, 3))
torch.manual_seed(1)
draws = lr_mvn.rsample((4000,))
print("sample cov:", r(torch.cov(draws.T)[0], 2), "true:", r(lr_mvn.covariance_matrix[0], 2))
