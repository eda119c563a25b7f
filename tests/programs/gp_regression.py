"""Exact Gaussian-process regression from scratch, as in GP tutorials: an RBF kernel with
learnable log length-scale, signal and noise variances, the negative log marginal likelihood
from a Cholesky factor (linalg.cholesky, cholesky_solve, log of the diagonal), hyperparameters
fitted with Adam, then the predictive mean and variance with triangular solves."""
import math

import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(4)
x_np = np.sort(rng.uniform(-3, 3, size=24))
y_np = np.sin(2 * x_np) + 0.3 * x_np + rng.normal(scale=0.1, size=x_np.shape)
X = torch.from_numpy(x_np).unsqueeze(-1)
y = torch.from_numpy(y_np)
X_test = torch.linspace(-3.5, 3.5, 8).unsqueeze(-1)


class ExactGP(nn.Module):
    def __init__(self):
        super().__init__()
        self.log_lengthscale = nn.Parameter(torch.tensor(0.0))
        self.log_outputscale = nn.Parameter(torch.tensor(0.0))
        self.log_noise = nn.Parameter(torch.tensor(-1.0))

    def kernel(self, a, b):
        sq = torch.cdist(a / self.log_lengthscale.exp(), b / self.log_lengthscale.exp()) ** 2
        return self.log_outputscale.exp() * torch.exp(-0.5 * sq)

    def neg_log_marginal_likelihood(self, x, y):
        n = x.shape[0]
        K = self.kernel(x, x) + (self.log_noise.exp() + 1e-6) * torch.eye(n)
        L = torch.linalg.cholesky(K)
        alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
        data_fit = 0.5 * (y.unsqueeze(-1) * alpha).sum()
        complexity = torch.log(torch.diagonal(L)).sum()
        return (data_fit + complexity + 0.5 * n * math.log(2 * math.pi)) / n

    def predict(self, x, y, x_star):
        n = x.shape[0]
        K = self.kernel(x, x) + (self.log_noise.exp() + 1e-6) * torch.eye(n)
        L = torch.linalg.cholesky(K)
        K_s = self.kernel(x, x_star)
        alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
        mean = (K_s.T @ alpha).squeeze(-1)
        v = torch.linalg.solve_triangular(L, K_s, upper=False)
        var = self.kernel(x_star, x_star).diagonal() - (v * v).sum(0)
        return mean, var


gp = ExactGP()
print("initial nlml {:.4f}".format(gp.neg_log_marginal_likelihood(X, y).item()))
optimizer = torch.optim.Adam(gp.parameters(), lr=0.05)
for i in range(150):
    optimizer.zero_grad()
    loss = gp.neg_log_marginal_likelihood(X, y)
    loss.backward()
    optimizer.step()
    if i % 30 == 0 or i == 149:
        print("iter {:3d} nlml {:.4f} lengthscale {:.3f} outputscale {:.3f} noise {:.4f}".format(
            i, loss.item(), gp.log_lengthscale.exp().item(), gp.log_outputscale.exp().item(),
            gp.log_noise.exp().item()))

with torch.no_grad():
    mean, var = gp.predict(X, y, X_test)
    std = var.clamp_min(0).sqrt()
truth = torch.sin(2 * X_test.squeeze(-1)) + 0.3 * X_test.squeeze(-1)
for xs, m, s, t in zip(X_test.squeeze(-1).tolist(), mean.tolist(), std.tolist(), truth.tolist()):
    print("x {:5.2f}: mean {:6.3f} +- {:.3f}  truth {:6.3f}".format(xs, m, 2 * s, t))
inside = ((truth - mean).abs() <= 2 * std + 0.05).float().mean().item()
print("truth inside 2 std band: {:.0%}".format(inside))
print("uncertainty grows away from data:", std[0].item() > std[3].item(),
      std[-1].item() > std[4].item())

# the Cholesky route agrees with a dense solve and slogdet
with torch.no_grad():
    n = X.shape[0]
    K = gp.kernel(X, X) + (gp.log_noise.exp() + 1e-6) * torch.eye(n)
    dense = 0.5 * y @ torch.linalg.solve(K, y) + 0.5 * torch.linalg.slogdet(K)[1] \
        + 0.5 * n * math.log(2 * math.pi)
    print("cholesky nlml equals dense:", math.isclose(
        dense.item() / n, gp.neg_log_marginal_likelihood(X, y).item(), rel_tol=1e-9))
    L = torch.linalg.cholesky(K)
    print("L lower triangular:", torch.equal(L, torch.tril(L)),
          "reconstructs K:", torch.allclose(L @ L.mT, K))
    # posterior samples with a fixed normal draw
    Kss = gp.kernel(X_test, X_test)
    K_s = gp.kernel(X, X_test)
    cov = Kss - K_s.T @ torch.cholesky_solve(K_s, L)
    Lp = torch.linalg.cholesky(cov + 1e-6 * torch.eye(len(X_test)))
    eps = torch.from_numpy(rng.normal(size=(len(X_test), 3)))
    samples = mean.unsqueeze(-1) + Lp @ eps
    print("posterior sample shape:", tuple(samples.shape),
          "max distance from mean {:.2f}".format((samples - mean.unsqueeze(-1)).abs().max().item()))
    mvn = torch.distributions.MultivariateNormal(mean, scale_tril=Lp)
    print("log prob of the mean under the posterior {:.2f}".format(mvn.log_prob(mean).item()))
