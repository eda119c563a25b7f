"""Sparse variational GP (SVGP, Hensman et al.) written in plain torch: inducing points with a
whitened variational posterior q(v) = N(m, S S^T), S lower-triangular through torch.tril and a
softplus diagonal, predictive marginals via triangular solves, the KL term with
torch.distributions.kl_divergence between MultivariateNormals, a Gaussian-likelihood minibatch
ELBO over a DataLoader, gradient clipping, and a parameter-group learning rate."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import MultivariateNormal, kl_divergence
from torch.utils.data import DataLoader, TensorDataset

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(11)
N, M = 96, 8
x = rng.uniform(-4, 4, size=(N, 1))
y = (np.sinc(x[:, 0]) * 2 + 0.1 * rng.normal(size=N))
train = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
loader = DataLoader(train, batch_size=32, shuffle=True,
                    generator=torch.Generator().manual_seed(3))


def rbf(a, b, log_ls, log_var):
    d2 = torch.cdist(a, b).pow(2)
    return log_var.exp() * torch.exp(-0.5 * d2 / log_ls.exp().pow(2))


class SVGP(nn.Module):
    def __init__(self, z_init):
        super().__init__()
        self.Z = nn.Parameter(z_init.clone())
        m = z_init.shape[0]
        # a non-trivial start: at q = prior the inducing inputs get no gradient at all
        self.q_mu = nn.Parameter(torch.from_numpy(0.5 * rng.normal(size=m)))
        self.q_sqrt_raw = nn.Parameter(torch.from_numpy(0.1 * rng.normal(size=(m, m))))
        self.register_buffer("jitter", torch.tensor(1e-6))
        self.log_ls = nn.Parameter(torch.tensor(0.0))
        self.log_var = nn.Parameter(torch.tensor(0.0))
        self.raw_noise = nn.Parameter(torch.tensor(-2.0))

    def q_sqrt(self):
        off = torch.tril(self.q_sqrt_raw, diagonal=-1)
        diag = F.softplus(self.q_sqrt_raw.diagonal() + 0.5413)  # softplus(0.5413) ~ 1
        return off + torch.diag_embed(diag)

    def noise(self):
        return F.softplus(self.raw_noise)

    def Kzz_chol(self):
        Kzz = rbf(self.Z, self.Z, self.log_ls, self.log_var)
        return torch.linalg.cholesky(Kzz + self.jitter * torch.eye(len(self.Z)))

    def forward(self, xb):
        Lz = self.Kzz_chol()
        Kzx = rbf(self.Z, xb, self.log_ls, self.log_var)
        A = torch.linalg.solve_triangular(Lz, Kzx, upper=False)  # whitened projection
        S = self.q_sqrt()
        mean = A.T @ self.q_mu
        SA = S.T @ A
        var = self.log_var.exp() - A.pow(2).sum(0) + SA.pow(2).sum(0)
        return mean, var.clamp_min(1e-6)

    def kl(self):
        q = MultivariateNormal(self.q_mu, scale_tril=self.q_sqrt())
        p = MultivariateNormal(torch.zeros_like(self.q_mu), scale_tril=torch.eye(len(self.q_mu)))
        return kl_divergence(q, p)

    def elbo(self, xb, yb, n_total):
        mean, var = self(xb)
        noise = self.noise()
        # E_q[log N(y | f, noise)] in closed form
        exp_ll = -0.5 * (math.log(2 * math.pi) + noise.log()
                         + ((yb - mean).pow(2) + var) / noise)
        return n_total / len(xb) * exp_ll.sum() - self.kl()


model = SVGP(torch.linspace(-3.5, 3.5, M).unsqueeze(-1))
hyper = [model.log_ls, model.log_var, model.raw_noise, model.Z]
variational = [model.q_mu, model.q_sqrt_raw]
optimizer = torch.optim.Adam([{"params": variational, "lr": 0.05},
                              {"params": hyper, "lr": 0.02}])
for epoch in range(25):
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = -model.elbo(xb, yb, N) / N
        loss.backward()
        gn = nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
        optimizer.step()
        total += loss.item() * len(xb)
    if epoch % 6 == 0:
        print(f"epoch {epoch:2d} -elbo/N {total / N:.3f} kl {model.kl().item():.3f} "
              f"noise {model.noise().item():.4f} grad-norm {gn.item():.2f}")

with torch.no_grad():
    xt = torch.linspace(-4, 4, 7).unsqueeze(-1)
    mean, var = model(xt)
    print("mean:", mean.round(decimals=2))
    print("std :", (var + model.noise()).sqrt().round(decimals=2))
    S = model.q_sqrt()
    print("q_sqrt lower-triangular:", bool(torch.equal(S, S.tril())),
          "diag min > 0:", bool(S.diagonal().min() > 0))
    q = MultivariateNormal(model.q_mu, scale_tril=S)
    print("q cov == S S^T:", torch.allclose(q.covariance_matrix, S @ S.T, atol=1e-5))
    print("inducing Z sorted:", model.Z.squeeze(-1).sort().values.round(decimals=2))
    rmse = (mean - 2 * torch.sinc(xt.squeeze(-1))).pow(2).mean().sqrt()
    print(f"rmse vs truth {rmse.item():.3f}")
    # batched MultivariateNormal and KL broadcast over a batch of q's
    qs = MultivariateNormal(torch.zeros(3, M), scale_tril=torch.eye(M).expand(3, M, M) * 0.5)
    print("batched kl:", kl_divergence(qs, q).round(decimals=2))
    print("group lrs:", [g["lr"] for g in optimizer.param_groups])
