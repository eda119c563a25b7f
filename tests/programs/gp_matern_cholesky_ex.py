"""Exact GP regression with an ARD Matern-5/2 kernel, as in GPyTorch-style tutorials written by
hand: positive hyperparameters through softplus of raw parameters, a jittered Cholesky with
torch.linalg.cholesky_ex (retrying with more jitter when info > 0), cholesky_solve, the log
marginal likelihood fitted with Adam and a StepLR schedule, predictive mean and variance,
MultivariateNormal(scale_tril=) sampling under a seeded Generator, and a caught error."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import MultivariateNormal, Normal

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(7)
n, d = 30, 2
X = torch.from_numpy(rng.uniform(-2, 2, size=(n, d)))
f_true = torch.sin(2 * X[:, 0]) * torch.cos(X[:, 1])
y = f_true + 0.05 * torch.from_numpy(rng.normal(size=n))
X_test = torch.stack(torch.meshgrid(torch.linspace(-2, 2, 3), torch.linspace(-1, 1, 2),
                                    indexing="ij"), dim=-1).reshape(-1, d)


def inv_softplus(x):
    return x + torch.log(-torch.expm1(-x))


class Matern52(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.raw_lengthscale = nn.Parameter(inv_softplus(torch.full((dims,), 1.0)))
        self.raw_outputscale = nn.Parameter(inv_softplus(torch.tensor(1.0)))

    @property
    def lengthscale(self):
        return F.softplus(self.raw_lengthscale)

    def forward(self, a, b):
        a_s, b_s = a / self.lengthscale, b / self.lengthscale
        sq = (a_s.pow(2).sum(-1, keepdim=True) - 2 * a_s @ b_s.mT
              + b_s.pow(2).sum(-1).unsqueeze(-2)).clamp_min(1e-30)
        r = sq.sqrt()
        s5 = math.sqrt(5.0)
        return F.softplus(self.raw_outputscale) * (1 + s5 * r + 5.0 / 3.0 * sq) * torch.exp(-s5 * r)


def robust_cholesky(K, max_tries=4):
    jitter = 1e-8
    L, info = torch.linalg.cholesky_ex(K)
    tries = 0
    while info.item() > 0 and tries < max_tries:
        L, info = torch.linalg.cholesky_ex(K + jitter * torch.eye(K.shape[-1], dtype=K.dtype))
        jitter *= 10
        tries += 1
    return L, tries


class ExactGP(nn.Module):
    def __init__(self):
        super().__init__()
        self.kernel = Matern52(d)
        self.raw_noise = nn.Parameter(inv_softplus(torch.tensor(0.1)))
        self.mean_const = nn.Parameter(torch.zeros(()))

    @property
    def noise(self):
        return F.softplus(self.raw_noise) + 1e-6

    def nlml(self, X, y):
        K = self.kernel(X, X) + self.noise * torch.eye(len(X))
        L, _ = robust_cholesky(K)
        r = (y - self.mean_const).unsqueeze(-1)
        alpha = torch.cholesky_solve(r, L)
        quad = (r * alpha).sum()
        logdet = 2 * L.diagonal().log().sum()
        return 0.5 * (quad + logdet + len(X) * math.log(2 * math.pi)) / len(X)

    @torch.no_grad()
    def predict(self, X, y, Xs):
        K = self.kernel(X, X) + self.noise * torch.eye(len(X))
        L, _ = robust_cholesky(K)
        Ks = self.kernel(X, Xs)
        alpha = torch.cholesky_solve((y - self.mean_const).unsqueeze(-1), L)
        mean = self.mean_const + (Ks.mT @ alpha).squeeze(-1)
        v = torch.linalg.solve_triangular(L, Ks, upper=False)
        cov = self.kernel(Xs, Xs) - v.mT @ v
        return mean, cov


model = ExactGP()
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.5)
for step in range(60):
    optimizer.zero_grad()
    loss = model.nlml(X, y)
    loss.backward()
    optimizer.step()
    scheduler.step()
    if step % 15 == 0:
        ls = model.kernel.lengthscale.detach()
        print(f"step {step:2d} nlml {loss.item():.4f} ls [{ls[0]:.3f}, {ls[1]:.3f}] "
              f"noise {model.noise.item():.4f} lr {scheduler.get_last_lr()[0]:.3f}")

mean, cov = model.predict(X, y, X_test)
var = cov.diagonal().clamp_min(1e-10)
print("pred mean:", mean.round(decimals=3))
print("pred std :", var.sqrt().round(decimals=3))
f_test = torch.sin(2 * X_test[:, 0]) * torch.cos(X_test[:, 1])
z = (f_test - mean) / var.sqrt()
print(f"mean |z| {z.abs().mean().item():.3f}, "
      f"test log prob {Normal(mean, var.sqrt()).log_prob(f_test).sum().item():.3f}")

# a nearly singular covariance: duplicated inputs make K rank-deficient without noise
X_dup = torch.cat([X_test, X_test[:2]])
K_dup = model.kernel(X_dup, X_dup).detach()
# shifted down, the duplicated point's leading minor (order 7) is clearly indefinite
L0, info0 = torch.linalg.cholesky_ex(K_dup - 1e-4 * torch.eye(len(X_dup)))
print("info when indefinite:", info0.item(), "dtype", info0.dtype)
batch_info = torch.linalg.cholesky_ex(torch.stack([torch.eye(2), -torch.eye(2)])).info
print("batched info:", batch_info)
L_dup, tries = robust_cholesky(K_dup)
print("jitter retries:", tries, "recon err < 1e-5:",
      bool((L_dup @ L_dup.mT - K_dup).abs().max() < 1e-5))
try:
    torch.linalg.cholesky(-torch.eye(2))
except Exception as e:  # noqa: BLE001
    print(type(e).__name__, str(e).splitlines()[0][:60])

L_post, _ = robust_cholesky(cov + 1e-6 * torch.eye(len(X_test)))
post = MultivariateNormal(mean, scale_tril=L_post)
g = torch.Generator().manual_seed(0)
eps = torch.randn(3, len(X_test), generator=g)
samples = post.loc + eps @ post.scale_tril.mT
print("samples shape", tuple(samples.shape), "first:", samples[0, :3].round(decimals=3))
print(f"log_prob of mean {post.log_prob(mean).item():.3f}, entropy {post.entropy().item():.3f}")
print("batch_shape", post.batch_shape, "event_shape", post.event_shape)
print("state keys:", sorted(model.state_dict().keys()))
